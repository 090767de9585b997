package answer

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/textsearch"
)

// NotFoundText is the extractive answer when no source is relevant.
const NotFoundText = "I could not find anything in the knowledge base that answers this question."

// Extractive is the offline answerer: it picks the sentences of the
// retrieved chunks that best answer the question (IDF-weighted term
// overlap, with bigrams for unspaced scripts as textsearch tokenises),
// composes a short answer from them and cites each sentence as an exact
// span, so its citations are exact by construction.
type Extractive struct {
	// MaxSentences is the most sentences cited (default 2).
	MaxSentences int
	// SecondRatio is how close (score ratio) a further sentence must come to
	// the best one to be cited too (default 0.5).
	SecondRatio float64
	// MinCoverage is the least share of the question's term weight the best
	// sentence must cover to count as relevant (default MinCoverageDefault).
	MinCoverage float64
}

// MinCoverageDefault is the relevance below which the extractive answerer
// declines. Calibrated on XQuAD: every question asked against its own
// corpus (answerable) and against another article's (unanswerable), one
// threshold for all languages, the highest that keeps false declines at
// most 0.05 in each; make eval reports both rates.
const MinCoverageDefault = 0.16

// Name names the extractive answerer.
func (Extractive) Name() string { return "extractive" }

// Sentence is a span of a chunk's content in code points.
type Sentence = retrieval.Sentence

// Sentences splits text into the sentences the answerer may quote; see
// retrieval.QuotableSentences (Markdown headings and blank lines break
// sentences, and no quote starts with a heading marker).
func Sentences(text string) []Sentence { return retrieval.QuotableSentences(text) }

type candidate struct {
	source int // 1-based
	sent   Sentence
	index  int // in the candidate list before sorting
	score  float64
}

// contextWeight is the weight of a term that only the earlier turn of a
// follow-up (Request.Context) has.
const contextWeight = 0.5

// Answer composes the answer from the best sentences of req.Sources.
func (x Extractive) Answer(ctx context.Context, req Request, sink Sink) (Result, error) {
	if x.MaxSentences <= 0 {
		x.MaxSentences = 2
	}
	if x.SecondRatio <= 0 {
		x.SecondRatio = 0.5
	}
	if x.MinCoverage <= 0 {
		x.MinCoverage = MinCoverageDefault
	}
	best, coverage := x.rank(req)
	var res Result
	if len(best) == 0 {
		res.Text = NotFoundText
		sink.Delta(res.Text)
		st := NewStep("citations", map[string]any{"accepted": []citation.Citation{}, "rejected": []any{}, "reason": "no relevant sentence", "coverage": coverage})
		res.Steps = append(res.Steps, st)
		sink.Step(st)
		return res, ctx.Err()
	}
	var b strings.Builder
	for i, c := range best {
		h := req.Sources[c.source-1]
		cit := citation.Citation{ChunkID: h.ChunkID, Quote: c.sent.Text, StartChar: c.sent.Start, Length: c.sent.Length, Marker: c.source}
		piece := c.sent.Text + " [" + itoa(c.source) + "]"
		if i > 0 {
			piece = " " + piece
		}
		b.WriteString(piece)
		sink.Delta(piece)
		sink.Citation(cit)
		res.Citations = append(res.Citations, cit)
	}
	res.Text = b.String()
	st := NewStep("citations", map[string]any{"accepted": res.Citations, "rejected": []any{}, "coverage": coverage})
	res.Steps = append(res.Steps, st)
	sink.Step(st)
	return res, ctx.Err()
}

// rank returns the sentences to cite, best first (none when nothing is
// relevant), and the relevance of the best one: the share of the
// question's term weight it covers (see coverageTerms).
func (x Extractive) rank(req Request) ([]candidate, float64) {
	var cands []candidate
	var texts []string
	for i, h := range req.Sources {
		for _, s := range Sentences(h.Content) {
			cands = append(cands, candidate{source: i + 1, sent: s})
			texts = append(texts, s.Text)
		}
	}
	if len(cands) == 0 {
		return nil, 0
	}
	ranking := newOverlap(req, texts, textsearch.Terms)
	if ranking.total == 0 {
		return nil, 0
	}
	for i := range cands {
		// A small prior for the better-ranked sources breaks near ties.
		cands[i].score = ranking.score(i) * (1 + 0.15/float64(cands[i].source))
		cands[i].index = i
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	top := cands[0]
	relevance := newOverlap(req, texts, coverageTerms)
	coverage := relevance.score(top.index) / relevance.total
	if coverage < x.MinCoverage {
		return nil, coverage
	}
	out := []candidate{top}
	for _, c := range cands[1:] {
		if len(out) == x.MaxSentences {
			break
		}
		if c.score >= x.SecondRatio*top.score {
			out = append(out, c)
		}
	}
	return out, coverage
}

// overlap scores sentences by the IDF-weighted question terms they hold
// (IDF over the candidate sentences; a follow-up's earlier turn counts at
// contextWeight).
type overlap struct {
	qw      map[string]float64
	idf     map[string]float64
	matched []map[string]bool
	total   float64
}

func newOverlap(req Request, texts []string, terms func(string) []string) overlap {
	o := overlap{qw: map[string]float64{}, idf: map[string]float64{}, matched: make([]map[string]bool, len(texts))}
	for _, t := range terms(req.Question) {
		o.qw[t] = 1
	}
	if len(o.qw) == 0 {
		return o
	}
	for _, t := range terms(req.Context) {
		if _, ok := o.qw[t]; !ok {
			o.qw[t] = contextWeight
		}
	}
	df := map[string]int{}
	for i, text := range texts {
		o.matched[i] = map[string]bool{}
		for _, t := range terms(text) {
			if _, ok := o.qw[t]; ok && !o.matched[i][t] {
				o.matched[i][t] = true
				df[t]++
			}
		}
	}
	n := float64(len(texts))
	for t, w := range o.qw {
		d := float64(df[t])
		o.idf[t] = math.Log(1 + (n-d+0.5)/(d+0.5))
		o.total += w * o.idf[t]
	}
	return o
}

// score is the weight of the question terms that sentence i holds.
func (o overlap) score(i int) float64 {
	var s float64
	for t := range o.matched[i] {
		s += o.qw[t] * o.idf[t]
	}
	return s
}

// coverageTerms are the terms relevance is measured on: the search terms,
// except that a logographic or syllabic script (Han, kana), where one
// character carries meaning, counts characters instead of bigrams: the
// overlapping bigrams of such a question include many that span a word
// boundary and so match nothing even when the answer is there. (The
// letters of alphabetic unspaced scripts such as Thai carry no meaning on
// their own, and keep their bigrams.)
func coverageTerms(s string) []string {
	var out []string
	for _, t := range textsearch.Terms(s) {
		if !logographic([]rune(t)[0]) {
			out = append(out, t)
		}
	}
	for _, r := range s {
		if logographic(r) {
			out = append(out, string(r))
		}
	}
	return out
}

func logographic(r rune) bool { return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) }

// Sources formats hits as the numbered sources given to a model.
func Sources(hits []retrieval.Hit, first int) string {
	var b strings.Builder
	for i, h := range hits {
		b.WriteString("[" + itoa(first+i) + "] " + h.DocumentName + " (" + h.MaterializedPath + ")\n" + h.Content + "\n\n")
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
