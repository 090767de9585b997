package api

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// routes registers every route. JSON routes go on the group limited to
// Config.MaxBodyBytes; upload routes on the group limited to
// Config.MaxUploadBytes.
func (s *Server) routes() {
	e := s.engine
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", s.openAPI)
	s.registerWebApp(e)

	v1 := e.Group("/v1", s.authenticate(), s.timeout())
	jsonRoutes := v1.Group("", s.limitBody(s.deps.Config.MaxBodyBytes))
	jsonRoutes.GET("/tenant", s.getTenant)
	s.registerThreadRoutes(jsonRoutes)
	if s.deps.Search != nil {
		s.registerSearchRoutes(jsonRoutes)
	}
	if s.deps.Ask != nil {
		s.registerAnswerRoutes(jsonRoutes)
		// Thread streams are long-lived: no request timeout.
		s.registerStreamRoutes(e.Group("/v1", s.authenticate()))
	}
	s.registerKS(e)
	if s.deps.Ingest != nil {
		s.registerDocumentRoutes(v1.Group("", s.limitBody(s.deps.Config.MaxUploadBytes)), jsonRoutes)
	}
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
