package threads

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// Role is the author of a message.
type Role string

// The message roles.
const (
	RoleUser      Role = "USER"
	RoleAssistant Role = "ASSISTANT"
	RoleSystem    Role = "SYSTEM"
	RoleTool      Role = "TOOL"
)

// Status is a message's state: an answer is pending until it is stored,
// then completed or failed; every other message is completed.
type Status string

// The message statuses.
const (
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// ParseRole parses a role case-insensitively. Errors: validation_failed (422).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToUpper(s))
	switch r {
	case RoleUser, RoleAssistant, RoleSystem, RoleTool:
		return r, nil
	}
	return "", apperr.Unprocessablef(apperr.CodeValidationFailed, "role", "role must be USER, ASSISTANT, SYSTEM or TOOL, got %q", s)
}

// Limits of a message.
const (
	// MaxTextChars bounds content.text, in code points.
	MaxTextChars = 100_000
	// MaxDetailsBytes bounds the JSON details of a message.
	MaxDetailsBytes = 1 << 20
	// ListLimitDefault is the default page size of ListMessages and of the
	// thread list.
	ListLimitDefault = 20
	// ListLimitMax is the largest page size of ListMessages and of the
	// thread list.
	ListLimitMax = 100
)

// ErrMessageNotFound is returned for a message that does not exist in the thread.
var ErrMessageNotFound = apperr.NotFoundf(CodeMessageNotFound, "message not found")

// Content is a message's content as read, with citations and references
// resolved.
type Content struct {
	Text       string              `json:"text"`
	IsError    bool                `json:"is_error"`
	Citations  []citation.Citation `json:"citations"`
	References []EnrichedReference `json:"references"`
	// Parts are the content as parts (seed 002), or nil: text alone.
	Parts []Part `json:"parts"`
}

