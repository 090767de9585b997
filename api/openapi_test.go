package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
)

var (
	specRouterOnce sync.Once
	specRouter     routers.Router
	specRouterErr  error
)

// testSpecRouter loads a private copy of the document whose server is
// httptest's default host, so requests made by httptest.NewRequest route.
func testSpecRouter(t testing.TB) routers.Router {
	t.Helper()
	specRouterOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openAPIYAML)
		if err != nil {
			specRouterErr = err
			return
		}
		doc.Servers = openapi3.Servers{{URL: "http://example.com"}}
		specRouter, specRouterErr = gorillamux.NewRouter(doc)
	})
	require.NoError(t, specRouterErr)
	return specRouter
}

// maxValidatedBody is the largest request body validateAgainstSpec checks
// against its schema.
const maxValidatedBody = 1 << 20

// validateAgainstSpec checks one exchange against api/openapi.yaml: the
// route must be documented; the response (status, content type, body) must
// match the document; and a request the document rejects must have been
// answered with a 4xx. body is the request body that was sent.
// Use it from any handler test: rec := httptest.NewRecorder();
// h.ServeHTTP(rec, req); validateAgainstSpec(t, req, body, rec).
func validateAgainstSpec(t testing.TB, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	router := testSpecRouter(t)
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(vreq)
	require.NoErrorf(t, err, "%s %s is not in the OpenAPI document", req.Method, req.URL.Path)
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if len(body) > maxValidatedBody {
		// Schema checks of multi-megabyte bodies (base64 attachments,
		// oversize tests) are slow under -race; check all but the body.
		in.Options = &openapi3filter.Options{AuthenticationFunc: opts.AuthenticationFunc, MultiError: true, ExcludeRequestBody: true}
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		require.GreaterOrEqualf(t, rec.Code, 400, "request the spec rejects (%v) was answered %d", err, rec.Code)
		require.Lessf(t, rec.Code, 500, "request the spec rejects (%v) was answered %d", err, rec.Code)
	}
	ropts := *opts
	ct := rec.Header().Get("Content-Type")
	if !strings.Contains(ct, "json") {
		ropts.ExcludeResponseBody = true
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: &ropts},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &ropts,
	}
	require.NoErrorf(t, openapi3filter.ValidateResponse(context.Background(), out),
		"%s %s answered %d with a response the OpenAPI document does not allow: %s", req.Method, req.URL, rec.Code, rec.Body.String())
	if ct == "application/problem+json" {
		var p Problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		checkProblemClass(t, p)
	}
}

// call sends one request to h with the bearer key (none when empty) and
// a JSON body (a string or []byte is sent as is, anything else is
// marshalled), validates the exchange against the document and returns
// the recorder.
func call(t testing.TB, h http.Handler, key, method, target string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	var r io.Reader
	if raw != nil {
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, target, r)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	validateAgainstSpec(t, req, raw, rec)
	return rec
}

// decodeBody unmarshals the recorder's body into a T.
func decodeBody[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoErrorf(t, json.Unmarshal(rec.Body.Bytes(), &v), "body: %s", rec.Body.String())
	return v
}

// requireProblem checks a problem+json answer's status, code and field.
func requireProblem(t testing.TB, rec *httptest.ResponseRecorder, status int, code, field string) {
	t.Helper()
	require.Equalf(t, status, rec.Code, "body: %s", rec.Body.String())
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	p := decodeBody[Problem](t, rec)
	require.Equal(t, code, p.Code, p.Detail)
	require.Equal(t, field, p.Field, p.Detail)
}

func TestOpenAPIDocumentIsServedAndValid(t *testing.T) {
	t.Parallel()
	doc, err := OpenAPI()
	require.NoError(t, err)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/tenant", "/v1/threads",
		"/v1/threads/{thread_id}", "/v1/threads/{thread_id}/messages", "/v1/threads/{thread_id}/messages/{message_id}",
		"/v1/threads/{thread_id}/attachments/{attachment_id}"} {
		require.NotNil(t, doc.Paths.Find(p), p)
	}
	require.Contains(t, doc.Components.Schemas, "Problem")
	srv := New(Deps{})
	rec := call(t, srv.Handler(), "", http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var served map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &served))
	require.Equal(t, "3.0.3", served["openapi"])
}
