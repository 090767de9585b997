package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

// registerAnswerRoutes registers POST /v1/threads/{id}/user_message on g.
func (s *Server) registerAnswerRoutes(g *gin.RouterGroup) {
	g.POST("/threads/:thread_id/user_message", s.LimitAnswers(), s.userMessage)
}

type userMessageRequest struct {
	Content struct {
		Text string `json:"text"`
	} `json:"content"`
	MessageID  *uuid.UUID `json:"message_id"`
	Stream     bool       `json:"stream"`
	Background bool       `json:"background"`
	Retrieval  *struct {
		PathPrefix string `json:"path_prefix"`
		TopK       int    `json:"top_k"`
	} `json:"retrieval"`
	Model string `json:"model"`
	// The seed fields of the question (seed 004).
	ParentMessageID *string  `json:"parent_message_id"`
	SenderID        *string  `json:"sender_id"`
	Tags            []string `json:"tags"`
}

type userMessageResponse struct {
	UserMessage      threads.Message `json:"user_message"`
	AssistantMessage threads.Message `json:"assistant_message"`
}

// userMessage asks the question (ask.Service) and answers as JSON, or as
// Server-Sent Events when the body says stream or the client accepts
// text/event-stream (each event with its id in the thread's log; a
// Last-Event-ID header resumes after it). A replay of a stored answer is
// 200, a new one 201; background: true answers 202 at once with the
// pending answer, which a River job generates.
func (s *Server) userMessage(c *gin.Context) {
	threadID, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	var req userMessageRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	q := ask.Question{MessageID: req.MessageID, Text: req.Content.Text, Model: req.Model,
		SenderID: req.SenderID, Tags: req.Tags}
	if req.ParentMessageID != nil {
		id, err := uuid.Parse(*req.ParentMessageID)
		if err != nil || len(*req.ParentMessageID) != 36 {
			s.fail(c, apperr.Invalidf(CodeInvalidID, "parent_message_id", "parent_message_id must be a UUID, got %q", *req.ParentMessageID))
			return
		}
		q.ParentMessageID = &id
	}
	if req.Retrieval != nil {
		q.PathPrefix, q.TopK = req.Retrieval.PathPrefix, req.Retrieval.TopK
	}
	ctx, tenant := c.Request.Context(), tenantID(c)
	if req.Background {
		sub, err := s.deps.Ask.Submit(ctx, tenant, threadID, q, true)
		if err != nil {
			s.fail(c, err)
			return
		}
		status := http.StatusAccepted
		if sub.Replayed {
			status = http.StatusOK
		}
		c.JSON(status, userMessageResponse{UserMessage: sub.User, AssistantMessage: sub.Answer})
		return
	}
	after, err := lastEventID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var sse *sseWriter
	var sink ask.Sink
	if req.Stream || strings.Contains(c.GetHeader("Accept"), "text/event-stream") {
		sse = &sseWriter{s: s, c: c}
		defer sse.stop()
		sink = sse.send
	}
	askCtx, cancel := s.streamContext(c)
	defer cancel()
	out, err := s.deps.Ask.Ask(askCtx, tenant, threadID, q, after, sink)
	err = s.shuttingDown(err)
	switch {
	case sse != nil && sse.started:
		if err != nil {
			sse.send(ask.Event{Type: ask.EventError, Err: err})
			sse.send(ask.Event{Type: ask.EventDone})
		}
	case err != nil:
		s.fail(c, err)
	case out.Replayed:
		c.JSON(http.StatusOK, userMessageResponse{UserMessage: out.User, AssistantMessage: out.Assistant})
	default:
		c.JSON(http.StatusCreated, userMessageResponse{UserMessage: out.User, AssistantMessage: out.Assistant})
	}
}

// sseWriter writes an answer's events as Server-Sent Events. The stream
// starts (200, headers) with the first event, so an error before it is a
// plain problem response. Writes to a client that went away fail
// silently; the answer is still stored.
type sseWriter struct {
	s       *Server
	c       *gin.Context
	started bool
	mu      sync.Mutex // one writer at a time: events and keepalive comments
	ended   bool       // done was sent (under mu)
	stopKA  func()
}

// stop ends the keepalive comments (call it before the handler returns).
func (w *sseWriter) stop() {
	if w.stopKA != nil {
		w.stopKA()
	}
}

// send writes one event: its name, and its payload as JSON.
func (w *sseWriter) send(ev ask.Event) {
	if !w.started {
		w.started = true
		h := w.c.Writer.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.c.Status(http.StatusOK)
		w.stopKA = w.keepalive(w.s.deps.Config.SSEKeepalive)
	}
	var data any
	switch ev.Type {
	case ask.EventUserMessage, ask.EventAssistantMessage:
		data = ev.Message
	case ask.EventDelta:
		data = gin.H{"text": ev.Text}
	case ask.EventCitation:
		data = w.s.enrichedCitation(w.c, *ev.Citation)
	case ask.EventStep:
		data = ev.Step
	case ask.EventError:
		data = w.s.eventError(w.c, ev.Err)
	default:
		data = gin.H{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Seq > 0 {
		_, _ = fmt.Fprintf(w.c.Writer, "id: %d\n", ev.Seq)
	}
	_, _ = fmt.Fprintf(w.c.Writer, "event: %s\ndata: %s\n\n", ev.Type, b)
	w.c.Writer.Flush()
	if ev.Type == ask.EventDone {
		w.ended = true
	}
}

// lastEventID reads the SSE Last-Event-ID header (0 when absent).
func lastEventID(c *gin.Context) (int64, error) {
	v := strings.TrimSpace(c.GetHeader("Last-Event-ID"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, apperr.Invalidf(CodeInvalidParameter, "Last-Event-ID", "Last-Event-ID must be an event id (a non-negative integer), got %q", v)
	}
	return n, nil
}

// enrichedCitation is the payload of an SSE citation event: the citation
// resolved as a message read resolves it (citation.Resolve), or raw, with
// the failure logged, when that fails.
func (s *Server) enrichedCitation(c *gin.Context, ct citation.Citation) citation.Citation {
	out, err := citation.Resolve(c.Request.Context(), s.deps.Pool, tenantID(c), []citation.Citation{ct})
	if err != nil || len(out) != 1 {
		s.log.WarnContext(c.Request.Context(), "citation event sent raw: enrichment failed", "error", err)
		return ct
	}
	return out[0]
}

// eventError is the payload of an SSE error event: the code and detail of
// an expected failure, "internal" (logged) otherwise.
func (s *Server) eventError(c *gin.Context, err error) gin.H {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		return gin.H{"code": e.Code, "detail": e.Message}
	}
	s.log.ErrorContext(c.Request.Context(), "user_message failed", "error", err)
	return gin.H{"code": apperr.CodeInternal, "detail": "internal error"}
}