// Message is a message as read.
type Message struct {
	ID         uuid.UUID `json:"id"`
	ThreadID   uuid.UUID `json:"thread_id"`
	PathPartID uuid.UUID `json:"path_part_id"`
	Sequence   int64     `json:"sequence"`
	Role       Role      `json:"role"`
	Status     Status    `json:"status"`
	Content    Content   `json:"content"`
	// Details are the execution steps; nil when not requested or absent.
	Details          json.RawMessage `json:"details"`
	ParentPathID     uuid.UUID       `json:"parent_path_id"`
	MaterializedPath string          `json:"materialized_path"`
	TenantID         uuid.UUID       `json:"tenant_id"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	Attachments      []Attachment    `json:"attachments"`
	Metadata         json.RawMessage `json:"metadata"`
	SeedFields
	// SiblingIDs are the messages with this one's parent, itself
	// included, oldest first (see branches.go).
	SiblingIDs []uuid.UUID `json:"sibling_ids"`
}

// NewMessage is the input of CreateMessage.
type NewMessage struct {
	// ID makes the create idempotent when set; a new UUIDv7 otherwise.
	ID *uuid.UUID
	// Role is USER, ASSISTANT or SYSTEM.
	Role Role
	// Text is required, 1..MaxTextChars code points.
	Text string
	// IsError marks a terminal assistant error.
	IsError bool
	// Citations are validated against the tenant's chunks.
	Citations []citation.Citation
	// References name path parts of the tenant.
	References []Reference
	// Details are execution steps (any JSON value), or nil.
	Details json.RawMessage
	// Metadata is a JSON object, or nil.
	Metadata json.RawMessage
	// Attachments are files stored under the thread.
	Attachments []NewAttachment
	// Fields are the seed message fields (Checksum is ignored: computed).
	Fields SeedFields
	// Parts are the content as parts; Text is then their text when empty.
	Parts []Part
	// Pending creates the answer to AnswerTo, pending and without text
	// (CompleteAnswer stores it). Internal: not a client field.
	Pending bool
	// AnswerTo is the USER message a pending answer answers.
	AnswerTo *uuid.UUID
	// BranchRoot stores the message as a root of the thread's tree (the
	// sibling of a first message; see branches.go). Internal.
	BranchRoot bool
}

// ListOptions selects a page of messages. Pages are newest first unless
// Oldest. Without After, a newest-first page is the Limit newest messages
// older than Before (when set), after skipping Offset; with After, it is
// the Limit oldest messages newer than After (and older than Before),
// after skipping Offset, so a poller can advance After to the first
// (newest) item of each page. An Oldest page is the Limit oldest messages
// newer than After and older than Before (each when set), after skipping
// Offset, oldest first: a conversation read from its start.
type ListOptions struct {
	Limit       int
	Offset      int
	Before      *time.Time
	After       *time.Time
	WithDetails bool
	// Oldest orders the page oldest first (sort_dir=asc).
	Oldest bool
	// Role keeps the messages of that role ("" for all).
	Role Role
	// Tag keeps the messages with that tag ("" for all).
	Tag string
	// Branch is BranchActive (the default: the active branch) or
	// BranchAll; LeafID, when set, selects the path to that message
	// instead (see branches.go).
	Branch BranchMode
	LeafID *uuid.UUID
}

// tagArg is the SQL argument of a tag filter: NULL for all messages.
func (o ListOptions) tagArg() *string {
	if o.Tag == "" {
		return nil
	}
	return &o.Tag
}

// roleArg is the SQL argument of a role filter: NULL for all roles.
func (o ListOptions) roleArg() *string {
	if o.Role == "" {
		return nil
	}
	r := string(o.Role)
	return &r
}

// MessagePage is one page of messages.
type MessagePage struct {
	Data    []Message `json:"data"`
	HasMore bool      `json:"has_more"`
}

// SequenceName is the path part name of a message: its zero-padded
// sequence (10 digits, so names sort like sequences).
func SequenceName(seq int64) string { return fmt.Sprintf("%010d", seq) }

// validate checks everything that needs no database and returns the
// normalised input and the prepared attachments.
func (in NewMessage) validate(maxImageBytes int) (NewMessage, []preparedAttachment, error) {
	role, err := ParseRole(string(in.Role))
	if err != nil {
		return in, nil, err
	}
	in.Role = role
	if in.Fields, err = validateFields(in.Fields, role); err != nil {
		return in, nil, err
	}
	if err := validateParts(in.Parts, role); err != nil {
		return in, nil, err
	}
	if in.Text == "" {
		in.Text = TextOfParts(in.Parts)
	}
	if !utf8.ValidString(in.Text) {
		return in, nil, apperr.Unprocessablef(apperr.CodeValidationFailed, "content.text", "content.text must be valid UTF-8")
	}
	if strings.TrimSpace(in.Text) == "" && !in.Pending {
		return in, nil, apperr.Unprocessablef(apperr.CodeValidationFailed, "content.text", "content.text is required and must not be blank")
	}
	if n := utf8.RuneCountInString(in.Text); n > MaxTextChars {
		return in, nil, apperr.Unprocessablef(apperr.CodeTextTooLong, "content.text", "content.text must be at most %d characters, got %d", MaxTextChars, n)
	}
	if in.Metadata, err = validateObject(in.Metadata, "metadata"); err != nil {
		return in, nil, err
	}
	if string(in.Details) == "null" {
		in.Details = nil
	}
	if len(in.Details) > MaxDetailsBytes {
		return in, nil, apperr.Unprocessablef(apperr.CodeValidationFailed, "details", "details must be at most %d bytes", MaxDetailsBytes)
	}
	if len(in.Details) > 0 && !json.Valid(in.Details) {
		return in, nil, apperr.Unprocessablef(apperr.CodeValidationFailed, "details", "details must be JSON")
	}
	if in.Citations == nil {
		in.Citations = []citation.Citation{}
	}
	atts, err := prepareAttachments(in.Attachments, maxImageBytes)
	return in, atts, err
}

// CreateMessage stores a message in a thread without generation, in one
// transaction on q (a pool, or a caller's transaction: then a savepoint).
// created is false when in.ID already names a message of this thread: that
// message is returned and nothing is written, also when two creates race.
// Errors: thread_not_found (404), validation_failed, text_too_long,
// citation_invalid, reference_invalid, attachment_invalid (422),
// message_id_conflict (409, the id belongs to another thread).
func (s *Store) CreateMessage(ctx context.Context, q DB, tenantID, threadID uuid.UUID, in NewMessage) (Message, bool, error) {
	if q == nil {
		q = s.pool
	}
	in, atts, err := in.validate(s.cfg.MaxImageBytes)
	if err != nil {
		return Message{}, false, err
	}
	if in.ID != nil {
		if m, found, err := s.existing(ctx, q, tenantID, threadID, *in.ID); found || err != nil {
			return m, false, err
		}
	}
	if err := checkParent(ctx, q, tenantID, threadID, in.Fields.ParentMessageID); err != nil {
		return Message{}, false, err
	}
	if err := checkPartAttachments(ctx, q, tenantID, threadID, in.Parts); err != nil {
		return Message{}, false, err
	}
	if err := citation.Validate(ctx, q, tenantID, in.Citations, "content.citations"); err != nil {
		return Message{}, false, err
	}
	refs, err := validateReferences(ctx, q, tenantID, in.References, "content.references")
	if err != nil {
		return Message{}, false, err
	}
	id := uuid.Must(uuid.NewV7())
	if in.ID != nil {
		id = *in.ID
	}
	tx, err := q.Begin(ctx)
	if err != nil {
		return Message{}, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit

	// The row lock on the thread serialises writers: sequence is the new
	// message_count, gap-free, and created_at strictly increases by whole
	// milliseconds, so a keyset cursor with millisecond precision (as
	// JavaScript's Date and Knowledge Stack's SDK send it) names exactly
	// one message: no two messages of a thread share a millisecond.
	// statement_timestamp(), not clock_timestamp(): Citus refuses
	// volatile functions in an UPDATE of a distributed table.
	var seq int64
	var at time.Time
	var threadPP uuid.UUID
	var threadPath string
	err = tx.QueryRow(ctx, `
UPDATE threads t SET message_count = t.message_count + 1,
    last_message_at = date_trunc('milliseconds', greatest(statement_timestamp(), t.last_message_at + interval '1 millisecond')),
    updated_at = date_trunc('milliseconds', greatest(statement_timestamp(), t.last_message_at + interval '1 millisecond'))
FROM path_parts p
WHERE t.tenant_id = $1 AND t.id = $2 AND p.tenant_id = t.tenant_id AND p.id = t.path_part_id
RETURNING t.message_count, t.last_message_at, t.path_part_id, p.path`, tenantID, threadID).Scan(&seq, &at, &threadPP, &threadPath)
	if noRows(err) {
		return Message{}, false, ErrThreadNotFound
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("lock thread: %w", err)
	}
	if in.ID != nil {
		// A racing create with this id committed while we waited for the lock.
		if m, found, err := s.existing(ctx, tx, tenantID, threadID, id); found || err != nil {
			return m, false, err
		}
	}
	name := SequenceName(seq)
	ppID := uuid.Must(uuid.NewV7())
	if _, err := tx.Exec(ctx, `
INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'message', $5, $6, $6)`, tenantID, ppID, threadPP, name, threadPath+"/"+name, at); err != nil {
		return Message{}, false, fmt.Errorf("insert message path part: %w", err)
	}
	refsJSON, _ := json.Marshal(refs)
	citsJSON, _ := json.Marshal(citation.Raw(in.Citations))
	st := in.Fields.stored(in.Parts)
	st.BranchRoot = in.BranchRoot
	fieldsJSON, _ := json.Marshal(st)
	status := StatusCompleted
	if in.Pending {
		status = StatusPending
	}
	var details any
	if len(in.Details) > 0 {
		details = in.Details
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO messages (tenant_id, id, thread_id, path_part_id, sequence, role, text, is_error, citations, refs, details, metadata, created_at, updated_at, status, answer_to, tags, parent_message_id, fields)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18)`,
		tenantID, id, threadID, ppID, seq, string(in.Role), in.Text, in.IsError, citsJSON, refsJSON, details, in.Metadata, at, string(status), in.AnswerTo,
		tagsArg(in.Fields.Tags), in.Fields.ParentMessageID, fieldsJSON); err != nil {
		if isUnique(err) {
			// The id was taken by another thread's message meanwhile.
			_ = tx.Rollback(ctx)
			m, found, err := s.existing(ctx, q, tenantID, threadID, id)
			if found || err != nil {
				return m, false, err
			}
			return Message{}, false, idConflict(id)
		}
		return Message{}, false, fmt.Errorf("insert message: %w", err)
	}
	if err := insertAttachments(ctx, tx, tenantID, threadID, id, threadPP, threadPath, atts); err != nil {
		return Message{}, false, err
	}
	m, err := getMessage(ctx, tx, tenantID, threadID, id, true)
	if err != nil {
		return Message{}, false, err
	}
	if _, err := events.Append(ctx, tx, tenantID, threadID, events.New{Type: events.MessageCreated, MessageID: id, Data: m}); err != nil {
		return Message{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Message{}, false, fmt.Errorf("commit: %w", err)
	}
	return m, true, nil
}

