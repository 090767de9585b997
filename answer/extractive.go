package answer

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"

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
	// sentence must cover to count as relevant (default 0.1).
	MinCoverage float64
}

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
	terms  map[string]bool
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
		x.MinCoverage = 0.1
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
// relevant), and the share of the question's term weight that the best
// sentence covers.
func (x Extractive) rank(req Request) ([]candidate, float64) {
	qw := map[string]float64{}
	for _, t := range textsearch.Terms(req.Question) {
		qw[t] = 1
	}
	if len(qw) == 0 {
		return nil, 0
	}
	// A follow-up's earlier turn counts at a lower weight.
	for _, t := range textsearch.Terms(req.Context) {
		if _, ok := qw[t]; !ok {
			qw[t] = contextWeight
		}
	}
	var cands []candidate
	df := map[string]int{}
	for i, h := range req.Sources {
		for _, s := range Sentences(h.Content) {
			c := candidate{source: i + 1, sent: s, terms: map[string]bool{}}
			for _, t := range textsearch.Terms(s.Text) {
				if _, ok := qw[t]; ok && !c.terms[t] {
					c.terms[t] = true
					df[t]++
				}
			}
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil, 0
	}
	n := float64(len(cands))
	idf := func(t string) float64 {
		d := float64(df[t])
		return math.Log(1 + (n-d+0.5)/(d+0.5))
	}
	var total float64
	for t, w := range qw {
		total += w * idf(t)
	}
	for i := range cands {
		c := &cands[i]
		for t := range c.terms {
			c.score += qw[t] * idf(t)
		}
		// A small prior for the better-ranked sources breaks near ties.
		c.score *= 1 + 0.15/float64(c.source)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	top := cands[0]
	if total == 0 {
		return nil, 0
	}
	coverage := top.score / (1.15 * total)
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

// Sources formats hits as the numbered sources given to a model.
func Sources(hits []retrieval.Hit, first int) string {
	var b strings.Builder
	for i, h := range hits {
		b.WriteString("[" + itoa(first+i) + "] " + h.DocumentName + " (" + h.MaterializedPath + ")\n" + h.Content + "\n\n")
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
