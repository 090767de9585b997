package threads

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of threads, messages and attachments. Validation
// errors without a code of their own are apperr.CodeValidationFailed; an
// over-long text is apperr.CodeTextTooLong.
const (
	// CodeThreadNotFound is a thread that does not exist in the tenant.
	CodeThreadNotFound apperr.Code = "thread_not_found"
	// CodeMessageNotFound is a message that does not exist in the thread.
	CodeMessageNotFound apperr.Code = "message_not_found"
	// CodeAttachmentNotFound is an attachment that does not exist in the thread.
	CodeAttachmentNotFound apperr.Code = "attachment_not_found"
	// CodeThreadNameConflict is a thread name already used in its folder.
	CodeThreadNameConflict apperr.Code = "thread_name_conflict"
	// CodeMessageIDConflict is a client message_id already used by another
	// thread's message, or by a message of another role.
	CodeMessageIDConflict apperr.Code = "message_id_conflict"
	// CodeAttachmentInvalid is an attachment that cannot be stored: bad
	// base64, name or media type, empty, undecodable, or too many.
	CodeAttachmentInvalid apperr.Code = "attachment_invalid"
	// CodeParentNotFound is a parent (folder path part or thread) named by
	// id that does not exist in the tenant.
	CodeParentNotFound apperr.Code = "parent_not_found"
	// CodeReferenceInvalid is a reference to a missing path part or to one
	// of another kind.
	CodeReferenceInvalid apperr.Code = "reference_invalid"
)
