package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/threads"
	"github.com/cairn-rag/cairn/threads/threadstest"
)

func TestMain(m *testing.M) { testdb.Main(m, testdb.VerifyNoLeaks()) }

// testBodyLimit is the JSON body limit of the test server.
const testBodyLimit = 4 << 20

type threadsFixture struct {
	h      http.Handler
	pool   *pgxpool.Pool
	tenant uuid.UUID
	key    string
}

func setupThreads(t *testing.T) threadsFixture {
	t.Helper()
	return setupThreadsConfig(t, threads.Config{})
}

func setupThreadsConfig(t *testing.T, tc threads.Config) threadsFixture {
	t.Helper()
	pool := testdb.Pool(t)
	cfg := testConfig(t, nil)
	cfg.MaxBodyBytes = testBodyLimit
	h := testHandler(pool, cfg, Deps{Threads: threads.NewStoreConfig(pool, tc)})
	tenant, key := testdb.Tenant(t, pool)
	return threadsFixture{h: h, pool: pool, tenant: tenant, key: key}
}

func (f threadsFixture) call(t *testing.T, method, target string, body any) *httptest.ResponseRecorder {
	t.Helper()
	return call(t, f.h, f.key, method, target, body)
}

func (f threadsFixture) newThread(t *testing.T, body any) threads.Thread {
	t.Helper()
	rec := f.call(t, http.MethodPost, "/v1/threads", body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decodeBody[threads.Thread](t, rec)
}

// counts is what a failed write must leave unchanged.
type counts struct{ pathParts, messages, attachments, threadMessages int }

func (f threadsFixture) counts(t *testing.T) counts {
	t.Helper()
	var c counts
	require.NoError(t, f.pool.QueryRow(context.Background(), `
SELECT (SELECT count(*) FROM path_parts WHERE tenant_id = $1),
       (SELECT count(*) FROM messages WHERE tenant_id = $1),
       (SELECT count(*) FROM message_attachments WHERE tenant_id = $1),
       (SELECT coalesce(sum(message_count), 0) FROM threads WHERE tenant_id = $1)`, f.tenant).
		Scan(&c.pathParts, &c.messages, &c.attachments, &c.threadMessages))
	return c
}

func TestThreadLifecycle(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	a := f.newThread(t, map[string]any{"name": "Café ☕", "folder": "/support/acme", "metadata": map[string]any{"customer": "acme"}})
	require.Equal(t, "/support/acme/Café ☕", a.MaterializedPath)
	require.Equal(t, "Café ☕", a.Name)
	require.JSONEq(t, `{"customer":"acme"}`, string(a.Metadata))
	require.Zero(t, a.MessageCount)

	b := f.newThread(t, map[string]any{})
	require.Equal(t, b.ID.String(), b.Name, "the name defaults to the id")
	require.Equal(t, "/"+b.ID.String(), b.MaterializedPath)
	require.JSONEq(t, `{}`, string(b.Metadata))

	t.Run("NFCNormalisesNames", func(t *testing.T) {
		decomposed := "Cafe\u0301 ☕" // e + combining acute
		rec := f.call(t, http.MethodPost, "/v1/threads", map[string]any{"name": decomposed, "folder": "/support/acme"})
		requireProblem(t, rec, http.StatusConflict, "thread_name_conflict", "name")
	})
	t.Run("GetReturnsTheThread", func(t *testing.T) {
		rec := f.call(t, http.MethodGet, "/v1/threads/"+a.ID.String(), nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, a, decodeBody[threads.Thread](t, rec))
	})
	t.Run("ListFiltersByFolderAndPages", func(t *testing.T) {
		c := f.newThread(t, map[string]any{"folder": "/support/acme/eu"})
		f.newThread(t, map[string]any{"folder": "/support/acmeX"})
		rec := f.call(t, http.MethodGet, "/v1/threads?folder="+url.QueryEscape("/support/acme"), nil)
		require.Equal(t, http.StatusOK, rec.Code)
		page := decodeBody[threads.ThreadPage](t, rec)
		require.False(t, page.HasMore)
		require.Equal(t, []uuid.UUID{c.ID, a.ID}, []uuid.UUID{page.Data[0].ID, page.Data[1].ID})
		require.Len(t, page.Data, 2)

		var seen []uuid.UUID
		for off := 0; ; off += 2 {
			page := decodeBody[threads.ThreadPage](t, f.call(t, http.MethodGet, fmt.Sprintf("/v1/threads?limit=2&offset=%d", off), nil))
			for _, th := range page.Data {
				seen = append(seen, th.ID)
			}
			if !page.HasMore {
				break
			}
		}
		require.Len(t, seen, 4)
	})
	t.Run("PatchRenamesAndRefilesWithMessages", func(t *testing.T) {
		rec := f.call(t, http.MethodPost, "/v1/threads/"+a.ID.String()+"/messages", map[string]any{"role": "user", "content": map[string]any{"text": "hi"}})
		require.Equal(t, http.StatusCreated, rec.Code)
		m := decodeBody[threads.Message](t, rec)
		require.Equal(t, a.MaterializedPath+"/0000000001", m.MaterializedPath)

		rec = f.call(t, http.MethodPatch, "/v1/threads/"+a.ID.String(), map[string]any{"name": "renamed", "folder": "/archive/2026"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		moved := decodeBody[threads.Thread](t, rec)
		require.Equal(t, "/archive/2026/renamed", moved.MaterializedPath)
		require.Equal(t, int64(1), moved.MessageCount)
		got := decodeBody[threads.Message](t, f.call(t, http.MethodGet, "/v1/threads/"+a.ID.String()+"/messages/"+m.ID.String(), nil))
		require.Equal(t, "/archive/2026/renamed/0000000001", got.MaterializedPath)

		rec = f.call(t, http.MethodPatch, "/v1/threads/"+b.ID.String(), map[string]any{"name": "renamed", "folder": "/archive/2026"})
		requireProblem(t, rec, http.StatusConflict, "thread_name_conflict", "name")
		rec = f.call(t, http.MethodPatch, "/v1/threads/"+b.ID.String(), map[string]any{"folder": "/archive/2026/renamed"})
		requireProblem(t, rec, http.StatusConflict, "path_conflict", "folder")
		rec = f.call(t, http.MethodPatch, "/v1/threads/"+b.ID.String(), map[string]any{"metadata": map[string]any{"k": 1}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"k":1}`, string(decodeBody[threads.Thread](t, rec).Metadata))
	})
	t.Run("DeleteRemovesTheThreadWithItsMessages", func(t *testing.T) {
		before := f.counts(t)
		require.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/v1/threads/"+a.ID.String(), nil).Code)
		after := f.counts(t)
		require.Equal(t, before.messages-1, after.messages)
		require.Equal(t, before.pathParts-2, after.pathParts, "the thread's and its message's path parts")
		requireProblem(t, f.call(t, http.MethodGet, "/v1/threads/"+a.ID.String(), nil), http.StatusNotFound, "thread_not_found", "")
		requireProblem(t, f.call(t, http.MethodDelete, "/v1/threads/"+a.ID.String(), nil), http.StatusNotFound, "thread_not_found", "")
	})
}

func TestThreadRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{"name": "taken"})
	cases := []struct {
		name, method, target string
		body                 any
		status               int
		code, field          string
	}{
		{"MalformedID", http.MethodGet, "/v1/threads/not-a-uuid", nil, 400, "invalid_id", "thread_id"},
		{"UnknownField", http.MethodPost, "/v1/threads", `{"nme":"x"}`, 400, "unknown_field", "nme"},
		{"WrongType", http.MethodPost, "/v1/threads", `{"name":7}`, 400, "invalid_field", "name"},
		{"RelativeFolder", http.MethodPost, "/v1/threads", `{"folder":"support"}`, 400, "invalid_path", "folder"},
		{"DotDotFolder", http.MethodPost, "/v1/threads", `{"folder":"/a/../b"}`, 400, "invalid_path", "folder"},
		{"EmptySegment", http.MethodPost, "/v1/threads", `{"folder":"/a//b"}`, 400, "invalid_path", "folder"},
		{"SlashInName", http.MethodPost, "/v1/threads", `{"name":"a/b"}`, 400, "invalid_path", "name"},
		{"LongName", http.MethodPost, "/v1/threads", map[string]any{"name": strings.Repeat("é", 200)}, 400, "invalid_path", "name"},
		{"MetadataNotObject", http.MethodPost, "/v1/threads", `{"metadata":[1]}`, 422, "validation_failed", "metadata"},
		{"DuplicateName", http.MethodPost, "/v1/threads", `{"name":"taken"}`, 409, "thread_name_conflict", "name"},
		{"BadLimit", http.MethodGet, "/v1/threads?limit=0", nil, 400, "invalid_parameter", "limit"},
		{"LimitOver100", http.MethodGet, "/v1/threads?limit=101", nil, 400, "invalid_parameter", "limit"},
		{"PatchUnknownThread", http.MethodPatch, "/v1/threads/" + uuid.NewString(), `{"name":"x"}`, 404, "thread_not_found", ""},
		{"PatchBadName", http.MethodPatch, "/v1/threads/" + th.ID.String(), `{"name":".."}`, 400, "invalid_path", "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts(t)
			requireProblem(t, f.call(t, tc.method, tc.target, tc.body), tc.status, tc.code, tc.field)
			require.Equal(t, before, f.counts(t), "nothing written")
		})
	}
}

func pngOf(t *testing.T, w, h int, noisy bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(img.Pix); i += 4 {
		x, y := (i/4)%w, (i/4)/w
		c := color.NRGBA{uint8(x), uint8(y), 128, 255}
		if noisy {
			v := r.Uint32()
			c = color.NRGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 255}
		}
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{"folder": "/chat"})
	chunks := threadstest.InsertDocument(t, f.pool, f.tenant, "guide.md", "Ça marche très bien — 完全に。")
	var folderID uuid.UUID
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM path_parts WHERE tenant_id = $1 AND path = '/kb'`, f.tenant).Scan(&folderID))
	id := uuid.New()
	body := map[string]any{
		"role":       "assistant",
		"message_id": id.String(),
		"content": map[string]any{
			"text":       "It works [1].",
			"is_error":   false,
			"citations":  []any{map[string]any{"chunk_id": chunks[0].ID, "quote": "très bien — 完全", "start_char": 10, "length": 14}},
			"references": []any{map[string]any{"path_part_id": folderID, "ref_type": "FOLDER"}},
		},
		"details":  []any{map[string]any{"type": "retrieval", "query": "does it work"}},
		"metadata": map[string]any{"client": "web"},
	}
	target := "/v1/threads/" + th.ID.String() + "/messages"
	rec := f.call(t, http.MethodPost, target, body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	m := decodeBody[threads.Message](t, rec)
	require.Equal(t, id, m.ID)
	require.Equal(t, th.ID, m.ThreadID)
	require.Equal(t, th.PathPartID, m.ParentPathID)
	require.Equal(t, f.tenant, m.TenantID)
	require.Equal(t, threads.RoleAssistant, m.Role)
	require.Equal(t, int64(1), m.Sequence)
	require.Equal(t, th.MaterializedPath+"/0000000001", m.MaterializedPath)
	require.Equal(t, "/kb/guide.md/v1/0000000000", *m.Content.Citations[0].MaterializedPath)
	require.Equal(t, "guide.md", *m.Content.Citations[0].DocumentName)
	require.Equal(t, []threads.EnrichedReference{{RefType: "folder", PathPartID: folderID, MaterializedPath: ptr("/kb")}}, m.Content.References)
	require.JSONEq(t, `[{"type":"retrieval","query":"does it work"}]`, string(m.Details))
	require.JSONEq(t, `{"client":"web"}`, string(m.Metadata))
	require.Empty(t, m.Attachments)

	t.Run("SameMessageIDReturnsStoredMessageWith200", func(t *testing.T) {
		before := f.counts(t)
		again := body
		again["content"] = map[string]any{"text": "different text"}
		rec := f.call(t, http.MethodPost, target, again)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, m, decodeBody[threads.Message](t, rec))
		require.Equal(t, before, f.counts(t))
	})
	t.Run("WithDetailsFalseOmitsDetails", func(t *testing.T) {
		got := decodeBody[threads.Message](t, f.call(t, http.MethodGet, target+"/"+id.String()+"?with_details=false", nil))
		require.Equal(t, "null", string(got.Details))
		require.Equal(t, m.Content, got.Content)
		page := decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target+"?with_details=false", nil))
		require.Equal(t, "null", string(page.Data[0].Details))
		page = decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target, nil))
		require.Equal(t, []threads.Message{m}, page.Data)
	})
	t.Run("RoleIsCaseInsensitive", func(t *testing.T) {
		for i, role := range []string{"User", "SYSTEM", "assistant"} {
			rec := f.call(t, http.MethodPost, target, map[string]any{"role": role, "content": map[string]any{"text": "x"}})
			require.Equal(t, http.StatusCreated, rec.Code)
			got := decodeBody[threads.Message](t, rec)
			require.Equal(t, threads.Role(strings.ToUpper(role)), got.Role)
			require.Equal(t, int64(i+2), got.Sequence)
		}
	})
	t.Run("CitationOfDeletedChunkResolvesToNull", func(t *testing.T) {
		threadstest.DeleteChunk(t, f.pool, f.tenant, chunks[0].ID)
		got := decodeBody[threads.Message](t, f.call(t, http.MethodGet, target+"/"+id.String(), nil))
		c := got.Content.Citations[0]
		require.Equal(t, citation.Citation{ChunkID: chunks[0].ID, Quote: "très bien — 完全", StartChar: 10, Length: 14, Source: &citation.Source{}}, c, "every resolved field is null")
		require.Contains(t, f.call(t, http.MethodGet, target+"/"+id.String(), nil).Body.String(), `"document_id":null`)
	})
}

