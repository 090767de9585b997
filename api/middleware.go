package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/logging"
	"github.com/cairn-rag/cairn/tenants"
)

const tenantKey = "cairn.tenant_id"

// tenantID returns the authenticated tenant of the request.
func tenantID(c *gin.Context) uuid.UUID {
	id, _ := c.Get(tenantKey)
	t, _ := id.(uuid.UUID)
	return t
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes a sane X-Request-Id or makes one, echoes it, and puts it
// into the request context so every log line of the request carries it.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header("X-Request-Id", id)
		c.Request = c.Request.WithContext(logging.WithRequestID(c.Request.Context(), id))
		c.Next()
	}
}

func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				s.log.ErrorContext(c.Request.Context(), "panic", slog.Any("panic", r))
				if !c.Writer.Written() {
					s.problem(c, apperr.Internal, apperr.CodeInternal, "internal error", "")
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// observe logs one JSON line per request and records metrics by route
// template and status.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		code := strconv.Itoa(status)
		s.metrics.requests.WithLabelValues(c.Request.Method, route, code).Inc()
		s.metrics.latency.WithLabelValues(c.Request.Method, route, code).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		)
	}
}

// failFunc writes the error answer of one API surface: problem+json
// (Server.fail) for /v1, OpenAI's error body (Server.openAIFail) for
// /openai/v1.
type failFunc func(c *gin.Context, err error)

// authenticate maps "Authorization: Bearer KEY" to the key's tenant and
// answers 401 through fail otherwise.
func (s *Server) authenticate(fail failFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		addr := c.ClientIP()
		if blocked, wait := s.limits.AuthBlocked(addr, time.Now()); blocked {
			s.tooMany(c, CodeAuthThrottled, wait, "too many failed authentications from this address: retry after the time in Retry-After")
			return
		}
		h := c.GetHeader("Authorization")
		scheme, key, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			s.limits.AuthFailed(addr, time.Now())
			c.Header("WWW-Authenticate", `Bearer realm="cairn"`)
			fail(c, apperr.New(apperr.Unauthorized, tenants.CodeUnauthorized, "missing bearer API key in the Authorization header"))
			c.Abort()
			return
		}
		tid, err := s.deps.Tenants.Authenticate(c.Request.Context(), strings.TrimSpace(key))
		if err != nil {
			if apperr.KindOf(err) == apperr.Unauthorized {
				s.limits.AuthFailed(addr, time.Now())
				c.Header("WWW-Authenticate", `Bearer realm="cairn", error="invalid_token"`)
			}
			fail(c, err)
			c.Abort()
			return
		}
		c.Set(tenantKey, tid)
		c.Request = c.Request.WithContext(logging.WithAttrs(c.Request.Context(), slog.String("tenant_id", tid.String())))
		c.Next()
	}
}

// timeout bounds the request's context by Config.RequestTimeout.
func (s *Server) timeout() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), s.deps.Config.RequestTimeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// limitBody answers 413 (through fail) for a declared Content-Length
// over limit before reading anything, and caps what the handler can read
// to limit.
func (s *Server) limitBody(limit int64, fail failFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			fail(c, tooLarge(limit))
			c.Abort()
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}

func tooLarge(limit int64) error {
	return apperr.New(apperr.TooLarge, apperr.CodePayloadTooLarge, "request body exceeds the limit of %d bytes", limit)
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry, pool *pgxpool.Pool) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cairn_http_request_duration_seconds", Help: "HTTP request latency by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
	}
	reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pool != nil {
		stat := func(f func(*pgxpool.Stat) float64) func() float64 {
			return func() float64 { return f(pool.Stat()) }
		}
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_db_pool_total_conns", Help: "Open connections in the pool."},
				stat(func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_db_pool_acquired_conns", Help: "Connections currently in use."},
				stat(func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_db_pool_idle_conns", Help: "Idle connections."},
				stat(func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_db_pool_max_conns", Help: "Pool size limit."},
				stat(func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cairn_db_pool_acquires_total", Help: "Connections acquired from the pool."},
				stat(func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cairn_db_pool_empty_acquires_total", Help: "Acquires that waited for a connection."},
				stat(func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) })),
		)
	}
	return m
}
