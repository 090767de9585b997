package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/tenants"
)

// testConfig is the configuration of a test server: this test's database,
// with env overriding the defaults of other variables (nil for none).
func testConfig(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	return testdb.Config(t, env)
}

// testHandler is the handler of a server over pool with cfg, a discarding
// logger, the tenant store and the domain services set in d.
func testHandler(pool *pgxpool.Pool, cfg config.Config, d Deps) http.Handler {
	d.Config, d.Logger, d.Pool, d.Tenants = cfg, discardLogger(), pool, tenants.NewStore(pool)
	return New(d).Handler()
}

// docsServer is an API server with in-process ingest workers and two
// tenants (key, key2). Its upload and raw methods validate every exchange
// against the OpenAPI document; do and postJSON decode loosely.
type docsServer struct {
	h      http.Handler
	pool   *pgxpool.Pool
	svc    *ingest.Service
	tenant uuid.UUID
	key    string
	key2   string
}

// setupDocs starts a docsServer whose uploads are limited to maxUpload
// bytes ("" keeps the default).
func setupDocs(t *testing.T, maxUpload string) docsServer {
	t.Helper()
	pool := testdb.Pool(t)
	cfg := testConfig(t, map[string]string{"CAIRN_MAX_UPLOAD_BYTES": maxUpload})
	svc := ingesttest.Service(t, pool, ingest.Options{MaxBytes: cfg.MaxUploadBytes}, 2)
	tenant, key := testdb.Tenant(t, pool)
	_, key2 := testdb.Tenant(t, pool)
	return docsServer{h: testHandler(pool, cfg, Deps{Ingest: svc}), pool: pool, svc: svc, tenant: tenant, key: key, key2: key2}
}

// awaitJobSucceeded polls GET /v1/ingest/jobs/{jobID} until the job has
// succeeded. The polls check on the collect T only (no require off the
// test goroutine); the final answer is then validated against the
// OpenAPI document on t.
func (d docsServer) awaitJobSucceeded(t *testing.T, jobID string) {
	t.Helper()
	target := "/v1/ingest/jobs/" + jobID
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+d.key)
		rec := httptest.NewRecorder()
		d.h.ServeHTTP(rec, req)
		if !assert.Equal(c, http.StatusOK, rec.Code, rec.Body.String()) {
			return
		}
		var j ingest.Job
		if assert.NoError(c, json.Unmarshal(rec.Body.Bytes(), &j)) {
			assert.Equal(c, ingest.JobSucceeded, j.State)
		}
	}, time.Minute, 20*time.Millisecond)
	rec := call(t, d.h, d.key, http.MethodGet, target, nil)
	require.Equal(t, ingest.JobSucceeded, decodeBody[ingest.Job](t, rec).State)
}
