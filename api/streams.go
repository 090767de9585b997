package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// streamKeepalive is how long a thread stream stays silent before a
// keepalive (an SSE comment, a WebSocket ping).
const streamKeepalive = 15 * time.Second

// registerStreamRoutes registers the thread's event streams on g.
func (s *Server) registerStreamRoutes(g *gin.RouterGroup) {
	g.GET("/threads/:thread_id/events", s.threadEvents)
	g.GET("/threads/:thread_id/stream", s.threadStream)
}

// streamContext is the context of a long-lived response: the request's,
// also ended when a shutdown has drained for most of its time.
func (s *Server) streamContext(c *gin.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(c.Request.Context())
	stop := context.AfterFunc(s.draining, cancel)
	return ctx, func() { stop(); cancel() }
}

// shuttingDown is the error of a stream ended by a shutdown.
func (s *Server) shuttingDown(err error) error {
	if s.draining.Err() != nil {
		return apperr.New(apperr.Unavailable, CodeShuttingDown, "the server is shutting down; the answer is stored when it is done: read it by its message id, or reconnect with Last-Event-ID")
	}
	return err
}

// streamStart checks the thread and reads where the stream resumes:
// after (query) or Last-Event-ID (header), 0 for the beginning.
func (s *Server) streamStart(c *gin.Context) (uuid.UUID, int64, bool) {
	threadID, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return uuid.Nil, 0, false
	}
	after, err := lastEventID(c)
	if err != nil {
		s.fail(c, err)
		return uuid.Nil, 0, false
	}
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(c, apperr.Invalidf(CodeInvalidParameter, "after", "after must be an event id (a non-negative integer), got %q", v))
			return uuid.Nil, 0, false
		}
		after = n
	}
	if _, err := s.deps.Threads.GetThread(c.Request.Context(), tenantID(c), threadID); err != nil {
		s.fail(c, err)
		return uuid.Nil, 0, false
	}
	return threadID, after, true
}

// threadEvents streams every event of a thread as Server-Sent Events
// (id: the event id, event: its type, data: the event), from after/
// Last-Event-ID on, until the client goes away.
func (s *Server) threadEvents(c *gin.Context) {
	threadID, after, ok := s.streamStart(c)
	if !ok {
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.Flush()
	ctx, cancel := s.streamContext(c)
	defer cancel()
	err := s.deps.Ask.Hub().WriteSSE(ctx, c.Writer, c.Writer.Flush, tenantID(c), threadID, after, events.Filter{}, streamKeepalive,
		func(ev events.Event) any { return ev })
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "thread event stream ended", "error", err)
	}
}

// threadStream streams every event of a thread over a WebSocket, one
// JSON text message per event, from ?after= on; the client only reads.
func (s *Server) threadStream(c *gin.Context) {
	threadID, after, ok := s.streamStart(c)
	if !ok {
		return
	}
	conn, err := websocket.Accept(c.Writer, c.Request, nil)
	if err != nil {
		return // Accept wrote the HTTP error
	}
	defer conn.CloseNow() //nolint:errcheck // after a close handshake, or on a dead connection
	// The client sends nothing; CloseRead answers pings and closes, and
	// ends ctx when the client goes away.
	sctx, cancel := s.streamContext(c)
	defer cancel()
	ctx := conn.CloseRead(sctx)
	err = s.deps.Ask.Hub().Follow(ctx, tenantID(c), threadID, after, events.Filter{}, streamKeepalive,
		func(ev events.Event) bool {
			b, err := json.Marshal(ev)
			if err != nil {
				return false
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return conn.Write(wctx, websocket.MessageText, b) == nil
		}, func() error {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return conn.Ping(pctx)
		})
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "thread stream ended", "error", err)
		_ = conn.Close(websocket.StatusInternalError, "stream failed")
		return
	}
	if s.draining.Err() != nil {
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down; reconnect with after=")
		return
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
}