func ptr[T any](v T) *T { return &v }

func TestAttachments(t *testing.T) {
	t.Parallel()
	const imageLimit = 60_000
	f := setupThreadsConfig(t, threads.Config{MaxImageBytes: imageLimit})
	th := f.newThread(t, map[string]any{"name": "pics"})
	target := "/v1/threads/" + th.ID.String() + "/messages"
	small := pngOf(t, 64, 48, false)
	big := pngOf(t, 400, 300, true)
	rec := f.call(t, http.MethodPost, target, map[string]any{
		"role": "USER", "content": map[string]any{"text": "see attached"},
		"attachments": []any{
			map[string]any{"name": "small.png", "mime_type": "image/png", "data": base64.StdEncoding.EncodeToString(small)},
			map[string]any{"name": "notes.txt", "mime_type": "text/plain; charset=utf-8", "data": base64.StdEncoding.EncodeToString([]byte("héllo"))},
			map[string]any{"name": "noise.png", "mime_type": "image/png", "data": base64.StdEncoding.EncodeToString(big)},
		},
	})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	m := decodeBody[threads.Message](t, rec)
	require.Len(t, m.Attachments, 3)
	a, txt, noise := m.Attachments[0], m.Attachments[1], m.Attachments[2]
	require.Equal(t, "file", a.Type)
	require.Equal(t, "small.png", a.Name)
	require.Equal(t, "image/jpeg", a.MimeType)
	require.Equal(t, 64, *a.Width)
	require.Equal(t, 48, *a.Height)
	require.Equal(t, "/pics/attachments/"+a.ID.String(), a.Path)
	require.Equal(t, "text/plain", txt.MimeType)
	require.Nil(t, txt.Width)

	get := func(id uuid.UUID) *httptest.ResponseRecorder {
		return f.call(t, http.MethodGet, "/v1/threads/"+th.ID.String()+"/attachments/"+id.String(), nil)
	}
	rec = get(a.ID)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "image/jpeg", rec.Header().Get("Content-Type"))
	img, err := jpeg.Decode(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 64, 48), img.Bounds())
	require.Equal(t, "héllo", get(txt.ID).Body.String())

	rec = get(noise.ID)
	require.Less(t, rec.Body.Len(), imageLimit)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, err)
	require.Equal(t, *noise.Width, cfg.Width)
	require.Less(t, cfg.Width, 400, "a noisy 400x300 image does not fit 60 kB unscaled")
	require.InDelta(t, 4.0/3.0, float64(cfg.Width)/float64(cfg.Height), 0.02, "aspect ratio is kept")

	requireProblem(t, get(uuid.New()), http.StatusNotFound, "attachment_not_found", "")
}

func TestCreateMessageRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	target := "/v1/threads/" + th.ID.String() + "/messages"
	chunks := threadstest.InsertDocument(t, f.pool, f.tenant, "doc.md", "Ünïcode chunk 🚀 text")
	other, _ := testdb.Tenant(t, f.pool)
	foreignChunks := threadstest.InsertDocument(t, f.pool, other, "doc.md", "Ünïcode chunk 🚀 text")
	foreignThread, err := threads.NewStore(f.pool).CreateThread(context.Background(), other, threads.NewThread{})
	require.NoError(t, err)
	b64 := base64.StdEncoding.EncodeToString
	msg := func(extra string) string { return `{"role":"user","content":{"text":"hi"` + extra + `}}` }
	cite := func(chunk uuid.UUID, quote string, start, length int) string {
		return fmt.Sprintf(`,"citations":[{"chunk_id":%q,"quote":%q,"start_char":%d,"length":%d}]`, chunk, quote, start, length)
	}
	good := cite(chunks[0].ID, "🚀 text", 14, 6)
	cases := []struct {
		name, target, body string
		status             int
		code, field        string
	}{
		{"MalformedThreadID", "/v1/threads/123/messages", msg(""), 400, "invalid_id", "thread_id"},
		{"MalformedMessageID", target, `{"role":"user","message_id":"nope","content":{"text":"hi"}}`, 400, "invalid_id", "message_id"},
		{"UnknownField", target, `{"role":"user","content":{"text":"hi","txt":"x"}}`, 400, "unknown_field", "content.txt"},
		{"UnknownTopLevelField", target, `{"role":"user","stream":true,"content":{"text":"hi"}}`, 400, "unknown_field", "stream"},
		{"WrongTypeText", target, `{"role":"user","content":{"text":5}}`, 400, "invalid_field", "content.text"},
		{"WrongTypeRole", target, `{"role":["user"],"content":{"text":"hi"}}`, 400, "invalid_field", "role"},
		{"WrongTypeStartChar", target, `{"role":"user","content":{"text":"hi","citations":[{"chunk_id":"` + chunks[0].ID.String() + `","quote":"x","start_char":"0","length":1}]}}`, 400, "invalid_field", "content.citations.start_char"},
		{"MalformedJSON", target, `{"role":"user",`, 400, "invalid_json", ""},
		{"BadRole", target, `{"role":"robot","content":{"text":"hi"}}`, 422, "validation_failed", "role"},
		{"MissingRole", target, `{"content":{"text":"hi"}}`, 422, "validation_failed", "role"},
		{"MissingText", target, `{"role":"user","content":{}}`, 422, "validation_failed", "content.text"},
		{"EmptyText", target, `{"role":"user","content":{"text":""}}`, 422, "validation_failed", "content.text"},
		{"BlankText", target, `{"role":"user","content":{"text":" \n\t"}}`, 422, "validation_failed", "content.text"},
		{"OversizedText", target, `{"role":"user","content":{"text":"` + strings.Repeat("é", threads.MaxTextChars+1) + `"}}`, 422, "text_too_long", "content.text"},
		{"MetadataNotObject", target, `{"role":"user","content":{"text":"hi"},"metadata":"x"}`, 422, "validation_failed", "metadata"},
		{"CitationUnknownChunk", target, msg(cite(uuid.New(), "x", 0, 1)), 422, "citation_invalid", "content.citations[0]"},
		{"CitationOtherTenantsChunk", target, msg(cite(foreignChunks[0].ID, "Ü", 0, 1)), 422, "citation_invalid", "content.citations[0]"},
		{"CitationQuoteMismatch", target, msg(cite(chunks[0].ID, "chunk", 7, 5)), 422, "citation_invalid", "content.citations[0]"},
		{"CitationByteOffset", target, msg(cite(chunks[0].ID, "chunk", 10, 5)), 422, "citation_invalid", "content.citations[0]"},
		{"CitationWrongLength", target, msg(cite(chunks[0].ID, "🚀 text", 14, 7)), 422, "citation_invalid", "content.citations[0]"},
		{"CitationPastEnd", target, msg(cite(chunks[0].ID, "text!", 16, 5)), 422, "citation_invalid", "content.citations[0]"},
		{"SecondCitationBad", target, msg(strings.TrimSuffix(good, "]") + `,{"chunk_id":"` + chunks[0].ID.String() + `","quote":"zzz","start_char":0,"length":3}]`), 422, "citation_invalid", "content.citations[1]"},
		{"ReferenceUnknownPathPart", target, msg(`,"references":[{"path_part_id":"` + uuid.NewString() + `"}]`), 422, "reference_invalid", "content.references[0]"},
		{"ReferenceOtherTenant", target, msg(`,"references":[{"path_part_id":"` + foreignThread.PathPartID.String() + `"}]`), 422, "reference_invalid", "content.references[0]"},
		{"ReferenceWrongType", target, msg(`,"references":[{"path_part_id":"` + th.PathPartID.String() + `","ref_type":"document"}]`), 422, "reference_invalid", "content.references[0]"},
		{"AttachmentBadBase64", target, `{"role":"user","content":{"text":"hi"},"attachments":[{"name":"a.png","mime_type":"image/png","data":"***"}]}`, 422, "attachment_invalid", "attachments[0].data"},
		{"AttachmentNotAnImage", target, `{"role":"user","content":{"text":"hi"},"attachments":[{"name":"a.png","mime_type":"image/png","data":"` + b64([]byte("not a png at all")) + `"}]}`, 422, "attachment_invalid", "attachments[0].data"},
		{"AttachmentJPEGLabelledPNG", target, `{"role":"user","content":{"text":"hi"},"attachments":[{"name":"a.txt","mime_type":"text/plain","data":"aGk="},{"name":"b.webp","mime_type":"image/webp","data":"` + b64(pngOf(t, 4, 4, false)) + `"}]}`, 422, "attachment_invalid", "attachments[1].data"},
		{"AttachmentBadName", target, `{"role":"user","content":{"text":"hi"},"attachments":[{"name":"../x","mime_type":"text/plain","data":"aGk="}]}`, 422, "attachment_invalid", "attachments[0].name"},
		{"AttachmentBadMimeType", target, `{"role":"user","content":{"text":"hi"},"attachments":[{"name":"x","mime_type":"nonsense","data":"aGk="}]}`, 422, "attachment_invalid", "attachments[0].mime_type"},
		{"OversizedBody", target, `{"role":"user","content":{"text":"hi"},"attachments":[{"name":"x.txt","mime_type":"text/plain","data":"` + strings.Repeat("QUFB", testBodyLimit/4+1) + `"}]}`, 413, "payload_too_large", ""},
		{"UnknownThread", "/v1/threads/" + uuid.NewString() + "/messages", msg(""), 404, "thread_not_found", ""},
		{"OtherTenantsThread", "/v1/threads/" + foreignThread.ID.String() + "/messages", msg(""), 404, "thread_not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts(t)
			requireProblem(t, f.call(t, http.MethodPost, tc.target, tc.body), tc.status, tc.code, tc.field)
			require.Equal(t, before, f.counts(t), "nothing written")
		})
	}
	t.Run("OversizedBodyWithoutContentLength", func(t *testing.T) {
		before := f.counts(t)
		body := `{"role":"user","content":{"text":"` + strings.Repeat("a", testBodyLimit) + `"}}`
		req := httptest.NewRequest(http.MethodPost, target, struct{ *strings.Reader }{strings.NewReader(body)})
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+f.key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		requireProblem(t, rec, http.StatusRequestEntityTooLarge, "payload_too_large", "")
		require.Equal(t, before, f.counts(t))
	})
	t.Run("ListQueryValidation", func(t *testing.T) {
		for _, q := range []struct{ query, field string }{
			{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=abc", "limit"}, {"offset=-1", "offset"},
			{"before=yesterday", "before"}, {"after=2026-13-01T00:00:00Z", "after"}, {"with_details=maybe", "with_details"},
		} {
			requireProblem(t, f.call(t, http.MethodGet, target+"?"+q.query, nil), 400, "invalid_parameter", q.field)
		}
		requireProblem(t, f.call(t, http.MethodGet, target+"/xyz", nil), 400, "invalid_id", "message_id")
		requireProblem(t, f.call(t, http.MethodGet, target+"/"+uuid.NewString(), nil), 404, "message_not_found", "")
	})
}

