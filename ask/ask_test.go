package ask_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/ask/asktest"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/fixture"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/threads"
)

func TestMain(m *testing.M) { testdb.Main(m, testdb.VerifyNoLeaks()) }

// counting answers with the extractive answerer, counts its calls and
// holds each until release is closed.
type counting struct {
	calls   atomic.Int32
	release chan struct{}
}

func (c *counting) Name() string { return "counting" }

func (c *counting) Answer(ctx context.Context, req answer.Request, sink answer.Sink) (answer.Result, error) {
	c.calls.Add(1)
	select {
	case <-c.release:
	case <-ctx.Done():
		return answer.Result{}, ctx.Err()
	}
	return answer.Extractive{}.Answer(ctx, req, sink)
}

type bench struct {
	pool   *pgxpool.Pool
	tenant uuid.UUID
	thread uuid.UUID
	svc    *ask.Service
}

func setup(t *testing.T, a answer.Answerer) bench {
	t.Helper()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	ctx := context.Background()
	_, err := fixture.Document(ctx, pool, tenant, "/kb", "tea.txt",
		[]string{"Green tea is steamed in Japan. ", "Black tea is fully oxidised before drying."})
	require.NoError(t, err)
	s, err := retrieval.New(pool, embed.NewHashing(), retrieval.Config{})
	require.NoError(t, err)
	th := threads.NewStore(pool)
	thread, err := th.CreateThread(ctx, tenant, threads.NewThread{})
	require.NoError(t, err)
	return bench{pool: pool, tenant: tenant, thread: thread.ID,
		svc: asktest.Service(t, pool, s, a, ask.Config{Workers: 1})}
}

func TestEventsComeInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, answer.Extractive{})
	var types []ask.EventType
	out, err := b.svc.Ask(context.Background(), b.tenant, b.thread, ask.Question{Text: "How is green tea made?"}, 0,
		func(ev ask.Event) { types = append(types, ev.Type) })
	require.NoError(t, err)
	require.False(t, out.Replayed)
	require.NotEmpty(t, out.Assistant.Content.Citations)
	require.Equal(t, ask.EventUserMessage, types[0])
	require.Equal(t, []ask.EventType{ask.EventAssistantMessage, ask.EventDone}, types[len(types)-2:])
	require.Contains(t, types, ask.EventCitation)
	require.Contains(t, types, ask.EventStep)
}

// Fifty concurrent asks with one message id generate one answer; every
// caller gets that answer.
func TestConcurrentAsksWithOneIDGenerateOnce(t *testing.T) {
	t.Parallel()
	a := &counting{release: make(chan struct{})}
	b := setup(t, a)
	id := uuid.Must(uuid.NewV7())
	const n = 50
	answers := make([]uuid.UUID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.svc.Ask(context.Background(), b.tenant, b.thread, ask.Question{MessageID: &id, Text: "How is green tea made?"}, 0, nil)
			errs[i], answers[i] = err, out.Assistant.ID
		}()
	}
	assert.Eventually(t, func() bool { return a.calls.Load() >= 1 }, testTimeout, pollEvery)
	close(a.release)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, answers[0], answers[i])
	}
	require.Equal(t, int32(1), a.calls.Load(), "one generation")
	var count int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM messages WHERE tenant_id = $1 AND thread_id = $2`, b.tenant, b.thread).Scan(&count))
	require.Equal(t, 2, count, "one user and one assistant message")
}

func TestReplayWithAnotherTextConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t, answer.Extractive{})
	id := uuid.Must(uuid.NewV7())
	ctx := context.Background()
	first, err := b.svc.Ask(ctx, b.tenant, b.thread, ask.Question{MessageID: &id, Text: "How is green tea made?"}, 0, nil)
	require.NoError(t, err)
	again, err := b.svc.Ask(ctx, b.tenant, b.thread, ask.Question{MessageID: &id, Text: "How is green tea made?"}, 0, nil)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, first.Assistant.ID, again.Assistant.ID)

	var events int
	_, err = b.svc.Ask(ctx, b.tenant, b.thread, ask.Question{MessageID: &id, Text: "How is black tea made?"}, 0, func(ask.Event) { events++ })
	require.True(t, apperr.Is(err, threads.CodeMessageIDConflict), "got %v", err)
	require.Equal(t, apperr.Conflict, apperr.KindOf(err))
	e, _ := apperr.As(err)
	require.Equal(t, "content.text", e.Field)
	require.Zero(t, events, "nothing is sent for a rejected question")
}

func TestTopKOutOfRangeStoresNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, answer.Extractive{})
	_, err := b.svc.Ask(context.Background(), b.tenant, b.thread, ask.Question{Text: "tea?", TopK: ask.TopKMax + 1}, 0, nil)
	require.True(t, apperr.Is(err, apperr.CodeValidationFailed))
	var count int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE tenant_id = $1`, b.tenant).Scan(&count))
	require.Zero(t, count)
}

const (
	testTimeout = 30 * time.Second
	pollEvery   = 10 * time.Millisecond
)

