package threads_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/threads"
	"github.com/cairn-rag/cairn/threads/threadstest"
)

func TestMain(m *testing.M) { testdb.Main(m, testdb.VerifyNoLeaks()) }

type bundle struct {
	pool   *pgxpool.Pool
	store  *threads.Store
	tenant uuid.UUID
	thread threads.Thread
}

func setup(t *testing.T) bundle {
	t.Helper()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	store := threads.NewStore(pool)
	th, err := store.CreateThread(context.Background(), tenant, threads.NewThread{Folder: "/support/acme"})
	require.NoError(t, err)
	return bundle{pool: pool, store: store, tenant: tenant, thread: th}
}

func userMessage(text string) threads.NewMessage {
	return threads.NewMessage{Role: "user", Text: text}
}

func TestConcurrentCreatesHaveGapFreeSequences(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const writers, each = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, _, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, userMessage(fmt.Sprintf("w%d m%d", w, i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	rows, err := b.pool.Query(ctx, `
SELECT m.sequence, p.name, m.created_at FROM messages m JOIN path_parts p ON p.tenant_id = m.tenant_id AND p.id = m.path_part_id
WHERE m.tenant_id = $1 AND m.thread_id = $2 ORDER BY m.sequence`, b.tenant, b.thread.ID)
	require.NoError(t, err)
	type row struct {
		seq  int64
		name string
		at   time.Time
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.seq, &x.name, &x.at)
	})
	require.NoError(t, err)
	require.Len(t, got, writers*each)
	for i, r := range got {
		require.Equal(t, int64(i+1), r.seq)
		require.Equal(t, threads.SequenceName(int64(i+1)), r.name)
		if i > 0 {
			require.True(t, r.at.After(got[i-1].at), "created_at must strictly increase with sequence")
		}
	}
	th, err := b.store.GetThread(ctx, b.tenant, b.thread.ID)
	require.NoError(t, err)
	require.Equal(t, int64(writers*each), th.MessageCount)
}

