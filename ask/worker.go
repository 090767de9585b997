package ask

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/threads"
)

// JobArgs are the River arguments of an answer job (exported so another
// River client of the process can know its kind: riverkinds.Foreign).
type JobArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	ThreadID   uuid.UUID `json:"thread_id"`
	AnswerID   uuid.UUID `json:"answer_id"`
	UserID     uuid.UUID `json:"user_id"`
	PathPrefix string    `json:"path_prefix,omitempty"`
	TopK       int       `json:"top_k,omitempty"`
	Model      string    `json:"model,omitempty"`
	// Temperature is the model's sampling temperature (nil: its default).
	Temperature *float32 `json:"temperature,omitempty"`
}

// Kind implements river.JobArgs.
func (JobArgs) Kind() string { return "cairn_answer" }

// worker generates a pending answer: a background answer, or one whose
// in-line run died with its process.
type worker struct {
	river.WorkerDefaults[JobArgs]
	s *Service
}

// Timeout implements river.Worker.
func (w *worker) Timeout(*river.Job[JobArgs]) time.Duration { return w.s.cfg.GenerationTimeout }

// Work implements river.Worker: it generates the answer unless it is no
// longer pending (stored by the in-line run, or the thread is gone).
func (w *worker) Work(ctx context.Context, job *river.Job[JobArgs]) error {
	a := job.Args
	ans, err := w.s.threads.GetMessage(ctx, nil, a.TenantID, a.ThreadID, a.AnswerID, false)
	if threads.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ans.Status != threads.StatusPending {
		return nil
	}
	user, err := w.s.threads.GetMessage(ctx, nil, a.TenantID, a.ThreadID, a.UserID, false)
	if threads.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := w.s.generate(ctx, a.TenantID, a.ThreadID, user, a.AnswerID,
		answer.Options{PathPrefix: a.PathPrefix, TopK: a.TopK, Model: a.Model, Temperature: a.Temperature}); err != nil {
		return fmt.Errorf("answer %s: %w", a.AnswerID, err)
	}
	return nil
}
