package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
)

// upload sends a multipart upload (fields, then the file part when
// fileName is not empty) and validates the exchange.
func (d docsServer) upload(t *testing.T, target string, fields [][2]string, fileName, fileType string, file []byte) *httptest.ResponseRecorder {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	if fileName != "" {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + fileName + `"`}
		h["Content-Type"] = []string{fileType}
		fw, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = fw.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(b.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+d.key)
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	validateAgainstSpec(t, req, b.Bytes(), rec)
	return rec
}

// raw sends body with Content-Type ct and validates the exchange.
func (d docsServer) raw(t *testing.T, target, ct string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+d.key)
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	validateAgainstSpec(t, req, body, rec)
	return rec
}

func TestDocumentRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "")
	text := "# Crème\n\nUne façade naïve 🎉. " + strings.Repeat("Ünïcödé words and more. ", 80)

	rec := call(t, d.h, d.key, http.MethodPost, "/v1/documents?wait=true", map[string]any{"name": "café.md", "folder": "/kb/fr", "text": text})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	first := decodeBody[ingest.UploadResult](t, rec)
	require.Equal(t, ingest.JobSucceeded, first.Job.State)
	require.False(t, first.Unchanged)
	require.Equal(t, "ready", first.Version.State)
	require.Equal(t, &first.Version.ID, first.Document.CurrentVersionID)

	rec = call(t, d.h, d.key, http.MethodPost, "/v1/documents", map[string]any{"name": "café.md", "folder": "/kb/fr", "text": text})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.True(t, decodeBody[ingest.UploadResult](t, rec).Unchanged)

	rec = d.upload(t, "/v1/documents", [][2]string{{"folder", "/kb/fr"}, {"name", "café.md"}}, "ignored.md", "text/markdown", []byte("# Crème\n\nAutre texte."))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	second := decodeBody[ingest.UploadResult](t, rec)
	require.Equal(t, 2, second.Version.VersionNumber)
	d.awaitJobSucceeded(t, second.Job.ID.String())

	rec = call(t, d.h, d.key, http.MethodPost, "/v1/documents", map[string]any{"name": "b.txt", "folder": "/kb",
		"content_base64": base64.StdEncoding.EncodeToString([]byte("plain bytes")), "mime_type": "text/plain"})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())

	rec = call(t, d.h, d.key, http.MethodGet, "/v1/documents?folder=/kb&limit=1", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, decodeBody[struct {
		HasMore bool `json:"has_more"`
	}](t, rec).HasMore)
	rec = call(t, d.h, d.key, http.MethodGet, "/v1/documents?limit=500&offset=1", nil)
	require.Equal(t, http.StatusOK, rec.Code)

	docID := first.Document.ID.String()
	rec = call(t, d.h, d.key, http.MethodGet, "/v1/documents/"+docID, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "/kb/fr/café.md", decodeBody[ingest.Document](t, rec).MaterializedPath)
	rec = call(t, d.h, d.key, http.MethodGet, "/v1/documents/"+docID+"/versions", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Len(t, decodeBody[struct {
		Data []ingest.Version `json:"data"`
	}](t, rec).Data, 2)
	rec = call(t, d.h, d.key, http.MethodGet, "/v1/ingest/jobs/"+first.Job.ID.String(), nil)
	require.Equal(t, http.StatusOK, rec.Code)

	chunks, err := d.svc.VersionChunks(context.Background(), d.tenant, first.Version.ID)
	require.NoError(t, err)
	require.NotEmpty(t, chunks)
	chunkID := chunks[len(chunks)-1].ID.String()
	rec = call(t, d.h, d.key, http.MethodGet, "/v1/chunks/"+chunkID, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	ch := decodeBody[ingest.Chunk](t, rec)
	require.Equal(t, string([]rune(text)[ch.StartOffset:ch.EndOffset]), ch.Content)
	require.False(t, ch.IsCurrent, "version 2 is current")

	// Another tenant's ids are 404 on every route, and change nothing.
	for _, target := range []string{"/v1/documents/" + docID, "/v1/documents/" + docID + "/versions",
		"/v1/chunks/" + chunkID, "/v1/ingest/jobs/" + first.Job.ID.String()} {
		requireProblem(t, call(t, d.h, d.key2, http.MethodGet, target, nil), http.StatusNotFound, notFoundCode(target), "")
	}
	requireProblem(t, call(t, d.h, d.key2, http.MethodDelete, "/v1/documents/"+docID, nil), http.StatusNotFound, "document_not_found", "")
	rec = call(t, d.h, d.key2, http.MethodGet, "/v1/documents", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Empty(t, decodeBody[struct {
		Data []ingest.Document `json:"data"`
	}](t, rec).Data)

	rec = call(t, d.h, d.key, http.MethodDelete, "/v1/documents/"+docID, nil)
	require.Equal(t, http.StatusNoContent, rec.Code)
	requireProblem(t, call(t, d.h, d.key, http.MethodGet, "/v1/documents/"+docID, nil), http.StatusNotFound, "document_not_found", "")
	requireProblem(t, call(t, d.h, d.key, http.MethodGet, "/v1/chunks/"+chunkID, nil), http.StatusNotFound, "chunk_not_found", "")
	requireProblem(t, call(t, d.h, d.key, http.MethodDelete, "/v1/documents/"+docID, nil), http.StatusNotFound, "document_not_found", "")
}

// notFoundCode is the problem code of a missing resource at target.
func notFoundCode(target string) string {
	switch {
	case strings.HasPrefix(target, "/v1/chunks/"):
		return "chunk_not_found"
	case strings.HasPrefix(target, "/v1/ingest/jobs/"):
		return "job_not_found"
	}
	return "document_not_found"
}

func TestDocumentRouteErrorsMatchSpec(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "4096")
	missing := uuid.NewString()
	for _, target := range []string{"/v1/documents/" + missing, "/v1/documents/" + missing + "/versions",
		"/v1/chunks/" + missing, "/v1/ingest/jobs/" + missing} {
		t.Run("MissingIsNotFound"+target, func(t *testing.T) {
			requireProblem(t, call(t, d.h, d.key, http.MethodGet, target, nil), http.StatusNotFound, notFoundCode(target), "")
		})
	}
	get := []struct {
		name, target, code, field string
		status                    int
	}{
		{"MalformedDocumentID", "/v1/documents/not-a-uuid", "invalid_id", "document_id", 400},
		{"MalformedVersionsID", "/v1/documents/123/versions", "invalid_id", "document_id", 400},
		{"MalformedChunkID", "/v1/chunks/x", "invalid_id", "chunk_id", 400},
		{"MalformedJobID", "/v1/ingest/jobs/x", "invalid_id", "job_id", 400},
		{"LimitOverMax", "/v1/documents?limit=501", "invalid_parameter", "limit", 400},
		{"NegativeOffset", "/v1/documents?offset=-1", "invalid_parameter", "offset", 400},
		{"RelativeListFolder", "/v1/documents?folder=kb", "validation_failed", "folder", 422},
	}
	for _, tc := range get {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, d.h, d.key, http.MethodGet, tc.target, nil), tc.status, tc.code, tc.field)
		})
	}
	t.Run("DeleteMalformedID", func(t *testing.T) {
		requireProblem(t, call(t, d.h, d.key, http.MethodDelete, "/v1/documents/nope", nil), 400, "invalid_id", "document_id")
	})
	t.Run("NoKeyIsUnauthorized", func(t *testing.T) {
		requireProblem(t, call(t, d.h, "", http.MethodGet, "/v1/documents", nil), 401, "unauthorized", "")
		requireProblem(t, call(t, d.h, "", http.MethodPost, "/v1/documents", `{"name":"a","text":"b"}`), 401, "unauthorized", "")
	})

	// A document named "kb" conflicts with the folder /kb.
	rec := call(t, d.h, d.key, http.MethodPost, "/v1/documents", map[string]any{"name": "a.txt", "folder": "/kb", "text": "x"})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())

	post := []struct {
		name, body, code, field string
		status                  int
	}{
		{"UnknownField", `{"name":"a","text":"b","colour":1}`, "unknown_field", "colour", 400},
		{"WrongType", `{"name":"a","text":7}`, "invalid_field", "text", 400},
		{"MalformedJSON", `{"name":`, "invalid_json", "", 400},
		{"BadBase64", `{"name":"a","content_base64":"@@@"}`, "invalid_field", "content_base64", 400},
		{"NoContent", `{"name":"a"}`, "validation_failed", "text", 422},
		{"TextAndBase64", `{"name":"a","text":"b","content_base64":"Yg=="}`, "validation_failed", "text", 422},
		{"MissingName", `{"text":"b"}`, "validation_failed", "name", 422},
		{"BadFolder", `{"name":"a","folder":"/x/../y","text":"b"}`, "validation_failed", "folder", 422},
		{"EmptyText", `{"name":"a","text":""}`, "validation_failed", "file", 422},
		{"NameIsAFolder", `{"name":"kb","folder":"/","text":"b"}`, "path_conflict", "", 409},
		{"OverUploadLimit", `{"name":"a","text":"` + strings.Repeat("a", 5000) + `"}`, "payload_too_large", "", 413},
	}
	for _, tc := range post {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, d.h, d.key, http.MethodPost, "/v1/documents", tc.body), tc.status, tc.code, tc.field)
		})
	}
	t.Run("TextPlainBodyIsUnsupported", func(t *testing.T) {
		requireProblem(t, d.raw(t, "/v1/documents", "text/plain", []byte("hello")), 415, "unsupported_media_type", "")
	})
	t.Run("MultipartUnknownPart", func(t *testing.T) {
		rec := d.upload(t, "/v1/documents", [][2]string{{"colour", "red"}}, "a.txt", "text/plain", []byte("x"))
		requireProblem(t, rec, 400, "unknown_field", "colour")
	})
	t.Run("MultipartWithoutFile", func(t *testing.T) {
		requireProblem(t, d.upload(t, "/v1/documents", [][2]string{{"name", "a.txt"}}, "", "", nil), 422, "validation_failed", "file")
	})
	t.Run("MultipartWithoutBoundary", func(t *testing.T) {
		requireProblem(t, d.raw(t, "/v1/documents", "multipart/form-data", []byte("x")), 400, "invalid_multipart", "")
	})
	t.Run("MultipartOverUploadLimit", func(t *testing.T) {
		rec := d.upload(t, "/v1/documents", nil, "big.txt", "text/plain", bytes.Repeat([]byte("a"), 8000))
		requireProblem(t, rec, 413, "payload_too_large", "")
	})
	t.Run("PNGIsUnsupported", func(t *testing.T) {
		rec := d.upload(t, "/v1/documents", nil, "x.png", "image/png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		requireProblem(t, rec, 415, "unsupported_media_type", "")
	})
	t.Run("BrokenPDFWaitIsIngestFailed", func(t *testing.T) {
		rec := d.upload(t, "/v1/documents?wait=true", [][2]string{{"folder", "/pdf"}}, "broken.pdf", "application/pdf", []byte("%PDF-1.7\nnot really a pdf"))
		requireProblem(t, rec, 422, "ingest_failed", "")
	})
}
