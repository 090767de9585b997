package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/answer"
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
	MessageID *uuid.UUID `json:"message_id"`
	Stream    bool       `json:"stream"`
	Retrieval *struct {
		PathPrefix string `json:"path_prefix"`
		TopK       int    `json:"top_k"`
	} `json:"retrieval"`
	Model string `json:"model"`
}

type userMessageResponse struct {
	UserMessage      threads.Message `json:"user_message"`
	AssistantMessage threads.Message `json:"assistant_message"`
}

// historyMessages is how many earlier messages are read for the
// conversation; answer.Pipeline trims them to its budget.
const historyMessages = 20

// answerMetadata links an assistant message to the user message it answers.
type answerMetadata struct {
	Answers uuid.UUID `json:"answers"`
}

// userMessage stores a USER message, answers it, and stores the ASSISTANT
// message with citations and execution steps, as JSON or as Server-Sent
// Events. The generation runs on a context detached from the client, so a
// client that goes away still leaves a complete stored answer. A retry
// with the same message_id returns the stored pair without generating.
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
	opt := answer.Options{Model: strings.TrimSpace(req.Model)}
	if req.Retrieval != nil {
		opt.PathPrefix, opt.TopK = req.Retrieval.PathPrefix, req.Retrieval.TopK
		if opt.TopK < 0 || opt.TopK > 100 {
			s.fail(c, apperr.Invalidf("validation_failed", "retrieval.top_k", "top_k must be between 0 (the default) and 100, got %d", opt.TopK))
			return
		}
	}
	ctx, tenant := c.Request.Context(), tenantID(c)
	user, created, err := s.deps.Threads.CreateMessage(ctx, nil, tenant, threadID, threads.NewMessage{
		ID: req.MessageID, Role: threads.RoleUser, Text: req.Content.Text})
	if err != nil {
		s.fail(c, err)
		return
	}
	if !created {
		if user.Role != threads.RoleUser {
			s.fail(c, apperr.New(apperr.Conflict, "message_id_conflict", "message_id %s names a %s message", user.ID, user.Role).WithField("message_id"))
			return
		}
		if prev, ok, err := s.findAnswer(ctx, tenant, threadID, user); err != nil {
			s.fail(c, err)
			return
		} else if ok {
			s.replyStored(c, req.Stream, user, prev)
			return
		}
	}
	stream := req.Stream || strings.Contains(c.GetHeader("Accept"), "text/event-stream")
	var sink answer.Sink = answer.Discard{}
	var sse *sseWriter
	if stream {
		sse = newSSE(c)
		defer sse.keepalive(s.deps.Config.SSEKeepalive)()
		sse.event("user_message", user)
		sink = sse
	}
	genCtx, cancel := s.generationContext(ctx)
	defer cancel()
	asst, genErr, err := s.generate(genCtx, tenant, threadID, user, opt, sink)
	if err != nil {
		if sse != nil {
			sse.failure(s, c, err)
			sse.event("done", gin.H{})
			return
		}
		s.fail(c, err)
		return
	}
	if sse != nil {
		if genErr != nil {
			sse.failure(s, c, genErr)
		}
		// The stored answer (an is_error message when generation failed)
		// comes last, then exactly one done.
		sse.event("assistant_message", asst)
		sse.event("done", gin.H{})
		return
	}
	c.JSON(http.StatusCreated, userMessageResponse{UserMessage: user, AssistantMessage: asst})
}

