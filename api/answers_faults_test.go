package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/internal/testdb"
)

// newAskServerEnv is newAskServer with env overriding the configuration.
// hangingModel is an OpenAI-compatible server that accepts every request
// and never answers (until the caller gives up or the test ends).
func hangingModel(t *testing.T) *httptest.Server {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv
}

func TestRequestTimeoutBoundsAHangingModel(t *testing.T) {
	t.Parallel()
	const timeout = 3 * time.Second
	fake := hangingModel(t)
	// The model client's own timeout is far longer: only the request
	// timeout can end the call.
	a := newAskServerEnv(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.URL, Model: "m", Timeout: time.Hour}),
		map[string]string{"CAIRN_REQUEST_TIMEOUT": timeout.String()})
	a.upload(t, "/kb", "paris.txt", parisV1)
	th := a.thread(t)

	t.Run("JSON", func(t *testing.T) {
		start := time.Now()
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "capital of France?"}})
		took := time.Since(start)
		t.Logf("answered in %v (request timeout %v)", took, timeout)
		require.Less(t, took, timeout+time.Second, "the answer comes within the request timeout + 1 s")
		require.Equal(t, http.StatusCreated, code, string(body))
		var p pair
		require.NoError(t, json.Unmarshal(body, &p))
		require.True(t, p.AssistantMessage.Content.IsError, "a stored is_error answer")
	})
	t.Run("Stream", func(t *testing.T) {
		start := time.Now()
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "capital of France?"}, "stream": true})
		took := time.Since(start)
		require.Less(t, took, timeout+time.Second)
		require.Equal(t, http.StatusOK, code)
		evs := readEvents(t, bytes.NewReader(body), "")
		names := make([]string, 0, len(evs))
		for _, e := range evs {
			names = append(names, e.name)
		}
		require.Equal(t, []string{"error", "assistant_message", "done"}, names[len(names)-3:])
	})
}

func TestStreamsGetKeepaliveComments(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	fake := gatedFake(t, "Paris is the capital of France, as the sources say [1].", release, 0)
	a := newAskServerEnv(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.URL, Model: "m", Timeout: time.Minute}),
		map[string]string{"CAIRN_SSE_KEEPALIVE": "20ms"})
	a.upload(t, "/kb", "paris.txt", parisV1)
	th := a.thread(t)
	srv := httptest.NewServer(a.h)
	t.Cleanup(srv.Close)
	b, _ := json.Marshal(map[string]any{"content": map[string]any{"text": "capital of France?"}, "stream": true})
	req, _ := http.NewRequest("POST", srv.URL+"/v1/threads/"+th+"/user_message", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()

	// The model holds its answer after its first piece: the stream goes
	// quiet but for keepalive comments.
	sc := bufio.NewScanner(resp.Body)
	sawComment := false
	for !sawComment && sc.Scan() {
		sawComment = strings.HasPrefix(sc.Text(), ": keepalive")
	}
	require.True(t, sawComment, "a keepalive comment while the model is silent")
	once.Do(func() { close(release) })
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	require.Contains(t, rest.String(), "event: assistant_message")
	require.True(t, strings.HasSuffix(strings.TrimSpace(rest.String()), "event: done\ndata: {}"), rest.String())
}

// SIGTERM (Serve's context ending) with an answer streaming from a model
// that does not answer: the stream ends with an error (shutting_down) and
// done within the shutdown timeout, Serve returns, and the question has
// its (pending) answer stored.
func TestShutdownEndsOpenAnswerStreams(t *testing.T) {
	t.Parallel()
	model := hangingModel(t)
	a := newAskServerEnv(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: model.URL, Model: "m", Timeout: time.Minute}),
		map[string]string{"CAIRN_SHUTDOWN_TIMEOUT": "2s", "CAIRN_MODEL_TIMEOUT": "1m", "CAIRN_REQUEST_TIMEOUT": "6s"})
	th := a.thread(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.server.Serve(ctx, ln) }()
	body := strings.NewReader(`{"content":{"text":"What is the capital of France?"},"stream":true}`)
	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/v1/threads/"+th+"/user_message", body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	sc := eventScanner(resp.Body)
	first := scanEvents(sc, "step") // the retrieval: the model is being called
	require.Equal(t, "user_message", first[0].name)
	stop()
	rest := scanEvents(sc, "")
	require.GreaterOrEqual(t, len(rest), 2)
	require.Equal(t, []string{"error", "done"}, []string{rest[len(rest)-2].name, rest[len(rest)-1].name})
	require.Contains(t, rest[len(rest)-2].data, `"code":"shutting_down"`)
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
	var answers int
	require.NoError(t, testdb.Pool(t).QueryRow(context.Background(),
		`SELECT count(*) FROM messages WHERE tenant_id = $1 AND role = 'ASSISTANT'`, a.tenant).Scan(&answers))
	require.Equal(t, 1, answers, "the question has its answer (pending until generated)")
}
