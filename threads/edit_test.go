package threads_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/events"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
	"github.com/cairn-rag/cairn/threads/threadstest"
)

// pathNames returns the thread's messages as "sequence:path part name:text",
// in sequence order, read from the tables.
func pathNames(t *testing.T, b bundle) []string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `
SELECT m.sequence, p.name, p.path, m.text FROM messages m JOIN path_parts p ON p.tenant_id = m.tenant_id AND p.id = m.path_part_id
WHERE m.tenant_id = $1 AND m.thread_id = $2 ORDER BY m.sequence`, b.tenant, b.thread.ID)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var seq int64
		var name, path, text string
		require.NoError(t, rows.Scan(&seq, &name, &path, &text))
		require.Equal(t, b.thread.MaterializedPath+"/"+name, path)
		out = append(out, fmt.Sprintf("%d:%s:%s", seq, name, text))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestDeleteMessageRenumbersLaterMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ms := seed(t, b, 4)
	require.NoError(t, b.store.DeleteMessage(ctx, b.tenant, b.thread.ID, ms[1].ID))
	require.Equal(t, []string{"1:0000000001:message 1", "2:0000000002:message 3", "3:0000000003:message 4"}, pathNames(t, b))
	th, err := b.store.GetThread(ctx, b.tenant, b.thread.ID)
	require.NoError(t, err)
	require.EqualValues(t, 3, th.MessageCount)
	moved, err := b.store.GetMessage(ctx, nil, b.tenant, b.thread.ID, ms[2].ID, false)
	require.NoError(t, err, "ids survive the renumbering")
	require.EqualValues(t, 2, moved.Sequence)

	// The next post continues the gap-free sequence.
	m, _, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, userMessage("message 5"))
	require.NoError(t, err)
	require.EqualValues(t, 4, m.Sequence)

	// Deleting the last message, then all: the count follows.
	require.NoError(t, b.store.DeleteMessage(ctx, b.tenant, b.thread.ID, m.ID))
	for _, id := range []int{0, 2, 3} {
		require.NoError(t, b.store.DeleteMessage(ctx, b.tenant, b.thread.ID, ms[id].ID))
	}
	require.Empty(t, pathNames(t, b))
	th, err = b.store.GetThread(ctx, b.tenant, b.thread.ID)
	require.NoError(t, err)
	require.EqualValues(t, 0, th.MessageCount)
	require.Equal(t, th.CreatedAt, th.LastActivityAt, "no messages: activity is the creation time")

	err = b.store.DeleteMessage(ctx, b.tenant, b.thread.ID, ms[0].ID)
	require.True(t, apperr.Is(err, threads.CodeMessageNotFound), "%v", err)
}