func idConflict(id uuid.UUID) error {
	return apperr.New(apperr.Conflict, CodeMessageIDConflict, "message_id %s is used by a message of another thread", id).WithField("message_id")
}

// existing returns the message id of the thread if it exists; a message
// with that id in another thread of the tenant is message_id_conflict.
func (s *Store) existing(ctx context.Context, q DB, tenantID, threadID, id uuid.UUID) (Message, bool, error) {
	var owner uuid.UUID
	err := q.QueryRow(ctx, `SELECT thread_id FROM messages WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&owner)
	if noRows(err) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("look up message id: %w", err)
	}
	if owner != threadID {
		return Message{}, false, idConflict(id)
	}
	m, err := getMessage(ctx, q, tenantID, threadID, id, true)
	return m, err == nil, err
}

// Message reads: the page (or the one message) is selected first, then
// enriched in the same statement: citations joined to chunks, versions,
// documents and the version's path part; references to path parts;
// attachments. No query per citation. Citations resolve by
// citation.ResolveSQL, the one definition of a citation's resolution; a
// reference to a chunk gets its path from chunk.PathSQL, the one
// definition of a chunk's path. Every table is pinned to the tenant by
// $1 (the tenant of each page query), not by the page's tenant_id: Citus
// routes the statement to one tenant's shards only so.
var enrichedColumns = `m.id, m.thread_id, m.path_part_id, m.sequence, m.role, m.status, m.text, m.is_error,
  ` + citation.ResolveSQL("m.citations", "$1::uuid") + `,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'ref_type', coalesce(rp.kind, CASE WHEN rc.id IS NOT NULL THEN 'chunk' END, e.r->>'ref_type'), 'path_part_id', e.r->'path_part_id',
      'materialized_path', coalesce(rp.path, ` + chunk.PathSQL("rvp.path", "rc.ordinal") + `)
    ) ORDER BY e.n), '[]'::jsonb)
   FROM jsonb_array_elements(m.refs) WITH ORDINALITY AS e(r, n)
   LEFT JOIN path_parts rp ON rp.tenant_id = $1 AND rp.id = (e.r->>'path_part_id')::uuid
   LEFT JOIN chunks rc ON rp.id IS NULL AND rc.tenant_id = $1 AND rc.id = (e.r->>'path_part_id')::uuid
   LEFT JOIN document_versions rv ON rv.tenant_id = rc.tenant_id AND rv.id = rc.version_id
   LEFT JOIN path_parts rvp ON rvp.tenant_id = rv.tenant_id AND rvp.id = rv.path_part_id),
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', a.id, 'type', 'file', 'path', ap.path, 'name', a.name, 'mime_type', a.mime_type, 'width', a.width, 'height', a.height
    ) ORDER BY a.ordinal), '[]'::jsonb)
   FROM message_attachments a JOIN path_parts ap ON ap.tenant_id = a.tenant_id AND ap.id = a.path_part_id
   WHERE a.tenant_id = $1 AND a.message_id = m.id),
  m.metadata, p.parent_id, p.path, m.tenant_id, m.created_at, m.updated_at, m.tags, m.parent_message_id, m.fields`

const (
	withDetailsColumn    = `, m.details`
	withoutDetailsColumn = `, NULL::jsonb`
	messageFrom          = `
