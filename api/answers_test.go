package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/ask/asktest"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

type askServer struct {
	h      http.Handler
	ingest *ingest.Service
	tenant uuid.UUID
	key    string
	// replica builds another server over the same database and tenant,
	// with its own answer service and event listener (a second replica).
	replica func(t *testing.T) http.Handler
	// server is the *api.Server behind h (for tests of Serve).
	server *api.Server
}

func newAskServer(t *testing.T, a answer.Answerer) askServer {
	t.Helper()
	return newAskServerEnv(t, a, map[string]string{"CAIRN_MODEL_TIMEOUT": "10s"})
}

// newAskServerEnv is newAskServer with configuration env.
func newAskServerEnv(t *testing.T, a answer.Answerer, env map[string]string) askServer {
	t.Helper()
	pool := testdb.Pool(t)
	cfg := testdb.Config(t, env)
	svc := ingesttest.Service(t, pool, ingest.Options{MaxBytes: cfg.MaxUploadBytes}, 2)
	s, err := retrieval.New(pool, embed.NewHashing(), retrieval.Config{})
	require.NoError(t, err)
	tenant, key := testdb.Tenant(t, pool)
	queue := asktest.Queue() // the replicas of one deployment share it
	build := func(t *testing.T) *api.Server {
		return api.New(api.Deps{Config: cfg, Pool: pool, Tenants: tenants.NewStore(pool), Ingest: svc,
			Threads: threads.NewStore(pool), Search: s, Ask: asktest.Service(t, pool, s, a,
				ask.Config{GenerationTimeout: ask.GenerationTimeout(cfg.ModelTimeout), Workers: 2, Queue: queue})})
	}
	srv := build(t)
	return askServer{h: srv.Handler(), server: srv, ingest: svc, tenant: tenant, key: key,
		replica: func(t *testing.T) http.Handler { return build(t).Handler() }}
}

func (a askServer) upload(t *testing.T, folder, name, text string) ingest.UploadResult {
	t.Helper()
	ctx := context.Background()
	res, err := a.ingest.Upload(ctx, a.tenant, ingest.UploadInput{Folder: folder, Name: name, Data: []byte(text), MimeType: "text/plain"})
	require.NoError(t, err)
	require.NotNil(t, res.Job)
	job, err := a.ingest.WaitJob(ctx, a.tenant, res.Job.ID)
	require.NoError(t, err)
	require.Equal(t, "succeeded", string(job.State))
	return res
}

// do sends one request with the tenant's key and validates the exchange
// against api/openapi.yaml (JSON bodies fully; event streams by status and
// content type).
func (a askServer) do(t *testing.T, method, path string, body any, hdr ...string) (int, []byte) {
	t.Helper()
	var r io.Reader
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	api.ValidateAgainstSpec(t, req, raw, rec)
	return rec.Code, rec.Body.Bytes()
}

func (a askServer) thread(t *testing.T) string {
	t.Helper()
	code, body := a.do(t, "POST", "/v1/threads", map[string]any{"name": "t-" + uuid.NewString()[:8]})
	require.Equal(t, http.StatusCreated, code, string(body))
	var th threads.Thread
	require.NoError(t, json.Unmarshal(body, &th))
	return th.ID.String()
}

type pair struct {
	UserMessage      threads.Message `json:"user_message"`
	AssistantMessage threads.Message `json:"assistant_message"`
}

