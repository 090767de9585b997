package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/retrieval"
)

// registerSearchRoutes registers POST /v1/search on g (the JSON group).
func (s *Server) registerSearchRoutes(g *gin.RouterGroup) {
	g.POST("/search", s.search)
}

type searchRequest struct {
	Query      string  `json:"query"`
	TopK       *int    `json:"top_k"`
	PathPrefix *string `json:"path_prefix"`
	Mode       *string `json:"mode"`
}

type searchResponse struct {
	Data []retrieval.Hit `json:"data"`
}

func (s *Server) search(c *gin.Context) {
	var req searchRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	q := retrieval.Query{Text: req.Query}
	if req.TopK != nil {
		// An explicit top_k must be in range (the spec's minimum is 1);
		// only an absent top_k selects the default.
		if *req.TopK < 1 || *req.TopK > retrieval.MaxTopK {
			s.fail(c, apperr.Invalidf(apperr.CodeValidationFailed, "top_k", "top_k must be between 1 and %d, got %d", retrieval.MaxTopK, *req.TopK))
			return
		}
		q.TopK = *req.TopK
	}
	if req.PathPrefix != nil {
		q.PathPrefix = *req.PathPrefix
	}
	if req.Mode != nil {
		q.Mode = retrieval.Mode(*req.Mode)
	}
	hits, err := s.deps.Search.Search(c.Request.Context(), tenantID(c), q)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, searchResponse{Data: hits})
}
