package citation

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGraphemeBoundaries(t *testing.T) {
	t.Parallel()
	text := "a👩‍👩‍👧b q\u0307 🇫🇷!" // ZWJ family (5 code points), q + combining dot, a flag (2)
	cases := []struct {
		name         string
		start, end   int
		onBoundaries bool
		snapS, snapL int
	}{
		{"WholeFamily", 1, 6, true, 1, 5},
		{"HalfTheFamily", 1, 3, false, 1, 5},
		{"InsideTheFamily", 2, 4, false, 1, 5},
		{"LetterWithoutMark", 8, 9, false, 8, 2},
		{"LetterWithMark", 8, 10, true, 8, 2},
		{"HalfAFlag", 11, 12, false, 11, 2},
		{"PlainASCII", 0, 1, true, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.onBoundaries, onBoundaries(text, tc.start, tc.end))
			s, l := SnapToGraphemes(text, tc.start, tc.end-tc.start)
			require.Equal(t, []int{tc.snapS, tc.snapL}, []int{s, l})
			require.True(t, onBoundaries(text, s, s+l))
		})
	}
}

func TestLocateNeverSplitsAGraphemeCluster(t *testing.T) {
	t.Parallel()
	content := "Our team 👩‍👩‍👧 met at the café."
	s, l, ok := Locate(content, "team 👩‍👩")
	require.True(t, ok)
	require.Equal(t, "team 👩‍👩‍👧", Slice(content, s, l))
}