// generate answers user and stores the ASSISTANT message. genErr is the
// generation's failure (stored as an is_error message); err is a failure
// to store anything.
func (s *Server) generate(ctx context.Context, tenant, threadID uuid.UUID, user threads.Message, opt answer.Options, sink answer.Sink) (threads.Message, error, error) {
	conv, err := s.deps.Threads.Conversation(ctx, nil, tenant, threadID, historyMessages)
	if err != nil {
		return threads.Message{}, nil, err
	}
	var history []answer.Turn
	for _, m := range conv {
		if m.ID != user.ID && m.Sequence < user.Sequence {
			history = append(history, answer.Turn{Role: string(m.Role), Text: m.Content.Text})
		}
	}
	runCtx, cancelRun := modelContext(ctx)
	res, genErr := s.deps.Answers.Run(runCtx, tenant, user.Content.Text, history, opt, sink)
	cancelRun()
	in := threads.NewMessage{Role: threads.RoleAssistant, Text: res.Text}
	if genErr != nil {
		msg := "the answer could not be generated"
		if e, ok := apperr.As(genErr); ok {
			msg = e.Message
		}
		s.log.WarnContext(ctx, "generation failed", "error", genErr)
		in.IsError = true
		in.Text = "Sorry, I could not answer: " + msg + "."
		res.Steps = append(res.Steps, answer.NewStep("error", map[string]any{"message": msg, "code": errCode(genErr)}))
	}
	if strings.TrimSpace(in.Text) == "" {
		in.Text = answer.NotFoundText
	}
	for _, ct := range res.Citations {
		in.Citations = append(in.Citations, threads.Citation{ChunkID: ct.ChunkID, Quote: ct.Quote, StartChar: ct.StartChar, Length: ct.Length})
	}
	in.Details, _ = json.Marshal(map[string]any{"user_message_id": user.ID, "answerer": s.deps.Answers.Answerer.Name(), "steps": res.Steps})
	in.Metadata, _ = json.Marshal(answerMetadata{Answers: user.ID})
	asst, _, err := s.deps.Threads.CreateMessage(ctx, nil, tenant, threadID, in)
	if apperr.Is(err, "citation_invalid") {
		// A cited chunk was deleted while answering: keep the answer, drop
		// its citations, and say so in the steps.
		in.Citations = nil
		in.Details, _ = json.Marshal(map[string]any{"user_message_id": user.ID, "answerer": s.deps.Answers.Answerer.Name(),
			"steps": append(res.Steps, answer.NewStep("citations_dropped", map[string]any{"reason": err.Error()}))})
		asst, _, err = s.deps.Threads.CreateMessage(ctx, nil, tenant, threadID, in)
	}
	if err != nil {
		return threads.Message{}, genErr, fmt.Errorf("store answer: %w", err)
	}
	return asst, genErr, nil
}

func errCode(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return "internal"
}

// findAnswer returns the ASSISTANT message that answers user, if stored.
func (s *Server) findAnswer(ctx context.Context, tenant, threadID uuid.UUID, user threads.Message) (threads.Message, bool, error) {
	after := user.CreatedAt
	for offset := 0; ; offset += threads.ListLimitMax {
		page, err := s.deps.Threads.ListMessages(ctx, nil, tenant, threadID, threads.ListOptions{
			Limit: threads.ListLimitMax, Offset: offset, After: &after, WithDetails: true})
		if err != nil {
			return threads.Message{}, false, err
		}
		for _, m := range page.Data {
			var md answerMetadata
			if m.Role == threads.RoleAssistant && json.Unmarshal(m.Metadata, &md) == nil && md.Answers == user.ID {
				return m, true, nil
			}
		}
		if !page.HasMore {
			return threads.Message{}, false, nil
		}
	}
}

func (s *Server) replyStored(c *gin.Context, stream bool, user, asst threads.Message) {
	if stream || strings.Contains(c.GetHeader("Accept"), "text/event-stream") {
		w := newSSE(c)
		w.event("user_message", user)
		w.event("assistant_message", asst)
		w.event("done", gin.H{})
		return
	}
	c.JSON(http.StatusOK, userMessageResponse{UserMessage: user, AssistantMessage: asst})
}

// sseWriter writes Server-Sent Events and is the answer's Sink. Writes to
// a client that went away fail silently; the answer is still stored.
type sseWriter struct {
	c  *gin.Context
	mu sync.Mutex // one writer at a time: events and keepalive comments
}

func newSSE(c *gin.Context) *sseWriter {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	return &sseWriter{c: c}
}

func (w *sseWriter) event(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = fmt.Fprintf(w.c.Writer, "event: %s\ndata: %s\n\n", name, b)
	w.c.Writer.Flush()
}

// failure sends an error event for err; the caller ends the stream.
func (w *sseWriter) failure(s *Server, c *gin.Context, err error) {
	code, msg := "internal", "internal error"
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		code, msg = e.Code, e.Message
	} else {
		s.log.ErrorContext(c.Request.Context(), "user_message failed", "error", err)
	}
	w.event("error", gin.H{"code": code, "detail": msg})
}

// Delta sends answer text.
func (w *sseWriter) Delta(text string) { w.event("delta", gin.H{"text": text}) }

// Citation sends an accepted citation.
func (w *sseWriter) Citation(ct answer.Citation) { w.event("citation", ct) }

// Step sends an execution step.
func (w *sseWriter) Step(st answer.Step) { w.event("step", st) }