func TestAnotherTenantsIDsAre404OnEveryRoute(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{"name": "mine"})
	rec := f.call(t, http.MethodPost, "/v1/threads/"+th.ID.String()+"/messages", map[string]any{
		"role": "user", "content": map[string]any{"text": "secret"},
		"attachments": []any{map[string]any{"name": "a.txt", "mime_type": "text/plain", "data": "aGk="}},
	})
	require.Equal(t, http.StatusCreated, rec.Code)
	m := decodeBody[threads.Message](t, rec)
	_, otherKey := testdb.Tenant(t, f.pool)
	tid, mid, aid := th.ID.String(), m.ID.String(), m.Attachments[0].ID.String()
	routes := []struct{ method, target, body, code string }{
		{http.MethodGet, "/v1/threads/" + tid, "", "thread_not_found"},
		{http.MethodPatch, "/v1/threads/" + tid, `{"name":"stolen"}`, "thread_not_found"},
		{http.MethodDelete, "/v1/threads/" + tid, "", "thread_not_found"},
		{http.MethodPost, "/v1/threads/" + tid + "/messages", `{"role":"user","content":{"text":"x"}}`, "thread_not_found"},
		{http.MethodPost, "/v1/threads/" + tid + "/messages", `{"role":"user","message_id":"` + mid + `","content":{"text":"x"}}`, "thread_not_found"},
		{http.MethodGet, "/v1/threads/" + tid + "/messages", "", "thread_not_found"},
		{http.MethodGet, "/v1/threads/" + tid + "/messages/" + mid, "", "thread_not_found"},
		{http.MethodGet, "/v1/threads/" + tid + "/attachments/" + aid, "", "attachment_not_found"},
	}
	before := f.counts(t)
	for _, r := range routes {
		t.Run(r.method+" "+strings.ReplaceAll(r.target, tid, "{thread}"), func(t *testing.T) {
			var body any
			if r.body != "" {
				body = r.body
			}
			requireProblem(t, call(t, f.h, otherKey, r.method, r.target, body), http.StatusNotFound, r.code, "")
		})
	}
	require.Equal(t, before, f.counts(t))
	got := decodeBody[threads.Thread](t, f.call(t, http.MethodGet, "/v1/threads/"+tid, nil))
	require.Equal(t, "mine", got.Name)
	page := decodeBody[threads.ThreadPage](t, call(t, f.h, otherKey, http.MethodGet, "/v1/threads", nil))
	require.Empty(t, page.Data, "another tenant lists none of these threads")
}

