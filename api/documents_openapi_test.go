package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
)

// TestDocumentRoutesMatchTheOpenAPIDocument drives every document route
// through call, which validates each exchange against openapi.yaml.
func TestDocumentRoutesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "")
	h, pool, key, other := d.h, d.pool, d.key, d.key2

	body := map[string]any{"name": "naïve.md", "folder": "/kb", "text": "# Título\n\nTexto con acentos y 🎉."}
	rec := call(t, h, key, http.MethodPost, "/v1/documents?wait=true", body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decodeBody[ingest.UploadResult](t, rec)
	require.Equal(t, http.StatusOK, call(t, h, key, http.MethodPost, "/v1/documents", body).Code)
	rec = call(t, h, key, http.MethodPost, "/v1/documents", map[string]any{"name": "naïve.md", "folder": "/kb", "text": "# Título\n\nOtro."})
	require.Equal(t, http.StatusAccepted, rec.Code)

	doc := "/v1/documents/" + res.Document.ID.String()
	require.Equal(t, http.StatusOK, call(t, h, key, http.MethodGet, "/v1/documents?folder=/kb&limit=10", nil).Code)
	require.Equal(t, http.StatusOK, call(t, h, key, http.MethodGet, doc, nil).Code)
	require.Equal(t, http.StatusOK, call(t, h, key, http.MethodGet, doc+"/versions", nil).Code)
	require.Equal(t, http.StatusOK, call(t, h, key, http.MethodGet, "/v1/ingest/jobs/"+res.Job.ID.String(), nil).Code)
	var chunkID string
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT id::text FROM chunks WHERE version_id = $1 LIMIT 1`, res.Version.ID).Scan(&chunkID))
	require.Equal(t, http.StatusOK, call(t, h, key, http.MethodGet, "/v1/chunks/"+chunkID, nil).Code)
	requireProblem(t, call(t, h, other, http.MethodGet, "/v1/chunks/"+chunkID, nil), http.StatusNotFound, "chunk_not_found", "")
	requireProblem(t, call(t, h, key, http.MethodGet, "/v1/documents/nope", nil), http.StatusBadRequest, "invalid_id", "document_id")
	requireProblem(t, call(t, h, key, http.MethodPost, "/v1/documents", map[string]any{"name": "x", "colour": 1}), http.StatusBadRequest, "unknown_field", "colour")
	require.Equal(t, http.StatusNoContent, call(t, h, key, http.MethodDelete, doc, nil).Code)
	requireProblem(t, call(t, h, key, http.MethodGet, doc, nil), http.StatusNotFound, "document_not_found", "")
}
