package ks

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

// userMessageRequest is Knowledge Stack's UserMessageRequest; fast_mode
// is accepted and ignored. message_id is Cairn's: a retry with the same
// id and text takes the question once.
type userMessageRequest struct {
	InputText *string    `json:"input_text"`
	FastMode  *bool      `json:"fast_mode"`
	MessageID *uuid.UUID `json:"message_id"`
}

// userMessageResponse is Knowledge Stack's UserMessageResponse. The
// workflow is the generation of the answer, whose id it is;
// assistant_message_id is Cairn's own.
type userMessageResponse struct {
	WorkflowID         uuid.UUID `json:"workflow_id"`
	UserMessageID      uuid.UUID `json:"user_message_id"`
	AssistantMessageID uuid.UUID `json:"assistant_message_id"`
}

// userMessage stores the question and its pending answer with the job
// that generates it (ask.Submit in background mode) and answers at once,
// 202 (200 for a retry of a question taken before).
func (h *handler) userMessage(c *gin.Context) {
	threadID, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	var req userMessageRequest
	if err := h.HTTP.Decode(c, &req); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if req.InputText == nil || strings.TrimSpace(*req.InputText) == "" {
		h.HTTP.Fail(c, apperr.Unprocessablef(apperr.CodeValidationFailed, "input_text", "input_text is required and must not be blank"))
		return
	}
	sub, err := h.Ask.Submit(c.Request.Context(), h.HTTP.Tenant(c), threadID, ask.Question{MessageID: req.MessageID, Text: *req.InputText}, true)
	if err != nil {
		h.HTTP.Fail(c, renameField(err, "content.text", "input_text"))
		return
	}
	status := http.StatusAccepted
	if sub.Replayed {
		status = http.StatusOK
	}
	c.JSON(status, userMessageResponse{WorkflowID: sub.Answer.ID, UserMessageID: sub.User.ID, AssistantMessageID: sub.Answer.ID})
}

// keepalive is how long the stream stays silent before an SSE comment.
const keepalive = 15 * time.Second

// StreamEvent is the data of one event of the thread stream: the event's
// id in the thread's log (entry_id, also the SSE id), its type, the
// message it is about and its payload (see README: Knowledge
// Stack-compatible API).
type StreamEvent struct {
	EntryID   string      `json:"entry_id"`
	Type      events.Type `json:"type"`
	ThreadID  uuid.UUID   `json:"thread_id"`
	MessageID *uuid.UUID  `json:"message_id"`
	CreatedAt time.Time   `json:"created_at"`
	Data      any         `json:"data"`
}

// The coarse codes of a failed answer: internal errors, and the model
// failures (timeouts, unreachable or failing model servers) that make
// every other answer error.
const (
	classInternalError      = "internal_error"
	classServiceUnavailable = "service_unavailable"
)

// streamError is the payload of an error event: Knowledge Stack's
// ErrorResponse, with Cairn's fine code beside the coarse one.
type streamError struct {
	Detail    string      `json:"detail"`
	Code      string      `json:"code"`
	CairnCode apperr.Code `json:"cairn_code"`
}

// stream serves the thread's events as Server-Sent Events until the
// client goes away. It resumes after last_entry_id (or a Last-Event-ID
// header); else after the creation of last_message_id; else it starts
// with the thread's latest answer (so a client that connects after
// user_message still reads it) and follows live.
func (h *handler) stream(c *gin.Context) {
	threadID, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if err := h.HTTP.AllowQuery(c, "last_message_id", "last_entry_id"); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	ctx, tenant := c.Request.Context(), h.HTTP.Tenant(c)
	if _, err := h.Threads.GetThread(ctx, tenant, threadID); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	after, err := h.resumePoint(c, tenant, threadID)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	hd := c.Writer.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.Flush()
	err = h.Ask.Hub().WriteSSE(ctx, c.Writer, c.Writer.Flush, tenant, threadID, after, events.Filter{}, keepalive,
		func(ev events.Event) any {
			return StreamEvent{EntryID: strconv.FormatInt(ev.Seq, 10), Type: ev.Type, ThreadID: ev.ThreadID,
				MessageID: ev.MessageID, CreatedAt: ev.CreatedAt, Data: h.payload(ctx, tenant, ev)}
		})
	if err != nil && ctx.Err() == nil {
		h.Logger.WarnContext(ctx, "knowledge stack thread stream ended", "error", err)
	}
}