func TestUpdateMessageEditsInPlace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ms := seed(t, b, 3)
	chunks := threadstest.InsertDocument(t, b.pool, b.tenant, "doc.txt", "Paris is the capital of France.")
	text := "edited [1]"
	cits := []citation.Citation{{ChunkID: chunks[0].ID, Quote: "capital", StartChar: 13, Length: 7}}
	got, err := b.store.UpdateMessage(ctx, b.tenant, b.thread.ID, ms[1].ID, threads.MessagePatch{
		Text: &text, Citations: &cits, Metadata: json.RawMessage(`{"edited":true}`)})
	require.NoError(t, err)
	require.Equal(t, text, got.Content.Text)
	require.Len(t, got.Content.Citations, 1)
	require.Equal(t, ms[1].Sequence, got.Sequence)
	require.Equal(t, ms[1].CreatedAt, got.CreatedAt)
	require.True(t, got.UpdatedAt.After(ms[1].UpdatedAt))
	require.JSONEq(t, `{"edited":true}`, string(got.Metadata))
	require.Equal(t, []string{"1:0000000001:message 1", "2:0000000002:edited [1]", "3:0000000003:message 3"}, pathNames(t, b),
		"later messages are left as they are")
	require.NoError(t, b.store.DeleteMessage(ctx, b.tenant, b.thread.ID, ms[2].ID))
	evs, err := events.Read(ctx, b.pool, b.tenant, b.thread.ID, 0, 0, events.Filter{})
	require.NoError(t, err)
	var types []events.Type
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	require.Equal(t, []events.Type{events.MessageCreated, events.MessageCreated, events.MessageCreated, events.MessageUpdated, events.MessageDeleted}, types,
		"edits and deletes are events of the thread's log")
	require.Equal(t, ms[1].ID, *evs[3].MessageID)
	require.Equal(t, ms[2].ID, *evs[4].MessageID)
	ms = ms[:2]

	for _, tc := range []struct {
		name  string
		patch threads.MessagePatch
		code  string
		field string
	}{
		{"BlankText", threads.MessagePatch{Text: new(string)}, apperr.CodeValidationFailed, "content.text"},
		{"QuoteNotInChunk", threads.MessagePatch{Citations: &[]citation.Citation{{ChunkID: chunks[0].ID, Quote: "Berlin", StartChar: 0, Length: 6}}},
			citation.CodeInvalid, "content.citations[0]"},
		{"MetadataNotAnObject", threads.MessagePatch{Metadata: json.RawMessage(`[1]`)}, apperr.CodeValidationFailed, "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.store.UpdateMessage(ctx, b.tenant, b.thread.ID, ms[0].ID, tc.patch)
			e, ok := apperr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.code, e.Code, e.Message)
			require.Equal(t, tc.field, e.Field, e.Message)
		})
	}
	unchanged, err := b.store.GetMessage(ctx, nil, b.tenant, b.thread.ID, ms[0].ID, true)
	require.NoError(t, err)
	require.Equal(t, ms[0].Content.Text, unchanged.Content.Text, "a refused edit writes nothing")
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ms := seed(t, b, 5)

	page, err := b.store.ListMessages(ctx, nil, b.tenant, b.thread.ID, threads.ListOptions{Limit: 2, Oldest: true})
	require.NoError(t, err)
	require.True(t, page.HasMore)
	require.Equal(t, []int64{1, 2}, seqs(page.Data))
	page, err = b.store.ListMessages(ctx, nil, b.tenant, b.thread.ID, threads.ListOptions{Limit: 2, Oldest: true, After: &ms[1].CreatedAt})
	require.NoError(t, err)
	require.Equal(t, []int64{3, 4}, seqs(page.Data))
	page, err = b.store.ListMessages(ctx, nil, b.tenant, b.thread.ID, threads.ListOptions{Limit: 10, Oldest: true, Offset: 3})
	require.NoError(t, err)
	require.False(t, page.HasMore)
	require.Equal(t, []int64{4, 5}, seqs(page.Data))

	// Threads by last activity: a new empty thread is newer by creation,
	// but an older thread that gets a message moves to the front.
	other, err := b.store.CreateThread(ctx, b.tenant, threads.NewThread{Folder: "/support/acme"})
	require.NoError(t, err)
	list := func(o threads.ThreadListOptions) []string {
		o.Folder, o.Limit = "/support", 10
		p, err := b.store.ListThreads(ctx, b.tenant, o)
		require.NoError(t, err)
		var names []string
		for _, th := range p.Data {
			names = append(names, th.Name)
		}
		return names
	}
	require.Equal(t, []string{other.Name, b.thread.Name}, list(threads.ThreadListOptions{}))
	require.Equal(t, []string{b.thread.Name, other.Name}, list(threads.ThreadListOptions{Oldest: true}))
	require.Equal(t, []string{other.Name, b.thread.Name}, list(threads.ThreadListOptions{SortBy: threads.SortLastActivity}))
	_, _, err = b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, userMessage("bump"))
	require.NoError(t, err)
	require.Equal(t, []string{b.thread.Name, other.Name}, list(threads.ThreadListOptions{SortBy: threads.SortLastActivity}))
	require.Equal(t, []string{other.Name, b.thread.Name}, list(threads.ThreadListOptions{SortBy: threads.SortLastActivity, Oldest: true}))
	_, err = b.store.ListThreads(ctx, b.tenant, threads.ThreadListOptions{SortBy: "name"})
	require.True(t, apperr.Is(err, apperr.CodeValidationFailed))
}

func seqs(ms []threads.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Sequence
	}
	return out
}