FROM page m JOIN path_parts p ON p.tenant_id = $1 AND p.id = m.path_part_id`
	// The page CTEs never read details unless they are selected.
	getPage = `WITH page AS (
  SELECT tenant_id, id, thread_id, path_part_id, sequence, role, status, text, is_error, citations, refs, metadata, created_at, updated_at, tags, parent_message_id, fields%s
  FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3)`
	listPageNewest = `WITH page AS (
  SELECT tenant_id, id, thread_id, path_part_id, sequence, role, status, text, is_error, citations, refs, metadata, created_at, updated_at, tags, parent_message_id, fields%s
  FROM messages WHERE tenant_id = $1 AND thread_id = $2
    AND ($5::timestamptz IS NULL OR created_at < $5) AND ($6::text IS NULL OR role = $6)
    AND ($7::text IS NULL OR tags @> ARRAY[$7::text]) AND ($8::uuid[] IS NULL OR id = ANY($8))
  ORDER BY created_at DESC, sequence DESC LIMIT $3 OFFSET $4)`
	listPageOldest = `WITH page AS (
  SELECT tenant_id, id, thread_id, path_part_id, sequence, role, status, text, is_error, citations, refs, metadata, created_at, updated_at, tags, parent_message_id, fields%s
  FROM messages WHERE tenant_id = $1 AND thread_id = $2
    AND ($5::timestamptz IS NULL OR created_at < $5) AND ($6::timestamptz IS NULL OR created_at > $6)
    AND ($7::text IS NULL OR role = $7) AND ($8::text IS NULL OR tags @> ARRAY[$8::text])
    AND ($9::uuid[] IS NULL OR id = ANY($9))
  ORDER BY created_at ASC, sequence ASC LIMIT $3 OFFSET $4)`
	orderNewest = `