func TestListMessagesHTTPPagination(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	target := "/v1/threads/" + th.ID.String() + "/messages"
	for i := range 45 {
		require.Equal(t, http.StatusCreated, f.call(t, http.MethodPost, target, map[string]any{"role": "user", "content": map[string]any{"text": fmt.Sprint(i)}}).Code)
	}
	page := decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target, nil))
	require.Len(t, page.Data, 20, "limit defaults to 20")
	require.True(t, page.HasMore)
	require.Equal(t, int64(45), page.Data[0].Sequence)
	before := page.Data[19].CreatedAt.Format(time.RFC3339Nano)
	page = decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target+"?limit=100&before="+url.QueryEscape(before), nil))
	require.Len(t, page.Data, 25)
	require.False(t, page.HasMore)
	require.Equal(t, int64(25), page.Data[0].Sequence)
	after := page.Data[5].CreatedAt.Format(time.RFC3339Nano)
	page = decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target+"?limit=3&after="+url.QueryEscape(after), nil))
	require.Equal(t, []int64{23, 22, 21}, []int64{page.Data[0].Sequence, page.Data[1].Sequence, page.Data[2].Sequence})
	require.True(t, page.HasMore)
}

// A message's citations as read (with their resolved fields) can be sent
// back unchanged; the resolved fields are ignored, the raw ones checked.
func TestReadCitationsCanBePostedBack(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	chunks := threadstest.InsertDocument(t, f.pool, f.tenant, "guide.md", "Ça marche très bien — 完全に。")
	target := "/v1/threads/" + th.ID.String() + "/messages"
	first := decodeBody[threads.Message](t, f.call(t, http.MethodPost, target, map[string]any{"role": "assistant", "content": map[string]any{
		"text": "It works [1].", "citations": []any{map[string]any{"chunk_id": chunks[0].ID, "quote": "très bien — 完全", "start_char": 10, "length": 14}}}}))
	require.NotNil(t, first.Content.Citations[0].Source)

	rec := f.call(t, http.MethodPost, target, map[string]any{"role": "assistant", "content": map[string]any{
		"text": "Again [1].", "citations": first.Content.Citations}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	again := decodeBody[threads.Message](t, rec)
	require.Equal(t, first.Content.Citations, again.Content.Citations)

	wrong := first.Content.Citations[0]
	wrong.StartChar++
	rec = f.call(t, http.MethodPost, target, map[string]any{"role": "assistant", "content": map[string]any{
		"text": "Wrong [1].", "citations": []citation.Citation{wrong}}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"field":"content.citations[0]"`)
}
