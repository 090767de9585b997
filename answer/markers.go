package answer

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/cairn-rag/cairn/citation"
)

// markerRE matches a citation marker "[n]" in answer text.
var markerRE = regexp.MustCompile(`\[(\d{1,4})\]`)

// markers renumbers an answer's citation markers: an answerer writes
// "[n]" with n the source number (and sets Citation.Marker to it); the
// pipeline numbers the sources 1, 2, … in order of first use (in the text,
// or by a citation when the text never names its source), so the "[n]" of
// the streamed text, the stored text, the citation events and the stored
// citations agree. It is a Sink wrapper: deltas are rewritten as they
// stream, holding back only a trailing "[12" that may be a split marker.
type markers struct {
	next    Sink
	bySrc   map[int]int
	pending string
}

func newMarkers(next Sink) *markers { return &markers{next: next, bySrc: map[int]int{}} }

// number returns the marker of source src, assigning the next one on
// first use.
func (m *markers) number(src int) int {
	if n, ok := m.bySrc[src]; ok {
		return n
	}
	n := len(m.bySrc) + 1
	m.bySrc[src] = n
	return n
}

// rewrite renumbers the markers of complete text.
func (m *markers) rewrite(text string) string {
	return markerRE.ReplaceAllStringFunc(text, func(s string) string {
		src, _ := strconv.Atoi(s[1 : len(s)-1])
		if src == 0 {
			return s // not a source number ("a[0]" in code)
		}
		return "[" + strconv.Itoa(m.number(src)) + "]"
	})
}

// Delta rewrites text, holding back a possible split marker at its end.
func (m *markers) Delta(text string) {
	s := m.pending + text
	m.pending = ""
	if i := strings.LastIndexByte(s, '['); i >= 0 && !strings.Contains(s[i:], "]") && len(s)-i <= 5 && isDigits(s[i+1:]) {
		s, m.pending = s[:i], s[i:]
	}
	if s != "" {
		m.next.Delta(m.rewrite(s))
	}
}

// flush sends a held-back fragment (at the end of the answer).
func (m *markers) flush() {
	if m.pending != "" {
		p := m.pending
		m.pending = ""
		m.next.Delta(p)
	}
}

// Citation renumbers c's marker (its source number).
func (m *markers) Citation(c citation.Citation) {
	m.flush()
	m.next.Citation(m.cite(c))
}

func (m *markers) cite(c citation.Citation) citation.Citation {
	if c.Marker > 0 {
		c.Marker = m.number(c.Marker)
	}
	return c
}

// Step renumbers the accepted citations of a citations step.
func (m *markers) Step(st Step) {
	m.flush()
	if cs, ok := st.Data["accepted"].([]citation.Citation); ok {
		out := make([]citation.Citation, len(cs))
		for i, c := range cs {
			out[i] = m.cite(c)
		}
		data := make(map[string]any, len(st.Data))
		for k, v := range st.Data {
			data[k] = v
		}
		data["accepted"] = out
		st.Data = data
	}
	m.next.Step(st)
}

// result renumbers a finished answer with the numbering streamed so far.
func (m *markers) result(res Result) Result {
	m.flush()
	res.Text = m.rewrite(res.Text)
	cs := make([]citation.Citation, len(res.Citations))
	for i, c := range res.Citations {
		cs[i] = m.cite(c)
	}
	if res.Citations != nil {
		res.Citations = cs
	}
	return res
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
