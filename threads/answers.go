package threads

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// Answer is what CompleteAnswer stores in a pending answer.
type Answer struct {
	Text      string
	IsError   bool
	Citations []citation.Citation
	Details   json.RawMessage
	// Thinking is the model's reasoning before the answer ("": none).
	Thinking string
}

// AnswerTo returns the ASSISTANT message that answers the USER message
// userID (pending or stored), if there is one.
func (s *Store) AnswerTo(ctx context.Context, q DB, tenantID, threadID, userID uuid.UUID) (Message, bool, error) {
	if q == nil {
		q = s.pool
	}
	var id uuid.UUID
	err := q.QueryRow(ctx, `SELECT id FROM messages WHERE tenant_id = $1 AND answer_to = $2 AND thread_id = $3`,
		tenantID, userID, threadID).Scan(&id)
	if noRows(err) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("find answer: %w", err)
	}
	m, err := getMessage(ctx, q, tenantID, threadID, id, true)
	return m, err == nil, err
}

// CompleteAnswer stores a in the pending answer id (completed, or failed
// when a.IsError) and appends its message_completed event, in one
// transaction on q. stored is false, and nothing is written, when the
// answer is no longer pending (another run stored it). Errors:
// citation_invalid (422) when a cited chunk is gone.
func (s *Store) CompleteAnswer(ctx context.Context, q DB, tenantID, threadID, id uuid.UUID, a Answer, evs ...events.New) (m Message, stored bool, err error) {
	if q == nil {
		q = s.pool
	}
	if strings.TrimSpace(a.Text) == "" || !utf8.ValidString(a.Text) {
		return Message{}, false, apperr.Unprocessablef(apperr.CodeValidationFailed, "content.text", "an answer needs text")
	}
	if a.Citations == nil {
		a.Citations = []citation.Citation{}
	}
	tx, err := q.Begin(ctx)
	if err != nil {
		return Message{}, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := citation.Validate(ctx, tx, tenantID, a.Citations, "content.citations"); err != nil {
		return Message{}, false, err
	}
	status := StatusCompleted
	if a.IsError {
		status = StatusFailed
	}
	cits, _ := json.Marshal(citation.Raw(a.Citations))
	var details any
	if len(a.Details) > 0 {
		details = a.Details
	}
	if n := utf8.RuneCountInString(a.Thinking); n > MaxTextChars {
		a.Thinking = string([]rune(a.Thinking)[:MaxTextChars])
	}
	var thinking *string
	if a.Thinking != "" && utf8.ValidString(a.Thinking) {
		thinking = &a.Thinking
	}
	tag, err := tx.Exec(ctx, `
UPDATE messages SET text = $4, is_error = $5, citations = $6, details = $7, status = $8,
    fields = CASE WHEN $9::text IS NULL THEN fields ELSE fields || jsonb_build_object('thinking', $9::text) END,
    updated_at = greatest(statement_timestamp(), created_at)
WHERE tenant_id = $1 AND thread_id = $2 AND id = $3 AND status = 'pending'`,
		tenantID, threadID, id, a.Text, a.IsError, cits, details, string(status), thinking)
	if err != nil {
		return Message{}, false, fmt.Errorf("store answer: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Message{}, false, nil
	}
	m, err = getMessage(ctx, tx, tenantID, threadID, id, true)
	if err != nil {
		return Message{}, false, err
	}
	evs = append(evs,
		events.New{Type: events.Status, MessageID: id, Data: map[string]any{"message_id": id, "status": status}},
		events.New{Type: events.MessageCompleted, MessageID: id, Data: m},
		events.New{Type: events.Done, MessageID: id, Data: map[string]any{"message_id": id}})
	if _, err := events.Append(ctx, tx, tenantID, threadID, evs...); err != nil {
		return Message{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Message{}, false, fmt.Errorf("commit answer: %w", err)
	}
	return m, true, nil
}

// IsNotFound reports whether err is a missing thread or message.
func IsNotFound(err error) bool {
	return apperr.Is(err, CodeThreadNotFound) || apperr.Is(err, CodeMessageNotFound)
}

// LockMessage locks a message's row until q's transaction ends (callers
// that decide on a message serialise on it). Errors: message_not_found.
func (s *Store) LockMessage(ctx context.Context, q DB, tenantID, threadID, id uuid.UUID) error {
	var got uuid.UUID
	err := q.QueryRow(ctx, `SELECT id FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3 FOR UPDATE`,
		tenantID, threadID, id).Scan(&got)
	if noRows(err) {
		return ErrMessageNotFound
	}
	if err != nil {
		return fmt.Errorf("lock message: %w", err)
	}
	return nil
}
