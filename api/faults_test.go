package api

import (
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

// downPool is a pool over an address where nothing listens: every query
// fails to connect, as when Postgres is down.
func downPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	p, err := pgxpool.New(context.Background(), "postgres://cairn@"+addr+"/cairn?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// fullDeps are the domain services of every route, over pool.
func fullDeps(t *testing.T, pool *pgxpool.Pool) Deps {
	t.Helper()
	e := embed.NewHashing()
	s, err := retrieval.New(pool, e, retrieval.Config{})
	require.NoError(t, err)
	svc, err := ingest.New(pool, e, ingest.Options{})
	require.NoError(t, err)
	asker, err := ask.New(pool, threads.NewStore(pool), &answer.Pipeline{Searcher: s, Answerer: answer.Extractive{}}, ask.Config{})
	require.NoError(t, err)
	return Deps{Threads: threads.NewStore(pool), Search: s, Ask: asker, Ingest: svc}
}

// validBodies are well-formed bodies of the routes that take one, so that
// a request gets past validation to the database.
var validBodies = map[string]string{
	"POST /v1/threads":                                  `{"name":"t"}`,
	"PATCH /v1/threads/:thread_id":                      `{"name":"t"}`,
	"POST /v1/threads/:thread_id/messages":              `{"role":"USER","content":{"text":"x"}}`,
	"POST /v1/threads/:thread_id/user_message":          `{"content":{"text":"x"}}`,
	"PATCH /v1/threads/:thread_id/messages/:message_id": `{"content":{"text":"x"}}`,
	"POST /v1/documents":                                `{"name":"a.txt","text":"x"}`,
	"POST /v1/search":                                   `{"query":"x"}`,
}

// everyV1Route sends one request to each /v1 route of srv, with ids in
// its path and a valid body (but those in skip), and returns the answers by route.
func everyV1Route(t *testing.T, srv *Server, key string, skip map[string]bool) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, r := range srv.engine.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		var parts []string
		for _, seg := range strings.Split(r.Path, "/") {
			switch {
			case seg == ":version":
				seg = "1"
			case strings.HasPrefix(seg, ":"):
				seg = uuid.NewString()
			}
			parts = append(parts, seg)
		}
		name := r.Method + " " + r.Path
		if skip[name] {
			continue
		}
		var body io.Reader
		if b, ok := validBodies[name]; ok {
			body = strings.NewReader(b)
		}
		rec := do(t, srv.Handler(), r.Method, strings.Join(parts, "/"), key, body)
		require.Equalf(t, http.StatusServiceUnavailable, rec.Code, "%s: %s", name, rec.Body.String())
		p := decodeProblem(t, rec)
		require.Equalf(t, string(db.CodeDatabaseUnavailable), p.Code, "%s", name)
		checkProblemClass(t, p)
		secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		require.NoErrorf(t, err, "%s: Retry-After", name)
		require.Positive(t, secs)
		got[name] = rec.Code
	}
	return got
}

func TestDatabaseDownIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	t.Run("EveryRouteWhileAuthenticating", func(t *testing.T) {
		t.Parallel()
		down := downPool(t)
		d := fullDeps(t, down)
		d.Config, d.Logger, d.Pool, d.Tenants = testConfig(t, nil), discardLogger(), down, tenants.NewStore(down)
		srv := New(d)
		routes := everyV1Route(t, srv, "cairn_"+strings.Repeat("A", 43), nil)
		require.GreaterOrEqual(t, len(routes), 15, "every /v1 route was tried")
		rec := do(t, srv.Handler(), http.MethodGet, "/readyz", "", nil)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.NotEmpty(t, rec.Header().Get("Retry-After"))
	})
	t.Run("EveryRouteAfterAuthenticating", func(t *testing.T) {
		t.Parallel()
		pool := testdb.Pool(t)
		_, key := testdb.Tenant(t, pool)
		d := fullDeps(t, downPool(t))
		d.Config, d.Logger, d.Pool, d.Tenants = testConfig(t, nil), discardLogger(), pool, tenants.NewStore(pool)
		// GET /v1/tenant answers from the key alone.
		routes := everyV1Route(t, New(d), key, map[string]bool{"GET /v1/tenant": true})
		require.GreaterOrEqual(t, len(routes), 15, "every /v1 route was tried")
	})
}

