package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	f := setupFoundation(t, pool)
	cfg := f.srv.deps.Config
	cfg.CORSOrigins = []string{"https://app.example.com"}
	h := New(Deps{Config: cfg, Logger: discardLogger(), Pool: pool, Tenants: f.tenants}).Handler()
	_, key, err := f.tenants.Create(context.Background(), "cors")
	require.NoError(t, err)

	send := func(method, origin string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/v1/tenant", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}

	t.Run("PreflightFromAllowedOriginIsAnswered", func(t *testing.T) {
		rec := send(http.MethodOptions, "https://app.example.com", preflight)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.Equal(t, "https://app.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")
		require.NotEmpty(t, rec.Header().Get("Access-Control-Max-Age"))
	})
	t.Run("RequestFromAllowedOriginCarriesTheHeaders", func(t *testing.T) {
		rec := send(http.MethodGet, "https://app.example.com", map[string]string{"Authorization": "Bearer " + key.Secret})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "https://app.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), "X-Request-Id")
	})
	t.Run("PreflightFromOtherOriginIs403Problem", func(t *testing.T) {
		rec := send(http.MethodOptions, "https://evil.example", preflight)
		require.Equal(t, http.StatusForbidden, rec.Code)
		p := decodeProblem(t, rec)
		require.Equal(t, CodeOriginNotAllowed, p.Code)
		require.Equal(t, ClassForbidden, p.Class)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("SameOriginAndNoOriginPass", func(t *testing.T) {
		auth := map[string]string{"Authorization": "Bearer " + key.Secret}
		require.Equal(t, http.StatusOK, send(http.MethodGet, "http://example.com", auth).Code) // httptest's Host
		require.Equal(t, http.StatusOK, send(http.MethodGet, "", auth).Code)
	})
	t.Run("NoOriginsConfiguredRefusesCrossOrigin", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodOptions, "/v1/threads", nil)
		req.Header.Set("Origin", "https://app.example.com")
		f.srv.Handler().ServeHTTP(rec, req)
		require.Equal(t, http.StatusForbidden, rec.Code)
	})
}

func TestWebAppIsServed(t *testing.T) {
	t.Parallel()
	h := New(Deps{}).Handler()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script type="module" src="/app/app.js">`},
		{"/app/app.js", "javascript", "openCitation"},
		{"/app/app.css", "text/css", "mark"},
	} {
		rec := call(t, h, "", http.MethodGet, tc.path, nil)
		require.Equal(t, http.StatusOK, rec.Code, tc.path)
		require.Contains(t, rec.Header().Get("Content-Type"), tc.ctype, tc.path)
		require.Contains(t, rec.Body.String(), tc.contains, tc.path)
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'", tc.path)
	}
	require.Equal(t, http.StatusNotFound, call(t, h, "", http.MethodGet, "/app/nope.js", nil).Code)
}
