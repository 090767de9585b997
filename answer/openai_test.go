package answer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/retrieval"
)

// fakeOpenAI is an in-process OpenAI-compatible chat server that answers
// each /chat/completions request with the next scripted reply.
type fakeOpenAI struct {
	mu       sync.Mutex
	replies  []func(w http.ResponseWriter)
	requests []map[string]any
	srv      *httptest.Server
}

func newFake(t *testing.T, replies ...func(w http.ResponseWriter)) *fakeOpenAI {
	f := &fakeOpenAI{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.requests = append(f.requests, body)
		if len(f.replies) == 0 {
			f.mu.Unlock()
			http.Error(w, `{"error":{"message":"no more replies"}}`, 500)
			return
		}
		next := f.replies[0]
		f.replies = f.replies[1:]
		f.mu.Unlock()
		next(w)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func chunk(delta map[string]any, finish string) string {
	var fr any
	if finish != "" {
		fr = finish
	}
	b, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fr}}})
	return "data: " + string(b) + "\n\n"
}

// streamText streams content in pieces of n bytes (split mid-rune is
// avoided by splitting on runes), then usage and [DONE].
func streamText(content string, n int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		r := []rune(content)
		for i := 0; i < len(r); i += n {
			fmt.Fprint(w, chunk(map[string]any{"content": string(r[i:min(i+n, len(r))])}, ""))
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, chunk(map[string]any{}, "stop"))
		fmt.Fprint(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160}}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func streamToolCall(query string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		args, _ := json.Marshal(map[string]string{"query": query})
		half := len(args) / 2
		fmt.Fprint(w, chunk(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function",
			"function": map[string]any{"name": "search_knowledge_base", "arguments": string(args[:half])}}}}, ""))
		fmt.Fprint(w, chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": string(args[half:])}}}}, ""))
		fmt.Fprint(w, chunk(map[string]any{}, "tool_calls"))
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "0")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprint(w, `{"error":{"message":"rate limited","type":"rate_limit"}}`)
}

type recorder struct {
	deltas    []string
	citations []citation.Citation
	steps     []answer.Step
}

func (r *recorder) Delta(s string)               { r.deltas = append(r.deltas, s) }
func (r *recorder) Citation(c citation.Citation) { r.citations = append(r.citations, c) }
func (r *recorder) Step(s answer.Step)           { r.steps = append(r.steps, s) }

func hit(content string) retrieval.Hit {
	return retrieval.Hit{ChunkID: uuid.New(), DocumentName: "doc", Content: content}
}

func TestOpenAIAnswerer(t *testing.T) {
	t.Parallel()
	src1 := hit("Le café “Brûlé” ouvre à 7 h. Il sert du thé vert 绿茶 et des croissants 🥐.")
	src2 := hit("The museum is closed on Mondays. Tickets cost twelve euros.")
	extra := hit("Parking is free after 18:00 in the north garage.")

	answerText := "Le café ouvre à 7 h [1] et le musée ferme le lundi [2]. Parking is free in the evening [3].\n" +
		"CITATIONS:\n" +
		"[1] \"Le café “Brûlé” ouvre à 7 h.\"\n" + // exact
		"[2] \"the museum is  closed on mondays\"\n" + // normalised: case and spaces
		"[3] \"Parking is fre after 18:00 in the north garage\"\n" + // fuzzy: a typo
		"[1] \"Le café sert des crêpes au chocolat chaud.\"\n" + // invented
		"[9] \"Tickets cost twelve euros.\"\n" // a source that was not offered

	fake := newFake(t, tooMany, streamToolCall("parking hours"), streamText(answerText, 7))
	a := answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.srv.URL + "/v1", APIKey: "k", Model: "default-model", Timeout: 5 * time.Second})
	var searched []string
	rec := &recorder{}
	res, err := a.Answer(context.Background(), answer.Request{
		Question: "Quand ouvre le café ?",
		History:  []answer.Turn{{Role: "USER", Text: "Bonjour"}, {Role: "ASSISTANT", Text: "Bonjour !"}},
		Sources:  []retrieval.Hit{src1, src2},
		Model:    "override-model",
		Search: func(ctx context.Context, q string) ([]retrieval.Hit, error) {
			searched = append(searched, q)
			return []retrieval.Hit{extra}, nil
		},
	}, rec)
	require.NoError(t, err)

	t.Run("RetriesAfter429AndUsesTheOverrideModel", func(t *testing.T) {
		require.Len(t, fake.requests, 3)
		for _, r := range fake.requests {
			require.Equal(t, "override-model", r["model"])
			require.Equal(t, true, r["stream"])
		}
	})
	t.Run("RunsTheSearchToolAndNumbersItsResultsAfterTheSources", func(t *testing.T) {
		require.Equal(t, []string{"parking hours"}, searched)
		msgs := fake.requests[2]["messages"].([]any)
		last := msgs[len(msgs)-1].(map[string]any)
		require.Equal(t, "tool", last["role"])
		require.Equal(t, "call_1", last["tool_call_id"])
		require.Contains(t, last["content"], "[3]")
	})
	t.Run("StreamsTheAnswerButNotTheCitationBlock", func(t *testing.T) {
		streamed := strings.Join(rec.deltas, "")
		require.Greater(t, len(rec.deltas), 3)
		require.NotContains(t, streamed, "CITATIONS")
		require.Equal(t, strings.TrimSpace(streamed), res.Text)
		require.True(t, strings.HasSuffix(res.Text, "evening [3]."))
	})
	t.Run("KeepsLocatedQuotesWithServerComputedOffsets", func(t *testing.T) {
		want := []struct {
			chunk uuid.UUID
			quote string
			start int
		}{
			{src1.ChunkID, "Le café “Brûlé” ouvre à 7 h.", 0},
			{src2.ChunkID, "The museum is closed on Mondays", 0},
			{extra.ChunkID, "Parking is free after 18:00 in the north garage", 0},
		}
		require.Len(t, res.Citations, len(want))
		for i, w := range want {
			c := res.Citations[i]
			require.Equal(t, w.chunk, c.ChunkID)
			require.Equal(t, w.quote, c.Quote)
			require.Equal(t, w.start, c.StartChar)
			require.Equal(t, len([]rune(w.quote)), c.Length)
		}
		require.Equal(t, res.Citations, rec.citations)
	})
	t.Run("RecordsRejectedCitationsAndModelCalls", func(t *testing.T) {
		var calls, tools int
		var cits answer.Step
		for _, s := range res.Steps {
			switch s.Type {
			case "model_call":
				calls++
				require.Equal(t, "override-model", s.Data["model"])
			case "tool_call":
				tools++
			case "citations":
				cits = s
			}
		}
		require.Equal(t, 2, calls)
		require.Equal(t, 1, tools)
		rejected := cits.Data["rejected"].([]map[string]any)
		require.Len(t, rejected, 2)
		require.Equal(t, "quote not found in the source", rejected[0]["reason"])
		require.Equal(t, "source 9 was not offered", rejected[1]["reason"])
		last := res.Steps[len(res.Steps)-2]
		require.Equal(t, 120, last.Data["prompt_tokens"])
	})
}

