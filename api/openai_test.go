package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/threads"
)

// The wire types of the OpenAI-compatible surface, as a client reads them.
type (
	oaiError struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	oaiModel struct {
		ID         string `json:"id"`
		Object     string `json:"object"`
		Created    int64  `json:"created"`
		OwnedBy    string `json:"owned_by"`
		PathPrefix string `json:"path_prefix"`
	}
	oaiUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	oaiExchange struct {
		ThreadID           uuid.UUID `json:"thread_id"`
		UserMessageID      uuid.UUID `json:"user_message_id"`
		AssistantMessageID uuid.UUID `json:"assistant_message_id"`
	}
	oaiCompletion struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Role      string              `json:"role"`
				Content   string              `json:"content"`
				Citations []citation.Citation `json:"citations"`
				Reasoning *string             `json:"reasoning_content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage oaiUsage     `json:"usage"`
		Cairn *oaiExchange `json:"cairn"`
	}
	oaiChunk struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Delta struct {
				Role      string              `json:"role"`
				Content   *string             `json:"content"`
				Citations []citation.Citation `json:"citations"`
				Reasoning *string             `json:"reasoning_content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *oaiUsage       `json:"usage"`
		Cairn *oaiExchange    `json:"cairn"`
		Error json.RawMessage `json:"error"`
	}
)

// chat posts a chat completion and returns the status and body.
func (a askServer) chat(t *testing.T, body map[string]any) (int, []byte) {
	t.Helper()
	return a.do(t, "POST", "/openai/v1/chat/completions", body)
}

// completion posts a non-streamed completion that must succeed.
func (a askServer) completion(t *testing.T, body map[string]any) oaiCompletion {
	t.Helper()
	code, raw := a.chat(t, body)
	require.Equal(t, http.StatusOK, code, string(raw))
	var c oaiCompletion
	require.NoError(t, json.Unmarshal(raw, &c))
	require.Equal(t, "chat.completion", c.Object)
	require.Len(t, c.Choices, 1)
	return c
}

// streamed is a streamed completion as read: the chunks in order, and
// whether [DONE] ended it.
type streamed struct {
	chunks []oaiChunk
	done   bool
}

// text is the concatenated content deltas.
func (s streamed) text() string {
	var b strings.Builder
	for _, c := range s.chunks {
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				b.WriteString(*ch.Delta.Content)
			}
		}
	}
	return b.String()
}

// final is the chunk with the finish_reason.
func (s streamed) final(t *testing.T) oaiChunk {
	t.Helper()
	for _, c := range s.chunks {
		if len(c.Choices) == 1 && c.Choices[0].FinishReason != nil {
			return c
		}
	}
	t.Fatal("no chunk has a finish_reason")
	return oaiChunk{}
}

func readChunks(t *testing.T, body []byte) streamed {
	t.Helper()
	var s streamed
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		require.Truef(t, ok, "not a data line: %q", line)
		require.False(t, s.done, "data after [DONE]")
		if data == "[DONE]" {
			s.done = true
			continue
		}
		var c oaiChunk
		require.NoError(t, json.Unmarshal([]byte(data), &c), data)
		s.chunks = append(s.chunks, c)
	}
	return s
}

// requireOpenAIError checks an OpenAI error answer.
func requireOpenAIError(t *testing.T, code int, body []byte, status int, typ, errCode, param string) oaiError {
	t.Helper()
	require.Equalf(t, status, code, "body: %s", body)
	var e oaiError
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, typ, e.Error.Type, e.Error.Message)
	require.NotNil(t, e.Error.Code, string(body))
	require.Equal(t, errCode, *e.Error.Code, e.Error.Message)
	if param == "" {
		require.Nil(t, e.Error.Param, e.Error.Message)
	} else {
		require.NotNil(t, e.Error.Param, e.Error.Message)
		require.Equal(t, param, *e.Error.Param, e.Error.Message)
	}
	require.NotEmpty(t, e.Error.Message)
	return e
}

func question(text string) []map[string]any {
	return []map[string]any{{"role": "user", "content": text}}
}