ORDER BY m.created_at DESC, m.sequence DESC`
	orderOldest = `
ORDER BY m.created_at ASC, m.sequence ASC`
)

// messageQuery builds one of the fixed message queries (never from input).
func messageQuery(page string, withDetails bool, order string) string {
	pageDetails, col := "", withoutDetailsColumn
	if withDetails {
		pageDetails, col = ", details", withDetailsColumn
	}
	return fmt.Sprintf(page, pageDetails) + "\nSELECT " + enrichedColumns + col + messageFrom + order
}

var (
	getMessageSQL    = [2]string{messageQuery(getPage, false, orderNewest), messageQuery(getPage, true, orderNewest)}
	listNewestSQL    = [2]string{messageQuery(listPageNewest, false, orderNewest), messageQuery(listPageNewest, true, orderNewest)}
	listAfterSQL     = [2]string{messageQuery(listPageOldest, false, orderNewest), messageQuery(listPageOldest, true, orderNewest)}
	listOldestSQL    = [2]string{messageQuery(listPageOldest, false, orderOldest), messageQuery(listPageOldest, true, orderOldest)}
	detailsIndex     = map[bool]int{false: 0, true: 1}
	emptyAttachments = []Attachment{}
	emptyCitations   = []citation.Citation{}
	emptyReferences  = []EnrichedReference{}
)

// ListMessagesSQL returns the statement ListMessages runs for a page
// without After (for benchmarks that compare it with the raw SQL). Its
// arguments are tenant_id, thread_id, limit, offset, before (or nil),
// role (or nil), tag (or nil), the ids of the branch (or nil: all).
func ListMessagesSQL(withDetails bool) string { return listNewestSQL[detailsIndex[withDetails]] }

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	var role, status string
	var cits, refs, atts, fields []byte
	var tags []string
	var parent *uuid.UUID
	err := row.Scan(&m.ID, &m.ThreadID, &m.PathPartID, &m.Sequence, &role, &status, &m.Content.Text, &m.Content.IsError,
		&cits, &refs, &atts, &m.Metadata, &m.ParentPathID, &m.MaterializedPath, &m.TenantID, &m.CreatedAt, &m.UpdatedAt,
		&tags, &parent, &fields, &m.Details)
	if err != nil {
		return m, err
	}
	if err := m.readFields(fields, tags, parent); err != nil {
		return m, err
	}
	m.Role, m.Status = Role(role), Status(status)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	m.Content.Citations, m.Content.References, m.Attachments = emptyCitations, emptyReferences, emptyAttachments
	if len(cits) > 2 { // not "[]"
		if err := json.Unmarshal(cits, &m.Content.Citations); err != nil {
			return m, fmt.Errorf("decode citations: %w", err)
		}
	}
	if len(refs) > 2 {
		if err := json.Unmarshal(refs, &m.Content.References); err != nil {
			return m, fmt.Errorf("decode references: %w", err)
		}
	}
	if len(atts) > 2 {
		if err := json.Unmarshal(atts, &m.Attachments); err != nil {
			return m, fmt.Errorf("decode attachments: %w", err)
		}
	}
	return m, nil
}

// GetMessage returns one message of a thread, with details when
// withDetails. q may be nil (the store's pool). Errors: thread_not_found,
// message_not_found (404).
func (s *Store) GetMessage(ctx context.Context, q DB, tenantID, threadID, messageID uuid.UUID, withDetails bool) (Message, error) {
	if q == nil {
		q = s.pool
	}
	return getMessage(ctx, q, tenantID, threadID, messageID, withDetails)
}

func getMessage(ctx context.Context, q DB, tenantID, threadID, messageID uuid.UUID, withDetails bool) (Message, error) {
	m, err := scanMessage(q.QueryRow(ctx, getMessageSQL[detailsIndex[withDetails]], tenantID, threadID, messageID))
	if noRows(err) {
		if _, err := getThread(ctx, q, tenantID, threadID); err != nil {
			return Message{}, err
		}
		return Message{}, ErrMessageNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("get message: %w", err)
	}
	t, err := loadTree(ctx, q, tenantID, threadID)
	if err != nil {
		return Message{}, err
	}
	m.SiblingIDs = t.siblings(m.ID)
	return m, nil
}

// ListMessages returns a page of a thread's messages, newest first (see
// ListOptions). q may be nil (the store's pool). Limit is clamped to
// 1..ListLimitMax (0 means ListLimitDefault). Errors: thread_not_found (404).
func (s *Store) ListMessages(ctx context.Context, q DB, tenantID, threadID uuid.UUID, o ListOptions) (MessagePage, error) {
	if q == nil {
		q = s.pool
	}
	if o.Limit <= 0 {
		o.Limit = ListLimitDefault
	}
	o.Limit = min(o.Limit, ListLimitMax)
	o.Offset = max(o.Offset, 0)
	t, ids, err := branchFilter(ctx, q, tenantID, threadID, o)
	if err != nil {
		return MessagePage{}, err
	}
	var rows pgx.Rows
	switch {
	case o.Oldest:
		rows, err = q.Query(ctx, listOldestSQL[detailsIndex[o.WithDetails]], tenantID, threadID, o.Limit+1, o.Offset, o.Before, o.After, o.roleArg(), o.tagArg(), ids)
	case o.After != nil:
		rows, err = q.Query(ctx, listAfterSQL[detailsIndex[o.WithDetails]], tenantID, threadID, o.Limit+1, o.Offset, o.Before, *o.After, o.roleArg(), o.tagArg(), ids)
	default:
		rows, err = q.Query(ctx, listNewestSQL[detailsIndex[o.WithDetails]], tenantID, threadID, o.Limit+1, o.Offset, o.Before, o.roleArg(), o.tagArg(), ids)
	}
	if err != nil {
		return MessagePage{}, fmt.Errorf("list messages: %w", err)
	}
	var page MessagePage
	if page.Data, err = pgx.AppendRows(make([]Message, 0, o.Limit+1), rows, rowTo(scanMessage)); err != nil {
		return MessagePage{}, fmt.Errorf("list messages: %w", err)
	}
	if len(page.Data) > o.Limit {
		page.HasMore = true
		if o.After != nil && !o.Oldest {
			page.Data = page.Data[1:] // the extra row is the newest, farthest from the cursor
		} else {
			page.Data = page.Data[:o.Limit]
		}
	}
	if len(page.Data) == 0 {
		if _, err := getThread(ctx, q, tenantID, threadID); err != nil {
			return MessagePage{}, err
		}
	}
	t.setSiblings(page.Data)
	return page, nil
}

// CountMessages returns how many messages of the thread match o's Before,
// After and Role (its page and order are ignored). q may be nil (the
// store's pool). Errors: thread_not_found (404).
func (s *Store) CountMessages(ctx context.Context, q DB, tenantID, threadID uuid.UUID, o ListOptions) (int64, error) {
	if q == nil {
		q = s.pool
	}
	_, ids, err := branchFilter(ctx, q, tenantID, threadID, o)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := q.QueryRow(ctx, `
