// Package retry owns retrying calls to remote services (model servers):
// capped exponential backoff with full jitter that honours a server's
// Retry-After, and the HTTP plumbing to read Retry-After through clients
// (such as go-openai) that do not expose response headers.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy bounds retries.
type Policy struct {
	// Attempts is the total number of calls, the first included (>= 1).
	Attempts int
	// Base is the backoff before the first retry; it doubles per retry.
	Base time.Duration
	// Cap bounds any single wait, Retry-After included.
	Cap time.Duration
}

// DefaultPolicy suits model servers: 5 attempts, 500ms doubling, 30s cap.
var DefaultPolicy = Policy{Attempts: 5, Base: 500 * time.Millisecond, Cap: 30 * time.Second}

// Error marks err as retryable; After, when positive, is the delay the
// server asked for (Retry-After).
type Error struct {
	Err   error
	After time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Retryable wraps err as retryable after the given server-requested delay
// (0 for none).
func Retryable(err error, after time.Duration) error { return &Error{Err: err, After: after} }

// StatusRetryable reports whether an HTTP status is worth retrying: 408,
// 429 and every 5xx except 501.
func StatusRetryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout ||
		(code >= 500 && code != http.StatusNotImplemented)
}

// Backoff returns the wait before retry number n (1-based): full jitter
// over min(Cap, Base*2^(n-1)), or the server's delay (capped) when given.
func (p Policy) Backoff(n int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after, p.Cap)
	}
	d := p.Base << (n - 1)
	if d <= 0 || d > p.Cap {
		d = p.Cap
	}
	return time.Duration(rand.Int64N(int64(d)/2+1)) + d/2
}

// Do calls fn until it succeeds, returns an error that is not a *Error,
// the attempts run out, or ctx ends. It returns fn's last error (the
// *Error unwrapped).
func Do(ctx context.Context, p Policy, fn func(ctx context.Context) error) error {
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	for n := 1; ; n++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		var re *Error
		if !errors.As(err, &re) {
			return err
		}
		if n >= p.Attempts {
			return re.Err
		}
		t := time.NewTimer(p.Backoff(n, re.After))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(re.Err, ctx.Err())
		case <-t.C:
		}
	}
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Hint collects the Retry-After of the responses of one call; put it in
// the request context with WithHint and wrap the HTTP client's transport
// with Transport.
type Hint struct {
	mu    sync.Mutex
	after time.Duration
}

// After returns the last Retry-After seen (0 when none).
func (h *Hint) After() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.after
}

type hintKey struct{}

// WithHint returns ctx carrying a new Hint.
func WithHint(ctx context.Context) (context.Context, *Hint) {
	h := &Hint{}
	return context.WithValue(ctx, hintKey{}, h), h
}

// Transport records each response's Retry-After in the request context's
// Hint, if any.
type Transport struct{ Base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err == nil {
		if h, ok := req.Context().Value(hintKey{}).(*Hint); ok {
			if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				h.mu.Lock()
				h.after = d
				h.mu.Unlock()
			}
		}
	}
	return resp, err
}
