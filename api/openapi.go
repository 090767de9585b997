package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

//go:embed openapi.yaml
var openAPIYAML []byte

var (
	openAPIOnce sync.Once
	openAPIDoc  *openapi3.T
	openAPIJSON []byte
	openAPIErr  error
)

// OpenAPI returns the parsed and validated OpenAPI document of the API.
func OpenAPI() (*openapi3.T, error) {
	openAPIOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openAPIYAML)
		if err != nil {
			openAPIErr = fmt.Errorf("load openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			openAPIErr = fmt.Errorf("validate openapi.yaml: %w", err)
			return
		}
		if openAPIJSON, err = json.Marshal(doc); err != nil {
			openAPIErr = fmt.Errorf("encode openapi: %w", err)
			return
		}
		openAPIDoc = doc
	})
	return openAPIDoc, openAPIErr
}

// OpenAPIJSON returns the document as served at GET /openapi.json
// (`cairn openapi` prints it for linters).
func OpenAPIJSON() ([]byte, error) {
	if _, err := OpenAPI(); err != nil {
		return nil, err
	}
	return openAPIJSON, nil
}

// openAPI serves the document as JSON (public, no auth).
func (s *Server) openAPI(c *gin.Context) {
	if _, err := OpenAPI(); err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", openAPIJSON)
}