func TestOpenAIAnswererFailures(t *testing.T) {
	t.Parallel()
	t.Run("GivesUpAfterRetriesAsBadGateway", func(t *testing.T) {
		fake := newFake(t, tooMany, tooMany)
		a := answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.srv.URL + "/v1", Model: "m", MaxRetries: 1, Timeout: 5 * time.Second})
		_, err := a.Answer(context.Background(), answer.Request{Question: "q"}, answer.Discard{})
		require.Error(t, err)
		require.Equal(t, apperr.BadGateway, apperr.KindOf(err))
		require.Len(t, fake.requests, 2)
	})
	t.Run("TimesOutAsUnavailable", func(t *testing.T) {
		block := make(chan struct{})
		fake := newFake(t, func(w http.ResponseWriter) { <-block })
		t.Cleanup(func() { close(block) }) // runs before the server's Close
		a := answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.srv.URL + "/v1", Model: "m", Timeout: 200 * time.Millisecond})
		_, err := a.Answer(context.Background(), answer.Request{Question: "q"}, answer.Discard{})
		require.Error(t, err)
		require.Equal(t, "model_timeout", err.(*apperr.Error).Code)
	})
}

func TestOpenAIDeclineStoresNoCitations(t *testing.T) {
	t.Parallel()
	src := hit("The museum is closed on Mondays.")
	fake := newFake(t, streamText("\""+answer.NotFoundText+"\"\nCITATIONS:\n[1] \"The museum is closed on Mondays.\"\n", 5))
	a := answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.srv.URL + "/v1", APIKey: "k", Model: "m", Timeout: 5 * time.Second})
	rec := &recorder{}
	res, err := a.Answer(context.Background(), answer.Request{Question: "Who won the 1998 World Cup?", Sources: []retrieval.Hit{src}}, rec)
	require.NoError(t, err)
	require.Equal(t, answer.NotFoundText, res.Text)
	require.Empty(t, res.Citations)
	require.Empty(t, rec.citations)
	last := rec.steps[len(rec.steps)-1]
	require.Equal(t, "citations", last.Type)
	require.Equal(t, "declined", last.Data["reason"])
	sys := fake.requests[0]["messages"].([]any)[0].(map[string]any)["content"].(string)
	require.Contains(t, sys, "You may decline")
}

func TestOpenAIStandaloneQuestion(t *testing.T) {
	t.Parallel()
	fake := newFake(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":" How do I reverse the sort order of ls? "},"finish_reason":"stop"}]}`)
	})
	a := answer.NewOpenAI(answer.OpenAIConfig{BaseURL: fake.srv.URL + "/v1", APIKey: "k", Model: "m", Timeout: 5 * time.Second})
	q, err := a.Standalone(context.Background(), "And how do I reverse that order?",
		[]answer.Turn{{Role: "USER", Text: "How does ls sort entries?"}, {Role: "ASSISTANT", Text: "By name [1]."}}, "")
	require.NoError(t, err)
	require.Equal(t, "How do I reverse the sort order of ls?", q)
	sent, _ := json.Marshal(fake.requests[0]["messages"])
	require.Contains(t, string(sent), "USER: How does ls sort entries?")
	require.Contains(t, string(sent), "USER: And how do I reverse that order?")
}
