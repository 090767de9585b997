package threads_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

func TestThreadListFiltersAndCount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, n := range []string{"Café Alpha", "alpha_two", "beta"} {
		_, err := b.store.CreateThread(ctx, b.tenant, threads.NewThread{Name: &n, Folder: "/kb"})
		require.NoError(t, err)
	}
	future := time.Now().Add(time.Hour)
	for name, tc := range map[string]struct {
		o    threads.ThreadListOptions
		want int64
	}{
		"All":                     {threads.ThreadListOptions{}, 4},
		"NameIsCaseInsensitive":   {threads.ThreadListOptions{NameLike: "ALPHA"}, 2},
		"NameAccents":             {threads.ThreadListOptions{NameLike: "café"}, 1},
		"UnderscoreMatchesItself": {threads.ThreadListOptions{NameLike: "a_t"}, 1},
		"PercentMatchesItself":    {threads.ThreadListOptions{NameLike: "%"}, 0},
		"FolderAndName":           {threads.ThreadListOptions{Folder: "/kb", NameLike: "beta"}, 1},
		"CreatedAfterFuture":      {threads.ThreadListOptions{CreatedAfter: &future}, 0},
		"CreatedBeforeFuture":     {threads.ThreadListOptions{CreatedBefore: &future}, 4},
		"UpdatedAfterFuture":      {threads.ThreadListOptions{UpdatedAfter: &future}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := b.store.CountThreads(ctx, b.tenant, tc.o)
			require.NoError(t, err)
			require.Equal(t, tc.want, n)
			tc.o.Limit = 100
			page, err := b.store.ListThreads(ctx, b.tenant, tc.o)
			require.NoError(t, err)
			require.Len(t, page.Data, int(tc.want))
		})
	}
}

func TestMessageRoleFilterCountAndMillisecondTimes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var prev time.Time
	for i := range 6 {
		role := threads.RoleUser
		if i%3 == 2 {
			role = threads.RoleAssistant
		}
		m, _, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, threads.NewMessage{Role: role, Text: "m"})
		require.NoError(t, err)
		require.Zero(t, m.CreatedAt.Nanosecond()%int(time.Millisecond), "a whole millisecond")
		require.True(t, m.CreatedAt.After(prev), "strictly later")
		prev = m.CreatedAt
	}
	for _, o := range []threads.ListOptions{{Role: threads.RoleAssistant}, {Role: threads.RoleAssistant, Oldest: true}, {Role: threads.RoleAssistant, After: &time.Time{}}} {
		page, err := b.store.ListMessages(ctx, nil, b.tenant, b.thread.ID, o)
		require.NoError(t, err)
		require.Len(t, page.Data, 2)
		for _, m := range page.Data {
			require.Equal(t, threads.RoleAssistant, m.Role)
		}
	}
	n, err := b.store.CountMessages(ctx, nil, b.tenant, b.thread.ID, threads.ListOptions{Role: threads.RoleUser})
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	n, err = b.store.CountMessages(ctx, nil, b.tenant, b.thread.ID, threads.ListOptions{Before: &prev})
	require.NoError(t, err)
	require.EqualValues(t, 5, n)
	_, err = b.store.CountMessages(ctx, nil, b.tenant, uuid.New(), threads.ListOptions{})
	require.True(t, apperr.Is(err, threads.CodeThreadNotFound), "%v", err)
}

func TestParentThreadAndFolderPath(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	child, err := b.store.CreateThread(ctx, b.tenant, threads.NewThread{Folder: "/support"})
	require.NoError(t, err)
	got, err := b.store.UpdateThread(ctx, b.tenant, child.ID, threads.ThreadPatch{ParentThread: &b.thread.ID})
	require.NoError(t, err)
	require.Equal(t, b.thread.ID, *got.ParentThreadID)
	_, err = b.store.UpdateThread(ctx, b.tenant, child.ID, threads.ThreadPatch{ParentThread: &child.ID})
	require.True(t, apperr.Is(err, apperr.CodeValidationFailed), "%v", err)
	missing := uuid.New()
	_, err = b.store.UpdateThread(ctx, b.tenant, child.ID, threads.ThreadPatch{ParentThread: &missing})
	require.True(t, apperr.Is(err, threads.CodeParentNotFound), "%v", err)
	got, err = b.store.UpdateThread(ctx, b.tenant, child.ID, threads.ThreadPatch{ParentThread: &uuid.Nil})
	require.NoError(t, err)
	require.Nil(t, got.ParentThreadID)

	var folder uuid.UUID
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT id FROM path_parts WHERE tenant_id = $1 AND path = '/support'`, b.tenant).Scan(&folder))
	path, err := b.store.FolderPath(ctx, b.tenant, folder, "parent")
	require.NoError(t, err)
	require.Equal(t, "/support", path)
	_, err = b.store.FolderPath(ctx, b.tenant, b.thread.PathPartID, "parent")
	require.True(t, apperr.Is(err, apperr.CodeValidationFailed), "a thread is not a folder: %v", err)
	_, err = b.store.FolderPath(ctx, b.tenant, uuid.New(), "parent")
	require.True(t, apperr.Is(err, threads.CodeParentNotFound), "%v", err)

	m, _, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, threads.NewMessage{Role: threads.RoleUser, Text: "hi"})
	require.NoError(t, err)
	pps, err := b.store.EntityPathParts(ctx, b.tenant, []uuid.UUID{b.thread.ID, m.ID, folder})
	require.NoError(t, err)
	require.Equal(t, map[uuid.UUID]uuid.UUID{b.thread.ID: b.thread.PathPartID, m.ID: m.PathPartID}, pps, "folders have no other id")
	ents, err := b.store.PathPartEntities(ctx, b.tenant, []uuid.UUID{b.thread.PathPartID, m.PathPartID, folder})
	require.NoError(t, err)
	require.Equal(t, map[uuid.UUID]uuid.UUID{b.thread.PathPartID: b.thread.ID, m.PathPartID: m.ID}, ents)
}
