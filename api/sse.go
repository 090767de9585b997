package api

import (
	"context"
	"time"
)

// storeReserve is the part of a request's time kept, after the model
// calls, for storing the answer (an is_error one when the model did not
// answer in time), so that the response still comes within the request
// timeout.
const storeReserve = time.Second

// generationContext is the context an answer is generated and stored
// under: detached from the client (one that goes away still leaves a
// complete stored answer) but ending with the request's deadline
// (Config.RequestTimeout), so a model that never answers cannot hold a
// request past it.
func (s *Server) generationContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(s.deps.Config.RequestTimeout)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// modelContext is the context of the model calls of an answer generated
// under ctx: it ends storeReserve before ctx does (or at ctx's end when
// less than twice that is left), leaving time to store the outcome.
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

// keepalive writes an SSE comment line every interval until the returned
// stop is called, so that proxies and clients do not take a stream whose
// model is still thinking for a dead connection. stop waits until no
// comment is being written; call it before the handler returns.
func (w *sseWriter) keepalive(interval time.Duration) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				w.mu.Lock()
				_, err := w.c.Writer.WriteString(": keepalive\n\n")
				if err == nil {
					w.c.Writer.Flush()
				}
				w.mu.Unlock()
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}
