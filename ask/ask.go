// Package ask is the answer use case: a user message goes into a thread
// and comes back answered. Service.Ask stores the USER message (idempotent
// on its id), finds a stored answer to it or retrieves, generates and
// stores the ASSISTANT message with its citations and execution steps,
// and reports each stage as an Event. The HTTP server, the CLI and any job
// call it; they only turn events into their own format.
package ask

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

// Defaults of Config.
const (
	// HistoryMessagesDefault is how many earlier messages are read for the
	// conversation; the pipeline trims them to its budget.
	HistoryMessagesDefault = 20
	// TopKMax is the largest retrieval top_k a question may ask for.
	TopKMax = 100
	// waitPoll is how often a request waits for a concurrent generation
	// of the same message to finish.
	waitPoll = 100 * time.Millisecond
)

// Config configures a Service.
type Config struct {
	// GenerationTimeout bounds one answer's retrieval, generation and
	// storing. The work runs detached from the caller's cancellation, so
	// a client that goes away still leaves a complete stored answer.
	GenerationTimeout time.Duration
	// HistoryMessages is how many earlier messages form the conversation.
	HistoryMessages int
	// Logger receives generation failures.
	Logger *slog.Logger
}

// GenerationTimeout is the Config.GenerationTimeout for a model timeout:
// the model call's own bound plus time to retrieve and store.
func GenerationTimeout(modelTimeout time.Duration) time.Duration {
	return modelTimeout + 30*time.Second
}

// Service answers user messages.
type Service struct {
	pool     *pgxpool.Pool
	threads  *threads.Store
	pipeline *answer.Pipeline
	cfg      Config
}

// New returns a Service; zero Config fields take their defaults.
func New(pool *pgxpool.Pool, th *threads.Store, p *answer.Pipeline, cfg Config) *Service {
	if cfg.GenerationTimeout <= 0 {
		cfg.GenerationTimeout = 90 * time.Second
	}
	if cfg.HistoryMessages <= 0 {
		cfg.HistoryMessages = HistoryMessagesDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{pool: pool, threads: th, pipeline: p, cfg: cfg}
}

// AnswererName names the answerer (its model) for clients.
func (s *Service) AnswererName() string { return s.pipeline.Answerer.Name() }

// Question is a user message to answer.
type Question struct {
	// MessageID makes the question idempotent: a retry with the same id
	// returns the stored pair without generating again.
	MessageID *uuid.UUID
	// Text is the question.
	Text string
	// PathPrefix restricts retrieval to a folder.
	PathPrefix string
	// TopK is the number of sources retrieved (0: the default; at most TopKMax).
	TopK int
	// Model overrides the answerer's model.
	Model string
	// Temperature is the model's sampling temperature (nil: its default).
	Temperature *float32
}

// EventType names an Event.
type EventType string

// The events of one answer, in the order they happen: user_message, then
// any of step, delta and citation, then error (when generation failed),
// assistant_message (the stored answer) and done. A replay of a stored
// answer is user_message, assistant_message, done.
const (
	EventUserMessage      EventType = "user_message"
	EventStep             EventType = "step"
	EventDelta            EventType = "delta"
	EventCitation         EventType = "citation"
	EventError            EventType = "error"
	EventAssistantMessage EventType = "assistant_message"
	EventDone             EventType = "done"
)

// Event is one stage of an answer. Message is set for user_message and
// assistant_message, Text for delta, Citation for citation, Step for step
// and Err for error.
type Event struct {
	Type     EventType
	Message  *threads.Message
	Text     string
	Citation *citation.Citation
	Step     *answer.Step
	Err      error
}

// Sink receives events from the answering goroutine; it must not block long.
type Sink func(Event)

// Outcome is an answered question.
type Outcome struct {
	// User is the stored USER message.
	User threads.Message
	// Assistant is the stored ASSISTANT message (is_error when generation failed).
	Assistant threads.Message
	// Replayed is true when the answer was stored before this call.
	Replayed bool
	// GenerationErr is why generation failed, when it did; the failure is
	// also stored as Assistant.
	GenerationErr error
}

// metadata links an assistant message to the user message it answers.
type metadata struct {
	Answers uuid.UUID `json:"answers"`
}

// Ask stores q as a USER message of the thread and answers it, sending
// each stage to sink (which may be nil). Errors before user_message was
// sent leave nothing stored; an error after it is a failure to store the
// answer. Concurrent calls with one message id generate once: the others
// wait for that answer and return it as a replay. A retry whose text
// differs from the stored message is 409 message_id_conflict.
func (s *Service) Ask(ctx context.Context, tenant, threadID uuid.UUID, q Question, sink Sink) (Outcome, error) {
	if sink == nil {
		sink = func(Event) {}
	}
	if q.TopK < 0 || q.TopK > TopKMax {
		return Outcome{}, apperr.Invalidf(apperr.CodeValidationFailed, "retrieval.top_k", "top_k must be between 0 (the default) and %d, got %d", TopKMax, q.TopK)
	}
	q.Model = strings.TrimSpace(q.Model)
	user, created, err := s.threads.CreateMessage(ctx, nil, tenant, threadID, threads.NewMessage{
		ID: q.MessageID, Role: threads.RoleUser, Text: q.Text})
	if err != nil {
		return Outcome{}, err
	}
	if !created {
		if user.Role != threads.RoleUser {
			return Outcome{}, apperr.New(apperr.Conflict, threads.CodeMessageIDConflict, "message_id %s names a %s message", user.ID, user.Role).WithField("message_id")
		}
		if user.Content.Text != q.Text {
			return Outcome{}, apperr.New(apperr.Conflict, threads.CodeMessageIDConflict, "message_id %s was sent before with a different text", user.ID).WithField("content.text")
		}
	}
	sink(Event{Type: EventUserMessage, Message: &user})

	genCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.GenerationTimeout)
	defer cancel()
	out, err := s.answerOnce(genCtx, tenant, threadID, user, q, sink)
	if err != nil {
		return Outcome{User: user}, err
	}
	if out.GenerationErr != nil {
		sink(Event{Type: EventError, Err: out.GenerationErr})
	}
	sink(Event{Type: EventAssistantMessage, Message: &out.Assistant})
	sink(Event{Type: EventDone})
	return out, nil
}

