package api

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/api/ks"
)

// registerKS registers the Knowledge Stack-compatible surface under /ks
// (package ks) over the same services, with this package's auth, limits
// and request helpers; its stream has no request timeout.
func (s *Server) registerKS(e *gin.Engine) {
	g := e.Group("/ks", s.authenticate(s.fail), s.rateLimit(), s.timeout(), s.limitBody(s.deps.Config.MaxBodyBytes, s.fail))
	long := e.Group("/ks", s.authenticate(s.fail), s.rateLimit())
	ks.Register(g, long, ks.Deps{Threads: s.deps.Threads, Ask: s.deps.Ask, Logger: s.log, HTTP: ks.HTTP{
		Tenant: tenantID, Decode: decodeJSON, Fail: s.fail, AllowQuery: AllowQuery, PathUUID: pathUUID,
		Int: queryInt, Bool: queryBool, Time: queryTime}})
}

// isKS reports whether the request is one of the Knowledge Stack surface
// (also an unknown path under /ks), whose errors take that shape.
func isKS(c *gin.Context) bool {
	return c.Request.URL.Path == "/ks" || strings.HasPrefix(c.Request.URL.Path, "/ks/")
}

// ksError is Knowledge Stack's ErrorResponse: detail, its closed set of
// codes (Cairn's class) and request_id, with Cairn's fine code, the field
// and the status beside them.
type ksError struct {
	Detail    string `json:"detail"`
	Code      Class  `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	CairnCode string `json:"cairn_code"`
	Field     string `json:"field,omitempty"`
	Status    int    `json:"status"`
}

// writeKSError answers with p in Knowledge Stack's ErrorResponse shape.
func writeKSError(c *gin.Context, p Problem) {
	c.JSON(p.Status, ksError{Detail: p.Detail, Code: p.Class, RequestID: p.RequestID, CairnCode: p.Code, Field: p.Field, Status: p.Status})
}
