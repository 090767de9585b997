package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

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
