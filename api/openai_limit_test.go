package api

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestApproxTokens(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "a": 1, "abcd": 1, "abcde": 2, "東京タワー": 2, "🎉🎉🎉🎉🎉🎉🎉🎉": 2} {
		require.Equal(t, want, approxTokens(in), in)
	}
}

// limitPieces pushes pieces through a limit and returns what was sent.
func limitPieces(stops []string, maxTokens int, pieces ...string) (string, string) {
	l := newTextLimit(stops, maxTokens)
	var b strings.Builder
	for _, p := range pieces {
		b.WriteString(l.push(p))
	}
	b.WriteString(l.flush())
	return b.String(), l.reason
}

func TestTextLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		stops     []string
		maxTokens int
		pieces    []string
		want      string
		reason    string
	}{
		{"NoLimitsPassesEverything", nil, 0, []string{"Paris ", "is [1]."}, "Paris is [1].", finishStop},
		{"CutsBeforeStopInOnePiece", []string{"[1]"}, 0, []string{"Paris is [1]. More"}, "Paris is", finishStop},
		{"CutsBeforeStopAcrossPieces", []string{"END"}, 0, []string{"Paris E", "N", "D after"}, "Paris", finishStop},
		{"ReleasesAHeldTailThatWasNoStop", []string{"END"}, 0, []string{"Paris E", "N", "x"}, "Paris ENx", finishStop},
		{"ReleasesHeldTailAtTheEnd", []string{"END"}, 0, []string{"Paris EN"}, "Paris EN", finishStop},
		{"EarliestOfSeveralStops", []string{"zz", "is"}, 0, []string{"Paris is zz"}, "Par", finishStop},
		{"EmptyStopIsIgnored", []string{""}, 0, []string{"abc"}, "abc", finishStop},
		{"TrimsWhiteSpaceAtBothEnds", nil, 0, []string{"\n Paris ", " is", " [1].\n", "\n"}, "Paris  is [1].", finishStop},
		{"TrimsBeforeAStop", []string{"["}, 0, []string{"Paris is [1]."}, "Paris is", finishStop},
		{"TruncatesAtTheBudget", nil, 2, []string{"abcdef", "ghijkl"}, "abcdefgh", finishLength},
		{"ExactBudgetIsNotTruncation", nil, 2, []string{"abcd", "efgh"}, "abcdefgh", finishStop},
		{"NeverSplitsAGraphemeCluster", nil, 1, []string{"abc👩‍👩‍👧x"}, "abc", finishLength},
		{"NeverSplitsACombiningMark", nil, 1, []string{"abce\u0301"}, "abc", finishLength},
		{"StopBeforeBudget", []string{"."}, 100, []string{"Short. Longer"}, "Short", finishStop},
		{"BudgetBeforeStop", []string{"."}, 1, []string{"Longer text."}, "Long", finishLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, reason := limitPieces(tc.stops, tc.maxTokens, tc.pieces...)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.reason, reason)
		})
	}
}

// FuzzTextLimit checks the streamed limit against the whole text cut at
// once: the same result however the text is split, never past the first
// stop sequence, never more code points than the budget.
func FuzzTextLimit(f *testing.F) {
	f.Add("Paris is the capital [1]. Le café 🎉 END more", "END", 3, 5)
	f.Add("aaab", "aab", 1, 0)
	f.Fuzz(func(t *testing.T, text, stop string, split, maxTokens int) {
		if !utf8.ValidString(text) || !utf8.ValidString(stop) || maxTokens < 0 || maxTokens > 1000 {
			return
		}
		whole, wholeReason := limitPieces([]string{stop}, maxTokens, text)
		var pieces []string
		if split > 0 {
			rs := []rune(text)
			for i := 0; i < len(rs); i += split {
				pieces = append(pieces, string(rs[i:min(i+split, len(rs))]))
			}
		} else {
			pieces = []string{text}
		}
		got, reason := limitPieces([]string{stop}, maxTokens, pieces...)
		if stop != "" {
			require.NotContains(t, got, stop)
		}
		if maxTokens > 0 {
			require.LessOrEqual(t, utf8.RuneCountInString(got), maxTokens*runesPerToken)
		}
		require.True(t, strings.HasPrefix(strings.TrimLeftFunc(text, unicode.IsSpace), got))
		if maxTokens == 0 {
			require.Equal(t, whole, got)
			require.Equal(t, wholeReason, reason)
		}
	})
}
