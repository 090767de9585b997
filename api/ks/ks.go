// Package ks is Cairn's Knowledge Stack-compatible HTTP surface: the
// threads, thread messages, user_message and thread stream operations of
// Knowledge Stack's API (the ThreadsApi and ThreadMessagesApi of its
// SDKs), served under /ks with Knowledge Stack's request and response
// shapes, so a client written against that SDK works with its base URL
// set to https://host/ks. It is a thin adapter: every call goes to the
// domain services Cairn's own API uses (threads.Store, ask.Service, the
// events log); this package only translates names, shapes and formats.
// The api package registers it and supplies its HTTP helpers (HTTP).
package ks

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/threads"
)

// HTTP are the request helpers of the api package, shared so both
// surfaces decode, check and fail alike.
type HTTP struct {
	// Tenant returns the authenticated tenant of the request.
	Tenant func(c *gin.Context) uuid.UUID
	// Decode decodes a JSON body strictly (unknown fields are 400).
	Decode func(c *gin.Context, v any) error
	// Fail answers with the error document of err (Knowledge Stack's
	// ErrorResponse shape under /ks).
	Fail func(c *gin.Context, err error)
	// AllowQuery rejects query parameters outside allowed (400).
	AllowQuery func(c *gin.Context, allowed ...string) error
	// PathUUID parses a UUID path parameter (400 when malformed).
	PathUUID func(c *gin.Context, name string) (uuid.UUID, error)
	// Int reads an integer query parameter within [min, max], or def.
	Int func(c *gin.Context, name string, def, min, max int) (int, error)
	// Bool reads a boolean query parameter, or def.
	Bool func(c *gin.Context, name string, def bool) (bool, error)
	// Time reads an ISO 8601 time query parameter, or nil.
	Time func(c *gin.Context, name string) (*time.Time, error)
}

// Deps are the collaborators of the surface.
type Deps struct {
	// Threads stores threads and messages.
	Threads *threads.Store
	// Ask answers user messages; nil leaves out user_message and stream.
	Ask *ask.Service
	// Logger receives stream failures.
	Logger *slog.Logger
	// HTTP are the api package's request helpers.
	HTTP HTTP
}

// handler serves the routes.
type handler struct {
	Deps
}

// Register registers the Knowledge Stack routes (paths relative to /ks)
// on g, a group with auth, body limit and request timeout, and the
// long-lived stream on long, a group with auth only.
func Register(g, long *gin.RouterGroup, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	h := &handler{Deps: d}
	g.POST("/v1/threads", h.createThread)
	g.GET("/v1/threads", h.listThreads)
	g.GET("/v1/threads/:thread_id", h.getThread)
	g.PATCH("/v1/threads/:thread_id", h.updateThread)
	g.DELETE("/v1/threads/:thread_id", h.deleteThread)
	g.POST("/v1/threads/:thread_id/messages", h.createMessage)
	g.GET("/v1/threads/:thread_id/messages", h.listMessages)
	g.GET("/v1/threads/:thread_id/messages/:message_id", h.getMessage)
	if d.Ask != nil {
		g.POST("/v1/threads/:thread_id/user_message", h.userMessage)
		long.GET("/v1/threads/:thread_id/stream", h.stream)
	}
}

// Page is Knowledge Stack's page of a list: the items, the total that
// match, and the limit and offset of the request.
type Page[T any] struct {
	Items  []T   `json:"items"`
	Total  int64 `json:"total"`
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`
}

// List limits of the surface (Knowledge Stack's defaults).
const (
	listLimitDefault = 20
	maxOffset        = 1 << 30
)
