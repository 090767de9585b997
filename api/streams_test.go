package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/threads"
)

// An answer's SSE events carry their event ids; the same request with
// Last-Event-ID resumes after that event, and without it replays them.
func TestAnswerStreamResumesAfterLastEventID(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	a.upload(t, "/kb/geo", "paris.txt", parisV1)
	th := a.thread(t)
	req := map[string]any{"content": map[string]any{"text": "What is the capital of France?"}, "message_id": uuid.New(), "stream": true}
	code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", req)
	require.Equal(t, http.StatusOK, code)
	evs := readEvents(t, bytes.NewReader(body), "")
	require.GreaterOrEqual(t, len(evs), 4)
	var prev int64
	for _, e := range evs {
		id, err := strconv.ParseInt(e.id, 10, 64)
		require.NoError(t, err, "event %s has id %q", e.name, e.id)
		require.Greater(t, id, prev, "ids increase")
		prev = id
	}
	require.Equal(t, "user_message", evs[0].name)
	require.Equal(t, []string{"assistant_message", "done"}, []string{evs[len(evs)-2].name, evs[len(evs)-1].name})

	code, body = a.do(t, "POST", "/v1/threads/"+th+"/user_message", req, "Last-Event-ID", evs[1].id)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, evs[2:], readEvents(t, bytes.NewReader(body), ""), "resumed after event %s", evs[1].id)

	code, body = a.do(t, "POST", "/v1/threads/"+th+"/user_message", req)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, evs, readEvents(t, bytes.NewReader(body), ""), "a reconnect without Last-Event-ID replays the answer")

	code, _ = a.do(t, "POST", "/v1/threads/"+th+"/user_message", req, "Last-Event-ID", "soon")
	require.Equal(t, http.StatusBadRequest, code)
}

// background: true answers 202 with a pending answer that a job
// completes; the thread's event stream shows every stage.
func TestBackgroundAnswer(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	a.upload(t, "/kb/geo", "paris.txt", parisV1)
	th := a.thread(t)
	req := map[string]any{"content": map[string]any{"text": "What is the capital of France?"}, "message_id": uuid.New(), "background": true}
	code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", req)
	require.Equal(t, http.StatusAccepted, code, string(body))
	var p pair
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, threads.StatusPending, p.AssistantMessage.Status)
	require.Empty(t, p.AssistantMessage.Content.Text)

	srv := httptest.NewServer(a.h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/threads/"+th+"/events", nil)
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	evs := readEvents(t, resp.Body, "done")
	var types []string
	for _, e := range evs {
		types = append(types, e.name)
	}
	require.Equal(t, []string{"message_created", "message_created"}, types[:2], "the question, then its pending answer")
	require.Equal(t, []string{"status", "message_completed", "done"}, types[len(types)-3:])
	require.Contains(t, types, "citation")
	var done events.Event
	require.NoError(t, json.Unmarshal([]byte(evs[len(evs)-1].data), &done))
	require.Equal(t, p.AssistantMessage.ID, *done.MessageID)

	code, body = a.do(t, "GET", "/v1/threads/"+th+"/messages/"+p.AssistantMessage.ID.String(), nil)
	require.Equal(t, http.StatusOK, code)
	var m threads.Message
	require.NoError(t, json.Unmarshal(body, &m))
	require.Equal(t, threads.StatusCompleted, m.Status)
	require.Contains(t, m.Content.Text, "Paris is the capital")
	require.NotEmpty(t, m.Content.Citations)

	code, body = a.do(t, "POST", "/v1/threads/"+th+"/user_message", req)
	require.Equal(t, http.StatusOK, code, "the same message id again: the stored pair")
	var again pair
	require.NoError(t, json.Unmarshal(body, &again))
	require.Equal(t, p.AssistantMessage.ID, again.AssistantMessage.ID)
	require.Equal(t, threads.StatusCompleted, again.AssistantMessage.Status)
}

// Two clients on two replicas see the same events of a thread in the
// same order, and a reconnect from an event id misses none.
func TestThreadWebSocketAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	a.upload(t, "/kb/geo", "paris.txt", parisV1)
	th := a.thread(t)
	one := httptest.NewServer(a.h)
	t.Cleanup(one.Close)
	two := httptest.NewServer(a.replica(t))
	t.Cleanup(two.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func(base string, after int64) *websocket.Conn {
		u := "ws" + strings.TrimPrefix(base, "http") + "/v1/threads/" + th + "/stream?after=" + strconv.FormatInt(after, 10)
		c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + a.key}}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	// read returns the events up to the done of the second answer.
	read := func(c *websocket.Conn, answers int) []events.Event {
		var out []events.Event
		for answers > 0 {
			_, b, err := c.Read(ctx)
			require.NoError(t, err)
			var ev events.Event
			require.NoError(t, json.Unmarshal(b, &ev))
			out = append(out, ev)
			if ev.Type == events.Done {
				answers--
			}
		}
		return out
	}
	c1, c2 := dial(one.URL, 0), dial(two.URL, 0)
	for _, q := range []string{"What is the capital of France?", "Which river flows through Paris?"} {
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", map[string]any{"content": map[string]any{"text": q}})
		require.Equal(t, http.StatusCreated, code, string(body))
	}
	got1, got2 := read(c1, 2), read(c2, 2)
	require.Equal(t, got1, got2, "both replicas stream the same events in the same order")
	for i, ev := range got1 {
		require.Equal(t, int64(i+1), ev.Seq, "gap-free ids")
	}
	k := len(got1) / 2
	c3 := dial(two.URL, got1[k-1].Seq)
	require.Equal(t, got1[k:], read(c3, 1), "a reconnect after event %d misses none", got1[k-1].Seq)

	code, _ := a.do(t, "GET", "/v1/threads/"+uuid.NewString()+"/events", nil)
	require.Equal(t, http.StatusNotFound, code)
}
