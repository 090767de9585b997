package api

import (
	"context"
	"net/http"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/store"
)

// versionsText mixes CRLF line ends, a decomposed accent (NFC composes
// it), CJK, emoji above U+FFFF, a ZWJ sequence and a combining mark on a
// letter that has no precomposed form.
const versionsText = "Titre: cafe\u0301\r\n東京は日本の首都です。😀 Emoji 👩‍👩‍👧 family.\r\nq\u0307 ends it. " +
	"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."

func TestVersionTextChunksAndContent(t *testing.T) {
	t.Parallel()
	d := setupDocs(t, "")
	rec := call(t, d.h, d.key, http.MethodPost, "/v1/documents?wait=true",
		map[string]any{"name": "mixed.txt", "folder": "/kb/v", "text": versionsText})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	up := decodeBody[ingest.UploadResult](t, rec)
	base := "/v1/documents/" + up.Document.ID.String() + "/versions/1"

	t.Run("TextIsNormalisedWithBothLengths", func(t *testing.T) {
		rec := call(t, d.h, d.key, http.MethodGet, base+"/text", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		v := decodeBody[store.VersionText](t, rec)
		require.NotContains(t, v.Text, "\r")
		require.Contains(t, v.Text, "café", "NFC composes e + U+0301")
		require.Equal(t, len([]rune(v.Text)), v.Length)
		require.Equal(t, len(utf16.Encode([]rune(v.Text))), v.LengthUTF16)
		require.Greater(t, v.LengthUTF16, v.Length, "emoji take two UTF-16 units")
		require.True(t, v.IsCurrent)
		require.Equal(t, "ready", v.State)
		require.Equal(t, up.Version.ID, v.VersionID)
	})

	t.Run("ChunksRebuildTheTextAtTheirOffsets", func(t *testing.T) {
		text := decodeBody[store.VersionText](t, call(t, d.h, d.key, http.MethodGet, base+"/text", nil)).Text
		runes, units := []rune(text), utf16.Encode([]rune(text))
		rec := call(t, d.h, d.key, http.MethodGet, base+"/chunks?limit=1", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		page := decodeBody[store.ChunkPage](t, rec)
		require.Len(t, page.Data, 1)
		all := decodeBody[store.ChunkPage](t, call(t, d.h, d.key, http.MethodGet, base+"/chunks", nil))
		require.False(t, all.HasMore)
		require.Equal(t, len(all.Data) > 1, page.HasMore)
		for _, c := range all.Data {
			require.Equal(t, c.Content, string(runes[c.StartOffset:c.EndOffset]))
			require.Equal(t, c.Content, string(utf16.Decode(units[c.StartUTF16:c.EndUTF16])))
		}
	})

	t.Run("ContentIsTheOriginalBytes", func(t *testing.T) {
		rec := call(t, d.h, d.key, http.MethodGet, base+"/content", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, versionsText, rec.Body.String(), "CRLF and the decomposed accent are kept")
		require.Equal(t, up.Version.MimeType, rec.Header().Get("Content-Type"))
		require.Equal(t, "sandbox", rec.Header().Get("Content-Security-Policy"))
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, target, code, field string
			status                    int
		}{
			{"VersionNotANumber", base[:len(base)-1] + "x/text", CodeInvalidParameter, "version", 400},
			{"VersionZero", base[:len(base)-1] + "0/chunks", CodeInvalidParameter, "version", 400},
			{"BadDocumentID", "/v1/documents/nope/versions/1/text", CodeInvalidID, "document_id", 400},
			{"NoSuchVersion", base[:len(base)-1] + "9/text", store.CodeVersionNotFound, "", 404},
			{"NoSuchDocument", "/v1/documents/00000000-0000-7000-8000-000000000000/versions/1/content", store.CodeDocumentNotFound, "", 404},
			{"BadLimit", base + "/chunks?limit=0", CodeInvalidParameter, "limit", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				requireProblem(t, call(t, d.h, d.key, http.MethodGet, tc.target, nil), tc.status, tc.code, tc.field)
			})
		}
	})

	t.Run("BytesNotKeptBeforeMigration00006Are404", func(t *testing.T) {
		rec := call(t, d.h, d.key, http.MethodPost, "/v1/documents?wait=true", map[string]any{"name": "old.txt", "folder": "/kb/v", "text": "indexed long ago"})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		old := decodeBody[ingest.UploadResult](t, rec)
		_, err := d.pool.Exec(context.Background(), `UPDATE document_versions SET raw = NULL WHERE tenant_id = $1 AND id = $2`, d.tenant, old.Version.ID)
		require.NoError(t, err)
		requireProblem(t, call(t, d.h, d.key, http.MethodGet, "/v1/documents/"+old.Document.ID.String()+"/versions/1/content", nil), 404, store.CodeVersionNotFound, "")
	})

	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		requireProblem(t, call(t, d.h, d.key2, http.MethodGet, base+"/text", nil), 404, store.CodeDocumentNotFound, "")
	})
}
