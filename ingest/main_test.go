package ingest_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/ingest"
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
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n")
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, then per page: page obj, content obj.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 4+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, p := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		stream := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", p)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}
