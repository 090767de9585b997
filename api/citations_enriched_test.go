package api_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/threads"
)

// tokyoText puts the cited sentence after CJK text, emoji above U+FFFF, a
// ZWJ sequence and a combining mark, so code point and UTF-16 offsets
// differ.
const tokyoText = "東京は日本の首都です。🗼🎌 Families 👩‍👩‍👧 and cafe\u0301 corners, q\u0307 marks.\n\n" +
	"The Sumida river flows through eastern Tokyo past Asakusa."

// jsSlice returns text.slice(start, start+length) as node computes it.
func jsSlice(t *testing.T, text string, start, length int) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	in, err := json.Marshal(map[string]any{"text": text, "start": start, "length": length})
	require.NoError(t, err)
	cmd := exec.Command(node, "-e", `let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const p=JSON.parse(d);process.stdout.write(JSON.stringify(p.text.slice(p.start,p.start+p.length)))})`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	require.NoError(t, err)
	var s string
	require.NoError(t, json.Unmarshal(out, &s))
	return s
}

func TestEnrichedCitationsForFrontends(t *testing.T) {
	t.Parallel()
	a := newAskServer(t, answer.Extractive{})
	doc := a.upload(t, "/kb/jp", "tokyo.txt", tokyoText)
	th := a.thread(t)
	base := "/v1/threads/" + th + "/messages"

	code, body := a.do(t, "GET", "/v1/documents/"+doc.Document.ID.String()+"/versions/1/chunks", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var chunks struct {
		Data []struct {
			ID          string `json:"id"`
			Content     string `json:"content"`
			StartOffset int    `json:"start_offset"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &chunks))
	ch := chunks.Data[0]
	quote := "The Sumida river flows through eastern Tokyo"
	start := len([]rune(ch.Content[:strings.Index(ch.Content, quote)]))
	raw := map[string]any{"chunk_id": ch.ID, "quote": quote, "start_char": start, "length": len([]rune(quote)), "marker": 1}

	code, body = a.do(t, "POST", base, map[string]any{"role": "ASSISTANT", "content": map[string]any{"text": "The Sumida [1].", "citations": []any{raw}}})
	require.Equal(t, http.StatusCreated, code, string(body))
	var m threads.Message
	require.NoError(t, json.Unmarshal(body, &m))
	c := m.Content.Citations[0]

	t.Run("OffsetsInBothUnitsAndIsCurrent", func(t *testing.T) {
		code, body := a.do(t, "GET", "/v1/documents/"+doc.Document.ID.String()+"/versions/1/text", nil)
		require.Equal(t, http.StatusOK, code)
		var v struct{ Text string }
		require.NoError(t, json.Unmarshal(body, &v))
		require.Equal(t, 1, c.Marker)
		require.True(t, *c.IsCurrent)
		require.Equal(t, ch.StartOffset+start, *c.VersionStartChar)
		require.Equal(t, quote, string([]rune(v.Text)[*c.VersionStartChar:*c.VersionStartChar+c.Length]))
		require.Equal(t, len(utf16.Encode([]rune(quote))), *c.LengthUTF16)
		require.Equal(t, len(utf16.Encode([]rune(ch.Content)[:start])), *c.StartUTF16)
		require.Greater(t, *c.VersionStartUTF16, *c.VersionStartChar, "emoji before the quote take two units each")
		require.Equal(t, quote, jsSlice(t, v.Text, *c.VersionStartUTF16, *c.LengthUTF16), "JavaScript slice of the version text")
		require.Equal(t, quote, jsSlice(t, ch.Content, *c.StartUTF16, *c.LengthUTF16), "JavaScript slice of the chunk content")
	})

	t.Run("ReadCitationPostsBackUnchanged", func(t *testing.T) {
		code, body := a.do(t, "POST", base, map[string]any{"role": "ASSISTANT",
			"content": map[string]any{"text": m.Content.Text, "citations": m.Content.Citations}})
		require.Equal(t, http.StatusCreated, code, string(body))
	})

	t.Run("PathPartIDIsAValidReference", func(t *testing.T) {
		code, body := a.do(t, "POST", base, map[string]any{"role": "USER",
			"content": map[string]any{"text": "see this", "references": []any{map[string]any{"path_part_id": c.PathPartID}}}})
		require.Equal(t, http.StatusCreated, code, string(body))
		var r threads.Message
		require.NoError(t, json.Unmarshal(body, &r))
		require.Equal(t, "chunk", r.Content.References[0].RefType)
		require.Equal(t, *c.MaterializedPath, *r.Content.References[0].MaterializedPath)
	})

	t.Run("SplitGraphemeClusterIs422", func(t *testing.T) {
		family := "👩‍👩‍👧"
		at := func(sub string) int { return len([]rune(ch.Content[:strings.Index(ch.Content, sub)])) }
		for _, tc := range []struct{ name, quote, from string }{
			{"FirstPersonOfAZWJFamily", "👩", family},
			{"TwoPeopleOfTheFamily", "👩‍👩", family},
			{"EndsInsideTheFamily", "Families 👩‍", "Families"},
			{"LetterWithoutItsCombiningMark", "q", "q\u0307"}, // no precomposed q̇: NFC keeps two code points
		} {
			cit := map[string]any{"chunk_id": ch.ID, "quote": tc.quote, "start_char": at(tc.from), "length": len([]rune(tc.quote))}
			code, body := a.do(t, "POST", base, map[string]any{"role": "ASSISTANT", "content": map[string]any{"text": "x", "citations": []any{cit}}})
			require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", tc.name, body)
			var p struct{ Code, Field, Detail string }
			require.NoError(t, json.Unmarshal(body, &p))
			require.Equal(t, citation.CodeInvalid, p.Code, tc.name)
			require.Equal(t, "content.citations[0]", p.Field, tc.name)
			require.Contains(t, p.Detail, "grapheme cluster", tc.name)
		}
		cit := map[string]any{"chunk_id": ch.ID, "quote": family, "start_char": at(family), "length": len([]rune(family))}
		code, body := a.do(t, "POST", base, map[string]any{"role": "ASSISTANT", "content": map[string]any{"text": "x", "citations": []any{cit}}})
		require.Equal(t, http.StatusCreated, code, "the whole cluster is fine: %s", body)
	})

	t.Run("NewVersionMakesTheCitationOutdated", func(t *testing.T) {
		a.upload(t, "/kb/jp", "tokyo.txt", tokyoText+"\n\nA second version.")
		code, body := a.do(t, "GET", base+"/"+m.ID.String(), nil)
		require.Equal(t, http.StatusOK, code)
		var again threads.Message
		require.NoError(t, json.Unmarshal(body, &again))
		require.False(t, *again.Content.Citations[0].IsCurrent)
		require.Equal(t, 1, *again.Content.Citations[0].VersionNumber)
	})

	t.Run("StreamedCitationEventsAreEnriched", func(t *testing.T) {
		req := map[string]any{"content": map[string]any{"text": "Which river flows through eastern Tokyo?"}, "stream": true}
		code, body := a.do(t, "POST", "/v1/threads/"+th+"/user_message", req, "Accept", "text/event-stream")
		require.Equal(t, http.StatusOK, code, string(body))
		evs := readEvents(t, strings.NewReader(string(body)), "done")
		n := 0
		for _, ev := range evs {
			if ev.name != "citation" {
				continue
			}
			n++
			var got citation.Citation
			require.NoError(t, json.Unmarshal([]byte(ev.data), &got))
			require.NotNil(t, got.Source, ev.data)
			require.NotNil(t, got.DocumentID, ev.data)
			require.NotNil(t, got.VersionStartUTF16, ev.data)
			require.Positive(t, got.Marker, ev.data)
		}
		require.Positive(t, n)
	})
}
