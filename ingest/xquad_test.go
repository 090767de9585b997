package ingest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/testdb"
)

// xquadContexts returns the paragraphs of one XQuAD language.
func xquadContexts(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/work/shared/data/xquad", "xquad."+lang+".json"))
	if os.IsNotExist(err) {
		t.Skip("XQuAD data not present")
	}
	require.NoError(t, err)
	var f struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	var out []string
	for _, d := range f.Data {
		for _, p := range d.Paragraphs {
			out = append(out, p.Context)
		}
	}
	return out
}

// TestXQuADChunksMatchTheirSlices ingests the XQuAD contexts of five
// languages (40 paragraphs per document) and checks every stored chunk
// against its slice of the stored version text.
func TestXQuADChunksMatchTheirSlices(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	svc := newService(t, pool, ingest.Options{Chunk: chunk.Options{Target: 300, Overlap: 50}})
	for _, lang := range []string{"en", "zh", "ar", "hi", "th"} {
		t.Run(lang, func(t *testing.T) {
			tenant, _ := testdb.Tenant(t, pool)
			ctxs := xquadContexts(t, lang)
			require.NotEmpty(t, ctxs)
			docs := 0
			for i := 0; i < len(ctxs); i += 40 {
				text := strings.Join(ctxs[i:min(i+40, len(ctxs))], "\n\n")
				res, job := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/xquad/" + lang, Name: "part-" + string(rune('a'+i/40)) + ".txt", Data: []byte(text)})
				require.Equal(t, ingest.JobSucceeded, job.State, "%v", job.Error)
				chunks := requireExactChunks(t, svc, tenant, res.Version.ID)
				for _, c := range chunks {
					require.LessOrEqual(t, len([]rune(c.Content)), 300)
				}
				docs++
			}
			require.Greater(t, docs, 3)
		})
	}
}
