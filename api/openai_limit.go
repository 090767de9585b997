package api

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// runesPerToken is the approximation of token counts on the OpenAI
// surface: a token is taken as 4 code points (OpenAI's rule of thumb for
// English), rounded up. Cairn's answers come from models whose
// tokenizers differ (or from no model at all), so usage is an estimate
// unless the model reported its own counts.
const runesPerToken = 4

// approxTokens estimates the tokens of s: its code points / 4, rounded up.
func approxTokens(s string) int {
	return (utf8.RuneCountInString(s) + runesPerToken - 1) / runesPerToken
}

// Finish reasons of a chat completion choice.
const (
	finishStop   = "stop"
	finishLength = "length"
)

// textLimit applies a completion's stop sequences and token budget to an
// answer that arrives in pieces: push returns what may be sent now, and
// holds back a tail that could be the start of a stop sequence; flush
// releases it at the end. The text is cut before the first stop
// sequence (which is not sent, as with OpenAI) or after maxRunes code
// points, at a grapheme cluster boundary of the piece being cut. White
// space at the start and the end of the answer is dropped (the stored
// and non-streamed answers are trimmed too).
type textLimit struct {
	stops    []string
	maxRunes int // 0: no budget
	pending  string
	sent     int // code points sent
	done     bool
	reason   string
	text     strings.Builder
}

// newTextLimit returns a limit for stop sequences (empty ones are
// ignored) and a budget of maxTokens tokens (0: none).
func newTextLimit(stops []string, maxTokens int) *textLimit {
	l := &textLimit{maxRunes: maxTokens * runesPerToken, reason: finishStop}
	for _, s := range stops {
		if s != "" {
			l.stops = append(l.stops, s)
		}
	}
	return l
}

// push adds a piece of answer text and returns the text to send now.
func (l *textLimit) push(piece string) string {
	if l.done {
		return ""
	}
	buf := l.pending + piece
	l.pending = ""
	cut := -1
	for _, s := range l.stops {
		if i := strings.Index(buf, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		buf = buf[:cut]
		l.done = true
	} else {
		if hold := l.heldTail(buf); hold > 0 {
			l.pending = buf[len(buf)-hold:]
			buf = buf[:len(buf)-hold]
		}
		// Trailing white space waits for more text: the answer ends
		// without it, as the stored answer does.
		trimmed := strings.TrimRightFunc(buf, unicode.IsSpace)
		l.pending = buf[len(trimmed):] + l.pending
		buf = trimmed
	}
	return l.emit(buf)
}

// flush ends the text and returns what was held back.
func (l *textLimit) flush() string {
	if l.done {
		return ""
	}
	buf := l.pending
	l.pending, l.done = "", true
	return l.emit(buf)
}

// trimEnd drops white space at the start of the answer (nothing sent
// yet) and, once it is done, at its end.
func (l *textLimit) trimEnd(s string) string {
	if l.sent == 0 {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if l.done {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// heldTail is the length in bytes of the longest tail of buf that is a
// proper prefix of a stop sequence.
func (l *textLimit) heldTail(buf string) int {
	best := 0
	for _, s := range l.stops {
		for k := min(len(s)-1, len(buf)); k > best; k-- {
			if strings.HasSuffix(buf, s[:k]) {
				best = k
				break
			}
		}
	}
	return best
}

// emit applies the token budget to s, records and returns what is sent.
func (l *textLimit) emit(s string) string {
	s = l.trimEnd(s)
	if l.maxRunes > 0 {
		left := l.maxRunes - l.sent
		if n := utf8.RuneCountInString(s); n > left || (n == left && l.pending != "") {
			l.done, l.reason, l.pending = true, finishLength, ""
			s = l.trimEnd(graphemePrefix(s, left))
		}
	}
	l.sent += utf8.RuneCountInString(s)
	l.text.WriteString(s)
	return s
}

// graphemePrefix returns the longest prefix of s made of whole grapheme
// clusters with at most n code points.
func graphemePrefix(s string, n int) string {
	end, runes := 0, 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		r := len(g.Runes())
		if runes+r > n {
			break
		}
		runes += r
		_, end = g.Positions()
	}
	return s[:end]
}
