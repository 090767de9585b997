package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PollInterval is how often a follower reads the log without a
// notification (a Hub that lost its connection, or no Hub).
const PollInterval = time.Second

// Hub wakes the followers of a thread when its log grows, on one LISTEN
// connection per process. Run it with Run; a nil *Hub is valid (followers
// then poll).
type Hub struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewHub returns a Hub over pool; call Run to start listening.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{pool: pool, log: log, subs: map[string]map[chan struct{}]struct{}{}}
}

func key(tenant, thread uuid.UUID) string { return tenant.String() + "/" + thread.String() }

// Run listens until ctx ends, reconnecting after a lost connection (and
// waking every follower then, since notifications may have been missed).
func (h *Hub) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.WarnContext(ctx, "event listener lost its connection; reconnecting", "error", err)
		h.wakeAll()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) listen(ctx context.Context) error {
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// The connection carries a LISTEN: it never goes back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a dead or finished listener
	if _, err := pc.Exec(ctx, "LISTEN "+Channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	h.wakeAll() // anything appended before LISTEN took effect
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		// payload: tenant/thread/seq
		if i := strings.LastIndexByte(n.Payload, '/'); i > 0 {
			h.wake(n.Payload[:i])
		}
	}
}

func (h *Hub) wake(k string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[k] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// subscribe returns a channel woken when the thread's log may have grown.
func (h *Hub) subscribe(tenant, thread uuid.UUID) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	if h == nil {
		return ch, func() {}
	}
	k := key(tenant, thread)
	h.mu.Lock()
	if h.subs[k] == nil {
		h.subs[k] = map[chan struct{}]struct{}{}
	}
	h.subs[k][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[k], ch)
		if len(h.subs[k]) == 0 {
			delete(h.subs, k)
		}
		h.mu.Unlock()
	}
}

// Follow calls fn with each event of the thread after seq after (matching
// f), oldest first, as they are appended, until fn returns false (then
// Follow returns nil) or ctx ends (its error). keepalive, when set, is
// called after every idle interval of that length (for SSE comments and
// WebSocket pings); an error from it ends Follow.
func (h *Hub) Follow(ctx context.Context, tenant, thread uuid.UUID, after int64, f Filter, keepalive time.Duration, fn func(Event) bool, ping func() error) error {
	wake, cancel := h.subscribe(tenant, thread)
	defer cancel()
	pool := h.poolOrNil()
	if pool == nil {
		return fmt.Errorf("events: Follow needs a Hub with a pool")
	}
	idle := time.Now()
	for {
		evs, err := Read(ctx, pool, tenant, thread, after, ReadLimit, f)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			after = ev.Seq
			if !fn(ev) {
				return nil
			}
		}
		if len(evs) > 0 {
			idle = time.Now()
		}
		if len(evs) == ReadLimit {
			continue
		}
		wait := PollInterval
		if keepalive > 0 && ping != nil {
			if d := time.Until(idle.Add(keepalive)); d <= 0 {
				if err := ping(); err != nil {
					return err
				}
				idle = time.Now()
			} else if d < wait {
				wait = d
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-time.After(wait):
		}
	}
}

func (h *Hub) poolOrNil() *pgxpool.Pool {
	if h == nil {
		return nil
	}
	return h.pool
}

// Notify wakes this process's followers of a thread at once (an append
// made here; other processes learn of it by the notification).
func (h *Hub) Notify(tenant, thread uuid.UUID) {
	if h != nil {
		h.wake(key(tenant, thread))
	}
}

// WriteSSE writes the thread's events after seq after (matching f) to w
// as Server-Sent Events, as they are appended: `id: <seq>`, `event:
// <type>`, `data: <payload(ev) as JSON>`, calling flush after each, and a
// `: keepalive` comment after each idle keepalive interval. It stops
// (nil) when a write fails or a payload does not encode; otherwise it
// returns Follow's error (ctx's when it ends).
func (h *Hub) WriteSSE(ctx context.Context, w io.Writer, flush func(), tenant, thread uuid.UUID, after int64, f Filter,
	keepalive time.Duration, payload func(Event) any) error {
	return h.Follow(ctx, tenant, thread, after, f, keepalive,
		func(ev Event) bool {
			b, err := json.Marshal(payload(ev))
			if err != nil {
				return false
			}
			_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, b)
			flush()
			return err == nil
		}, func() error {
			_, err := io.WriteString(w, ": keepalive\n\n")
			flush()
			return err
		})
}
