package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
)

// goQuestion is one line of goroot/questions.jsonl (see goroot/README.md).
type goQuestion struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Question string   `json:"question"`
	Turns    []string `json:"turns"`
	Doc      string   `json:"doc"`
	Quote    string   `json:"quote"`
}

// goFloors are the least figures the real-corpus set must reach: the
// baseline measured when the set was built, so a regression fails.
var goFloors = struct{ recall1, quoted, declined float64 }{0.65, 0.20, 0.02}

func goRoot(t *testing.T) string {
	if d := os.Getenv("CAIRN_GOROOT"); d != "" {
		return d
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err, "go env GOROOT")
	return strings.TrimSpace(string(out))
}

// goCorpus lists the files of the corpus, relative to root: the
// distribution's top-level and doc/ Markdown and HTML, the go command's
// documentation and every doc.go outside testdata and vendor trees.
func goCorpus(t *testing.T, root string) []string {
	var files []string
	for _, pat := range []string{"*.md", "doc/*.md", "doc/*.html"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		require.NoError(t, err)
		for _, f := range m {
			r, _ := filepath.Rel(root, f)
			files = append(files, filepath.ToSlash(r))
		}
	}
	if _, err := os.Stat(filepath.Join(root, "src/cmd/go/alldocs.go")); err == nil {
		files = append(files, "src/cmd/go/alldocs.go")
	}
	err := filepath.WalkDir(filepath.Join(root, "src"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "doc.go" {
			r, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(r))
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(files)
	return files
}

func loadGoQuestions(t *testing.T) []goQuestion {
	f, err := os.Open(filepath.Join("goroot", "questions.jsonl"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	var qs []goQuestion
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var q goQuestion
		require.NoError(t, json.Unmarshal(sc.Bytes(), &q), sc.Text())
		qs = append(qs, q)
	}
	require.NoError(t, sc.Err())
	return qs
}

// goStats counts one kind of question.
type goStats struct {
	n, hit1, hit5, quoted, declined int
}

// TestGoRoot measures the offline pipeline on a corpus nobody on this
// project wrote: the Go distribution's documentation (goroot/README.md).
// Each answerable question has a gold document and a gold quote; it
// reports Recall@1/@5 of a gold document (any corpus file whose text
// holds the gold quote counts), the share of answers whose citations
// contain the gold quote, the false-decline rate, and the decline rate
// on questions the corpus cannot answer. A question whose gold quote no
// longer occurs in this Go version's text is skipped and counted.
func TestGoRoot(t *testing.T) {
	if os.Getenv("CAIRN_EVAL") == "" {
		t.Skip("set CAIRN_EVAL=1 (make eval) to run the Go distribution evaluation")
	}
	ctx := context.Background()
	root := goRoot(t)
	version, _ := os.ReadFile(filepath.Join(root, "VERSION"))
	files := goCorpus(t, root)
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	svc := ingesttest.Service(t, pool, ingest.Options{}, 2)

	texts := map[string]string{}
	pathOf := map[uuid.UUID]string{}
	var jobs []uuid.UUID
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		mime, err := extract.DetectType(path.Base(f), "", data)
		require.NoError(t, err, f)
		ex, err := extract.Extract(mime, data, extract.Limits{})
		require.NoError(t, err, f)
		texts[f] = ex.Text
		res, err := svc.Upload(ctx, tenant, ingest.UploadInput{Folder: path.Join("/goroot", path.Dir(f)), Name: path.Base(f), Data: data})
		require.NoError(t, err, f)
		pathOf[res.Document.ID] = f
		jobs = append(jobs, res.Job.ID)
	}
	for _, id := range jobs {
		job, err := svc.WaitJob(ctx, tenant, id)
		require.NoError(t, err)
		require.Equal(t, "succeeded", string(job.State), job.Error)
	}

	s, err := retrieval.New(pool, embed.NewHashing(), evalConfig())
	require.NoError(t, err)
	p := &answer.Pipeline{Searcher: s, Answerer: answer.Extractive{}}
	all := loadGoQuestions(t)
	var qs []goQuestion
	skipped := 0
	for _, q := range all {
		if q.Kind != "unanswerable" && !strings.Contains(texts[q.Doc], q.Quote) {
			skipped++
			continue
		}
		qs = append(qs, q)
	}
	fmt.Printf("goroot: %s, %d files, %d questions (%d skipped: gold quote not in this version's text)\n",
		strings.SplitN(string(version), "\n", 2)[0], len(files), len(qs), skipped)
	require.Less(t, skipped, len(all)/4, "most gold quotes must still occur")

	var mu sync.Mutex
	stats := map[string]*goStats{}
	debug := os.Getenv("CAIRN_EVAL_DEBUG") != ""
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, q := range qs {
		g.Go(func() error {
			var history []answer.Turn
			for _, turn := range q.Turns {
				r, err := p.Run(gctx, tenant, turn, history, answer.Options{}, answer.Discard{})
				if err != nil {
					return err
				}
				history = append(history, answer.Turn{Role: "USER", Text: turn}, answer.Turn{Role: "ASSISTANT", Text: r.Text})
			}
			res, err := p.Run(gctx, tenant, q.Question, history, answer.Options{}, answer.Discard{})
			if err != nil {
				return err
			}
			rank := 0
			if q.Kind != "unanswerable" {
				rank = goldRank(res, pathOf, texts, q)
			}
			quoted := q.Kind != "unanswerable" && citesQuote(res, q.Quote)
			mu.Lock()
			defer mu.Unlock()
			for _, k := range []string{q.Kind, "answerable"} {
				if k == "answerable" && q.Kind == "unanswerable" {
					continue
				}
				st := stats[k]
				if st == nil {
					st = &goStats{}
					stats[k] = st
				}
				st.n++
				if len(res.Citations) == 0 {
					st.declined++
				}
				if rank == 1 {
					st.hit1++
				}
				if rank >= 1 && rank <= 5 {
					st.hit5++
				}
				if quoted {
					st.quoted++
				}
			}
			if debug && !quoted {
				fmt.Printf("MISS %s rank %d %q\n  gold %s: %q\n  answer: %q\n", q.ID, rank, q.Question, q.Doc, q.Quote, res.Text)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	kinds := []string{"definition", "option", "howto", "number", "followup"}
	for _, k := range append(kinds, "answerable") {
		st := stats[k]
		if st == nil {
			continue
		}
		n := float64(st.n)
		fmt.Printf("goroot %-10s: questions %3d  Recall@1 %.3f  Recall@5 %.3f  quote-in-citation %.3f  false declines %.3f\n",
			k, st.n, float64(st.hit1)/n, float64(st.hit5)/n, float64(st.quoted)/n, float64(st.declined)/n)
	}
	a, u := stats["answerable"], stats["unanswerable"]
	require.NotNil(t, a)
	require.NotNil(t, u)
	fmt.Printf("goroot unanswerable: questions %3d  declined %.3f\n", u.n, float64(u.declined)/float64(u.n))
	require.GreaterOrEqual(t, float64(a.hit1)/float64(a.n), goFloors.recall1, "Recall@1 fell below the recorded baseline")
	require.GreaterOrEqual(t, float64(a.quoted)/float64(a.n), goFloors.quoted, "quote-in-citation fell below the recorded baseline")
	require.GreaterOrEqual(t, float64(u.declined)/float64(u.n), goFloors.declined, "declines fell below the recorded baseline")
}

// goldRank is the rank (1-based, 0 when absent) of the first retrieved
// document whose text holds the gold quote (the question's own gold
// document, or another file saying the same), in the last retrieval.
func goldRank(res answer.Result, pathOf map[uuid.UUID]string, texts map[string]string, q goQuestion) int {
	var hits []map[string]any
	for _, st := range res.Steps {
		if st.Type == "retrieval" {
			hits, _ = st.Data["hits"].([]map[string]any)
		}
	}
	seen := map[string]bool{}
	rank := 0
	for _, h := range hits {
		id, _ := h["document_id"].(uuid.UUID)
		f := pathOf[id]
		if seen[f] {
			continue // several chunks of one document count as one rank
		}
		seen[f] = true
		rank++
		if f == q.Doc || strings.Contains(texts[f], q.Quote) {
			return rank
		}
	}
	return 0
}

// citesQuote reports whether the answer's citations hold the gold quote:
// one citation, or consecutive citations joined, contains it (runs of
// whitespace compared as one space).
func citesQuote(res answer.Result, quote string) bool {
	want := strings.Join(strings.Fields(quote), " ")
	var joined []string
	for _, c := range res.Citations {
		got := strings.Join(strings.Fields(c.Quote), " ")
		if strings.Contains(got, want) {
			return true
		}
		joined = append(joined, got)
	}
	return len(joined) > 1 && strings.Contains(strings.Join(joined, " "), want)
}
