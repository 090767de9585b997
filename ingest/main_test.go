package ingest_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/extract/pdftest"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// setup returns the pool, a fresh tenant and a service with options o
// and running in-process workers.
func setup(t testing.TB, o ingest.Options) (*pgxpool.Pool, uuid.UUID, *ingest.Service) {
	return ingesttest.Setup(t, o)
}

// newService returns a service with running in-process workers.
func newService(t testing.TB, pool *pgxpool.Pool, o ingest.Options) *ingest.Service {
	return ingesttest.Service(t, pool, o, 2)
}

// ingestWait uploads and waits for the job.
func ingestWait(t testing.TB, svc *ingest.Service, tenant uuid.UUID, in ingest.UploadInput) (ingest.UploadResult, ingest.Job) {
	return ingesttest.UploadWait(t, svc, tenant, in)
}

// makePDF writes a minimal valid PDF with one text line per page.
func makePDF(pages ...string) []byte {
	ps := make([]pdftest.Page, len(pages))
	for i, p := range pages {
		ps[i] = pdftest.TextPage(p)
	}
	return pdftest.Build(ps...)
}
