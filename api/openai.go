package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/pathtree"
)

// The OpenAI-compatible surface (/openai/v1): chat clients that speak
// OpenAI's chat completions use Cairn with their own SDK. It is a thin
// adapter over ask.Service: a model names an answerable scope (the whole
// knowledge base, or a folder), a chat completion is ask.Service.Complete
// (or ask.Service.Ask on a thread, see chatRequest.Metadata), and every
// error is OpenAI's error body.

const (
	// openAIPrefix is where the surface is mounted.
	openAIPrefix = "/openai/v1"
	// modelWhole is the model that answers from the whole knowledge base.
	modelWhole = "cairn"
	// modelScopePrefix starts the model of a folder: "cairn:/kb/handbook".
	modelScopePrefix = "cairn:"
	// modelOwner is the owned_by of every model.
	modelOwner = "cairn"
)

// registerOpenAIRoutes registers the OpenAI-compatible routes on g (its
// middleware answers with OpenAI's error body).
func (s *Server) registerOpenAIRoutes(g *gin.RouterGroup) {
	if s.deps.Ask == nil {
		return
	}
	g.GET("/models", s.openAIListModels)
	g.GET("/models/*model", s.openAIGetModel)
	g.POST("/chat/completions", s.openAIChatCompletions)
}

// failFor returns the error writer of the surface the request is on.
func (s *Server) failFor(c *gin.Context) failFunc {
	if p := c.Request.URL.Path; p == openAIPrefix || strings.HasPrefix(p, openAIPrefix+"/") {
		return s.openAIFail
	}
	return s.fail
}

// openAIErrorBody is OpenAI's error object. Code is Cairn's stable error
// code (the same as in problem documents; model_not_found where OpenAI
// has its own), Param the offending field.
type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// openAIError is OpenAI's error response: {"error": {...}}.
type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

// openAIErrorType is OpenAI's error type for an HTTP status.
func openAIErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// openAIErrorOf returns the status and OpenAI error body for err,
// explained as for problem documents (Server.explain).
func (s *Server) openAIErrorOf(c *gin.Context, err error) (int, openAIError) {
	e := s.explain(c, err)
	status := kindHTTP[e.Kind].status
	body := openAIErrorBody{Message: e.Message, Type: openAIErrorType(status), Code: &e.Code}
	if e.Field != "" {
		body.Param = &e.Field
	}
	return status, openAIError{Error: body}
}

// openAIFail answers with OpenAI's error body for err.
func (s *Server) openAIFail(c *gin.Context, err error) {
	status, body := s.openAIErrorOf(c, err)
	c.JSON(status, body)
}

// openAIModel is OpenAI's model object; a model is an answerable scope.
type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// PathPrefix is the folder the model answers from ("/" for cairn).
	PathPrefix string `json:"path_prefix"`
}

func newOpenAIModel(id, prefix string, created int64) openAIModel {
	return openAIModel{ID: id, Object: "model", Created: created, OwnedBy: modelOwner, PathPrefix: prefix}
}

// openAIListModels answers GET /openai/v1/models: cairn, then
// cairn:/<folder> for each top-level folder that holds documents.
func (s *Server) openAIListModels(c *gin.Context) {
	folders, err := pathtree.TopDocumentFolders(c.Request.Context(), s.deps.Pool, tenantID(c))
	if err != nil {
		s.openAIFail(c, err)
		return
	}
	data := []openAIModel{newOpenAIModel(modelWhole, pathtree.Root, oldest(folders))}
	for _, f := range folders {
		data = append(data, newOpenAIModel(modelScopePrefix+f.Path, f.Path, f.CreatedAt.Unix()))
	}
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": data})
}

// openAIGetModel answers GET /openai/v1/models/{model}. The id holds
// slashes (cairn:/kb/x), percent-encoded or not.
func (s *Server) openAIGetModel(c *gin.Context) {
	m, err := s.openAIResolveModel(c, strings.TrimPrefix(c.Param("model"), "/"))
	if err == nil && m.ID == modelWhole {
		var folders []pathtree.Folder
		folders, err = pathtree.TopDocumentFolders(c.Request.Context(), s.deps.Pool, tenantID(c))
		m.Created = oldest(folders)
	}
	if err != nil {
		s.openAIFail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// oldest is the creation of the oldest folder in Unix seconds (0: none),
// the created of the cairn model.
func oldest(folders []pathtree.Folder) int64 {
	var created int64
	for _, f := range folders {
		if t := f.CreatedAt.Unix(); created == 0 || t < created {
			created = t
		}
	}
	return created
}

// openAIResolveModel returns the model id names: cairn, or cairn:/<path>
// of any folder that holds documents (the listing shows the top-level
// ones; deeper folders answer too). Anything else is 404
// model_not_found.
func (s *Server) openAIResolveModel(c *gin.Context, id string) (openAIModel, error) {
	notFound := apperr.New(apperr.NotFound, CodeModelNotFound,
		"the model %q does not exist: use %q or %q followed by a folder that holds documents (GET %s/models lists them)",
		id, modelWhole, modelScopePrefix, openAIPrefix).WithField("model")
	if id == modelWhole {
		return newOpenAIModel(modelWhole, pathtree.Root, 0), nil
	}
	path, ok := strings.CutPrefix(id, modelScopePrefix)
	if !ok {
		return openAIModel{}, notFound
	}
	segs, err := pathtree.ParseFolder(path, "model")
	if err != nil || len(segs) == 0 {
		return openAIModel{}, notFound
	}
	f, ok, err := pathtree.DocumentFolder(c.Request.Context(), s.deps.Pool, tenantID(c), pathtree.Join(segs...))
	if err != nil {
		return openAIModel{}, err
	}
	if !ok {
		return openAIModel{}, notFound
	}
	return newOpenAIModel(modelScopePrefix+f.Path, f.Path, f.CreatedAt.Unix()), nil
}