// resumePoint returns the event id the stream starts after.
func (h *handler) resumePoint(c *gin.Context, tenant, threadID uuid.UUID) (int64, error) {
	ctx, pool := c.Request.Context(), h.Threads.Pool()
	entry := c.Query("last_entry_id")
	if entry == "" {
		entry = strings.TrimSpace(c.GetHeader("Last-Event-ID"))
	}
	var last *uuid.UUID
	if raw := c.Query("last_message_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return 0, apperr.Invalidf(apperr.CodeValidationFailed, "last_message_id", "last_message_id must be a message id (a UUID), got %q", raw)
		}
		if _, err := h.Threads.GetMessage(ctx, nil, tenant, threadID, id, false); err != nil {
			return 0, err
		}
		last = &id
	}
	switch {
	case entry != "":
		n, err := strconv.ParseInt(entry, 10, 64)
		if err != nil || n < 0 {
			return 0, apperr.Invalidf(apperr.CodeValidationFailed, "last_entry_id", "last_entry_id must be an entry_id of this stream (a non-negative integer), got %q", entry)
		}
		return n, nil
	case last != nil:
		if seq, ok, err := events.FirstSeq(ctx, pool, tenant, threadID, *last); err != nil || ok {
			return seq, err
		}
		return events.LastSeq(ctx, pool, tenant, threadID)
	}
	page, err := h.Threads.ListMessages(ctx, nil, tenant, threadID, threads.ListOptions{Limit: 1, Role: threads.RoleAssistant})
	if err != nil {
		return 0, err
	}
	if len(page.Data) == 1 {
		if seq, ok, err := events.FirstSeq(ctx, pool, tenant, threadID, page.Data[0].ID); err != nil || ok {
			return seq - 1, err
		}
	}
	return events.LastSeq(ctx, pool, tenant, threadID)
}

// payload is an event's data in this surface's shapes: messages as
// Message, steps as Step, citations resolved as a message read resolves
// them, errors as ErrorResponse; other events as logged.
func (h *handler) payload(ctx context.Context, tenant uuid.UUID, ev events.Event) any {
	switch ev.Type {
	case events.MessageCreated, events.MessageCompleted:
		var m threads.Message
		if json.Unmarshal(ev.Data, &m) == nil {
			ents, err := h.entityIDs(ctx, tenant, m)
			if err != nil {
				h.Logger.WarnContext(ctx, "references sent by path part id: entity lookup failed", "error", err)
			}
			return toMessage(m, ents)
		}
	case events.Step:
		var s cairnStep
		if json.Unmarshal(ev.Data, &s) == nil {
			return toStep("entry-"+strconv.FormatInt(ev.Seq, 10), s)
		}
	case events.Citation:
		var ct citation.Citation
		if json.Unmarshal(ev.Data, &ct) == nil {
			out, err := citation.Resolve(ctx, h.Threads.Pool(), tenant, []citation.Citation{ct})
			if err == nil && len(out) == 1 {
				return out[0]
			}
			h.Logger.WarnContext(ctx, "citation event sent raw: enrichment failed", "error", err)
			return ct
		}
	case events.Error:
		var e struct {
			Code   apperr.Code `json:"code"`
			Detail string      `json:"detail"`
		}
		if json.Unmarshal(ev.Data, &e) == nil {
			class := classServiceUnavailable
			if e.Code == apperr.CodeInternal {
				class = classInternalError
			}
			return streamError{Detail: e.Detail, Code: class, CairnCode: e.Code}
		}
	}
	return ev.Data
}
