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
func Sentences(text string) []Sentence { return split(text, false) }

// QuotableSentences splits text like Sentences but reads it as Markdown:
// a fragment is never merged across a line break or blank line, an ATX
// heading line ("# Title") is a sentence of its own, and its span leaves
// out the heading markers, so a quoted span never starts with "#".
func QuotableSentences(text string) []Sentence { return split(text, true) }

func split(text string, markdown bool) []Sentence {
	r := []rune(text)
	var out []Sentence
	start := 0
	sealed := false // the last sentence must not absorb the next fragment
	emit := func(end int) {
		s, e := start, end
		lineStart := start == 0 || r[start-1] == '\n'
		start = end
		for s < e && unicode.IsSpace(r[s]) {
			s++
		}
		for e > s && unicode.IsSpace(r[e-1]) {
			e--
		}
		heading := false
		if markdown && lineStart {
			s, e, heading = headingSpan(r, s, e)
		}
		lineEnd := markdown && end > 0 && r[end-1] == '\n'
		if s == e {
			sealed = sealed || lineEnd
			return
		}
		if n := len(out); n > 0 && out[n-1].Length < 20 && !sealed && !heading {
			prev := out[n-1]
			out[n-1] = Sentence{Start: prev.Start, Length: e - prev.Start, Text: string(r[prev.Start:e])}
			sealed = lineEnd
			return
		}
		out = append(out, Sentence{Start: s, Length: e - s, Text: string(r[s:e])})
		sealed = heading || lineEnd
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

// headingSpan reports whether the trimmed line r[s:e] is an ATX heading
// (1 to 6 '#' then a space or the end) and returns its title's span
// without the opening and closing markers.
func headingSpan(r []rune, s, e int) (int, int, bool) {
	i := s
	for i < e && r[i] == '#' {
		i++
	}
	if i == s || i-s > 6 || (i < e && r[i] != ' ' && r[i] != '\t') {
		return s, e, false
	}
	for i < e && unicode.IsSpace(r[i]) {
		i++
	}
	j := e
	for j > i && r[j-1] == '#' {
		j--
	}
	if j < e && j > i && !unicode.IsSpace(r[j-1]) {
		j = e // "# C#" keeps its closing '#': it is part of the title
	}
	for j > i && unicode.IsSpace(r[j-1]) {
		j--
	}
	return i, j, true
}
