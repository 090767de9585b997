// Package api owns Cairn's HTTP transport: the Gin router, middleware
// (request ids, JSON logs, metrics, body limits, timeouts, API-key auth),
// request decoding, the one table that maps domain errors to
// application/problem+json, and graceful serving. It translates HTTP to
// calls on the domain packages and never holds business rules itself.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

// SchemaChecker reports whether the database schema is current.
type SchemaChecker interface {
	CheckCurrent(ctx context.Context) error
}

// Deps are the collaborators of the HTTP server.
type Deps struct {
	// Config is the validated service configuration.
	Config config.Config
	// Logger receives JSON logs; context attributes (request id) are added.
	Logger *slog.Logger
	// Pool is the database pool (readiness and pool metrics).
	Pool *pgxpool.Pool
	// Schema checks that migrations are current (readiness).
	Schema SchemaChecker
	// Tenants authenticates API keys.
	Tenants *tenants.Store
	// Threads stores threads, messages and attachments.
	Threads *threads.Store
	// Search runs hybrid retrieval (POST /v1/search).
	Search *retrieval.Searcher
	// Ask answers user messages (POST .../user_message).
	Ask *ask.Service
	// Ingest stores documents and runs their ingestion (document routes).
	Ingest *ingest.Service
}

// Server is Cairn's HTTP server.
type Server struct {
	deps     Deps
	log      *slog.Logger
	engine   *gin.Engine
	registry *prometheus.Registry
	metrics  *httpMetrics
	limits   *Limits
	// draining ends when a shutdown has drained for most of its time:
	// open streams then end with an error and done (streamContext).
	draining     context.Context
	stopDraining context.CancelFunc
}

// New builds the server and its routes.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{deps: d, log: d.Logger, registry: prometheus.NewRegistry()}
	s.draining, s.stopDraining = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics = newHTTPMetrics(s.registry, d.Pool)
	s.limits = NewLimits(d.Config, s.registry)
	e := gin.New()
	// The client address (failed-auth throttling, logs) is the peer's
	// unless it is a trusted proxy; Config validated the list.
	_ = e.SetTrustedProxies(d.Config.TrustedProxies)
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	e.Use(s.recoverer(), s.requestID(), s.observe(), s.corsMiddleware())
	e.NoRoute(func(c *gin.Context) {
		s.failFor(c)(c, apperr.New(apperr.NotFound, CodeRouteNotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		s.failFor(c)(c, apperr.New(apperr.NotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	s.engine = e
	s.routes()
	return s
}

// Handler returns the server's http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.engine }

// Serve serves on ln until ctx is cancelled, then stops accepting, drains
// in-flight requests for at most Config.ShutdownTimeout and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	cfg := s.deps.Config
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", slog.String("addr", ln.Addr().String()))
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.MetricsHandler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		go func() { _ = msrv.Serve(mln) }()
		defer func() { _ = msrv.Close() }() // scrapes are short: no drain
		s.log.Info("serving metrics", slog.String("addr", mln.Addr().String()))
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests", slog.Duration("timeout", cfg.ShutdownTimeout))
	// Streams get most of the drain to finish their answers, then end
	// with an error and done, so the drain ends with every stream closed.
	ending := time.AfterFunc(streamsEnd(cfg.ShutdownTimeout), s.stopDraining)
	defer ending.Stop()
	defer s.stopDraining()
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// streamsEnd is when, into a drain of d, open streams are ended: leaving
// a fifth of it (at least a second, at most half) to close them.
func streamsEnd(d time.Duration) time.Duration {
	return max(d-max(time.Second, d/5), d/2)
}