// answerOnce generates the answer to user unless it is stored. It claims
// the user message first (answer_claims), so one message id is answered
// once across requests and replicas, without holding a connection while
// the model works. A call that finds the message claimed waits until the
// answer is stored, or until the claim expired or was released, then
// claims it itself.
func (s *Service) answerOnce(ctx context.Context, tenant, threadID uuid.UUID, user threads.Message, q Question, sink Sink) (Outcome, error) {
	for {
		if prev, ok, err := s.findAnswer(ctx, nil, tenant, threadID, user); err != nil {
			return Outcome{}, err
		} else if ok {
			return Outcome{User: user, Assistant: prev, Replayed: true}, nil
		}
		claimed, err := s.claim(ctx, tenant, threadID, user.ID)
		if err != nil {
			return Outcome{}, err
		}
		if claimed {
			break
		}
		select {
		case <-ctx.Done():
			return Outcome{}, apperr.New(apperr.Unavailable, CodeAnswerInProgress, "the answer to message %s is still being generated", user.ID).WithField("message_id")
		case <-time.After(waitPoll):
		}
	}
	// Claimed: a run that stored the answer between our read and our
	// claim has deleted its claim with the answer, so read once more.
	if prev, ok, err := s.findAnswer(ctx, nil, tenant, threadID, user); err != nil || ok {
		s.release(tenant, user.ID)
		return Outcome{User: user, Assistant: prev, Replayed: ok}, err
	}
	out, err := s.generate(ctx, tenant, threadID, user, q, sink)
	if err != nil {
		s.release(tenant, user.ID)
	}
	return out, err
}