func (a askServer) chunkContent(t *testing.T, id uuid.UUID) string {
	t.Helper()
	code, body := a.do(t, "GET", "/v1/chunks/"+id.String(), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var ch struct {
		Content string `json:"content"`
	}
	require.NoError(t, json.Unmarshal(body, &ch))
	return ch.Content
}

const parisV1 = "Paris is the capital and largest city of France. The Seine river flows through the city, which has about two million residents. Le café “Brûlé” opens at seven 🎉."

func TestSearchEndpoint(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	a.upload(t, "/kb/geo", "paris.txt", parisV1)
	a.upload(t, "/kb/zh", "beijing.txt", "北京是中华人民共和国的首都，也是政治和文化中心。")
	code, body := a.do(t, "POST", "/v1/search", map[string]any{"query": "中国的首都", "top_k": 3})
	require.Equal(t, http.StatusOK, code, string(body))
	var res struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &res))
	require.NotEmpty(t, res.Data)
	require.Equal(t, "beijing.txt", res.Data[0]["document_name"])
	for _, k := range []string{"chunk_id", "document_id", "version_number", "materialized_path", "content", "start_offset", "end_offset", "score"} {
		require.Contains(t, res.Data[0], k)
	}
	code, body = a.do(t, "POST", "/v1/search", map[string]any{"query": "capital", "path_prefix": "/kb/geo", "mode": "text"})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), "paris.txt")
	require.NotContains(t, string(body), "beijing.txt")
	for name, req := range map[string]any{
		"BadMode":      map[string]any{"query": "x", "mode": "fuzzy"},
		"EmptyQuery":   map[string]any{"query": ""},
		"TopKTooLarge": map[string]any{"query": "x", "top_k": 500},
		"UnknownField": map[string]any{"query": "x", "k": 5},
	} {
		code, body := a.do(t, "POST", "/v1/search", req)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", name, body)
	}
	for _, k := range []int{0, -3, 101} {
		code, body := a.do(t, "POST", "/v1/search", map[string]any{"query": "x", "top_k": k})
		require.Equal(t, http.StatusBadRequest, code, string(body))
		var p struct{ Code, Field, Detail string }
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, "top_k", p.Field)
		require.Equal(t, fmt.Sprintf("top_k must be between 1 and %d, got %d", retrieval.MaxTopK, k), p.Detail)
	}
}

func TestUserMessageExtractive(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	doc := a.upload(t, "/kb/geo", "paris.txt", parisV1)
	th := a.thread(t)
	msgID := uuid.New()
	ask := map[string]any{"content": map[string]any{"text": "What is the capital of France?"}, "message_id": msgID}
	code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", ask)
	require.Equal(t, http.StatusCreated, code, string(body))
	var p pair
	require.NoError(t, json.Unmarshal(body, &p))

	t.Run("StoresBothMessagesWithExactCitations", func(t *testing.T) {
		require.Equal(t, msgID, p.UserMessage.ID)
		require.Equal(t, threads.RoleAssistant, p.AssistantMessage.Role)
		require.False(t, p.AssistantMessage.Content.IsError)
		require.Contains(t, p.AssistantMessage.Content.Text, "Paris is the capital")
		require.NotEmpty(t, p.AssistantMessage.Content.Citations)
		for _, c := range p.AssistantMessage.Content.Citations {
			require.Equal(t, c.Quote, citation.Slice(a.chunkContent(t, c.ChunkID), c.StartChar, c.Length))
			require.Equal(t, doc.Document.ID, *c.DocumentID)
			require.Equal(t, 1, *c.VersionNumber)
		}
		var details struct {
			Steps []answer.Step `json:"steps"`
		}
		require.NoError(t, json.Unmarshal(p.AssistantMessage.Details, &details))
		require.Equal(t, "retrieval", details.Steps[0].Type)
		require.Equal(t, "What is the capital of France?", details.Steps[0].Data["query"])
		require.NotEmpty(t, details.Steps[0].Data["hits"])
	})
	t.Run("RetryWithSameMessageIDDoesNotGenerateAgain", func(t *testing.T) {
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", ask)
		require.Equal(t, http.StatusOK, code, string(body))
		var again pair
		require.NoError(t, json.Unmarshal(body, &again))
		require.Equal(t, p.AssistantMessage.ID, again.AssistantMessage.ID)
		code, body = a.do(t, "GET", "/v1/threads/"+th+"/messages?limit=100", nil)
		require.Equal(t, http.StatusOK, code)
		var page threads.MessagePage
		require.NoError(t, json.Unmarshal(body, &page))
		var answers int
		for _, m := range page.Data {
			if m.Role == threads.RoleAssistant && strings.Contains(string(m.Metadata), msgID.String()) {
				answers++
			}
		}
		require.Equal(t, 1, answers, "one answer to the message")
	})
	t.Run("SaysPlainlyWhenNothingIsRelevant", func(t *testing.T) {
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "How do volcanoes erupt underwater?"}})
		require.Equal(t, http.StatusCreated, code, string(body))
		var q pair
		require.NoError(t, json.Unmarshal(body, &q))
		require.Equal(t, answer.NotFoundText, q.AssistantMessage.Content.Text)
		require.Empty(t, q.AssistantMessage.Content.Citations)
	})
	t.Run("RetrievalTopKZeroSelectsTheDefaultAndOutOfRangeIs400", func(t *testing.T) {
		ask := func(k int) (int, []byte) {
			return a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{
				"content": map[string]any{"text": "What is the capital of France?"}, "retrieval": map[string]any{"top_k": k}})
		}
		code, body := ask(0)
		require.Equal(t, http.StatusCreated, code, string(body))
		code, body = ask(101)
		require.Equal(t, http.StatusBadRequest, code, string(body))
		var p struct{ Field, Detail string }
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, "retrieval.top_k", p.Field)
		require.Equal(t, "top_k must be between 0 (the default) and 100, got 101", p.Detail)
	})
	t.Run("UnknownThreadIs404", func(t *testing.T) {
		code, _ := a.do(t, "POST", "/v1/threads/"+uuid.NewString()+"/user_message", map[string]any{"content": map[string]any{"text": "hi"}})
		require.Equal(t, http.StatusNotFound, code)
	})
}

