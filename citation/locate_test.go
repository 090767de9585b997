package citation_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/citation"
)

func TestLocate(t *testing.T) {
	t.Parallel()
	content := "Le café “Brûlé” — ouvert en 1999 🎉.\nIl sert du  thé vert 绿茶 aux   clients fidèles."
	cases := []struct {
		name, quote, want string
		ok                bool
	}{
		{"ExactMatchWithAccentsAndEmoji", "ouvert en 1999 🎉", "ouvert en 1999 🎉", true},
		{"ExactMatchCJK", "绿茶", "绿茶", true},
		{"NormalisedWhitespaceAndCase", "il sert du thé vert", "Il sert du  thé vert", true},
		{"NormalisedQuotesAndDashes", `café "Brûlé" - ouvert`, "café “Brûlé” — ouvert", true},
		{"FuzzySlightlyOff", "thé vert 绿茶 aux clients fideles", "thé vert 绿茶 aux   clients fidèles", true},
		{"RejectsInventedQuote", "the moon is made of cheese entirely", "", false},
		{"RejectsEmptyQuote", "   ", "", false},
		{"RejectsShortNearMiss", "thx", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, l, ok := citation.Locate(content, tc.quote)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.want, citation.Slice(content, s, l))
			}
		})
	}
}

func FuzzLocate(f *testing.F) {
	f.Add("Hello, wörld! 你好世界 🎉 done.", "wörld")
	f.Add("a  b\tc", "A B C")
	f.Add("abcdefghijklmnop", "abcdefgxijklmnop")
	f.Fuzz(func(t *testing.T, content, quote string) {
		if !utf8.ValidString(content) || !utf8.ValidString(quote) {
			return
		}
		s, l, ok := citation.Locate(content, quote)
		if !ok {
			return
		}
		n := utf8.RuneCountInString(content)
		if s < 0 || l <= 0 || s+l > n {
			t.Fatalf("span [%d,+%d) outside %d runes", s, l, n)
		}
		if strings.Contains(content, strings.TrimSpace(quote)) && citation.Slice(content, s, l) != strings.TrimSpace(quote) {
			t.Fatalf("exact quote %q located as %q", quote, citation.Slice(content, s, l))
		}
	})
}
