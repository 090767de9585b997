package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/threads"
)

func TestMessageEditDeleteAndOrdersOverHTTP(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{"name": "edits"})
	base := "/v1/threads/" + th.ID.String() + "/messages"
	var ids []string
	for _, text := range []string{"one", "two", "three"} {
		rec := f.call(t, http.MethodPost, base, map[string]any{"role": "USER", "content": map[string]any{"text": text}})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		ids = append(ids, decodeBody[threads.Message](t, rec).ID.String())
	}
	texts := func(target string) []string {
		page := decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target, nil))
		var out []string
		for _, m := range page.Data {
			out = append(out, m.Content.Text)
		}
		return out
	}
	require.Equal(t, []string{"three", "two", "one"}, texts(base))
	require.Equal(t, []string{"one", "two", "three"}, texts(base+"?sort_dir=asc"))

	rec := f.call(t, http.MethodPatch, base+"/"+ids[0]+"?in_place=true", map[string]any{"content": map[string]any{"text": "uno"}, "metadata": map[string]any{"lang": "it"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "uno", decodeBody[threads.Message](t, rec).Content.Text)

	rec = f.call(t, http.MethodDelete, base+"/"+ids[1], nil)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	page := decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, base+"?sort_dir=asc", nil))
	require.Len(t, page.Data, 2)
	require.EqualValues(t, 1, page.Data[0].Sequence)
	require.EqualValues(t, 2, page.Data[1].Sequence, "three moved from 3 to 2")
	require.Equal(t, "three", page.Data[1].Content.Text)

	for _, tc := range []struct {
		name, method, target string
		body                 any
		status               int
		code, field          string
	}{
		{"DeleteAgainIsNotFound", http.MethodDelete, base + "/" + ids[1], nil, 404, threads.CodeMessageNotFound, ""},
		{"PatchUnknownField", http.MethodPatch, base + "/" + ids[0], `{"content":{"txt":"x"}}`, 400, CodeUnknownField, "content.txt"},
		{"PatchWrongType", http.MethodPatch, base + "/" + ids[0], `{"content":{"text":5}}`, 400, CodeInvalidField, "content.text"},
		{"PatchBlankText", http.MethodPatch, base + "/" + ids[0], `{"content":{"text":" "}}`, 422, "validation_failed", "content.text"},
		{"BadSortDir", http.MethodGet, base + "?sort_dir=up", nil, 400, CodeInvalidParameter, "sort_dir"},
		{"BadThreadSort", http.MethodGet, "/v1/threads?sort_by=name", nil, 400, CodeInvalidParameter, "sort_by"},
		{"BadMessageID", http.MethodDelete, base + "/x", nil, 400, CodeInvalidID, "message_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, f.call(t, tc.method, tc.target, tc.body), tc.status, tc.code, tc.field)
		})
	}

	other := f.newThread(t, map[string]any{"name": "newer"})
	names := func(target string) []string {
		page := decodeBody[threads.ThreadPage](t, f.call(t, http.MethodGet, target, nil))
		var out []string
		for _, th := range page.Data {
			out = append(out, th.Name)
		}
		return out
	}
	require.Equal(t, []string{other.Name, th.Name}, names("/v1/threads"))
	rec = f.call(t, http.MethodPost, base, map[string]any{"role": "USER", "content": map[string]any{"text": "bump"}})
	require.Equal(t, http.StatusCreated, rec.Code)
	require.Equal(t, []string{th.Name, other.Name}, names("/v1/threads?sort_by=last_activity_at"))
	require.Equal(t, []string{other.Name, th.Name}, names("/v1/threads?sort_by=last_activity_at&sort_dir=asc"))
}
