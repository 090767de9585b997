package threads

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/events"
)

// Editing and deleting messages. Sequences stay gap-free (1..n, as seed
// 003 derives them from the path part names):
//
//   - UpdateMessage changes a message in place (text, is_error, citations,
//     references, details, metadata); its sequence, path, id and
//     created_at stay, updated_at moves. Later messages are left as they
//     are: an edit regenerates nothing (post a new user_message for a new
//     answer).
//   - DeleteMessage removes the message (with its attachments) and
//     renumbers every later message of the thread one down, renaming
//     their path parts, so the sequence stays 1..n and keeps the
//     conversation order; their ids do not change. message_count drops
//     by one.
//
// Both lock the thread row first, like CreateMessage, so they serialise
// with concurrent posts and each other.

// MessagePatch is the input of UpdateMessage; nil fields are unchanged.
type MessagePatch struct {
	Text       *string
	IsError    *bool
	Citations  *[]citation.Citation
	References *[]Reference
	// Details replaces the details when not nil ("null" clears them).
	Details json.RawMessage
	// Metadata replaces the metadata when not nil.
	Metadata json.RawMessage
}

// lockThread locks the thread row for a message write and returns its path
// part id and path. Errors: thread_not_found (404).
func lockThread(ctx context.Context, tx pgx.Tx, tenantID, threadID uuid.UUID) (uuid.UUID, string, error) {
	var pp uuid.UUID
	var path string
	err := tx.QueryRow(ctx, `
SELECT t.path_part_id, p.path FROM threads t JOIN path_parts p ON p.tenant_id = t.tenant_id AND p.id = t.path_part_id
WHERE t.tenant_id = $1 AND t.id = $2 FOR UPDATE OF t`, tenantID, threadID).Scan(&pp, &path)
	if noRows(err) {
		return uuid.Nil, "", ErrThreadNotFound
	}
	if err != nil {
		return uuid.Nil, "", fmt.Errorf("lock thread: %w", err)
	}
	return pp, path, nil
}

