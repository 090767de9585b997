// Package ask is the answer use case: a user message goes into a thread
// and comes back answered. Submit stores the USER message (idempotent on
// its id) with its ASSISTANT answer, pending, and a River job, in one
// transaction; the answer is generated in this process (Ask) or by the
// job (background mode, or after a crash), and every stage is appended
// to the thread's event log (package events). Ask follows that log and
// reports each stage as an Event, so a stream resumes from any event id.
// The HTTP server, the compatible APIs and the CLI call it; they only turn
// events into their own format.
package ask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/riverkinds"
	"github.com/cairn-rag/cairn/threads"
)

// Defaults of Config.
const (
	// HistoryMessagesDefault is how many earlier messages are read for the
	// conversation; the pipeline trims them to its budget.
	HistoryMessagesDefault = 20
	// TopKMax is the largest retrieval top_k a question may ask for.
	TopKMax = 100
)

// Config configures a Service.
type Config struct {
	// GenerationTimeout bounds one answer's retrieval, generation and
	// storing. The work runs detached from the caller's cancellation, so
	// a client that goes away still leaves a complete stored answer.
	GenerationTimeout time.Duration
	// HistoryMessages is how many earlier messages form the conversation.
	HistoryMessages int
	// Workers is how many background answers this process generates at
	// once (River queue Queue); 0 makes a Service that only enqueues.
	Workers int
	// Queue is the River queue of answer jobs (QueueDefault when empty).
	Queue string
	// Logger receives generation failures.
	Logger *slog.Logger
	// Foreign are the job kinds other River clients of the database work
	// (riverkinds.Foreign), so this client's maintenance rescues them.
	Foreign []riverkinds.Register
}

// QueueDefault is the River queue of answer jobs.
const QueueDefault = "answers"

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
	hub      *events.Hub
	river    *river.Client[pgx.Tx]

	// running tracks in-process generations, which outlive their request.
	running sync.WaitGroup
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Service over pool; zero Config fields take their
// defaults. Call Start to listen for events and work background answers,
// and Stop to end both.
func New(pool *pgxpool.Pool, th *threads.Store, p *answer.Pipeline, cfg Config) (*Service, error) {
	if cfg.GenerationTimeout <= 0 {
		cfg.GenerationTimeout = 90 * time.Second
	}
	if cfg.HistoryMessages <= 0 {
		cfg.HistoryMessages = HistoryMessagesDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Queue == "" {
		cfg.Queue = QueueDefault
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("ask: Workers must not be negative, got %d", cfg.Workers)
	}
	s := &Service{pool: pool, threads: th, pipeline: p, cfg: cfg, hub: events.NewHub(pool, cfg.Logger)}
	// Poll-only: no LISTEN connection per client; background answers are
	// fetched within FetchPollInterval.
	rc := &river.Config{Logger: cfg.Logger, PollOnly: true}
	if cfg.Workers > 0 {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &worker{s: s}); err != nil {
			return nil, fmt.Errorf("register answer worker: %w", err)
		}
		for _, reg := range cfg.Foreign {
			if err := reg(workers); err != nil {
				return nil, fmt.Errorf("register a foreign job kind: %w", err)
			}
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.Workers}}
		rc.JobTimeout = cfg.GenerationTimeout
		rc.RescueStuckJobsAfter = cfg.GenerationTimeout + 30*time.Second
		rc.FetchCooldown = 20 * time.Millisecond
		rc.FetchPollInterval = 500 * time.Millisecond
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	s.river = c
	return s, nil
}

// Start listens for the event log's notifications and, with Workers > 0,
// works background answers, until Stop or until ctx ends.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.hub.Run(ctx)
	}()
	if s.cfg.Workers > 0 {
		if err := s.river.Start(ctx); err != nil {
			s.cancel()
			<-s.done
			return fmt.Errorf("start answer workers: %w", err)
		}
	}
	return nil
}

