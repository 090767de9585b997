package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
)

func (d docsServer) do(t *testing.T, key, method, path, ct string, body []byte) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	d.h.ServeHTTP(w, req)
	var out map[string]any
	if w.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
	}
	return w.Code, out
}

func (d docsServer) postJSON(t *testing.T, key, path string, v any) (int, map[string]any) {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return d.do(t, key, http.MethodPost, path, "application/json", b)
}

func multipartBody(t *testing.T, fields map[string]string, fileName string, file []byte) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	fw, err := mw.CreateFormFile("file", fileName)
	require.NoError(t, err)
	_, _ = fw.Write(file)
	require.NoError(t, mw.Close())
	return b.Bytes(), mw.FormDataContentType()
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		cur = cur.(map[string]any)[p]
	}
	return fmt.Sprint(cur)
}

func TestDocumentLifecycleOverHTTP(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "")
	// JSON text, waiting: 201 with the job succeeded.
	code, res := d.postJSON(t, d.key, "/v1/documents?wait=true", map[string]any{"name": "café.md", "folder": "/kb/fr", "text": "# Crème\n\nUne façade naïve 🎉."})
	require.Equal(t, http.StatusCreated, code, res)
	require.Equal(t, "succeeded", str(res, "job", "state"))
	require.Equal(t, "1", str(res, "version", "version_number"))
	docID, jobID := str(res, "document", "id"), str(res, "job", "id")

	// Same bytes: 200, no new version.
	code, res = d.postJSON(t, d.key, "/v1/documents", map[string]any{"name": "café.md", "folder": "/kb/fr", "text": "# Crème\n\nUne façade naïve 🎉."})
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "1", str(res, "version", "version_number"))

	// New bytes as multipart without waiting: 202, version 2.
	body, ct := multipartBody(t, map[string]string{"folder": "/kb/fr", "name": "café.md"}, "ignored.md", []byte("# Crème\n\nAutre texte."))
	code, res = d.do(t, d.key, http.MethodPost, "/v1/documents", ct, body)
	require.Equal(t, http.StatusAccepted, code, res)
	require.Equal(t, "2", str(res, "version", "version_number"))
	job2 := str(res, "job", "id")
	d.awaitJobSucceeded(t, job2)

	code, res = d.do(t, d.key, http.MethodGet, "/v1/ingest/jobs/"+jobID, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "succeeded", res["state"])
	require.Equal(t, res["chunks_total"], res["chunks_done"])

	code, res = d.do(t, d.key, http.MethodGet, "/v1/documents/"+docID+"/versions", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, res["data"], 2)

	code, res = d.do(t, d.key, http.MethodGet, "/v1/documents?folder=/kb", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, res["data"], 1)
	require.Equal(t, false, res["has_more"])

	code, res = d.do(t, d.key, http.MethodGet, "/v1/documents/"+docID, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "/kb/fr/café.md", res["materialized_path"])

	code, _ = d.do(t, d.key, http.MethodDelete, "/v1/documents/"+docID, "", nil)
	require.Equal(t, http.StatusNoContent, code)
	code, _ = d.do(t, d.key, http.MethodGet, "/v1/documents/"+docID, "", nil)
	require.Equal(t, http.StatusNotFound, code)
}

func TestChunkEndpointReturnsExactSlice(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "")
	text := strings.Repeat("東京は日本の首都です。Ünïcödé words 🎉 and more. ", 60)
	code, res := d.postJSON(t, d.key, "/v1/documents?wait=true", map[string]any{"name": "t.txt", "folder": "/kb",
		"content_base64": base64.StdEncoding.EncodeToString([]byte(text)), "mime_type": "text/plain"})
	require.Equal(t, http.StatusCreated, code, res)
	// Find a chunk id through the database-free route: the job's version has chunks; use the list of the tenant's chunks.
	pool := testdb.Pool(t)
	var chunkID string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT id::text FROM chunks WHERE version_id = $1 ORDER BY ordinal DESC LIMIT 1`, str(res, "version", "id")).Scan(&chunkID))
	code, ch := d.do(t, d.key, http.MethodGet, "/v1/chunks/"+chunkID, "", nil)
	require.Equal(t, http.StatusOK, code, ch)
	start, end := int(ch["start_offset"].(float64)), int(ch["end_offset"].(float64))
	require.Equal(t, string([]rune(text)[start:end]), ch["content"])
	require.Equal(t, chunkID, ch["path_part_id"])
	require.True(t, strings.HasPrefix(ch["materialized_path"].(string), "/kb/t.txt/v1/"))
	// Another tenant: 404 for every id.
	for _, p := range []string{"/v1/chunks/" + chunkID, "/v1/documents/" + str(res, "document", "id"),
		"/v1/documents/" + str(res, "document", "id") + "/versions", "/v1/ingest/jobs/" + str(res, "job", "id")} {
		code, _ := d.do(t, d.key2, http.MethodGet, p, "", nil)
		require.Equal(t, http.StatusNotFound, code, p)
	}
	code, _ = d.do(t, d.key2, http.MethodDelete, "/v1/documents/"+str(res, "document", "id"), "", nil)
	require.Equal(t, http.StatusNotFound, code)
}

func TestUploadErrors(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "4096")
	big, bigCT := multipartBody(t, map[string]string{"name": "big.txt"}, "big.txt", bytes.Repeat([]byte("a"), 8000))
	png, pngCT := multipartBody(t, map[string]string{"name": "x.png"}, "x.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	cases := []struct {
		name   string
		ct     string
		body   []byte
		status int
		code   string
	}{
		{"upload over the limit is 413", bigCT, big, http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"unsupported type is 415", pngCT, png, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"unknown JSON field is 400", "application/json", []byte(`{"name":"a","text":"b","colour":1}`), http.StatusBadRequest, "unknown_field"},
		{"no content is 422", "application/json", []byte(`{"name":"a"}`), http.StatusUnprocessableEntity, "validation_failed"},
		{"bad folder is 422", "application/json", []byte(`{"name":"a","folder":"/x/../y","text":"b"}`), http.StatusUnprocessableEntity, "validation_failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, res := d.do(t, d.key, http.MethodPost, "/v1/documents", tc.ct, tc.body)
			require.Equal(t, tc.status, code, res)
			require.Equal(t, tc.code, res["code"])
		})
	}
	code, res := d.do(t, d.key, http.MethodGet, "/v1/documents/not-a-uuid", "", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "invalid_id", res["code"])
}

func TestBrokenFileWaitIs422AndNothingVisible(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "")
	body, ct := multipartBody(t, map[string]string{"folder": "/pdf"}, "broken.pdf", []byte("%PDF-1.7\nnot really a pdf"))
	code, res := d.do(t, d.key, http.MethodPost, "/v1/documents?wait=true", ct, body)
	require.Equal(t, http.StatusUnprocessableEntity, code, res)
	require.Equal(t, "ingest_failed", res["code"])
	require.Contains(t, res["detail"], "extraction_failed")
	code, list := d.do(t, d.key, http.MethodGet, "/v1/documents?folder=/pdf", "", nil)
	require.Equal(t, http.StatusOK, code)
	docs := list["data"].([]any)
	require.Len(t, docs, 1)
	require.Nil(t, docs[0].(map[string]any)["current_version_id"])
}
