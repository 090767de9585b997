// Package events owns the per-thread event log: every event of a thread
// (a message created, an answer's status, deltas, citations, steps, its
// end) in one gap-free order per thread, in Postgres, so every stream (the
// SSE answer stream and its Last-Event-ID, the thread's SSE and WebSocket
// streams, the compatible APIs) reads the same log, on any replica, and
// resumes from an event id.
//
// Writers append inside their own transactions (a message's creation and
// its event commit together); each append notifies the channel Channel.
// A Hub holds one LISTEN connection per process and wakes the followers
// of a thread; followers also poll, so a lost notification delays an
// event by at most the poll interval but never loses it.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/pg"
)

// Channel is the Postgres notification channel of appends; the payload is
// "<tenant>/<thread>/<seq>".
const Channel = "cairn_thread_events"

// Type names an event.
type Type string

// The event types of the log.
const (
	// MessageCreated carries a created message (any role; an answer is
	// created pending).
	MessageCreated Type = "message_created"
	// MessageUpdated carries a message edited in place (PATCH).
	MessageUpdated Type = "message_updated"
	// MessageDeleted carries {message_id, sequence} of a deleted message;
	// later messages moved one sequence down.
	MessageDeleted Type = "message_deleted"
	// Status carries {message_id, status} when an answer changes status.
	Status Type = "status"
	// Step carries an execution step of an answer.
	Step Type = "step"
	// Delta carries {text}, a piece of an answer's text.
	Delta Type = "delta"
	// Citation carries an accepted citation of an answer.
	Citation Type = "citation"
	// Error carries {code, detail} when an answer failed.
	Error Type = "error"
	// MessageCompleted carries the stored answer (completed or failed).
	MessageCompleted Type = "message_completed"
	// Done ends an answer: the last event about it.
	Done Type = "done"
)

// New is an event to append. Data is any JSON-encodable value.
type New struct {
	Type      Type
	MessageID uuid.UUID
	Data      any
}

// Event is an event of the log.
type Event struct {
	Seq       int64           `json:"seq"`
	ThreadID  uuid.UUID       `json:"thread_id"`
	MessageID *uuid.UUID      `json:"message_id"`
	Type      Type            `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Append appends evs to the thread's log on q (call it inside the
// transaction of the write the events describe) and returns their seqs.
// Appends to one thread serialise on its head row.
func Append(ctx context.Context, q pg.DB, tenant, thread uuid.UUID, evs ...New) ([]int64, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	tx, err := q.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	var last int64
	if err := tx.QueryRow(ctx, `
INSERT INTO thread_event_heads (tenant_id, thread_id, last_seq) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, thread_id) DO UPDATE SET last_seq = thread_event_heads.last_seq + $3
RETURNING last_seq`, tenant, thread, int64(len(evs))).Scan(&last); err != nil {
		return nil, fmt.Errorf("advance event head: %w", err)
	}
	first := last - int64(len(evs)) + 1
	seqs := make([]int64, len(evs))
	types := make([]string, len(evs))
	msgs := make([]*uuid.UUID, len(evs))
	datas := make([]string, len(evs))
	for i, ev := range evs {
		seqs[i] = first + int64(i)
		types[i] = string(ev.Type)
		if ev.MessageID != uuid.Nil {
			id := ev.MessageID
			msgs[i] = &id
		}
		b, err := json.Marshal(ev.Data)
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
		if ev.Data == nil {
			b = []byte("{}")
		}
		datas[i] = string(b)
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO thread_events (tenant_id, thread_id, seq, type, message_id, data)
SELECT $1, $2, s, t, m, d::jsonb FROM unnest($3::bigint[], $4::text[], $5::uuid[], $6::text[]) AS u(s, t, m, d)`,
		tenant, thread, seqs, types, msgs, datas); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, fmt.Sprintf("%s/%s/%d", tenant, thread, last)); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit events: %w", err)
	}
	return seqs, nil
}

// Filter selects events of a read; zero fields select everything.
type Filter struct {
	// Messages keeps the events about these messages only.
	Messages []uuid.UUID
}

// ReadLimit bounds one Read.
const ReadLimit = 500

// Read returns the thread's events after seq after, oldest first, at most
// limit (at most ReadLimit).
func Read(ctx context.Context, q pg.DB, tenant, thread uuid.UUID, after int64, limit int, f Filter) ([]Event, error) {
	if limit <= 0 || limit > ReadLimit {
		limit = ReadLimit
	}
	var msgs []uuid.UUID
	if len(f.Messages) > 0 {
		msgs = f.Messages
	}
	rows, err := q.Query(ctx, `
SELECT seq, thread_id, message_id, type, data, created_at FROM thread_events
WHERE tenant_id = $1 AND thread_id = $2 AND seq > $3 AND ($5::uuid[] IS NULL OR message_id = ANY($5))
ORDER BY seq LIMIT $4`, tenant, thread, after, limit, msgs)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var typ string
		if err := rows.Scan(&e.Seq, &e.ThreadID, &e.MessageID, &typ, &e.Data, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Type, e.CreatedAt = Type(typ), e.CreatedAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// FirstSeq returns the seq of the first event about message (0, false
// when there is none).
func FirstSeq(ctx context.Context, q pg.DB, tenant, thread, message uuid.UUID) (int64, bool, error) {
	var seq *int64
	if err := q.QueryRow(ctx, `SELECT min(seq) FROM thread_events WHERE tenant_id = $1 AND thread_id = $2 AND message_id = $3`,
		tenant, thread, message).Scan(&seq); err != nil {
		return 0, false, fmt.Errorf("read first event: %w", err)
	}
	if seq == nil {
		return 0, false, nil
	}
	return *seq, true, nil
}

// LastSeq returns the thread's last seq (0 when it has no events).
func LastSeq(ctx context.Context, q pg.DB, tenant, thread uuid.UUID) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `SELECT coalesce((SELECT last_seq FROM thread_event_heads WHERE tenant_id = $1 AND thread_id = $2), 0)`,
		tenant, thread).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("read event head: %w", err)
	}
	return seq, nil
}