SELECT count(*) FROM messages WHERE tenant_id = $1 AND thread_id = $2
  AND ($3::timestamptz IS NULL OR created_at < $3) AND ($4::timestamptz IS NULL OR created_at > $4)
  AND ($5::text IS NULL OR role = $5) AND ($6::text IS NULL OR tags @> ARRAY[$6::text])
  AND ($7::uuid[] IS NULL OR id = ANY($7))`,
		tenantID, threadID, o.Before, o.After, o.roleArg(), o.tagArg(), ids).Scan(&n); err != nil {
		return 0, fmt.Errorf("count messages: %w", err)
	}
	if n == 0 {
		if _, err := getThread(ctx, q, tenantID, threadID); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Conversation returns up to n of the latest messages of the branch
// ending at leaf (nil: the active branch), oldest first and without
// details: the context a model answers in.
func (s *Store) Conversation(ctx context.Context, q DB, tenantID, threadID uuid.UUID, n int, leaf *uuid.UUID) ([]Message, error) {
	page, err := s.ListMessages(ctx, q, tenantID, threadID, ListOptions{Limit: n, LeafID: leaf})
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(page.Data))
	for i := len(page.Data) - 1; i >= 0; i-- {
		if page.Data[i].Status != StatusPending {
			out = append(out, page.Data[i])
		}
	}
	return out, nil
}
