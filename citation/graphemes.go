package citation

import "github.com/rivo/uniseg"

// A citation never splits a user-perceived character: its start and end
// are grapheme cluster boundaries (Unicode UAX #29, by rivo/uniseg) of
// the chunk's content, so a span never holds half of a ZWJ emoji, a flag
// or a letter without its combining mark.

// graphemeBounds returns the code point offsets of content's grapheme
// cluster boundaries (0 and the length included), ascending.
func graphemeBounds(content string) []int {
	bounds := []int{0}
	n := 0
	g := uniseg.NewGraphemes(content)
	for g.Next() {
		n += len(g.Runes())
		bounds = append(bounds, n)
	}
	return bounds
}

// onBoundaries reports whether code point offsets start and end are both
// grapheme cluster boundaries of content.
func onBoundaries(content string, start, end int) bool {
	okStart, okEnd := false, false
	for _, b := range graphemeBounds(content) {
		okStart = okStart || b == start
		okEnd = okEnd || b == end
	}
	return okStart && okEnd
}

// SnapToGraphemes widens the code point span [start, start+length) of
// content to the nearest enclosing grapheme cluster boundaries.
func SnapToGraphemes(content string, start, length int) (int, int) {
	end := start + length
	s, e := 0, end
	for _, b := range graphemeBounds(content) {
		if b <= start {
			s = b
		}
		if b >= end {
			e = b
			break
		}
	}
	return s, e - s
}
