package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/threads"
)

// Branches (seed 004): parent_message_id forms a tree; an edit of a USER
// message stores a sibling; listing shows the active branch (the path to
// the latest message) unless asked for a leaf's path or for all; each
// message names its siblings.
func TestBranches(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	base := "/v1/threads/" + th.ID.String() + "/messages"
	post := func(body map[string]any) threads.Message {
		t.Helper()
		rec := f.call(t, http.MethodPost, base, body)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		return decodeBody[threads.Message](t, rec)
	}
	msg := func(role, text string) map[string]any {
		return map[string]any{"role": role, "content": map[string]any{"text": text}, "sender_id": "u-1", "tags": []string{"t"}}
	}
	texts := func(query string) []string {
		t.Helper()
		rec := f.call(t, http.MethodGet, base+"?sort_dir=asc&limit=100"+query, nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var out []string
		for _, m := range decodeBody[threads.MessagePage](t, rec).Data {
			out = append(out, m.Content.Text)
		}
		return out
	}
	u1 := post(msg("user", "Q1"))
	a1 := post(msg("assistant", "A1"))
	u2 := post(msg("user", "Q2"))
	a2 := post(msg("assistant", "A2"))
	require.Equal(t, []uuid.UUID{u2.ID}, u2.SiblingIDs, "a straight thread: every message is its parent's only child")
	require.Equal(t, []string{"Q1", "A1", "Q2", "A2"}, texts(""))

	// The edit of Q2 is a sibling: same parent (A1), old branch kept.
	rec := f.call(t, http.MethodPatch, base+"/"+u2.ID.String(), map[string]any{"content": map[string]any{"text": "Q2, edited"}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	s := decodeBody[threads.Message](t, rec)
	require.NotEqual(t, u2.ID, s.ID)
	require.Equal(t, a1.ID, *s.ParentMessageID)
	require.Equal(t, []uuid.UUID{u2.ID, s.ID}, s.SiblingIDs)
	require.Equal(t, "u-1", *s.SenderID, "the sibling keeps the sender")
	require.Equal(t, []string{"t"}, s.Tags)
	old := decodeBody[threads.Message](t, f.call(t, http.MethodGet, base+"/"+u2.ID.String(), nil))
	require.Equal(t, "Q2", old.Content.Text, "the edited message is unchanged")
	require.Equal(t, []uuid.UUID{u2.ID, s.ID}, old.SiblingIDs)
	a3 := post(msg("assistant", "A2'"))
	require.Equal(t, []string{"Q1", "A1", "Q2, edited", "A2'"}, texts(""), "the active branch ends at the latest message")
	require.Equal(t, texts(""), texts("&branch=active"))
	require.Equal(t, []string{"Q1", "A1", "Q2", "A2"}, texts("&leaf_id="+a2.ID.String()))
	require.Equal(t, []string{"Q1", "A1", "Q2", "A2", "Q2, edited", "A2'"}, texts("&branch=all"))
	page := decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, base+"?sort_dir=asc", nil))
	require.Equal(t, []uuid.UUID{u2.ID, s.ID}, page.Data[2].SiblingIDs)
	require.Equal(t, []uuid.UUID{a3.ID}, page.Data[3].SiblingIDs)

	// A message may name its parent: back on the first branch.
	post(map[string]any{"role": "user", "content": map[string]any{"text": "Q3"}, "parent_message_id": a2.ID})
	require.Equal(t, []string{"Q1", "A1", "Q2", "A2", "Q3"}, texts(""))

	// The edit of the first message is a new root.
	rec = f.call(t, http.MethodPatch, base+"/"+u1.ID.String(), map[string]any{"content": map[string]any{"text": "Q1, edited"}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	root := decodeBody[threads.Message](t, rec)
	require.Nil(t, root.ParentMessageID)
	require.Equal(t, []uuid.UUID{u1.ID, root.ID}, root.SiblingIDs)
	require.Equal(t, []string{"Q1, edited"}, texts(""))

	// In place, or a message of another role: edited as before.
	rec = f.call(t, http.MethodPatch, base+"/"+root.ID.String()+"?in_place=true", map[string]any{"content": map[string]any{"text": "Q1, fixed"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = f.call(t, http.MethodPatch, base+"/"+a1.ID.String(), map[string]any{"content": map[string]any{"text": "A1, fixed"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, texts("&branch=all"), 8)

	other := f.newThread(t, map[string]any{})
	foreign := decodeBody[threads.Message](t, f.call(t, http.MethodPost, "/v1/threads/"+other.ID.String()+"/messages", msg("user", "elsewhere")))
	tenant2, key2 := testdb.Tenant(t, f.pool)
	_ = tenant2
	th2 := call(t, f.h, key2, http.MethodPost, "/v1/threads", map[string]any{})
	require.Equal(t, http.StatusCreated, th2.Code)
	rec = call(t, f.h, key2, http.MethodPost, "/v1/threads/"+decodeBody[threads.Thread](t, th2).ID.String()+"/messages", msg("user", "other tenant"))
	require.Equal(t, http.StatusCreated, rec.Code)
	otherTenant := decodeBody[threads.Message](t, rec)
	before := f.counts(t)
	for _, tc := range []struct {
		name, method, target string
		body                 any
		status               int
		code, field          string
	}{
		{"BadBranch", http.MethodGet, base + "?branch=main", nil, 400, CodeInvalidParameter, "branch"},
		{"LeafNotAUUID", http.MethodGet, base + "?leaf_id=m1", nil, 400, CodeInvalidID, "leaf_id"},
		{"UnknownLeaf", http.MethodGet, base + "?leaf_id=" + uuid.NewString(), nil, 400, "validation_failed", "leaf_id"},
		{"LeafOfAnotherThread", http.MethodGet, base + "?leaf_id=" + foreign.ID.String(), nil, 400, "validation_failed", "leaf_id"},
		{"LeafWithBranchAll", http.MethodGet, base + "?branch=all&leaf_id=" + a2.ID.String(), nil, 400, CodeInvalidParameter, "leaf_id"},
		{"BadInPlace", http.MethodPatch, base + "/" + u2.ID.String() + "?in_place=maybe", map[string]any{"content": map[string]any{"text": "x"}}, 400, CodeInvalidParameter, "in_place"},
		{"ParentOfAnotherThread", http.MethodPost, base, map[string]any{"role": "user", "content": map[string]any{"text": "x"}, "parent_message_id": foreign.ID}, 422, "validation_failed", "parent_message_id"},
		{"ParentOfAnotherTenant", http.MethodPost, base, map[string]any{"role": "user", "content": map[string]any{"text": "x"}, "parent_message_id": otherTenant.ID}, 422, "validation_failed", "parent_message_id"},
		{"EditToBlank", http.MethodPatch, base + "/" + u2.ID.String(), map[string]any{"content": map[string]any{"text": " "}}, 422, "validation_failed", "content.text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, f.call(t, tc.method, tc.target, tc.body), tc.status, tc.code, tc.field)
		})
	}
	require.Equal(t, before, f.counts(t), "bad input stores nothing")
}