// claim claims the answer to a user message for GenerationTimeout; it
// reports false when a live claim of another run holds it.
func (s *Service) claim(ctx context.Context, tenant, threadID, userID uuid.UUID) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
INSERT INTO answer_claims (tenant_id, user_message_id, thread_id, claimed_until)
VALUES ($1, $2, $3, clock_timestamp() + $4::interval)
ON CONFLICT (tenant_id, user_message_id) DO UPDATE SET claimed_until = excluded.claimed_until
WHERE answer_claims.claimed_until < clock_timestamp()`, tenant, userID, threadID, s.cfg.GenerationTimeout)
	if err != nil {
		return false, fmt.Errorf("claim answer: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// release deletes a claim whose run stores no answer, so a waiting or
// later request generates at once; it runs even after ctx ended.
func (s *Service) release(tenant, userID uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `DELETE FROM answer_claims WHERE tenant_id = $1 AND user_message_id = $2`, tenant, userID); err != nil {
		s.cfg.Logger.WarnContext(ctx, "release answer claim", "error", err)
	}
}

// generate retrieves, generates and stores the answer, and deletes the
// claim in the transaction that stores it.
func (s *Service) generate(ctx context.Context, tenant, threadID uuid.UUID, user threads.Message, q Question, sink Sink) (Outcome, error) {
	history, err := s.history(ctx, tenant, threadID, user)
	if err != nil {
		return Outcome{}, err
	}
	res, genErr := s.pipeline.Run(ctx, tenant, user.Content.Text, history,
		answer.Options{PathPrefix: q.PathPrefix, TopK: q.TopK, Model: q.Model, Temperature: q.Temperature}, pipelineSink{sink})
	in := threads.NewMessage{Role: threads.RoleAssistant, Text: res.Text, Citations: res.Citations}
	if genErr != nil {
		msg := "the answer could not be generated"
		if e, ok := apperr.As(genErr); ok {
			msg = e.Message
		}
		s.cfg.Logger.WarnContext(ctx, "generation failed", "error", genErr)
		in.IsError = true
		in.Text = "Sorry, I could not answer: " + msg + "."
		res.Steps = append(res.Steps, answer.NewStep("error", map[string]any{"message": msg, "code": apperr.CodeOf(genErr)}))
	}
	if strings.TrimSpace(in.Text) == "" {
		in.Text = answer.NotFoundText
	}
	in.Details = s.details(user, res.Steps)
	in.Metadata, _ = json.Marshal(metadata{Answers: user.ID})
	asst, err := s.store(ctx, tenant, threadID, user.ID, in)
	if apperr.Is(err, citation.CodeInvalid) {
		// A cited chunk was deleted while answering: keep the answer, drop
		// its citations, and say so in the steps.
		in.Citations = nil
		in.Details = s.details(user, append(res.Steps, answer.NewStep("citations_dropped", map[string]any{"reason": err.Error()})))
		asst, err = s.store(ctx, tenant, threadID, user.ID, in)
	}
	if err != nil {
		return Outcome{User: user, GenerationErr: genErr}, fmt.Errorf("store answer: %w", err)
	}
	return Outcome{User: user, Assistant: asst, GenerationErr: genErr}, nil
}

// store writes the answer and deletes its claim in one transaction.
func (s *Service) store(ctx context.Context, tenant, threadID, userID uuid.UUID, in threads.NewMessage) (threads.Message, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return threads.Message{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	asst, _, err := s.threads.CreateMessage(ctx, tx, tenant, threadID, in)
	if err != nil {
		return threads.Message{}, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM answer_claims WHERE tenant_id = $1 AND user_message_id = $2`, tenant, userID); err != nil {
		return threads.Message{}, fmt.Errorf("delete answer claim: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return threads.Message{}, fmt.Errorf("commit answer: %w", err)
	}
	return asst, nil
}

func (s *Service) details(user threads.Message, steps []answer.Step) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"user_message_id": user.ID, "answerer": s.pipeline.Answerer.Name(), "steps": steps})
	return b
}

// history returns the conversation before user, oldest first.
func (s *Service) history(ctx context.Context, tenant, threadID uuid.UUID, user threads.Message) ([]answer.Turn, error) {
	conv, err := s.threads.Conversation(ctx, nil, tenant, threadID, s.cfg.HistoryMessages)
	if err != nil {
		return nil, err
	}
	var out []answer.Turn
	for _, m := range conv {
		if m.ID != user.ID && m.Sequence < user.Sequence {
			out = append(out, answer.Turn{Role: string(m.Role), Text: m.Content.Text})
		}
	}
	return out, nil
}

// findAnswer returns the ASSISTANT message that answers user, if stored.
func (s *Service) findAnswer(ctx context.Context, q threads.DB, tenant, threadID uuid.UUID, user threads.Message) (threads.Message, bool, error) {
	after := user.CreatedAt
	for offset := 0; ; offset += threads.ListLimitMax {
		page, err := s.threads.ListMessages(ctx, q, tenant, threadID, threads.ListOptions{
			Limit: threads.ListLimitMax, Offset: offset, After: &after, WithDetails: true})
		if err != nil {
			return threads.Message{}, false, err
		}
		for _, m := range page.Data {
			var md metadata
			if m.Role == threads.RoleAssistant && json.Unmarshal(m.Metadata, &md) == nil && md.Answers == user.ID {
				return m, true, nil
			}
		}
		if !page.HasMore {
			return threads.Message{}, false, nil
		}
	}
}

// pipelineSink turns the pipeline's callbacks into events.
type pipelineSink struct{ sink Sink }

func (p pipelineSink) Delta(text string) { p.sink(Event{Type: EventDelta, Text: text}) }

func (p pipelineSink) Citation(c citation.Citation) { p.sink(Event{Type: EventCitation, Citation: &c}) }

func (p pipelineSink) Step(st answer.Step) { p.sink(Event{Type: EventStep, Step: &st}) }
