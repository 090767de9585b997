package chunk_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest/chunk"
)

// checkInvariants verifies the chunker's contract on text: chunks are in
// order, each equals its code point slice, none starts or ends with
// whitespace or exceeds the target, and together they cover every
// non-whitespace code point.
func checkInvariants(t testing.TB, text string, o chunk.Options, spans []chunk.Span) {
	t.Helper()
	r := []rune(text)
	covered := 0 // every rune before covered is in a chunk or whitespace
	prevStart, prevEnd := -1, -1
	for i, s := range spans {
		if s.Start <= prevStart || s.End < prevEnd {
			t.Fatalf("chunk %d [%d,%d) out of order after [%d,%d)", i, s.Start, s.End, prevStart, prevEnd)
		}
		if s.Start < 0 || s.End > len(r) || s.End <= s.Start {
			t.Fatalf("chunk %d [%d,%d) out of range (len %d)", i, s.Start, s.End, len(r))
		}
		if string(r[s.Start:s.End]) != s.Content {
			t.Fatalf("chunk %d content %q != slice %q", i, s.Content, string(r[s.Start:s.End]))
		}
		if !utf8.ValidString(s.Content) && utf8.ValidString(text) {
			t.Fatalf("chunk %d is not valid UTF-8", i)
		}
		if unicode.IsSpace(r[s.Start]) || unicode.IsSpace(r[s.End-1]) {
			t.Fatalf("chunk %d has surrounding whitespace", i)
		}
		if o.Target > 0 && s.End-s.Start > o.Target {
			t.Fatalf("chunk %d has %d code points, target %d", i, s.End-s.Start, o.Target)
		}
		for j := covered; j < s.Start; j++ {
			if !unicode.IsSpace(r[j]) {
				t.Fatalf("code point %d (%q) is in no chunk", j, r[j])
			}
		}
		covered = max(covered, s.End)
		prevStart, prevEnd = s.Start, s.End
	}
	for j := covered; j < len(r); j++ {
		if !unicode.IsSpace(r[j]) {
			t.Fatalf("trailing code point %d (%q) is in no chunk", j, r[j])
		}
	}
}

func TestSplitPrefersStructure(t *testing.T) {
	t.Parallel()
	text := "# One\n\nFirst paragraph is here. It has two sentences.\n\n# Two\n\nSecond paragraph follows with more words in it."
	spans := chunk.Split(text, chunk.Options{Target: 60, Overlap: 0})
	checkInvariants(t, text, chunk.Options{Target: 60}, spans)
	require.True(t, strings.HasPrefix(spans[1].Content, "# Two"), "second chunk starts at the heading: %q", spans[1].Content)
}

func TestSplitIsDeterministicAndOverlaps(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("alpha beta gamma delta epsilon. ", 100)
	o := chunk.Options{Target: 100, Overlap: 30}
	a, b := chunk.Split(text, o), chunk.Split(text, o)
	require.Equal(t, a, b)
	checkInvariants(t, text, o, a)
	for i := 1; i < len(a); i++ {
		require.Less(t, a[i].Start, a[i-1].End, "chunk %d overlaps the previous one", i)
	}
}

func TestSplitScriptsWithoutSpaces(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"chinese": strings.Repeat("北京是中华人民共和国的首都，也是全国的政治中心。", 30),
		"thai":    strings.Repeat("ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ", 30),
		"arabic":  strings.Repeat("اللغة العربية هي لغة سامية. ", 30),
		"hindi":   strings.Repeat("हिन्दी भारत की एक प्रमुख भाषा है। ", 30),
		"emoji":   strings.Repeat("👩‍👩‍👧‍👦🎉", 80),
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			o := chunk.Options{Target: 50, Overlap: 10}
			spans := chunk.Split(text, o)
			require.Greater(t, len(spans), 3)
			checkInvariants(t, text, o, spans)
			r := []rune(text)
			for _, s := range spans[:len(spans)-1] {
				require.False(t, unicode.IsMark(r[s.End]), "chunk ends before a combining mark")
			}
		})
	}
}

func TestSplitWhitespaceOnlyHasNoChunks(t *testing.T) {
	t.Parallel()
	require.Empty(t, chunk.Split(" \n\t\n ", chunk.Options{}))
	require.Empty(t, chunk.Split("", chunk.Options{}))
}

func FuzzSplit(f *testing.F) {
	f.Add("Hello world. This is a test.\n\n# Heading\n\nMore text.", 20, 5)
	f.Add("北京是中华人民共和国的首都。ภาษาไทย", 16, 4)
	f.Add("a\u0301\u0301\u0301\u0301b  c", 16, 8)
	f.Add("\xff\xfe broken utf8 \xc3", 16, 0)
	f.Fuzz(func(t *testing.T, text string, target, overlap int) {
		o := chunk.Options{Target: target%2000 + 1, Overlap: overlap % 1000}
		if o.Target < 16 {
			o.Target = 16
		}
		if o.Overlap < 0 {
			o.Overlap = -o.Overlap
		}
		if o.Overlap > o.Target/2 {
			o.Overlap = o.Target / 2
		}
		spans := chunk.Split(text, o)
		checkInvariants(t, text, o, spans)
		// Deterministic.
		again := chunk.Split(text, o)
		if len(again) != len(spans) {
			t.Fatalf("not deterministic")
		}
	})
}