func TestOpenAIModels(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	list := func() []oaiModel {
		code, body := a.do(t, "GET", "/openai/v1/models", nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var l struct {
			Object string     `json:"object"`
			Data   []oaiModel `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &l))
		require.Equal(t, "list", l.Object)
		return l.Data
	}
	ids := func(ms []oaiModel) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	t.Run("AnEmptyKnowledgeBaseHasTheWholeScopeOnly", func(t *testing.T) {
		require.Equal(t, []string{"cairn"}, ids(list()))
	})
	a.upload(t, "/kb/geo", "paris.txt", parisV1)
	a.upload(t, "/handbook", "leave.txt", "Employees take leave by asking their manager.")
	a.upload(t, "/", "root.txt", "A document at the root belongs to no folder.")
	// Threads live under folders too; a folder without documents is no
	// model, even beside one whose path starts with its own.
	a.upload(t, "/hb0", "x.txt", "A folder named right after another one.")
	for _, folder := range []string{"/support", "/hb"} {
		code, body := a.do(t, "POST", "/v1/threads", map[string]any{"name": "t", "folder": folder})
		require.Equal(t, http.StatusCreated, code, string(body))
	}

	t.Run("ListsTopLevelFoldersThatHoldDocuments", func(t *testing.T) {
		ms := list()
		require.Equal(t, []string{"cairn", "cairn:/handbook", "cairn:/hb0", "cairn:/kb"}, ids(ms))
		for _, m := range ms {
			require.Equal(t, "model", m.Object)
			require.Equal(t, "cairn", m.OwnedBy)
			require.Positive(t, m.Created)
		}
		require.Equal(t, "/kb", ms[3].PathPrefix)
		require.Equal(t, "/", ms[0].PathPrefix)
	})
	t.Run("GetsOneModelByIDPlainOrPercentEncoded", func(t *testing.T) {
		for _, path := range []string{"/openai/v1/models/cairn", "/openai/v1/models/cairn:%2Fkb", "/openai/v1/models/cairn:%2Fkb%2Fgeo"} {
			code, body := a.do(t, "GET", path, nil)
			require.Equal(t, http.StatusOK, code, string(body))
			var m oaiModel
			require.NoError(t, json.Unmarshal(body, &m))
			require.True(t, strings.HasPrefix(m.ID, "cairn"), m.ID)
			require.Positive(t, m.Created)
		}
	})
	t.Run("UnknownModelIs404ModelNotFound", func(t *testing.T) {
		for _, path := range []string{"/openai/v1/models/gpt-4o", "/openai/v1/models/cairn:%2Fsupport", "/openai/v1/models/cairn:%2Fhb", "/openai/v1/models/cairn:%2Fnope", "/openai/v1/models/cairn:kb"} {
			code, body := a.do(t, "GET", path, nil)
			requireOpenAIError(t, code, body, http.StatusNotFound, "invalid_request_error", api.CodeModelNotFound, "model")
		}
	})
}

func TestOpenAIAuthAndRouting(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	send := func(method, path, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		return rec
	}
	t.Run("MissingKeyIs401InOpenAIShape", func(t *testing.T) {
		rec := send("GET", "/openai/v1/models", "")
		requireOpenAIError(t, rec.Code, rec.Body.Bytes(), http.StatusUnauthorized, "authentication_error", "unauthorized", "")
		require.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
		require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	})
	t.Run("WrongKeyIs401InOpenAIShape", func(t *testing.T) {
		rec := send("POST", "/openai/v1/chat/completions", "cairn_wrong")
		requireOpenAIError(t, rec.Code, rec.Body.Bytes(), http.StatusUnauthorized, "authentication_error", "unauthorized", "")
	})
	t.Run("UnknownRouteUnderThePrefixIs404InOpenAIShape", func(t *testing.T) {
		rec := send("POST", "/openai/v1/embeddings", a.key)
		requireOpenAIError(t, rec.Code, rec.Body.Bytes(), http.StatusNotFound, "invalid_request_error", api.CodeRouteNotFound, "")
	})
	t.Run("WrongMethodIs405InOpenAIShape", func(t *testing.T) {
		rec := send("GET", "/openai/v1/chat/completions", a.key)
		requireOpenAIError(t, rec.Code, rec.Body.Bytes(), http.StatusMethodNotAllowed, "invalid_request_error", api.CodeMethodNotAllowed, "")
	})
	t.Run("OversizeBodyIs413InOpenAIShape", func(t *testing.T) {
		body := `{"model":"cairn","messages":[{"role":"user","content":"` + strings.Repeat("a", 9<<20) + `"}]}`
		req := httptest.NewRequest("POST", "/openai/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		requireOpenAIError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "invalid_request_error", "payload_too_large", "")
	})
	t.Run("ElsewhereErrorsStayProblemJSON", func(t *testing.T) {
		rec := send("GET", "/v1/nothing", a.key)
		require.Equal(t, http.StatusNotFound, rec.Code)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	})
}

func TestOpenAIChatCompletions(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	doc := a.upload(t, "/kb/geo", "paris.txt", parisV1)
	a.upload(t, "/handbook", "leave.txt", "Employees take leave by asking their manager in writing.")
	const q = "What is the capital of France?"

	whole := a.completion(t, map[string]any{"model": "cairn", "messages": question(q)})
	t.Run("AnswersWithMarkersAndResolvedCitations", func(t *testing.T) {
		require.True(t, strings.HasPrefix(whole.ID, "chatcmpl-"), whole.ID)
		require.Equal(t, "cairn", whole.Model)
		ch := whole.Choices[0]
		require.Equal(t, "assistant", ch.Message.Role)
		require.Equal(t, "stop", ch.FinishReason)
		require.Contains(t, ch.Message.Content, "Paris is the capital")
		require.Contains(t, ch.Message.Content, "[1]")
		require.NotEmpty(t, ch.Message.Citations)
		for _, c := range ch.Message.Citations {
			require.Equal(t, c.Quote, citation.Slice(a.chunkContent(t, c.ChunkID), c.StartChar, c.Length))
			require.NotNil(t, c.Source)
			require.Equal(t, doc.Document.ID, *c.DocumentID)
			require.Equal(t, "paris.txt", *c.DocumentName)
			require.Equal(t, 1, *c.VersionNumber)
			require.True(t, strings.HasPrefix(*c.MaterializedPath, "/kb/geo/paris.txt/"), *c.MaterializedPath)
		}
	})
	t.Run("UsageIsFilledApproximately", func(t *testing.T) {
		u := whole.Usage
		require.Equal(t, (utf8.RuneCountInString(q)+3)/4, u.PromptTokens)
		require.Equal(t, (utf8.RuneCountInString(whole.Choices[0].Message.Content)+3)/4, u.CompletionTokens)
		require.Equal(t, u.PromptTokens+u.CompletionTokens, u.TotalTokens)
	})
	t.Run("TheModelPicksTheScope", func(t *testing.T) {
		c := a.completion(t, map[string]any{"model": "cairn:/handbook", "messages": question(q)})
		require.Equal(t, "cairn:/handbook", c.Model)
		require.NotContains(t, c.Choices[0].Message.Content, "Paris")
		c = a.completion(t, map[string]any{"model": "cairn:/kb/geo", "messages": question(q)})
		require.Equal(t, whole.Choices[0].Message.Content, c.Choices[0].Message.Content)
	})
	t.Run("StreamsOpenAIChunksWithCitationsInTheFinalOne", func(t *testing.T) {
		code, body := a.chat(t, map[string]any{"model": "cairn", "messages": question(q), "stream": true, "stream_options": map[string]any{"include_usage": true}})
		require.Equal(t, http.StatusOK, code, string(body))
		s := readChunks(t, body)
		require.True(t, s.done, "ends with [DONE]")
		require.GreaterOrEqual(t, len(s.chunks), 4)
		require.Equal(t, "assistant", s.chunks[0].Choices[0].Delta.Role)
		id := s.chunks[0].ID
		for _, c := range s.chunks {
			require.Equal(t, id, c.ID)
			require.Equal(t, "chat.completion.chunk", c.Object)
			require.Equal(t, "cairn", c.Model)
		}
		require.Equal(t, whole.Choices[0].Message.Content, s.text())
		final := s.final(t)
		require.Equal(t, "stop", *final.Choices[0].FinishReason)
		require.Equal(t, whole.Choices[0].Message.Citations, final.Choices[0].Delta.Citations)
		last := s.chunks[len(s.chunks)-1]
		require.Empty(t, last.Choices)
		require.NotNil(t, last.Usage)
		require.Equal(t, whole.Usage, *last.Usage)
	})
	t.Run("StreamWithoutIncludeUsageHasNoUsageChunk", func(t *testing.T) {
		code, body := a.chat(t, map[string]any{"model": "cairn", "messages": question(q), "stream": true})
		require.Equal(t, http.StatusOK, code)
		s := readChunks(t, body)
		require.True(t, s.done)
		for _, c := range s.chunks {
			require.Nil(t, c.Usage)
			require.Len(t, c.Choices, 1)
		}
	})
	t.Run("MaxTokensTruncatesWithFinishReasonLength", func(t *testing.T) {
		for _, field := range []string{"max_tokens", "max_completion_tokens"} {
			c := a.completion(t, map[string]any{"model": "cairn", "messages": question(q), field: 3})
			require.Equal(t, "length", c.Choices[0].FinishReason)
			require.Equal(t, "Paris is the", c.Choices[0].Message.Content)
			require.Equal(t, 3, c.Usage.CompletionTokens)
			require.NotEmpty(t, c.Choices[0].Message.Citations)

			code, body := a.chat(t, map[string]any{"model": "cairn", "messages": question(q), field: 3, "stream": true})
			require.Equal(t, http.StatusOK, code)
			s := readChunks(t, body)
			require.Equal(t, "Paris is the", s.text())
			require.Equal(t, "length", *s.final(t).Choices[0].FinishReason)
		}
	})
	t.Run("StopCutsBeforeTheFirstStopSequence", func(t *testing.T) {
		c := a.completion(t, map[string]any{"model": "cairn", "messages": question(q), "stop": []string{" [", "zzz"}})
		require.Equal(t, "stop", c.Choices[0].FinishReason)
		require.Equal(t, strings.SplitN(whole.Choices[0].Message.Content, " [", 2)[0], c.Choices[0].Message.Content)
		code, body := a.chat(t, map[string]any{"model": "cairn", "messages": question(q), "stop": "capital", "stream": true})
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "Paris is the", readChunks(t, body).text())
	})
	t.Run("HistoryWithSystemAssistantAndToolMessages", func(t *testing.T) {
		msgs := []map[string]any{
			{"role": "system", "content": "You answer briefly."},
			{"role": "developer", "content": []map[string]any{{"type": "text", "text": "Cite sources."}}},
			{"role": "user", "content": "Look up the weather first.", "name": "ana"},
			{"role": "assistant", "content": nil, "tool_calls": []map[string]any{{"id": "call_1", "type": "function",
				"function": map[string]any{"name": "weather", "arguments": `{"city":"Paris"}`}}}},
			{"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 °C."},
			{"role": "assistant", "content": "It is sunny."},
			{"role": "user", "content": []map[string]any{{"type": "text", "text": "What is the capital"}, {"type": "text", "text": "of France?"}}},
		}
		c := a.completion(t, map[string]any{"model": "cairn", "messages": msgs, "temperature": 0.2, "user": "ana@example.com",
			"top_p": 1, "seed": 7, "tools": []any{}, "response_format": map[string]any{"type": "text"}, "n": 1, "stop": nil,
			"metadata": map[string]any{"app": "test"}, "frequency_penalty": 0, "logprobs": false})
		require.Contains(t, c.Choices[0].Message.Content, "Paris is the capital")
		require.Greater(t, c.Usage.PromptTokens, whole.Usage.PromptTokens)
	})
	t.Run("BadInputIsOpenAIShaped400NamingTheParam", func(t *testing.T) {
		base := func(kv ...any) map[string]any {
			m := map[string]any{"model": "cairn", "messages": question(q)}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		cases := []struct {
			name        string
			body        map[string]any
			code, param string
		}{
			{"NMustBeOne", base("n", 2), "validation_failed", "n"},
			{"UnknownField", base("colour", "red"), "unknown_field", "colour"},
			{"UnknownMessageField", base("messages", []map[string]any{{"role": "user", "content": "hi", "mood": "x"}}), "unknown_field", "messages[0].mood"},
			{"TemperatureOutOfRange", base("temperature", 2.5), "validation_failed", "temperature"},
			{"MaxTokensZero", base("max_tokens", 0), "validation_failed", "max_tokens"},
			{"TooManyStops", base("stop", []string{"a", "b", "c", "d", "e"}), "validation_failed", "stop"},
			{"StopOfWrongType", base("stop", 3), "invalid_field", "stop"},
			{"UnknownRole", base("messages", []map[string]any{{"role": "robot", "content": "hi"}}), "validation_failed", "messages[0].role"},
			{"ImagePart", base("messages", []map[string]any{{"role": "user", "content": []map[string]any{{"type": "image_url", "image_url": map[string]any{"url": "https://x/y.png"}}}}}), "validation_failed", "messages[0].content[0].type"},
			{"ContentOfWrongType", base("messages", []map[string]any{{"role": "user", "content": 42}}), "invalid_field", "messages[0].content"},
			{"NoUserMessage", base("messages", []map[string]any{{"role": "system", "content": "hi"}}), "validation_failed", "messages"},
			{"NoMessages", base("messages", []any{}), "validation_failed", "messages"},
			{"NoModel", base("model", ""), "validation_failed", "model"},
			{"WrongTypeOfField", base("max_tokens", "ten"), "invalid_field", "max_tokens"},
			{"BadThreadID", base("metadata", map[string]any{"cairn_thread_id": "nope"}), "invalid_id", "metadata.cairn_thread_id"},
			{"MessageIDWithoutThread", base("metadata", map[string]any{"cairn_message_id": uuid.NewString()}), "validation_failed", "metadata.cairn_message_id"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				code, body := a.chat(t, tc.body)
				requireOpenAIError(t, code, body, http.StatusBadRequest, "invalid_request_error", tc.code, tc.param)
			})
		}
	})
	t.Run("UnknownModelIs404ModelNotFound", func(t *testing.T) {
		for _, stream := range []bool{false, true} {
			code, body := a.chat(t, map[string]any{"model": "gpt-4o", "messages": question(q), "stream": stream})
			requireOpenAIError(t, code, body, http.StatusNotFound, "invalid_request_error", api.CodeModelNotFound, "model")
		}
	})
	t.Run("MalformedJSONIs400", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/openai/v1/chat/completions", strings.NewReader(`{"model":`))
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		requireOpenAIError(t, rec.Code, rec.Body.Bytes(), http.StatusBadRequest, "invalid_request_error", api.CodeInvalidJSON, "")
	})
}

func TestOpenAIChatCompletionOnAThread(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	a.upload(t, "/kb", "paris.txt", parisV1)
	th := a.thread(t)
	msgID := uuid.NewString()
	body := map[string]any{"model": "cairn", "messages": question("What is the capital of France?"),
		"metadata": map[string]any{"cairn_thread_id": th, "cairn_message_id": msgID}}
	c := a.completion(t, body)
	require.NotNil(t, c.Cairn)
	require.Equal(t, th, c.Cairn.ThreadID.String())
	require.Equal(t, msgID, c.Cairn.UserMessageID.String())
	require.NotEmpty(t, c.Choices[0].Message.Citations)

	t.Run("TheExchangeShowsInCairnsAPI", func(t *testing.T) {
		code, raw := a.do(t, "GET", "/v1/threads/"+th+"/messages?limit=10", nil)
		require.Equal(t, http.StatusOK, code)
		var page threads.MessagePage
		require.NoError(t, json.Unmarshal(raw, &page))
		require.Len(t, page.Data, 2)
		require.Equal(t, c.Cairn.AssistantMessageID, page.Data[0].ID)
		require.Equal(t, c.Choices[0].Message.Content, page.Data[0].Content.Text)
		require.Equal(t, "What is the capital of France?", page.Data[1].Content.Text)
	})
	t.Run("ARetryWithTheMessageIDReplaysTheStoredAnswer", func(t *testing.T) {
		body["stream"] = true
		code, raw := a.chat(t, body)
		require.Equal(t, http.StatusOK, code)
		s := readChunks(t, raw)
		require.Equal(t, c.Choices[0].Message.Content, s.text())
		final := s.final(t)
		require.NotNil(t, final.Cairn)
		require.Equal(t, c.Cairn.AssistantMessageID, final.Cairn.AssistantMessageID)
		require.Equal(t, c.Choices[0].Message.Citations, final.Choices[0].Delta.Citations)
	})
	t.Run("UnknownThreadIs404", func(t *testing.T) {
		code, raw := a.chat(t, map[string]any{"model": "cairn", "messages": question("hi"), "metadata": map[string]any{"cairn_thread_id": uuid.NewString()}})
		requireOpenAIError(t, code, raw, http.StatusNotFound, "invalid_request_error", threads.CodeThreadNotFound, "")
	})
}

// recordingModel is an OpenAI-compatible model server that streams
// content with a usage chunk and records each request body.
type recordingModel struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newRecordingModel(t *testing.T, content string, status int) *recordingModel {
	return newReasoningModel(t, "", content, status)
}

// newReasoningModel is newRecordingModel whose stream sends reasoning
// (as reasoning_content deltas, in pieces, as DeepSeek and vLLM do)
// before the content.
func newReasoningModel(t *testing.T, reasoning, content string, status int) *recordingModel {
	m := &recordingModel{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		m.mu.Lock()
		m.bodies = append(m.bodies, body)
		m.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":{"message":"boom"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, p := range strings.SplitAfter(reasoning, " ") {
			if p == "" {
				continue
			}
			b, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": "", "reasoning_content": p}}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		for _, p := range strings.SplitAfter(content, " ") {
			b, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": p}}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":123,"completion_tokens":45,"total_tokens":168}}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func TestOpenAIChatCompletionWithAModel(t *testing.T) {
	t.Parallel()
	t.Run("TemperatureReachesTheModelAndItsUsageIsReported", func(t *testing.T) {
		m := newRecordingModel(t, "Paris is the capital [1].\nCITATIONS:\n[1] \"Paris is the capital and largest city of France.\"", 0)
		a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: m.srv.URL, Model: "m", Timeout: 5 * time.Second}))
		a.upload(t, "/kb", "paris.txt", parisV1)
		msgs := []map[string]any{
			{"role": "user", "content": "Weather?"},
			{"role": "assistant", "content": nil, "tool_calls": []map[string]any{{"id": "call_9", "type": "function",
				"function": map[string]any{"name": "weather", "arguments": "{}"}}}},
			{"role": "tool", "tool_call_id": "call_9", "content": "Sunny."},
			{"role": "user", "content": "capital of France?"},
		}
		c := a.completion(t, map[string]any{"model": "cairn", "messages": msgs, "temperature": 0})
		require.Equal(t, "Paris is the capital [1].", c.Choices[0].Message.Content)
		require.Len(t, c.Choices[0].Message.Citations, 1)
		require.Equal(t, oaiUsage{PromptTokens: 123, CompletionTokens: 45, TotalTokens: 168}, c.Usage)
		c = a.completion(t, map[string]any{"model": "cairn", "messages": question("capital of France?"), "temperature": 0.7})
		require.Len(t, c.Choices[0].Message.Citations, 1)

		m.mu.Lock()
		defer m.mu.Unlock()
		// The follow-up of the first exchange was first rewritten as a
		// standalone question (an unstreamed call); then each answer streamed.
		require.Len(t, m.bodies, 3)
		require.Equal(t, false, m.bodies[0]["stream"])
		answers := m.bodies[1:]
		require.InDelta(t, 0, answers[0]["temperature"], 1e-6)
		require.InDelta(t, 0.7, answers[1]["temperature"], 1e-6)
		// The tool exchange reached the model as conversation text.
		sent, _ := json.Marshal(answers[0]["messages"])
		require.Contains(t, string(sent), "[called tool weather (call call_9) with {}]")
		require.Contains(t, string(sent), "[result of tool call call_9]\\nSunny.")
	})
	t.Run("AModelFailureIsAnOpenAIError", func(t *testing.T) {
		m := newRecordingModel(t, "", http.StatusBadRequest)
		a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: m.srv.URL, Model: "m", Timeout: 5 * time.Second}))
		for _, stream := range []bool{false, true} {
			code, body := a.chat(t, map[string]any{"model": "cairn", "messages": question("capital of France?"), "stream": stream})
			requireOpenAIError(t, code, body, http.StatusBadGateway, "server_error", "model_error", "")
		}
	})
}