func TestCompleteIsStatelessWithResolvedCitations(t *testing.T) {
	t.Parallel()
	b := setup(t, answer.Extractive{})
	var deltas int
	c, err := b.svc.Complete(context.Background(), b.tenant, ask.Conversation{
		History:  []answer.Turn{{Role: "USER", Text: "Tell me about tea."}, {Role: "ASSISTANT", Text: "Which tea?"}},
		Question: "How is green tea made?"}, func(ev ask.Event) {
		if ev.Type == ask.EventDelta {
			deltas++
		}
	})
	require.NoError(t, err)
	require.NotEmpty(t, c.Text)
	require.Positive(t, deltas)
	require.NotEmpty(t, c.Citations)
	require.NotNil(t, c.Citations[0].Source)
	require.Equal(t, "tea.txt", *c.Citations[0].DocumentName)
	var count int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE tenant_id = $1`, b.tenant).Scan(&count))
	require.Zero(t, count, "nothing stored")

	_, err = b.svc.Complete(context.Background(), b.tenant, ask.Conversation{Question: "  "}, nil)
	require.True(t, apperr.Is(err, apperr.CodeValidationFailed))
}

// reversed answers citing its last source first, numbering markers by
// source as answerers do.
type reversed struct{}

func (reversed) Name() string { return "reversed" }

func (reversed) Answer(ctx context.Context, req answer.Request, sink answer.Sink) (answer.Result, error) {
	var res answer.Result
	n := len(req.Sources)
	for i, src := range []int{n, 1, n} {
		h := req.Sources[src-1]
		piece := "Said [" + strconv.Itoa(src) + "]. "
		// Split the marker across deltas, as a token stream may.
		sink.Delta(piece[:6])
		sink.Delta(piece[6:])
		res.Text += piece
		if i < 2 {
			c := citation.Citation{ChunkID: h.ChunkID, Quote: h.Content, Length: utf8.RuneCountInString(h.Content), Marker: src}
			sink.Citation(c)
			res.Citations = append(res.Citations, c)
		}
	}
	return res, nil
}

func TestMarkersAreNumberedInOrderOfFirstUse(t *testing.T) {
	t.Parallel()
	b := setup(t, reversed{})
	var text strings.Builder
	var events []int
	out, err := b.svc.Ask(context.Background(), b.tenant, b.thread, ask.Question{Text: "What tea?"}, 0, func(ev ask.Event) {
		switch ev.Type {
		case ask.EventDelta:
			text.WriteString(ev.Text)
		case ask.EventCitation:
			events = append(events, ev.Citation.Marker)
		}
	})
	require.NoError(t, err)
	msg := out.Assistant.Content
	require.Equal(t, "Said [1]. Said [2]. Said [1]. ", msg.Text)
	require.Equal(t, "Said [1]. Said [2]. Said [1]. ", text.String(), "the streamed text has the same numbers")
	require.Equal(t, []int{1, 2}, events)
	require.Len(t, msg.Citations, 2)
	require.Equal(t, 1, msg.Citations[0].Marker)
	require.Equal(t, 2, msg.Citations[1].Marker)
	require.NotEqual(t, msg.Citations[0].ChunkID, msg.Citations[1].ChunkID, "[1] is the last source, [2] the first")
}

func TestFollowUpRetrievesTheEarlierTopic(t *testing.T) {
	t.Parallel()
	b := setup(t, answer.Extractive{})
	ctx := context.Background()
	_, err := fixture.Document(ctx, b.pool, b.tenant, "/kb", "ls.txt",
		[]string{"The ls command lists directory entries sorted by name. With -r, ls lists them in reverse order while sorting."})
	require.NoError(t, err)
	_, err = fixture.Document(ctx, b.pool, b.tenant, "/kb", "osmosis.txt",
		[]string{"Reverse osmosis: how do water plants reverse the order of flow? In reverse osmosis, pressure reverses the natural order of flow."})
	require.NoError(t, err)
	_, err = b.svc.Ask(ctx, b.tenant, b.thread, ask.Question{Text: "How does ls sort directory entries?"}, 0, func(ask.Event) {})
	require.NoError(t, err)
	out, err := b.svc.Ask(ctx, b.tenant, b.thread, ask.Question{Text: "And how do I reverse that order?"}, 0, func(ask.Event) {})
	require.NoError(t, err)
	var details struct {
		Steps []answer.Step `json:"steps"`
	}
	require.NoError(t, json.Unmarshal(out.Assistant.Details, &details))
	var expansion, hits []any
	for _, st := range details.Steps {
		switch st.Type {
		case "query_expansion":
			expansion = append(expansion, st.Data["query"])
		case "retrieval":
			hits = st.Data["hits"].([]any)
		}
	}
	require.Len(t, expansion, 1)
	require.Contains(t, expansion[0], "How does ls sort directory entries?")
	require.NotEmpty(t, hits)
	require.Equal(t, "ls.txt", hits[0].(map[string]any)["document_name"], "the follow-up stays on the earlier turn's topic")
	require.Equal(t, "ls.txt", *out.Assistant.Content.Citations[0].DocumentName)
}
