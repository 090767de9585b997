package api

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// The version reads a frontend needs to show a citation in its document
// (package ingest/store owns them): the normalised text, the chunk list
// and the original bytes of version {version} (its number) of a document.

func (s *Server) registerVersionRoutes(g *gin.RouterGroup) {
	g.GET("/documents/:document_id/versions/:version/text", s.versionText)
	g.GET("/documents/:document_id/versions/:version/chunks", s.versionChunks)
	g.GET("/documents/:document_id/versions/:version/content", s.versionContent)
}

// versionParams reads the document id and the version number of the path.
func versionParams(c *gin.Context) (uuid.UUID, int, error) {
	doc, err := pathUUID(c, "document_id")
	if err != nil {
		return uuid.Nil, 0, err
	}
	raw := c.Param("version")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || strconv.Itoa(n) != raw {
		return uuid.Nil, 0, apperr.Invalidf(CodeInvalidParameter, "version", "version must be a version number (1, 2, ...), got %q", raw)
	}
	return doc, n, nil
}

func (s *Server) versionText(c *gin.Context) {
	doc, n, err := versionParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.deps.Ingest.TextOfVersion(c.Request.Context(), tenantID(c), doc, n)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) versionChunks(c *gin.Context) {
	doc, n, err := versionParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := AllowQuery(c, "limit", "offset"); err != nil {
		s.fail(c, err)
		return
	}
	limit, err := queryInt(c, "limit", 50, 1, 500)
	if err != nil {
		s.fail(c, err)
		return
	}
	offset, err := queryInt(c, "offset", 0, 0, maxOffset)
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := s.deps.Ingest.ChunksOfVersion(c.Request.Context(), tenantID(c), doc, n, limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) versionContent(c *gin.Context) {
	doc, n, err := versionParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.deps.Ingest.ContentOfVersion(c.Request.Context(), tenantID(c), doc, n)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": v.Name}))
	c.Header("X-Content-Type-Options", "nosniff")
	// The bytes are the uploader's (HTML included): a sandboxed unique origin
	// keeps them from running as the web app's origin.
	c.Header("Content-Security-Policy", "sandbox")
	c.Data(http.StatusOK, v.MimeType, v.Data)
}