func TestRacingCreatesWithOneMessageIDWriteOneRow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for round := range 5 {
		id := uuid.New()
		in := userMessage(fmt.Sprintf("race %d", round))
		in.ID = &id
		const racers = 8
		var wg sync.WaitGroup
		created := make(chan bool, racers)
		msgs := make(chan threads.Message, racers)
		start := make(chan struct{})
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				m, c, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, in)
				if err != nil {
					t.Error(err)
					return
				}
				created <- c
				msgs <- m
			}()
		}
		close(start)
		wg.Wait()
		close(created)
		close(msgs)
		n := 0
		for c := range created {
			if c {
				n++
			}
		}
		require.Equal(t, 1, n, "exactly one racer creates")
		for m := range msgs {
			require.Equal(t, id, m.ID)
			require.Equal(t, int64(round+1), m.Sequence)
		}
	}
	var count int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1`, b.tenant).Scan(&count))
	require.Equal(t, 5, count)
	th, err := b.store.GetThread(ctx, b.tenant, b.thread.ID)
	require.NoError(t, err)
	require.Equal(t, int64(5), th.MessageCount, "no sequence is burnt by a duplicate")
}

func TestMessageIDOfAnotherThreadConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	other, err := b.store.CreateThread(ctx, b.tenant, threads.NewThread{})
	require.NoError(t, err)
	id := uuid.New()
	in := userMessage("hello")
	in.ID = &id
	_, created, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, in)
	require.NoError(t, err)
	require.True(t, created)
	_, _, err = b.store.CreateMessage(ctx, nil, b.tenant, other.ID, in)
	require.True(t, apperr.Is(err, "message_id_conflict"), "%v", err)
}

func TestCreateMessageInsideCallerTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	m, created, err := b.store.CreateMessage(ctx, tx, b.tenant, b.thread.ID, userMessage("in a tx"))
	require.NoError(t, err)
	require.True(t, created)
	got, err := b.store.GetMessage(ctx, tx, b.tenant, b.thread.ID, m.ID, true)
	require.NoError(t, err)
	require.Equal(t, "in a tx", got.Content.Text)
	require.NoError(t, tx.Rollback(ctx))
	_, err = b.store.GetMessage(ctx, nil, b.tenant, b.thread.ID, m.ID, true)
	require.True(t, apperr.Is(err, "message_not_found"), "%v", err)
	th, err := b.store.GetThread(ctx, b.tenant, b.thread.ID)
	require.NoError(t, err)
	require.Zero(t, th.MessageCount)
}

// seed writes n messages through the store and returns them by sequence.
func seed(t *testing.T, b bundle, n int) []threads.Message {
	t.Helper()
	out := make([]threads.Message, n)
	for i := range n {
		m, _, err := b.store.CreateMessage(context.Background(), nil, b.tenant, b.thread.ID, userMessage(fmt.Sprintf("message %d", i+1)))
		require.NoError(t, err)
		out[i] = m
	}
	return out
}

func TestPaginationWalksEveryMessageOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 250
	seed(t, b, n)
	list := func(o threads.ListOptions) threads.MessagePage {
		p, err := b.store.ListMessages(ctx, nil, b.tenant, b.thread.ID, o)
		require.NoError(t, err)
		for i := 1; i < len(p.Data); i++ {
			require.Equal(t, p.Data[i-1].Sequence-1, p.Data[i].Sequence, "newest first within a page")
		}
		return p
	}
	check := func(t *testing.T, seqs []int64, descending bool) {
		require.Len(t, seqs, n)
		for i, s := range seqs {
			want := int64(i + 1)
			if descending {
				want = int64(n - i)
			}
			require.Equal(t, want, s)
		}
	}
	t.Run("LimitOffset", func(t *testing.T) {
		var seqs []int64
		for off := 0; ; off += 20 {
			p := list(threads.ListOptions{Limit: 20, Offset: off})
			for _, m := range p.Data {
				seqs = append(seqs, m.Sequence)
			}
			if !p.HasMore {
				break
			}
		}
		check(t, seqs, true)
	})
	t.Run("Before", func(t *testing.T) {
		var seqs []int64
		var before *time.Time
		for {
			p := list(threads.ListOptions{Limit: 33, Before: before})
			for _, m := range p.Data {
				seqs = append(seqs, m.Sequence)
			}
			if !p.HasMore {
				break
			}
			last := p.Data[len(p.Data)-1].CreatedAt
			before = &last
		}
		check(t, seqs, true)
	})
	t.Run("After", func(t *testing.T) {
		var seqs []int64
		after := time.Unix(0, 0)
		for {
			p := list(threads.ListOptions{Limit: 40, After: &after})
			for i := len(p.Data) - 1; i >= 0; i-- {
				seqs = append(seqs, p.Data[i].Sequence)
			}
			if !p.HasMore {
				break
			}
			after = p.Data[0].CreatedAt
		}
		check(t, seqs, false)
	})
	t.Run("ConversationIsOldestFirst", func(t *testing.T) {
		conv, err := b.store.Conversation(ctx, nil, b.tenant, b.thread.ID, 5, nil)
		require.NoError(t, err)
		require.Len(t, conv, 5)
		for i, m := range conv {
			require.Equal(t, int64(n-4+i), m.Sequence)
			require.Nil(t, m.Details)
		}
	})
}

func TestValidateCitations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	chunks := threadstest.InsertDocument(t, b.pool, b.tenant, "guide.md",
		"Café au lait, naïve façade.", "東京は日本の首都です。", "Rockets 🚀 go up; 👩‍🚀 flies.")
	other, _ := testdb.Tenant(t, b.pool)
	foreign := threadstest.InsertDocument(t, b.pool, other, "theirs.md", "Their secret text.")
	c := func(i int, quote string, start int) citation.Citation {
		return citation.Citation{ChunkID: chunks[i].ID, Quote: quote, StartChar: start, Length: len([]rune(quote))}
	}
	cases := []struct {
		name string
		cits []citation.Citation
		bad  string // field of the expected error, "" when valid
	}{
		{"AcceptsAccentedQuoteAtCodePointOffset", []citation.Citation{c(0, "naïve façade", 14)}, ""},
		{"AcceptsCJKQuote", []citation.Citation{c(1, "日本の首都", 3)}, ""},
		{"AcceptsEmojiQuote", []citation.Citation{c(2, "🚀 go up", 8), c(2, "👩‍🚀 flies.", 17)}, ""},
		{"AcceptsWholeChunk", []citation.Citation{c(1, "東京は日本の首都です。", 0)}, ""},
		{"RejectsByteOffsets", []citation.Citation{c(0, "naïve façade", 15)}, "content.citations[0]"},
		{"RejectsQuoteOutsideChunk", []citation.Citation{c(0, "Café", 0), c(1, "首都です。!", 6)}, "content.citations[1]"},
		{"RejectsWrongLength", []citation.Citation{{ChunkID: chunks[0].ID, Quote: "Café", StartChar: 0, Length: 5}}, "content.citations[0]"},
		{"RejectsNegativeStart", []citation.Citation{{ChunkID: chunks[0].ID, Quote: "Café", StartChar: -1, Length: 4}}, "content.citations[0]"},
		{"RejectsEmptyQuote", []citation.Citation{{ChunkID: chunks[0].ID, Quote: "", StartChar: 0, Length: 0}}, "content.citations[0]"},
		{"RejectsUnknownChunk", []citation.Citation{c(0, "Café", 0), c(0, "Café", 0), {ChunkID: uuid.New(), Quote: "x", Length: 1}}, "content.citations[2]"},
		{"RejectsChunkOfAnotherTenant", []citation.Citation{{ChunkID: foreign[0].ID, Quote: "Their", Length: 5}}, "content.citations[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := citation.Validate(ctx, b.pool, b.tenant, tc.cits, "content.citations")
			if tc.bad == "" {
				require.NoError(t, err)
				return
			}
			e, ok := apperr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, "citation_invalid", e.Code)
			require.Equal(t, apperr.Unprocessable, e.Kind)
			require.Equal(t, tc.bad, e.Field)
		})
	}
}

func TestCitationsAreEnrichedAtReadTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	chunks := threadstest.InsertDocument(t, b.pool, b.tenant, "naïve.md", "Zürich 🇨🇭 liegt am See.", "二つ目のチャンク。")
	in := threads.NewMessage{Role: threads.RoleAssistant, Text: "Zürich is on a lake [1][2].", Citations: []citation.Citation{
		{ChunkID: chunks[0].ID, Quote: "🇨🇭 liegt", StartChar: 7, Length: 8},
		{ChunkID: chunks[1].ID, Quote: "チャンク", StartChar: 4, Length: 4},
	}}
	m, created, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, in)
	require.NoError(t, err)
	require.True(t, created)
	require.Len(t, m.Content.Citations, 2)
	for i, c := range m.Content.Citations {
		ch := chunks[i]
		require.Equal(t, ch.ID, c.ChunkID)
		require.Equal(t, in.Citations[i].Quote, c.Quote)
		require.Equal(t, ch.DocumentID, *c.DocumentID)
		require.Equal(t, ch.VersionID, *c.DocumentVersionID)
		require.Equal(t, ch.DocumentName, *c.DocumentName)
		require.Equal(t, ch.VersionNumber, *c.VersionNumber)
		require.Equal(t, ch.ID, *c.PathPartID)
		require.Equal(t, ch.MaterializedPath, *c.MaterializedPath)
	}
	resolved, err := citation.Resolve(ctx, b.pool, b.tenant, in.Citations)
	require.NoError(t, err)
	require.Equal(t, m.Content.Citations, resolved, "resolving unstored citations gives what a stored message reads")
	threadstest.DeleteChunk(t, b.pool, b.tenant, chunks[0].ID)
	got, err := b.store.GetMessage(ctx, nil, b.tenant, b.thread.ID, m.ID, false)
	require.NoError(t, err)
	gone := got.Content.Citations[0]
	require.Equal(t, in.Citations[0], gone.Raw())
	require.Equal(t, &citation.Source{}, gone.Source, "every resolved field is null")
	require.NotNil(t, got.Content.Citations[1].DocumentID)
}

func TestWithoutDetailsTheQueriesDoNotReadDetails(t *testing.T) {
	t.Parallel()
	require.NotContains(t, threads.ListMessagesSQL(false), "details")
	require.Contains(t, threads.ListMessagesSQL(true), "details")
	b := setup(t)
	ctx := context.Background()
	in := userMessage("with steps")
	in.Details = []byte(`{"steps":[{"type":"retrieval"}]}`)
	m, _, err := b.store.CreateMessage(ctx, nil, b.tenant, b.thread.ID, in)
	require.NoError(t, err)
	require.JSONEq(t, string(in.Details), string(m.Details))
	got, err := b.store.GetMessage(ctx, nil, b.tenant, b.thread.ID, m.ID, false)
	require.NoError(t, err)
	require.Nil(t, got.Details)
	page, err := b.store.ListMessages(ctx, nil, b.tenant, b.thread.ID, threads.ListOptions{})
	require.NoError(t, err)
	require.Nil(t, page.Data[0].Details)
}

func TestConcurrentThreadCreatesShareNewFolders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("t%d", i)
			_, err := b.store.CreateThread(ctx, b.tenant, threads.NewThread{Name: &name, Folder: "/new/deep/folder"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var folders int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM path_parts WHERE tenant_id = $1 AND kind = 'folder' AND path LIKE '/new%'`, b.tenant).Scan(&folders))
	require.Equal(t, 3, folders)
	page, err := b.store.ListThreads(ctx, b.tenant, threads.ThreadListOptions{Folder: "/new", Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Data, n)
	dup := "t0"
	_, err = b.store.CreateThread(ctx, b.tenant, threads.NewThread{Name: &dup, Folder: "/new/deep/folder"})
	require.True(t, apperr.Is(err, "thread_name_conflict"), "%v", err)
}
