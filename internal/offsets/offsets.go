// Package offsets converts text offsets between the two units Cairn's API
// gives: Unicode code points (what every stored offset counts, on text
// normalised once at ingest: CRLF -> LF, NFC) and UTF-16 code units (what
// JavaScript strings index, so String.prototype.slice works on them).
// A code point above U+FFFF (most emoji, rare CJK) is two UTF-16 units;
// every other code point is one.
package offsets

import "unicode/utf8"

// UTF16Len is the length of s in UTF-16 code units (JavaScript's
// String.length). Invalid UTF-8 bytes count as U+FFFD, one unit each.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

// Index maps code point offsets of one text to UTF-16 offsets. Build one
// per text with NewIndex when several offsets of the same text are
// converted; Of(cp) then costs O(log n).
type Index struct {
	// wide holds, in order, the code point offsets of the runes that take
	// two UTF-16 units; the UTF-16 offset of cp is cp plus the number of
	// wide runes before it.
	wide []int
	n    int
}

// NewIndex indexes s.
func NewIndex(s string) Index {
	var ix Index
	for _, r := range s {
		if runeUnits(r) == 2 {
			ix.wide = append(ix.wide, ix.n)
		}
		ix.n++
	}
	return ix
}

// Len is the length of the indexed text in code points.
func (ix Index) Len() int { return ix.n }

// UTF16Len is the length of the indexed text in UTF-16 units.
func (ix Index) UTF16Len() int { return ix.n + len(ix.wide) }

// UTF16 is the UTF-16 offset of code point offset cp (clamped to
// 0..Len()).
func (ix Index) UTF16(cp int) int {
	cp = max(0, min(cp, ix.n))
	lo, hi := 0, len(ix.wide)
	for lo < hi { // first wide rune at or after cp
		mid := (lo + hi) / 2
		if ix.wide[mid] < cp {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return cp + lo
}

// Span is the UTF-16 start and length of the code point span
// [start, start+length) of the indexed text.
func (ix Index) Span(start, length int) (start16, length16 int) {
	start16 = ix.UTF16(start)
	return start16, ix.UTF16(start+length) - start16
}

// UTF16Of is the UTF-16 offset of code point offset cp in s (clamped to
// the length of s), for a single conversion.
func UTF16Of(s string, cp int) int {
	n, i := 0, 0
	for _, r := range s {
		if i == cp {
			break
		}
		n += runeUnits(r)
		i++
	}
	return n
}

func runeUnits(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}
