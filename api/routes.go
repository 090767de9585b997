package api

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/tenants"
)

// routes registers every route. JSON routes go on the group limited to
// Config.MaxBodyBytes; upload routes on the group limited to
// Config.MaxUploadBytes.
func (s *Server) routes() {
	e := s.engine
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.deps.Config.MetricsAddr == "" {
		e.GET("/metrics", gin.WrapH(s.MetricsHandler()))
	}
	e.GET("/openapi.json", s.openAPI)
	s.registerWebApp(e)

	v1 := e.Group("/v1", s.authenticate(s.fail), s.rateLimit(), s.timeout(), s.checkQuery())
	jsonRoutes := v1.Group("", s.limitBody(s.deps.Config.MaxBodyBytes, s.fail))
	jsonRoutes.GET("/tenant", s.getTenant)
	s.registerThreadRoutes(jsonRoutes)
	if s.deps.Search != nil {
		s.registerSearchRoutes(jsonRoutes)
	}
	if s.deps.Ask != nil {
		s.registerAnswerRoutes(jsonRoutes)
		// Thread streams are long-lived: no request timeout.
		s.registerStreamRoutes(e.Group("/v1", s.authenticate(s.fail)))
	}
	s.registerKS(e)
	if s.deps.Ingest != nil {
		s.registerDocumentRoutes(v1.Group("", s.limitBody(s.deps.Config.MaxUploadBytes, s.fail)), jsonRoutes)
	}
	s.registerOpenAIRoutes(e.Group("/openai/v1", s.authenticate(s.openAIFail), s.timeout(), s.limitBody(s.deps.Config.MaxBodyBytes, s.openAIFail)))
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx := c.Request.Context()
	if err := s.deps.Pool.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready: database unreachable", slog.Any("error", err))
		s.problem(c, apperr.Unavailable, CodeNotReady, "database unreachable", "")
		return
	}
	if err := s.deps.Schema.CheckCurrent(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready: schema", slog.Any("error", err))
		s.problem(c, apperr.Unavailable, CodeNotReady, "database schema is not current: run `cairn migrate up`", "")
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// getTenant answers who the presented key belongs to.
func (s *Server) getTenant(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"id": tenantID(c)})
}

// MetricsHandler serves the Prometheus metrics: Cairn's, the Go runtime's
// (go_*) and the process's (process_*). With Config.MetricsToken set it
// answers 401 unless the request carries "Authorization: Bearer TOKEN".
// It is mounted at /metrics of the API unless Config.MetricsAddr gives it
// a listener of its own (Serve).
func (s *Server) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	token := s.deps.Config.MetricsToken
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cairn-metrics"`)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			body, _ := json.Marshal(Problem{Type: problemType(tenants.CodeUnauthorized), Title: http.StatusText(http.StatusUnauthorized),
				Status: http.StatusUnauthorized, Detail: "/metrics needs Authorization: Bearer CAIRN_METRICS_TOKEN",
				Code: tenants.CodeUnauthorized, Class: ClassUnauthorized})
			_, _ = w.Write(body)
			return
		}
		h.ServeHTTP(w, r)
	})
}