func TestUnstorableTextIs400NamingTheField(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	_, key := testdb.Tenant(t, pool)
	d := fullDeps(t, pool)
	d.Config, d.Logger, d.Pool, d.Tenants = testConfig(t, nil), discardLogger(), pool, tenants.NewStore(pool)
	h := New(d).Handler()
	rec := do(t, h, http.MethodPost, "/v1/threads", key, strings.NewReader(`{"name":"faults"}`))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	thread := decodeBody[threads.Thread](t, rec).ID.String()
	messages := "/v1/threads/" + thread + "/messages"

	cases := []struct {
		name, method, target, body, field string
	}{
		{"NulInMessageText", "POST", messages, `{"role":"USER","content":{"text":"a\u0000b"}}`, "content.text"},
		{"NulInMetadataValue", "POST", messages, `{"role":"USER","content":{"text":"x"},"metadata":{"tags":["ok","\u0000"]}}`, "metadata.tags[1]"},
		{"NulInMetadataKey", "POST", messages, `{"role":"USER","content":{"text":"x"},"metadata":{"a\u0000":1}}`, "metadata.a\x00"},
		{"LoneHighSurrogateInDetails", "POST", messages, `{"role":"ASSISTANT","content":{"text":"x"},"details":{"steps":[{"q":"\ud800"}]}}`, "details.steps[0].q"},
		{"LoneLowSurrogateInDetails", "POST", messages, `{"role":"ASSISTANT","content":{"text":"x"},"details":{"q":"a\udc00"}}`, "details.q"},
		{"ReversedPairInText", "POST", messages, `{"role":"USER","content":{"text":"\ude00\ud83d"}}`, "content.text"},
		{"NulInUserMessage", "POST", "/v1/threads/" + thread + "/user_message", `{"content":{"text":"\u0000"}}`, "content.text"},
		{"NulInThreadName", "POST", "/v1/threads", `{"name":"x\u0000"}`, "name"},
		{"NulInDocumentText", "POST", "/v1/documents", `{"name":"a.txt","text":"\u0000"}`, "text"},
		{"NulInSearchQuery", "POST", "/v1/search", `{"query":"\u0000"}`, "query"},
		{"NulInQueryParameter", "GET", "/v1/threads?folder=%00", "", "folder"},
		{"NotUTF8InQueryParameter", "GET", "/v1/documents?folder=%ff", "", "folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			rec := do(t, h, tc.method, tc.target, key, body)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			p := decodeProblem(t, rec)
			require.Equal(t, string(CodeInvalidText), p.Code)
			require.Equal(t, tc.field, p.Field)
			checkProblemClass(t, p)
		})
	}
	t.Run("NulInMultipartFolder", func(t *testing.T) {
		var buf strings.Builder
		mw := multipart.NewWriter(&buf)
		require.NoError(t, mw.WriteField("folder", "/kb\x00"))
		fw, err := mw.CreateFormFile("file", "a.txt")
		require.NoError(t, err)
		_, _ = fw.Write([]byte("hello"))
		require.NoError(t, mw.Close())
		req := httptest.NewRequest(http.MethodPost, "/v1/documents", strings.NewReader(buf.String()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		require.Equal(t, "folder", decodeProblem(t, rec).Field)
	})
	t.Run("PairsAndEscapedBackslashesAreStored", func(t *testing.T) {
		rec := do(t, h, http.MethodPost, messages, key, strings.NewReader(
			`{"role":"USER","content":{"text":"\ud83d\ude00 \\u0000 \\ud800"},"metadata":{"k":"\u00e9"},"details":{"q":"\\\ud83d\ude00"}}`))
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.Equal(t, "😀 \\u0000 \\ud800", decodeBody[threads.Message](t, rec).Content.Text)
	})
}

// heldEmbedder is the offline embedder whose every call takes one value
// from release first (a closed release lets all through); entered gets a
// value at each call.
type heldEmbedder struct {
	embed.Embedder
	entered chan struct{}
	release chan struct{}
}

func (e heldEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.entered <- struct{}{}
	select {
	case <-e.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.Embedder.Embed(ctx, texts)
}

func TestWaitedUploadReportsTheJobAsItIs(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	tenant, key := testdb.Tenant(t, pool)
	emb := heldEmbedder{Embedder: embed.NewHashing(), entered: make(chan struct{}, 10), release: make(chan struct{})}
	svc, err := ingest.New(pool, emb, ingest.Options{Workers: 1, Queue: "wait_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		close(emb.release)
		stop, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = svc.Stop(stop)
		cancel()
	})
	// ?wait=true waits one second less than the request timeout.
	cfg := testConfig(t, map[string]string{"CAIRN_REQUEST_TIMEOUT": "6s"})
	h := testHandler(pool, cfg, Deps{Ingest: svc})

	// The one worker is busy with another document, so the waited upload
	// is queued when it is stored...
	_, err = svc.Upload(ctx, tenant, ingest.UploadInput{Name: "first.txt", Data: []byte("The document ahead in the queue.")})
	require.NoError(t, err)
	<-emb.entered
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		done <- do(t, h, http.MethodPost, "/v1/documents?wait=true", key, strings.NewReader(`{"name":"held.txt","text":"A document whose embedding is held."}`))
	}()
	require.Eventually(t, func() bool {
		docs := decodeBody[struct{ Data []ingest.Document }](t, do(t, h, http.MethodGet, "/v1/documents", key, nil))
		return len(docs.Data) == 2
	}, time.Minute, 10*time.Millisecond)
	// ...and running, held in its first embedding call, when the wait ends.
	emb.release <- struct{}{}
	<-emb.entered
	rec := <-done
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	job := decodeBody[ingest.UploadResult](t, rec).Job
	require.NotNil(t, job)
	require.Equal(t, ingest.JobRunning, job.State, "the job was running when the wait ended")
	require.Equal(t, 1, job.Attempts)
	now := decodeBody[ingest.Job](t, do(t, h, http.MethodGet, "/v1/ingest/jobs/"+job.ID.String(), key, nil))
	require.Equal(t, now.State, job.State)
	require.Equal(t, now.Attempts, job.Attempts)
}
