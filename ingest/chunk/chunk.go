// Package chunk owns chunking: a version's text becomes chunks with exact
// code point offsets into it (Split, SplitPages), and each chunk's
// materialized path in the tree (Path, PathSQL). It is pure: no database.
package chunk

import (
	"unicode"
)

// Options configure the chunker. Sizes are in code points.
type Options struct {
	// Target is the largest chunk, in code points.
	Target int
	// Overlap is how many code points of the previous chunk's end the next
	// chunk repeats (at a word boundary where there is one).
	Overlap int
}

// Defaults for Options.
const (
	// TargetDefault is the largest chunk when Options.Target is 0.
	TargetDefault = 800
	// TargetMin is the smallest target honoured.
	TargetMin = 16
)

// WithDefaults returns o with a zero Target set to TargetDefault (a zero
// Overlap means no overlap) and every field clamped to what Split
// honours: Target at least TargetMin, Overlap between 0 and Target/2.
func (o Options) WithDefaults() Options {
	if o.Target <= 0 {
		o.Target = TargetDefault
	}
	if o.Target < TargetMin {
		o.Target = TargetMin
	}
	if o.Overlap < 0 {
		o.Overlap = 0
	}
	if o.Overlap > o.Target/2 {
		o.Overlap = o.Target / 2
	}
	return o
}

// Span is one chunk of a text: Content equals the text's code points
// [Start, End).
type Span struct {
	Start, End int
	Content    string
}

// Break levels, best first: a heading starts, a paragraph ends, a line
// ends, a sentence ends, a word ends, any code point boundary that does
// not separate a combining mark from its base.
const (
	breakNone = iota
	breakChar
	breakWord
	breakSentence
	breakLine
	breakParagraph
	breakHeading
)

// Split splits text into chunks of at most o.Target code points,
// preferring to break before headings, then between paragraphs, lines,
// sentences and words; consecutive chunks overlap by about o.Overlap code
// points. Leading and trailing whitespace of every chunk is skipped;
// whitespace-only text has no chunks. Deterministic.
func Split(text string, o Options) []Span {
	o = o.WithDefaults()
	r := []rune(text)
	n := len(r)
	var out []Span
	s := skipSpace(r, 0, n)
	for s < n {
		var b int
		if n-s <= o.Target {
			b = n
		} else {
			b = bestBreak(r, s+o.Target, s+o.Target/2)
		}
		e := b
		for e > s && unicode.IsSpace(r[e-1]) {
			e--
		}
		if e > s {
			out = append(out, Span{Start: s, End: e, Content: string(r[s:e])})
		}
		if b >= n {
			break
		}
		next := b
		// At most half the chunk repeats, so every step makes progress.
		if ov := min(o.Overlap, (e-s)/2); ov > 0 {
			next = overlapStart(r, e-ov, e, b)
			// Overlap only when the next chunk reaches new text.
			if q := skipSpace(r, b, n); q-next > o.Target/2 && n-next > o.Target {
				next = b
			}
		}
		s = skipSpace(r, next, n)
	}
	return out
}

// bestBreak returns the end (exclusive) of a chunk: the
// latest position in (min, max] with the best break level; max when none.
func bestBreak(r []rune, max, min int) int {
	best, bestLevel := max, breakNone
	for p := max; p > min; p-- {
		l := breakLevel(r, p)
		if l > bestLevel {
			best, bestLevel = p, l
			if l == breakHeading {
				break
			}
		}
	}
	if bestLevel == breakNone {
		// Only combining marks in the window: never split a code point,
		// but a mark run may be split as a last resort.
		return max
	}
	return best
}

// breakLevel rates breaking the text before r[p].
func breakLevel(r []rune, p int) int {
	if p <= 0 || p >= len(r) {
		return breakParagraph
	}
	cur, prev := r[p], r[p-1]
	if unicode.IsMark(cur) || unicode.Is(unicode.Join_Control, cur) || unicode.Is(unicode.Join_Control, prev) {
		return breakNone
	}
	if prev == '\n' {
		if cur == '#' {
			return breakHeading
		}
		if p >= 2 && isBlankLineBefore(r, p) {
			return breakParagraph
		}
		return breakLine
	}
	if unicode.IsSpace(prev) && !unicode.IsSpace(cur) {
		if p >= 2 && isSentenceEnd(r[p-2]) {
			return breakSentence
		}
		return breakWord
	}
	if isCJKSentenceEnd(prev) {
		return breakSentence
	}
	if unicode.IsSpace(cur) || unicode.IsSpace(prev) {
		return breakChar
	}
	if unspacedScript(prev) && unspacedScript(cur) {
		// No word spaces: between two characters of Chinese/Thai is
		// better than inside a Latin word.
		return breakWord
	}
	return breakChar
}

func isBlankLineBefore(r []rune, p int) bool {
	// r[p-1] is '\n'; look back over spaces for another '\n'.
	for i := p - 2; i >= 0; i-- {
		switch r[i] {
		case '\n':
			return true
		case ' ', '\t', '\r':
			continue
		default:
			return false
		}
	}
	return false
}

func isSentenceEnd(c rune) bool {
	switch c {
	case '.', '!', '?', ';', ':', '\u0964', '\u0965', '\u061F', '\u06D4', '\u3002', '\uFF01', '\uFF1F', '"', '\'', ')', '\u201D':
		return true
	}
	return false
}

func isCJKSentenceEnd(c rune) bool {
	switch c {
	case '\u3002', '\uFF01', '\uFF1F', '\uFF1B', '\u0964', '\u0965':
		return true
	}
	return false
}

func unspacedScript(c rune) bool {
	return unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// overlapStart returns where the next chunk starts: the first word start
// in [p, e), or limit when there is none (no overlap rather than a cut
// inside a word).
func overlapStart(r []rune, p, e, limit int) int {
	for q := p; q < e; q++ {
		if breakLevel(r, q) >= breakWord {
			return q
		}
	}
	return limit
}

func skipSpace(r []rune, i, n int) int {
	for i < n && unicode.IsSpace(r[i]) {
		i++
	}
	return i
}

// SplitPages splits text whose pages start at the code point offsets
// pageStarts (ascending; none for text without pages) one page at a
// time, so that no chunk spans two pages. Offsets are into text.
func SplitPages(text string, pageStarts []int, o Options) []Span {
	if len(pageStarts) == 0 {
		return Split(text, o)
	}
	r := []rune(text)
	var out []Span
	for i, s := range pageStarts {
		end := len(r)
		if i+1 < len(pageStarts) {
			end = pageStarts[i+1]
		}
		if end <= s {
			continue
		}
		for _, sp := range Split(string(r[s:end]), o) {
			out = append(out, Span{Start: sp.Start + s, End: sp.End + s, Content: sp.Content})
		}
	}
	return out
}