// Stop lets in-process and background answers finish until ctx ends
// (then cancels the background ones: they run again after River's rescue
// delay) and stops listening.
func (s *Service) Stop(ctx context.Context) error {
	var err error
	if s.cfg.Workers > 0 && s.cancel != nil {
		if serr := s.river.Stop(ctx); serr != nil {
			// Out of time to let them finish: cancel them (not an error).
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err = s.river.StopAndCancel(cctx)
			cancel()
		}
	}
	waited := make(chan struct{})
	go func() { s.running.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	return err
}

// Hub returns the event hub that the Service's followers use (for the
// thread streams).
func (s *Service) Hub() *events.Hub { return s.hub }

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
// and Err for error. Seq is its id in the thread's event log (0 for a
// stateless completion).
type Event struct {
	Seq      int64
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
	// Replayed is true when the question was taken before this call.
	Replayed bool
}

// metadata links an assistant message to the user message it answers.
type metadata struct {
	Answers uuid.UUID `json:"answers"`
}

// Submission is a taken question: the USER message and its answer
// (pending until it is stored).
type Submission struct {
	User   threads.Message
	Answer threads.Message
	// Replayed is true when the question was taken before (same message id).
	Replayed bool
}

// Submit stores q as a USER message of the thread with its answer,
// pending, and the River job that generates it, in one transaction. In
// background mode the job runs at once; otherwise it is a fallback that
// runs after GenerationTimeout, in case the process that answers in line
// (Ask) dies. A question taken before (same message id and text) returns
// the stored pair; another text with that id is 409 message_id_conflict.
func (s *Service) Submit(ctx context.Context, tenant, threadID uuid.UUID, q Question, background bool) (Submission, error) {
	if q.TopK < 0 || q.TopK > TopKMax {
		return Submission{}, apperr.Invalidf(apperr.CodeValidationFailed, "retrieval.top_k", "top_k must be between 0 (the default) and %d, got %d", TopKMax, q.TopK)
	}
	q.Model = strings.TrimSpace(q.Model)
	if err := s.pipeline.CheckModel(q.Model); err != nil {
		return Submission{}, err
	}
	var override *string
	if q.Model != "" {
		override = &q.Model
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Submission{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	user, created, err := s.threads.CreateMessage(ctx, tx, tenant, threadID, threads.NewMessage{
		ID: q.MessageID, Role: threads.RoleUser, Text: q.Text, Fields: threads.SeedFields{Model: override}})
	if err != nil {
		return Submission{}, err
	}
	if !created {
		if user.Role != threads.RoleUser {
			return Submission{}, apperr.New(apperr.Conflict, threads.CodeMessageIDConflict, "message_id %s names a %s message", user.ID, user.Role).WithField("message_id")
		}
		if user.Content.Text != q.Text {
			return Submission{}, apperr.New(apperr.Conflict, threads.CodeMessageIDConflict, "message_id %s was sent before with a different text", user.ID).WithField("content.text")
		}
		// Concurrent submits of one question serialise here.
		if err := s.threads.LockMessage(ctx, tx, tenant, threadID, user.ID); err != nil {
			return Submission{}, err
		}
		if ans, ok, err := s.threads.AnswerTo(ctx, tx, tenant, threadID, user.ID); err != nil {
			return Submission{}, err
		} else if ok {
			if err := tx.Commit(ctx); err != nil {
				return Submission{}, fmt.Errorf("commit: %w", err)
			}
			return Submission{User: user, Answer: ans, Replayed: true}, nil
		}
	}
	md, _ := json.Marshal(metadata{Answers: user.ID})
	model := s.pipeline.ModelFor(q.Model)
	ans, _, err := s.threads.CreateMessage(ctx, tx, tenant, threadID, threads.NewMessage{
		Role: threads.RoleAssistant, Pending: true, AnswerTo: &user.ID, Metadata: md, Fields: threads.SeedFields{Model: &model}})
	if err != nil {
		return Submission{}, err
	}
	opts := &river.InsertOpts{Queue: s.cfg.Queue, MaxAttempts: 3}
	if !background {
		opts.ScheduledAt = time.Now().Add(s.cfg.GenerationTimeout)
	}
	args := JobArgs{TenantID: tenant, ThreadID: threadID, AnswerID: ans.ID, UserID: user.ID,
		PathPrefix: q.PathPrefix, TopK: q.TopK, Model: q.Model, Temperature: q.Temperature}
	if _, err := s.river.InsertTx(ctx, tx, args, opts); err != nil {
		return Submission{}, fmt.Errorf("enqueue answer: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Submission{}, fmt.Errorf("commit: %w", err)
	}
	s.hub.Notify(tenant, threadID)
	return Submission{User: user, Answer: ans, Replayed: !created}, nil
}

// Ask answers q in line: it submits it, generates the answer in this
// process when the question is new (detached from ctx, so a client that
// goes away still leaves a stored answer), and follows the thread's log,
// sending each stage of this answer to sink (nil: none) until done. A
// question taken before replays its stored stages (or waits for the run
// that is generating it). after, when > 0, resumes after that event id
// (an SSE Last-Event-ID).
func (s *Service) Ask(ctx context.Context, tenant, threadID uuid.UUID, q Question, after int64, sink Sink) (Outcome, error) {
	if sink == nil {
		sink = func(Event) {}
	}
	sub, err := s.Submit(ctx, tenant, threadID, q, false)
	if err != nil {
		return Outcome{}, err
	}
	if !sub.Replayed && sub.Answer.Status == threads.StatusPending {
		s.running.Add(1)
		// Detached from the client, but ending with the request's deadline
		// when that is sooner, so a model that never answers cannot hold
		// a request past it: the failure is stored and sent in time.
		deadline := time.Now().Add(s.cfg.GenerationTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		go func() {
			defer s.running.Done()
			genCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
			defer cancel()
			if err := s.generate(genCtx, tenant, threadID, sub.User, sub.Answer.ID, optionsOf(q)); err != nil {
				s.cfg.Logger.ErrorContext(genCtx, "answer not stored; the fallback job will retry", "error", err, "message_id", sub.Answer.ID)
			}
		}()
	}
	out := Outcome{User: sub.User, Replayed: sub.Replayed}
	final, err := s.FollowAnswer(ctx, tenant, threadID, sub, after, sink)
	if err != nil {
		return out, err
	}
	out.Assistant = final
	return out, nil
}

// FollowAnswer sends the stages of sub's answer after event id after
// (from its start when after <= 0) to sink until its done event, and
// returns the stored answer. The wait is bounded by GenerationTimeout
// beyond ctx's own deadline.
func (s *Service) FollowAnswer(ctx context.Context, tenant, threadID uuid.UUID, sub Submission, after int64, sink Sink) (threads.Message, error) {
	if after <= 0 {
		first, ok, err := events.FirstSeq(ctx, s.pool, tenant, threadID, sub.User.ID)
		if err != nil {
			return threads.Message{}, err
		}
		if !ok && sub.Answer.Status != threads.StatusPending {
			// Stored before the event log: replay what is stored.
			sink(Event{Type: EventUserMessage, Message: &sub.User})
			sink(Event{Type: EventAssistantMessage, Message: &sub.Answer})
			sink(Event{Type: EventDone})
			return sub.Answer, nil
		}
		after = first - 1
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.GenerationTimeout+10*time.Second)
	defer cancel()
	var final threads.Message
	var ferr error
	err := s.hub.Follow(ctx, tenant, threadID, after, events.Filter{Messages: []uuid.UUID{sub.User.ID, sub.Answer.ID}}, 0,
		func(ev events.Event) bool {
			e, ok, err := decode(ev, sub)
			if err != nil {
				ferr = err
				return false
			}
			if ok {
				sink(e)
			}
			if e.Type == EventAssistantMessage {
				final = *e.Message
			}
			return ev.Type != events.Done || ev.MessageID == nil || *ev.MessageID != sub.Answer.ID
		}, nil)
	if ferr != nil {
		return threads.Message{}, ferr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return threads.Message{}, apperr.New(apperr.Unavailable, CodeAnswerInProgress, "the answer to message %s is still being generated", sub.User.ID).WithField("message_id")
	}
	if err != nil {
		return threads.Message{}, err
	}
	if final.ID == uuid.Nil {
		m, err := s.threads.GetMessage(ctx, nil, tenant, threadID, sub.Answer.ID, true)
		if err != nil {
			return threads.Message{}, err
		}
		final = m
	}
	return final, nil
}

// decode turns a log event about sub into an Event; ok is false for the
// log's own events that an answer stream does not carry (the pending
// answer's creation, status changes).
func decode(ev events.Event, sub Submission) (Event, bool, error) {
	e := Event{Seq: ev.Seq}
	var err error
	switch ev.Type {
	case events.MessageCreated:
		if ev.MessageID == nil || *ev.MessageID != sub.User.ID {
			return e, false, nil
		}
		var m threads.Message
		err = json.Unmarshal(ev.Data, &m)
		e.Type, e.Message = EventUserMessage, &m
	case events.MessageCompleted:
		var m threads.Message
		err = json.Unmarshal(ev.Data, &m)
		e.Type, e.Message = EventAssistantMessage, &m
	case events.Step:
		var st answer.Step
		err = json.Unmarshal(ev.Data, &st)
		e.Type, e.Step = EventStep, &st
	case events.Delta:
		var d struct {
			Text string `json:"text"`
		}
		err = json.Unmarshal(ev.Data, &d)
		e.Type, e.Text = EventDelta, d.Text
	case events.Citation:
		var c citation.Citation
		err = json.Unmarshal(ev.Data, &c)
		e.Type, e.Citation = EventCitation, &c
	case events.Error:
		var d struct {
			Code   apperr.Code `json:"code"`
			Detail string      `json:"detail"`
		}
		err = json.Unmarshal(ev.Data, &d)
		e.Type, e.Err = EventError, &apperr.Error{Kind: apperr.Unavailable, Code: d.Code, Message: d.Detail}
	case events.Done:
		e.Type = EventDone
	default:
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("decode %s event %d: %w", ev.Type, ev.Seq, err)
	}
	return e, true, nil
}

func optionsOf(q Question) answer.Options {
	return answer.Options{PathPrefix: q.PathPrefix, TopK: q.TopK, Model: q.Model, Temperature: q.Temperature}
}

// generate retrieves and generates the answer to user, appending its
// stages to the thread's log, and stores it in the pending answer
// answerID. An answer stored meanwhile by another run is left as it is.
func (s *Service) generate(ctx context.Context, tenant, threadID uuid.UUID, user threads.Message, answerID uuid.UUID, opt answer.Options) error {
	history, err := s.history(ctx, tenant, threadID, user)
	if err != nil {
		return err
	}
	log := &logSink{s: s, ctx: ctx, tenant: tenant, thread: threadID, answer: answerID}
	runCtx, cancelRun := modelContext(ctx)
	res, genErr := s.pipeline.Run(runCtx, tenant, user.Content.Text, history, opt, log)
	cancelRun()
	if err := log.flush(); err != nil {
		return err
	}
	in := threads.Answer{Text: res.Text, Citations: res.Citations, Thinking: res.Thinking}
	var extra []events.New
	if genErr != nil {
		msg := "the answer could not be generated"
		if e, ok := apperr.As(genErr); ok {
			msg = e.Message
		}
		s.cfg.Logger.WarnContext(ctx, "generation failed", "error", genErr)
		code := apperr.CodeOf(genErr)
		in.IsError = true
		in.Text = "Sorry, I could not answer: " + msg + "."
		res.Steps = append(res.Steps, answer.NewStep("error", map[string]any{"message": msg, "code": code}))
		extra = append(extra, events.New{Type: events.Error, MessageID: answerID, Data: map[string]any{"code": code, "detail": msg}})
	}
	if strings.TrimSpace(in.Text) == "" {
		in.Text = answer.NotFoundText
	}
	in.Details = s.details(user, res.Steps)
	// Storing gets its own time: an answer that used all of its own (a
	// model that timed out) is still stored, not left pending.
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	_, _, err = s.threads.CompleteAnswer(storeCtx, nil, tenant, threadID, answerID, in, extra...)
	if apperr.Is(err, citation.CodeInvalid) {
		// A cited chunk was deleted while answering: keep the answer, drop
		// its citations, and say so in the steps.
		in.Citations = nil
		in.Details = s.details(user, append(res.Steps, answer.NewStep("citations_dropped", map[string]any{"reason": err.Error()})))
		_, _, err = s.threads.CompleteAnswer(storeCtx, nil, tenant, threadID, answerID, in, extra...)
	}
	if err != nil {
		return fmt.Errorf("store answer: %w", err)
	}
	s.hub.Notify(tenant, threadID)
	return nil
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

// pipelineSink turns the pipeline's callbacks into events (for a
// stateless completion, which has no log).
type pipelineSink struct{ sink Sink }

func (p pipelineSink) Delta(text string) { p.sink(Event{Type: EventDelta, Text: text}) }

func (p pipelineSink) Citation(c citation.Citation) { p.sink(Event{Type: EventCitation, Citation: &c}) }

func (p pipelineSink) Step(st answer.Step) { p.sink(Event{Type: EventStep, Step: &st}) }

// deltaFlush bounds how long answer text waits in logSink before it is
// appended: deltas are coalesced so a token stream is not a row per token.
const deltaFlush = 50 * time.Millisecond

// logSink appends an answer's stages to the thread's log as they come.
// A failed append is remembered and reported by flush; generation goes on.
type logSink struct {
	s              *Service
	ctx            context.Context
	tenant, thread uuid.UUID
	answer         uuid.UUID
	text           strings.Builder
	since          time.Time
	err            error
}

func (l *logSink) append(evs ...events.New) {
	if l.err != nil {
		return
	}
	if _, err := events.Append(l.ctx, l.s.pool, l.tenant, l.thread, evs...); err != nil {
		l.err = err
		return
	}
	l.s.hub.Notify(l.tenant, l.thread)
}

func (l *logSink) flush() error {
	if l.text.Len() > 0 {
		l.append(events.New{Type: events.Delta, MessageID: l.answer, Data: map[string]string{"text": l.text.String()}})
		l.text.Reset()
	}
	return l.err
}

func (l *logSink) Delta(text string) {
	if l.text.Len() == 0 {
		l.since = time.Now()
	}
	l.text.WriteString(text)
	if time.Since(l.since) >= deltaFlush {
		_ = l.flush()
	}
}

func (l *logSink) Citation(c citation.Citation) {
	_ = l.flush()
	l.append(events.New{Type: events.Citation, MessageID: l.answer, Data: c})
}

func (l *logSink) Step(st answer.Step) {
	_ = l.flush()
	l.append(events.New{Type: events.Step, MessageID: l.answer, Data: st})
}

// storeReserve is the part of an answer's time kept, after the model
// calls, for storing the outcome (a failed answer when the model did not
// answer in time).
const storeReserve = time.Second

// storeTimeout bounds storing an answer once it is generated.
const storeTimeout = 10 * time.Second

// modelContext is the context of the model calls of an answer generated
// under ctx: it ends storeReserve before ctx does (or at ctx's end when
// less than twice that is left).
func modelContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	if time.Until(deadline) > 2*storeReserve {
		deadline = deadline.Add(-storeReserve)
	}
	return context.WithDeadline(ctx, deadline)
}
