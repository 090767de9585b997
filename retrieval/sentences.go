package retrieval

import "unicode"

// Sentence is a span of a chunk's content in code points.
type Sentence struct {
	Start, Length int
	Text          string
}

// Sentences splits text into sentences (., !, ?, their CJK, Arabic and
// Devanagari forms, line breaks, and spaces inside Thai text), merging
// fragments shorter than 20 code points into their successor.
func Sentences(text string) []Sentence {
	r := []rune(text)
	var out []Sentence
	start := 0
	emit := func(end int) {
		s, e := start, end
		for s < e && unicode.IsSpace(r[s]) {
			s++
		}
		for e > s && unicode.IsSpace(r[e-1]) {
			e--
		}
		start = end
		if s == e {
			return
		}
		if n := len(out); n > 0 && out[n-1].Length < 20 {
			prev := out[n-1]
			out[n-1] = Sentence{Start: prev.Start, Length: e - prev.Start, Text: string(r[prev.Start:e])}
			return
		}
		out = append(out, Sentence{Start: s, Length: e - s, Text: string(r[s:e])})
	}
	for i, c := range r {
		next := rune(' ')
		if i+1 < len(r) {
			next = r[i+1]
		}
		switch {
		case c == '\n':
			emit(i + 1)
		case c == '。' || c == '！' || c == '？' || c == '।' || c == '؟':
			emit(i + 1)
		case (c == '.' || c == '!' || c == '?') && unicode.IsSpace(next):
			emit(i + 1)
		case c == ' ' && i > 0 && unicode.Is(unicode.Thai, r[i-1]) && i-start >= 40:
			emit(i + 1)
		}
	}
	emit(len(r))
	return out
}
