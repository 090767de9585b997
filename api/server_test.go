package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/logging"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/tenants"
)

// foundation is the server under test and its collaborators.
type foundation struct {
	srv     *Server
	pool    *pgxpool.Pool
	tenants *tenants.Store
	logs    *syncBuffer
}

func setupFoundation(t *testing.T, pool *pgxpool.Pool) foundation {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		if k == "DATABASE_URL" {
			return "postgres://unused@127.0.0.1:1/x"
		}
		return ""
	})
	require.NoError(t, err)
	cfg.ShutdownTimeout = 5 * time.Second
	mig, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, mig.Close()) })
	logs := &syncBuffer{}
	store := tenants.NewStore(pool)
	srv := New(Deps{Config: cfg, Logger: logging.New(logs, slog.LevelDebug), Pool: pool, Schema: mig, Tenants: store})
	return foundation{srv: srv, pool: pool, tenants: store, logs: logs}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func do(t *testing.T, h http.Handler, method, path, key string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var p Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.Equal(t, rec.Code, p.Status)
	return p
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	f := setupFoundation(t, pool)
	ctx := context.Background()
	tn, key, err := f.tenants.Create(ctx, "acme")
	require.NoError(t, err)
	revoked, err := f.tenants.CreateKey(ctx, tn.ID)
	require.NoError(t, err)
	require.NoError(t, f.tenants.Revoke(ctx, revoked.ID))

	t.Run("ValidKeyReachesV1", func(t *testing.T) {
		rec := do(t, f.srv.Handler(), "GET", "/v1/tenant", key.Secret, nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, `{"id":"`+tn.ID.String()+`"}`, rec.Body.String())
	})
	cases := []struct {
		name   string
		header string
	}{
		{"NoHeader", ""},
		{"WrongScheme", "Basic " + key.Secret},
		{"EmptyBearer", "Bearer "},
		{"UnknownKey", "Bearer cairn_" + strings.Repeat("A", 43)},
		{"NotACairnKey", "Bearer hello"},
		{"RevokedKey", "Bearer " + revoked.Secret},
	}
	for _, tc := range cases {
		t.Run(tc.name+"Is401", func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v1/tenant", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			p := decodeProblem(t, rec)
			require.Equal(t, "unauthorized", p.Code)
			require.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		})
	}
	t.Run("RevokeTwiceIsNotFound", func(t *testing.T) {
		require.Error(t, f.tenants.Revoke(ctx, revoked.ID))
	})
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	t.Run("ReadyWhenDatabaseUpAndMigrated", func(t *testing.T) {
		t.Parallel()
		f := setupFoundation(t, testdb.Pool(t))
		rec := do(t, f.srv.Handler(), "GET", "/readyz", "", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, http.StatusOK, do(t, f.srv.Handler(), "GET", "/healthz", "", nil).Code)
	})
	t.Run("NotReadyWhenDatabaseDown", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close()) // nothing listens here any more
		down, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/cairn?sslmode=disable&connect_timeout=2")
		require.NoError(t, err)
		defer down.Close()
		f := setupFoundation(t, down)
		rec := do(t, f.srv.Handler(), "GET", "/readyz", "", nil)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Equal(t, "not_ready", decodeProblem(t, rec).Code)
		// The process itself is still alive.
		require.Equal(t, http.StatusOK, do(t, f.srv.Handler(), "GET", "/healthz", "", nil).Code)
	})
	t.Run("NotReadyWhenSchemaBehind", func(t *testing.T) {
		t.Parallel()
		empty, err := db.Open(context.Background(), testdb.Fresh(t), 2)
		require.NoError(t, err)
		defer empty.Close()
		f := setupFoundation(t, empty)
		rec := do(t, f.srv.Handler(), "GET", "/readyz", "", nil)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Contains(t, decodeProblem(t, rec).Detail, "migrate up")
	})
}

func TestGracefulShutdownDrainsInFlightRequest(t *testing.T) {
	t.Parallel()
	f := setupFoundation(t, testdb.Pool(t))
	entered, release := make(chan struct{}), make(chan struct{})
	f.srv.engine.GET("/test/slow", func(c *gin.Context) {
		close(entered)
		<-release
		c.String(http.StatusOK, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/test/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }() // read to the end below
		b, _ := io.ReadAll(resp.Body)
		got <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-entered
	cancel() // SIGTERM equivalent: stop accepting, drain
	// New connections are refused once the listener is closed.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 200*time.Millisecond)
		if err == nil {
			_ = c.Close() // a probe: nothing was sent
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}
	close(release)
	r := <-got
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "finished", r.body)
	require.NoError(t, <-served)
}

func TestRequestIDsProblemsAndMetrics(t *testing.T) {
	t.Parallel()
	f := setupFoundation(t, testdb.Pool(t))
	f.srv.engine.POST("/test/echo", f.srv.limitBody(64, f.srv.fail), func(c *gin.Context) {
		var v struct {
			Name string `json:"name"`
			N    int    `json:"n"`
		}
		if err := decodeJSON(c, &v); err != nil {
			f.srv.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, v)
	})
	h := f.srv.Handler()

	t.Run("EchoesSaneRequestID", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header.Set("X-Request-Id", "abc-123")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, "abc-123", rec.Header().Get("X-Request-Id"))
		require.Contains(t, f.logs.String(), `"request_id":"abc-123"`)
	})
	t.Run("ReplacesInsaneRequestID", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header.Set("X-Request-Id", "bad id with spaces")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Len(t, rec.Header().Get("X-Request-Id"), 36)
	})
	t.Run("UnknownRouteIsProblem404", func(t *testing.T) {
		rec := do(t, h, "GET", "/nope", "", nil)
		require.Equal(t, http.StatusNotFound, rec.Code)
		p := decodeProblem(t, rec)
		require.Equal(t, "route_not_found", p.Code)
		require.Equal(t, rec.Header().Get("X-Request-Id"), p.RequestID)
	})
	bodies := []struct {
		name, body, code, field string
		status                  int
	}{
		{"UnknownField", `{"name":"a","extra":1}`, "unknown_field", "extra", 400},
		{"WrongType", `{"n":"seven"}`, "invalid_field", "n", 400},
		{"Malformed", `{"name":`, "invalid_json", "", 400},
		{"TrailingData", `{"name":"a"} {}`, "invalid_json", "", 400},
		{"Empty", ``, "invalid_json", "", 400},
		{"Oversized", `{"name":"` + strings.Repeat("x", 100) + `"}`, "payload_too_large", "", 413},
	}
	for _, tc := range bodies {
		t.Run("Body"+tc.name, func(t *testing.T) {
			rec := do(t, h, "POST", "/test/echo", "", strings.NewReader(tc.body))
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			p := decodeProblem(t, rec)
			require.Equal(t, tc.code, p.Code)
			require.Equal(t, tc.field, p.Field)
		})
	}
	t.Run("MetricsByRouteAndStatus", func(t *testing.T) {
		rec := do(t, h, "GET", "/metrics", "", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		body := rec.Body.String()
		require.Contains(t, body, `cairn_http_requests_total{method="GET",route="/healthz",status="200"}`)
		require.Contains(t, body, `cairn_http_request_duration_seconds_bucket{method="POST",route="/test/echo",status="413"`)
		require.Contains(t, body, `cairn_db_pool_max_conns`)
	})
}
