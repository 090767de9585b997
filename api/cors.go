package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// corsMaxAge is how long a browser may cache a preflight answer.
const corsMaxAge = 10 * time.Minute

// corsMiddleware answers browsers calling from another origin
// (Config.CORSOrigins, CAIRN_CORS_ORIGINS): gin-contrib/cors answers
// preflights (204) and adds the Access-Control headers for allowed
// origins. A cross-origin request from any other origin, preflight or
// not, is 403 origin_not_allowed as problem+json (the library's own
// refusal has no body). Same-origin requests (the web app at /) and
// requests without Origin (non-browser clients) pass untouched.
func (s *Server) corsMiddleware() gin.HandlerFunc {
	allowed := s.deps.Config.CORSOrigins
	anyOrigin := slices.Contains(allowed, "*")
	var lib gin.HandlerFunc
	if len(allowed) > 0 {
		lib = cors.New(cors.Config{
			AllowOrigins:     allowed,
			AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions},
			AllowHeaders:     []string{"Authorization", "Content-Type", "Accept", "X-Request-Id", "Last-Event-ID"},
			ExposeHeaders:    []string{"X-Request-Id", "Retry-After", "Content-Disposition", "Location"},
			AllowCredentials: false, // bearer keys, never cookies
			MaxAge:           corsMaxAge,
		})
	}
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || origin == "http://"+c.Request.Host || origin == "https://"+c.Request.Host {
			c.Next()
			return
		}
		if !anyOrigin && !slices.Contains(allowed, origin) {
			s.problem(c, apperr.Forbidden, CodeOriginNotAllowed, "origin "+origin+" is not allowed (CAIRN_CORS_ORIGINS)", "")
			c.Abort()
			return
		}
		lib(c)
	}
}
