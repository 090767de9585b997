package api

import "time"

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
				if !w.ended { // nothing follows done
					if _, err := w.c.Writer.WriteString(": keepalive\n\n"); err == nil {
						w.c.Writer.Flush()
					}
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