// UpdateMessage applies p to a message in one transaction and returns it
// as read. The merged message is validated as a create is. Errors:
// thread_not_found, message_not_found (404), validation_failed,
// text_too_long, citation_invalid, reference_invalid (422).
func (s *Store) UpdateMessage(ctx context.Context, tenantID, threadID, messageID uuid.UUID, p MessagePatch) (Message, error) {
	var out Message
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, _, err := lockThread(ctx, tx, tenantID, threadID); err != nil {
			return err
		}
		var in NewMessage
		var role string
		var cits, refs []byte
		err := tx.QueryRow(ctx, `SELECT role, text, is_error, citations, refs, details, metadata FROM messages
WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`, tenantID, threadID, messageID).
			Scan(&role, &in.Text, &in.IsError, &cits, &refs, &in.Details, &in.Metadata)
		if noRows(err) {
			return ErrMessageNotFound
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		in.Role = Role(role)
		if err := json.Unmarshal(cits, &in.Citations); err != nil {
			return fmt.Errorf("decode citations: %w", err)
		}
		if err := json.Unmarshal(refs, &in.References); err != nil {
			return fmt.Errorf("decode references: %w", err)
		}
		if p.Text != nil {
			in.Text = *p.Text
		}
		if p.IsError != nil {
			in.IsError = *p.IsError
		}
		if p.Citations != nil {
			in.Citations = *p.Citations
		}
		if p.References != nil {
			in.References = *p.References
		}
		if p.Details != nil {
			in.Details = p.Details
		}
		if p.Metadata != nil {
			in.Metadata = p.Metadata
		}
		if in, _, err = in.validate(s.cfg.MaxImageBytes); err != nil {
			return err
		}
		if p.Citations != nil {
			if err := citation.Validate(ctx, tx, tenantID, in.Citations, "content.citations"); err != nil {
				return err
			}
		}
		if p.References != nil {
			if in.References, err = validateReferences(ctx, tx, tenantID, in.References, "content.references"); err != nil {
				return err
			}
		}
		if in.References == nil {
			in.References = []Reference{}
		}
		citsJSON, _ := json.Marshal(citation.Raw(in.Citations))
		refsJSON, _ := json.Marshal(in.References)
		var details any
		if len(in.Details) > 0 {
			details = in.Details
		}
		if _, err := tx.Exec(ctx, `
UPDATE messages SET text = $4, is_error = $5, citations = $6, refs = $7, details = $8, metadata = $9,
    updated_at = greatest(statement_timestamp(), updated_at + interval '1 microsecond')
WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
			tenantID, threadID, messageID, in.Text, in.IsError, citsJSON, refsJSON, details, in.Metadata); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if out, err = getMessage(ctx, tx, tenantID, threadID, messageID, true); err != nil {
			return err
		}
		_, err = events.Append(ctx, tx, tenantID, threadID, events.New{Type: events.MessageUpdated, MessageID: messageID, Data: out})
		return err
	})
	return out, err
}

// renumberShift moves sequences and names out of the way while later
// messages are renumbered, so no unique index sees two rows with one
// sequence or name mid-statement (10^12 is above any sequence, whose
// names have 10 digits).
const renumberShift = 1_000_000_000_000

// DeleteMessage deletes a message with its attachments and renumbers the
// later messages of the thread (see the top of this file), in one
// transaction. Errors: thread_not_found, message_not_found (404).
func (s *Store) DeleteMessage(ctx context.Context, tenantID, threadID, messageID uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		threadPP, threadPath, err := lockThread(ctx, tx, tenantID, threadID)
		if err != nil {
			return err
		}
		var seq int64
		var pp uuid.UUID
		err = tx.QueryRow(ctx, `SELECT sequence, path_part_id FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
			tenantID, threadID, messageID).Scan(&seq, &pp)
		if noRows(err) {
			return ErrMessageNotFound
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		// The attachments' path parts live under the thread's attachments
		// folder; the message's path part cascades to the message row and
		// from there to the attachment rows.
		if _, err := tx.Exec(ctx, `
DELETE FROM path_parts WHERE tenant_id = $1 AND (id = $2 OR id IN (
  SELECT path_part_id FROM message_attachments WHERE tenant_id = $1 AND message_id = $3))`, tenantID, pp, messageID); err != nil {
			return fmt.Errorf("delete message: %w", err)
		}
		// Renumber the later messages one down, in two steps through
		// renumberShift (see there).
		if _, err := tx.Exec(ctx, `
UPDATE messages SET sequence = sequence + $4 WHERE tenant_id = $1 AND thread_id = $2 AND sequence > $3`,
			tenantID, threadID, seq, int64(renumberShift)); err != nil {
			return fmt.Errorf("shift messages: %w", err)
		}
		if _, err := tx.Exec(ctx, `
UPDATE messages SET sequence = sequence - $3 - 1 WHERE tenant_id = $1 AND thread_id = $2 AND sequence > $3`,
			tenantID, threadID, int64(renumberShift)); err != nil {
			return fmt.Errorf("renumber messages: %w", err)
		}
		if _, err := tx.Exec(ctx, `
UPDATE path_parts p SET name = 'renumbering-' || m.id, updated_at = now()
FROM messages m WHERE m.tenant_id = $1 AND m.thread_id = $2 AND m.sequence >= $3
  AND p.tenant_id = m.tenant_id AND p.id = m.path_part_id`, tenantID, threadID, seq); err != nil {
			return fmt.Errorf("rename messages: %w", err)
		}
		if _, err := tx.Exec(ctx, `
UPDATE path_parts p SET name = lpad(m.sequence::text, $6, '0'), path = $4 || '/' || lpad(m.sequence::text, $6, '0')
FROM messages m WHERE m.tenant_id = $1 AND m.thread_id = $2 AND m.sequence >= $3
  AND p.tenant_id = m.tenant_id AND p.id = m.path_part_id AND p.parent_id = $5`,
			tenantID, threadID, seq, threadPath, threadPP, len(SequenceName(0))); err != nil { // SequenceName's width
			return fmt.Errorf("rename messages: %w", err)
		}
		if _, err := tx.Exec(ctx, `
UPDATE threads SET message_count = message_count - 1, updated_at = now(),
    last_message_at = (SELECT max(created_at) FROM messages WHERE tenant_id = $1 AND thread_id = $2)
WHERE tenant_id = $1 AND id = $2`, tenantID, threadID); err != nil {
			return fmt.Errorf("count messages: %w", err)
		}
		_, err = events.Append(ctx, tx, tenantID, threadID, events.New{Type: events.MessageDeleted, MessageID: messageID,
			Data: map[string]any{"message_id": messageID, "sequence": seq}})
		return err
	})
}