// gatedFake is an OpenAI-compatible server whose answer stream stops after
// its first chunk until release is closed.
func gatedFake(t *testing.T, content string, release chan struct{}, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":{"message":"boom"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		pieces := strings.SplitAfter(content, " ")
		for i, p := range pieces {
			b, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": p}}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
			if i == 0 && release != nil {
				<-release
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

type sseEvent struct {
	id   string
	name string
	data string
}

func readEvents(t *testing.T, r io.Reader, stopAfter string) []sseEvent {
	t.Helper()
	return scanEvents(eventScanner(r), stopAfter)
}

// eventScanner scans an event stream by line (for scanEvents).
func eventScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return sc
}

// scanEvents reads events from sc until stopAfter (or the end).
func scanEvents(sc *bufio.Scanner, stopAfter string) []sseEvent {
	var out []sseEvent
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, ":"): // a comment (keepalive)
			continue
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			out = append(out, cur)
			if cur.name == stopAfter {
				return out
			}
			cur = sseEvent{}
		}
	}
	return out
}

// countEvents is how many of evs are named name.
func countEvents(evs []sseEvent, name string) int {
	n := 0
	for _, e := range evs {
		if e.name == name {
			n++
		}
	}
	return n
}

func TestUserMessageStreaming(t *testing.T) {
	t.Parallel()
	t.Run("EventsInOrderWithVerifiedCitations", func(t *testing.T) {
		content := "Paris is the capital [1].\nCITATIONS:\n[1] \"Paris is the capital and largest city of France.\"\n[1] \"Paris is the capital of Germany and Spain.\""
		fake := gatedFake(t, content, nil, 0)
		a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.URL, Model: "m", Timeout: 5 * time.Second}))
		a.upload(t, "/kb", "paris.txt", parisV1)
		th := a.thread(t)
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "capital of France?"}, "stream": true})
		require.Equal(t, http.StatusOK, code)
		evs := readEvents(t, bytes.NewReader(body), "")
		var names []string
		for _, e := range evs {
			if len(names) == 0 || names[len(names)-1] != e.name {
				names = append(names, e.name)
			}
		}
		require.Equal(t, []string{"user_message", "step", "delta", "step", "citation", "step", "assistant_message", "done"}, names)
		require.Equal(t, 1, countEvents(evs, "done"))
		var asst threads.Message
		require.NoError(t, json.Unmarshal([]byte(evs[len(evs)-2].data), &asst))
		require.Len(t, asst.Content.Citations, 1)
		require.Equal(t, "Paris is the capital and largest city of France.", asst.Content.Citations[0].Quote)
		require.Equal(t, 0, asst.Content.Citations[0].StartChar)
		require.Contains(t, string(asst.Details), "quote not found in the source")
	})
	t.Run("FailedGenerationStoresAnErrorMessage", func(t *testing.T) {
		fake := gatedFake(t, "", nil, http.StatusBadRequest)
		a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.URL, Model: "m", Timeout: 5 * time.Second}))
		th := a.thread(t)
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "hello?"}})
		require.Equal(t, http.StatusCreated, code, string(body))
		var p pair
		require.NoError(t, json.Unmarshal(body, &p))
		require.True(t, p.AssistantMessage.Content.IsError)
		require.Contains(t, p.AssistantMessage.Content.Text, "could not answer")
		code, body = a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "hello?"}}, "Accept", "text/event-stream")
		require.Equal(t, http.StatusOK, code)
		evs := readEvents(t, bytes.NewReader(body), "")
		var names []string
		for _, e := range evs {
			names = append(names, e.name)
		}
		require.Equal(t, 1, countEvents(evs, "done"), names)
		require.Equal(t, "user_message", names[0])
		require.Equal(t, []string{"error", "assistant_message", "done"}, names[len(names)-3:], "error, then the stored is_error message, then one done")
		var stored threads.Message
		require.NoError(t, json.Unmarshal([]byte(evs[len(evs)-2].data), &stored))
		require.True(t, stored.Content.IsError)
	})
	t.Run("ClientDisconnectStillStoresTheAnswer", func(t *testing.T) {
		release := make(chan struct{})
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		fake := gatedFake(t, "Paris is the capital of France, as the sources say [1].", release, 0)
		a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.URL, Model: "m", Timeout: 5 * time.Second}))
		a.upload(t, "/kb", "paris.txt", parisV1)
		th := a.thread(t)
		srv := httptest.NewServer(a.h)
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(context.Background())
		b, _ := json.Marshal(map[string]any{"content": map[string]any{"text": "capital of France?"}, "stream": true})
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/threads/"+th+"/user_message", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		readEvents(t, resp.Body, "step") // the retrieval step: the model is still answering
		cancel()
		_ = resp.Body.Close()
		once.Do(func() { close(release) })
		var last string
		defer func() { t.Log(last) }()
		require.Eventually(t, func() bool {
			code, body := a.do(t, "GET", "/v1/threads/"+th+"/messages", nil)
			last = string(body)
			if code != http.StatusOK {
				return false
			}
			var page threads.MessagePage
			_ = json.Unmarshal(body, &page)
			return len(page.Data) == 2 && page.Data[0].Content.Text == "Paris is the capital of France, as the sources say [1]."
		}, 10*time.Second, 20*time.Millisecond)
	})
}

