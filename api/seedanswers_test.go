package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/threads"
)

const parisAnswer = "Paris is the capital [1].\nCITATIONS:\n[1] \"Paris is the capital and largest city of France.\""

// problemField is the status, code and field of a problem response.
func problemField(t *testing.T, body []byte) (code, field string) {
	t.Helper()
	var p struct{ Code, Field string }
	require.NoError(t, json.Unmarshal(body, &p), string(body))
	return p.Code, p.Field
}

// messageCount is how many messages the thread holds.
func (a askServer) messageCount(t *testing.T, th string) int {
	t.Helper()
	code, body := a.do(t, "GET", "/v1/threads/"+th+"/messages?limit=100", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var page threads.MessagePage
	require.NoError(t, json.Unmarshal(body, &page))
	return len(page.Data)
}

// A user message may name the model of its answer (seed 002): one the
// server answers with is used and recorded on both messages; any other is
// 422 naming model, and nothing is stored.
func TestUserMessageModelOverride(t *testing.T) {
	t.Parallel()
	m := newRecordingModel(t, parisAnswer, 0)
	a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: m.srv.URL, Model: "m-small", Models: []string{"m-large"}, Timeout: 5 * time.Second}))
	a.upload(t, "/kb", "paris.txt", parisV1)
	th := a.thread(t)
	ask := func(body map[string]any) (int, []byte) {
		return a.do(t, "POST", "/v1/threads/"+th+"/user_message", body)
	}
	code, body := ask(map[string]any{"content": map[string]any{"text": "capital of France?"}, "model": "m-large"})
	require.Equal(t, http.StatusCreated, code, string(body))
	var p pair
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, "m-large", *p.UserMessage.Model)
	require.Equal(t, "m-large", *p.AssistantMessage.Model)
	m.mu.Lock()
	require.Equal(t, "m-large", m.bodies[len(m.bodies)-1]["model"], "the model server was asked for the override")
	m.mu.Unlock()

	code, body = ask(map[string]any{"content": map[string]any{"text": "capital of France?"}})
	require.Equal(t, http.StatusCreated, code, string(body))
	require.NoError(t, json.Unmarshal(body, &p))
	require.Nil(t, p.UserMessage.Model, "no override")
	require.Equal(t, "m-small", *p.AssistantMessage.Model, "the default model answered")
	m.mu.Lock()
	require.Equal(t, "m-small", m.bodies[len(m.bodies)-1]["model"])
	m.mu.Unlock()

	before := a.messageCount(t, th)
	for _, bad := range []any{"gpt-unknown", strings.Repeat("m", 300), 7} {
		code, body = ask(map[string]any{"content": map[string]any{"text": "capital of France?"}, "model": bad, "background": true})
		require.Less(t, code, 500, string(body))
		require.GreaterOrEqual(t, code, 400, string(body))
		_, field := problemField(t, body)
		require.Equal(t, "model", field)
		require.NotContains(t, string(body), m.srv.URL)
	}
	code, body = ask(map[string]any{"content": map[string]any{"text": "capital of France?"}, "model": "gpt-unknown"})
	require.Equal(t, http.StatusUnprocessableEntity, code, string(body))
	require.Contains(t, string(body), "m-small, m-large", "the error lists the models to choose from")
	require.Equal(t, before, a.messageCount(t, th), "a rejected model stores nothing")

	// Offline the one model is the extractive answerer.
	off := newAskServer(t, answer.Extractive{})
	oth := off.thread(t)
	code, body = off.do(t, "POST", "/v1/threads/"+oth+"/user_message", map[string]any{"content": map[string]any{"text": "hello"}, "model": "extractive"})
	require.Equal(t, http.StatusCreated, code, string(body))
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, "extractive", *p.AssistantMessage.Model)
	code, body = off.do(t, "POST", "/v1/threads/"+oth+"/user_message", map[string]any{"content": map[string]any{"text": "hello"}, "model": "m-small"})
	require.Equal(t, http.StatusUnprocessableEntity, code, string(body))
	_, field := problemField(t, body)
	require.Equal(t, "model", field)
}

// A reasoning model's thinking (reasoning_content in its stream) is
// stored with the answer and returned: in the JSON and SSE answers, on a
// later read, and on /openai/v1 as reasoning_content, streamed and not.
func TestAnswerThinkingFromReasoningContent(t *testing.T) {
	t.Parallel()
	const thinking = "The user asks for a capital. Source 1 names Paris."
	m := newReasoningModel(t, thinking, parisAnswer, 0)
	a := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: m.srv.URL, Model: "m", Timeout: 5 * time.Second}))
	a.upload(t, "/kb", "paris.txt", parisV1)
	th := a.thread(t)

	code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "capital of France?"}})
	require.Equal(t, http.StatusCreated, code, string(body))
	var p pair
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, "Paris is the capital [1].", p.AssistantMessage.Content.Text, "the thinking is not in the text")
	require.NotNil(t, p.AssistantMessage.Thinking)
	require.Equal(t, thinking, *p.AssistantMessage.Thinking)
	require.Nil(t, p.UserMessage.Thinking)
	code, body = a.do(t, "GET", "/v1/threads/"+th+"/messages/"+p.AssistantMessage.ID.String(), nil)
	require.Equal(t, http.StatusOK, code)
	var read threads.Message
	require.NoError(t, json.Unmarshal(body, &read))
	require.Equal(t, thinking, *read.Thinking)

	code, body = a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": "capital of France, again?"}, "stream": true})
	require.Equal(t, http.StatusOK, code)
	evs := readEvents(t, bytes.NewReader(body), "")
	var streamed threads.Message
	for _, e := range evs {
		if e.name == "assistant_message" {
			require.NoError(t, json.Unmarshal([]byte(e.data), &streamed))
		}
		require.NotContains(t, e.data, `"text":"The user asks`, "the thinking is no delta of the answer text")
	}
	require.NotNil(t, streamed.Thinking)
	require.Equal(t, thinking, *streamed.Thinking)

	c := a.completion(t, map[string]any{"model": "cairn", "messages": question("capital of France?")})
	require.NotNil(t, c.Choices[0].Message.Reasoning)
	require.Equal(t, thinking, *c.Choices[0].Message.Reasoning)
	code, body = a.chat(t, map[string]any{"model": "cairn", "messages": question("capital of France?"), "stream": true})
	require.Equal(t, http.StatusOK, code)
	final := readChunks(t, body).final(t)
	require.NotNil(t, final.Choices[0].Delta.Reasoning)
	require.Equal(t, thinking, *final.Choices[0].Delta.Reasoning)

	// A model without reasoning leaves thinking null.
	plain := newAskServer(t, answer.NewOpenAI(answer.OpenAIConfig{BaseURL: newRecordingModel(t, parisAnswer, 0).srv.URL, Model: "m", Timeout: 5 * time.Second}))
	pth := plain.thread(t)
	code, body = plain.do(t, "POST", "/v1/threads/"+pth+"/user_message", map[string]any{"content": map[string]any{"text": "capital of France?"}})
	require.Equal(t, http.StatusCreated, code, string(body))
	require.NoError(t, json.Unmarshal(body, &p))
	require.Nil(t, p.AssistantMessage.Thinking)
	require.Contains(t, string(body), `"thinking":null`)
}
