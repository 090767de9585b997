// Package textsearch owns the tokenisation shared by the text leg of
// search and by the offline embedder: words as runs of Unicode letters,
// marks and digits (so Hindi's combining vowel signs stay inside words),
// lower-cased and NFKC-normalised, and overlapping character bigrams for
// scripts written without spaces between words (Chinese, Japanese, Thai,
// Lao, Khmer, Myanmar), so that they can be matched without a dictionary.
package textsearch

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxTermBytes bounds one term; longer runs are cut (Postgres limits a
// lexeme to 2 KiB and such runs are never useful search terms).
const MaxTermBytes = 200

// unspaced reports whether r belongs to a script written without spaces
// between words.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai,
		unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan)
}

func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)
}

// Terms returns the search terms of s in order of appearance (with
// repeats, so callers can count term frequencies).
func Terms(s string) []string {
	s = strings.ToLower(norm.NFKC.String(s))
	var out []string
	runes := []rune(s)
	for i := 0; i < len(runes); {
		if !wordRune(runes[i]) {
			i++
			continue
		}
		j := i
		for j < len(runes) && wordRune(runes[j]) {
			j++
		}
		out = appendRun(out, runes[i:j])
		i = j
	}
	return out
}

// appendRun splits one run of word characters into spaced and unspaced
// segments: spaced segments are words, unspaced ones become bigrams.
func appendRun(out []string, run []rune) []string {
	for i := 0; i < len(run); {
		cjk := unspaced(run[i])
		j := i + 1
		for j < len(run) && (unspaced(run[j]) == cjk || (cjk && unicode.IsMark(run[j]))) {
			j++
		}
		seg := run[i:j]
		if !cjk {
			out = append(out, clip(string(seg)))
		} else {
			out = appendBigrams(out, seg)
		}
		i = j
	}
	return out
}

// appendBigrams emits overlapping bigrams of seg, keeping combining marks
// (Thai vowels and tones) attached to their base character.
func appendBigrams(out []string, seg []rune) []string {
	var units []string
	for i := 0; i < len(seg); {
		j := i + 1
		for j < len(seg) && unicode.IsMark(seg[j]) {
			j++
		}
		units = append(units, string(seg[i:j]))
		i = j
	}
	if len(units) == 1 {
		return append(out, units[0])
	}
	for i := 0; i+1 < len(units); i++ {
		out = append(out, units[i]+units[i+1])
	}
	return out
}

func clip(t string) string {
	if len(t) <= MaxTermBytes {
		return t
	}
	cut := MaxTermBytes
	for cut > 0 && !utfStart(t[cut]) {
		cut--
	}
	return t[:cut]
}

func utfStart(b byte) bool { return b&0xC0 != 0x80 }

// Document returns the space-separated terms of s, the form stored in
// chunks.search_terms (Postgres turns it into a tsvector with the
// 'simple' configuration, one lexeme per term, positions kept).
func Document(s string) string {
	return strings.Join(Terms(s), " ")
}

// Query returns a tsquery (as text, for a $n::tsquery parameter) that
// matches any of the distinct terms of s, or "" when s has none.
func Query(s string) string {
	seen := map[string]bool{}
	var parts []string
	for _, t := range Terms(s) {
		if seen[t] {
			continue
		}
		seen[t] = true
		parts = append(parts, quoteLexeme(t))
	}
	return strings.Join(parts, " | ")
}

func quoteLexeme(t string) string {
	t = strings.ReplaceAll(t, `\`, `\\`)
	return "'" + strings.ReplaceAll(t, "'", "''") + "'"
}