// TestAnswerCitationsResolveToOldVersionAndSurviveDeletion: an answer's
// citations keep their version when the document changes, and resolve to
// null (quote kept) when it is deleted.
func TestAnswerCitationsResolveToOldVersionAndSurviveDeletion(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	doc := a.upload(t, "/kb/geo", "paris.txt", parisV1)
	th := a.thread(t)
	code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "What is the capital of France?"}})
	require.Equal(t, http.StatusCreated, code, string(body))
	var p pair
	require.NoError(t, json.Unmarshal(body, &p))
	{
		a.upload(t, "/kb/geo", "paris.txt", parisV1+" Version two adds the Louvre museum.")
		code, body = a.do(t, "GET", "/v1/threads/"+th+"/messages/"+p.AssistantMessage.ID.String(), nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var m threads.Message
		require.NoError(t, json.Unmarshal(body, &m))
		c := m.Content.Citations[0]
		require.Equal(t, 1, *c.VersionNumber, "the citation keeps pointing at version 1")
		require.Equal(t, "paris.txt", *c.DocumentName)
		require.True(t, strings.HasPrefix(*c.MaterializedPath, "/kb/geo/paris.txt/"), *c.MaterializedPath)

		require.NoError(t, a.ingest.Delete(context.Background(), a.tenant, doc.Document.ID))
		code, body = a.do(t, "GET", "/v1/threads/"+th+"/messages?limit=10", nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var page threads.MessagePage
		require.NoError(t, json.Unmarshal(body, &page))
		var found bool
		for _, msg := range page.Data {
			if msg.ID == p.AssistantMessage.ID {
				found = true
				c := msg.Content.Citations[0]
				require.Nil(t, c.DocumentID)
				require.Nil(t, c.MaterializedPath)
				require.Equal(t, p.AssistantMessage.Content.Citations[0].Quote, c.Quote)
			}
		}
		require.True(t, found)
	}
}
