package citation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fuzzy matching bounds: quotes and chunks longer than these are only
// matched exactly or normalised, so a hostile quote cannot cost more than
// maxFuzzyQuote*maxFuzzyText cell updates.
const (
	maxFuzzyQuote = 600
	maxFuzzyText  = 20000
	// MinSimilarity is the least similarity (1 - edits/quote length) a
	// fuzzy match needs.
	MinSimilarity = 0.85
)

// Locate finds quote in content and returns its span in code points:
// first an exact match, then a normalised one (case, whitespace runs,
// typographic quotes and dashes) mapped back to the original offsets, then
// a bounded fuzzy match (edit distance, similarity at least
// MinSimilarity), widened to whole grapheme clusters (SnapToGraphemes).
// The span content[start:start+length] (in runes) is the
// text to store as the citation's quote; ok is false when nothing close
// enough exists.
func Locate(content, quote string) (start, length int, ok bool) {
	start, length, ok = locate(content, quote)
	if ok {
		start, length = SnapToGraphemes(content, start, length)
	}
	return start, length, ok
}

// locate is Locate before the span is widened to whole grapheme clusters.
func locate(content, quote string) (start, length int, ok bool) {
	q := strings.TrimSpace(quote)
	if q == "" || content == "" {
		return 0, 0, false
	}
	if i := strings.Index(content, q); i >= 0 {
		return utf8.RuneCountInString(content[:i]), utf8.RuneCountInString(q), true
	}
	text, tmap := normalize([]rune(content))
	nq, _ := normalize([]rune(q))
	if len(nq) == 0 {
		return 0, 0, false
	}
	if i := indexRunes(text, nq); i >= 0 {
		s, e := tmap[i], tmap[i+len(nq)-1]+1
		return s, e - s, true
	}
	if len(nq) > maxFuzzyQuote || len(text) > maxFuzzyText || len(nq) < 8 {
		return 0, 0, false
	}
	end, dist := bestEnd(text, nq)
	if end < 0 || 1-float64(dist)/float64(len(nq)) < MinSimilarity {
		return 0, 0, false
	}
	// The start is the best end of the reversed quote in the reversed prefix.
	rt := reverse(text[:end])
	rs, _ := bestEnd(rt, reverse(nq))
	begin := end - rs
	for begin < end && text[begin] == ' ' {
		begin++
	}
	last := end - 1
	for last > begin && text[last] == ' ' {
		last--
	}
	if begin > last {
		return 0, 0, false
	}
	s, e := tmap[begin], tmap[last]+1
	return s, e - s, true
}

// normalize lowercases, folds typographic quotes and dashes, and collapses
// whitespace runs to one space; m maps each output rune to its input index.
func normalize(in []rune) (out []rune, m []int) {
	out = make([]rune, 0, len(in))
	m = make([]int, 0, len(in))
	space := true // drop leading space
	for i, r := range in {
		if unicode.IsSpace(r) {
			if !space {
				out = append(out, ' ')
				m = append(m, i)
				space = true
			}
			continue
		}
		space = false
		out = append(out, fold(r))
		m = append(m, i)
	}
	if n := len(out); n > 0 && out[n-1] == ' ' {
		out, m = out[:n-1], m[:n-1]
	}
	return out, m
}

func fold(r rune) rune {
	switch r {
	case '\u2018', '\u2019', '\u201a', '\u201b', '\u2032', '`', '\u00b4':
		return '\''
	case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033', '\u00ab', '\u00bb':
		return '"'
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212':
		return '-'
	case '\u2026':
		return '.'
	}
	return unicode.ToLower(r)
}

func indexRunes(text, q []rune) int {
	for i := 0; i+len(q) <= len(text); i++ {
		if text[i] != q[0] {
			continue
		}
		j := 1
		for j < len(q) && text[i+j] == q[j] {
			j++
		}
		if j == len(q) {
			return i
		}
	}
	return -1
}

// bestEnd is Sellers' approximate substring search: the exclusive end in
// text of the substring with the least edit distance to q (the leftmost
// on ties), and that distance.
func bestEnd(text, q []rune) (end, dist int) {
	m := len(q)
	col := make([]int, m+1)
	for j := range col {
		col[j] = j
	}
	end, dist = -1, m+1
	for i := 0; i < len(text); i++ {
		prevDiag := col[0] // D[i][0] = 0 (free start)
		col[0] = 0
		for j := 1; j <= m; j++ {
			cost := 1
			if q[j-1] == text[i] {
				cost = 0
			}
			v := min(prevDiag+cost, col[j]+1, col[j-1]+1)
			prevDiag = col[j]
			col[j] = v
		}
		if col[m] < dist {
			end, dist = i+1, col[m]
		}
	}
	return end, dist
}

func reverse(r []rune) []rune {
	out := make([]rune, len(r))
	for i, x := range r {
		out[len(r)-1-i] = x
	}
	return out
}

// Slice returns content's runes [start, start+length), or "" when the span
// is out of range.
func Slice(content string, start, length int) string {
	r := []rune(content)
	if start < 0 || length < 0 || start+length > len(r) {
		return ""
	}
	return string(r[start : start+length])
}
