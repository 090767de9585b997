package embed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/retry"
)

// fakeOpenAI serves /v1/embeddings in the OpenAI wire format; the first
// failures answers are status (with Retry-After when given).
func fakeOpenAI(t *testing.T, failures int, status int, retryAfter string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/v1/embeddings" || r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, "bad request", http.StatusNotFound)
			return
		}
		if int(n) <= failures {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limited"}}`))
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		resp := struct {
			Object string `json:"object"`
			Data   []item `json:"data"`
			Model  string `json:"model"`
			Usage  any    `json:"usage"`
		}{Object: "list", Model: req.Model, Usage: map[string]int{"prompt_tokens": 1, "total_tokens": 1}}
		// Answer in reverse order: the client must place by index.
		for i := len(req.Input) - 1; i >= 0; i-- {
			resp.Data = append(resp.Data, item{Object: "embedding", Index: i, Embedding: []float32{float32(len(req.Input[i])), float32(i), 1}})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func newOpenAI(t *testing.T, url string, attempts int) *embed.OpenAI {
	e, err := embed.NewOpenAI(embed.OpenAIConfig{BaseURL: url + "/v1", APIKey: "sk-test", Model: "fake-embed", Dim: 3,
		Timeout: 5 * time.Second, Retry: retry.Policy{Attempts: attempts, Base: 10 * time.Millisecond, Cap: 2 * time.Second}})
	require.NoError(t, err)
	return e
}

func TestOpenAIEmbedsInOrder(t *testing.T) {
	t.Parallel()
	srv, _ := fakeOpenAI(t, 0, 0, "")
	vs, err := newOpenAI(t, srv.URL, 1).Embed(context.Background(), []string{"a", "bbb", "cc"})
	require.NoError(t, err)
	require.Equal(t, [][]float32{{1, 0, 1}, {3, 1, 1}, {2, 2, 1}}, vs)
}

func TestOpenAIHonoursRetryAfterOn429(t *testing.T) {
	t.Parallel()
	srv, calls := fakeOpenAI(t, 1, http.StatusTooManyRequests, "1")
	start := time.Now()
	vs, err := newOpenAI(t, srv.URL, 3).Embed(context.Background(), []string{"x"})
	require.NoError(t, err)
	require.Len(t, vs, 1)
	require.Equal(t, int32(2), calls.Load())
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "waited for Retry-After")
}

func TestOpenAIRetries5xxThenGivesUp(t *testing.T) {
	t.Parallel()
	srv, calls := fakeOpenAI(t, 100, http.StatusServiceUnavailable, "")
	_, err := newOpenAI(t, srv.URL, 3).Embed(context.Background(), []string{"x"})
	require.Error(t, err)
	require.Equal(t, apperr.Unavailable, apperr.KindOf(err))
	require.Equal(t, int32(3), calls.Load())
}

func TestOpenAIDoesNotRetry4xx(t *testing.T) {
	t.Parallel()
	srv, calls := fakeOpenAI(t, 100, http.StatusBadRequest, "")
	_, err := newOpenAI(t, srv.URL, 3).Embed(context.Background(), []string{"x"})
	require.Equal(t, apperr.BadGateway, apperr.KindOf(err))
	require.Equal(t, int32(1), calls.Load())
}
