package bulk

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/ingest"
)

// pendingJob is an uploaded file whose job is not done yet.
type pendingJob struct {
	res  FileResult
	size int64
	job  uuid.UUID
	new  bool
}

// waiter polls the states of pending jobs in batches.
type waiter struct {
	svc     *ingest.Service
	tenant  uuid.UUID
	slots   chan struct{}
	mu      sync.Mutex
	pending map[uuid.UUID]pendingJob
	closed  bool
	record  func(FileResult, int64)
}

func newWaiter(svc *ingest.Service, tenant uuid.UUID, max int, record func(FileResult, int64)) *waiter {
	return &waiter{svc: svc, tenant: tenant, slots: make(chan struct{}, max), pending: map[uuid.UUID]pendingJob{}, record: record}
}

// add waits for a free slot and adds p.
func (w *waiter) add(ctx context.Context, p pendingJob) error {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.Lock()
	w.pending[p.job] = p
	w.mu.Unlock()
	return nil
}

// close says no more jobs come: run returns once the pending ones are done.
func (w *waiter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// run polls until close was called and nothing is pending, recording
// each job's file as it finishes.
func (w *waiter) run(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		w.mu.Lock()
		ids := make([]uuid.UUID, 0, len(w.pending))
		for id := range w.pending {
			ids = append(ids, id)
		}
		closed := w.closed
		w.mu.Unlock()
		if len(ids) == 0 {
			if closed {
				return nil
			}
			continue
		}
		jobs, err := w.svc.Jobs(ctx, w.tenant, ids)
		if err != nil {
			return err
		}
		seen := make(map[uuid.UUID]bool, len(jobs))
		for _, j := range jobs {
			seen[j.ID] = true
		}
		for _, id := range ids {
			if !seen[id] { // the document was deleted meanwhile
				msg := "the document was deleted while it was being ingested"
				jobs = append(jobs, ingest.Job{ID: id, State: ingest.JobFailed, Error: &msg})
			}
		}
		for _, j := range jobs {
			if !j.Done() {
				continue
			}
			w.mu.Lock()
			p := w.pending[j.ID]
			delete(w.pending, j.ID)
			w.mu.Unlock()
			<-w.slots
			r := p.res
			switch {
			case j.State == ingest.JobFailed:
				msg := "ingestion failed"
				if j.Error != nil {
					msg = *j.Error
				}
				r.Status, r.Err = FileFailed, errors.New(msg)
			case p.new:
				r.Status, r.Chunks = FileNew, j.ChunksTotal
			default:
				r.Status, r.Chunks = FileUpdated, j.ChunksTotal
			}
			w.record(r, p.size)
		}
	}
}
