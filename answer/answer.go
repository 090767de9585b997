// Package answer owns the answer step: it turns a question, the recent
// conversation and the retrieved chunks (numbered sources) into an
// answer whose citations point at exact spans of those chunks. It holds
// the Answerer interface, the offline extractive answerer, the
// OpenAI-compatible answerer (streaming, a search tool, retries), the
// pipeline that runs retrieval and records execution steps.
package answer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/retrieval"
)

// Turn is one earlier message of the conversation.
type Turn struct {
	// Role is USER, ASSISTANT or SYSTEM.
	Role string
	// Text is the message text.
	Text string
}

// Step is one execution step recorded in a message's details.
type Step struct {
	// Type is retrieval, model_call, tool_call, citations or error.
	Type string `json:"type"`
	// Data holds the step's fields.
	Data map[string]any `json:"data"`
	// At is when the step finished.
	At time.Time `json:"at"`
}

// Sink receives an answer as it is produced. Every method may be called
// from the answering goroutine only; implementations must not block long.
type Sink interface {
	// Delta is a piece of answer text.
	Delta(text string)
	// Citation is an accepted citation.
	Citation(c citation.Citation)
	// Step is a finished execution step.
	Step(s Step)
}

// Discard is a Sink that drops everything.
type Discard struct{}

// Delta drops text.
func (Discard) Delta(string) {}

// Citation drops c.
func (Discard) Citation(citation.Citation) {}

// Step drops s.
func (Discard) Step(Step) {}

// SearchFunc runs a further retrieval (the model's search tool).
type SearchFunc func(ctx context.Context, query string) ([]retrieval.Hit, error)

// Request is what an Answerer gets.
type Request struct {
	// Question is the user's message.
	Question string
	// History is the recent conversation before Question, oldest first.
	History []Turn
	// Context is the earlier turn a follow-up question leans on (what the
	// offline retrieval query was expanded with), or "".
	Context string
	// Sources are the retrieved chunks; source n is Sources[n-1].
	Sources []retrieval.Hit
	// Model overrides the configured model for this request ("" keeps it).
	Model string
	// Temperature is the sampling temperature (nil: the model's default).
	Temperature *float32
	// Search runs a further retrieval; nil disables the search tool.
	Search SearchFunc
}

// Result is a finished answer.
type Result struct {
	// Text is the answer text.
	Text string
	// Citations are the accepted citations, in order.
	Citations []citation.Citation
	// Steps are the answerer's execution steps (each also sent to the Sink).
	Steps []Step
	// Thinking is the model's reasoning before its answer, when it
	// returns it (reasoning_content), every round's in order; "" otherwise.
	Thinking string
}

// Answerer produces an answer with verified citations.
type Answerer interface {
	// Answer answers req, reporting progress to sink. Errors are
	// *apperr.Error of kind Unavailable or BadGateway for model failures.
	Answer(ctx context.Context, req Request, sink Sink) (Result, error)
	// Name names the answerer (its model) for execution steps.
	Name() string
}

// ModelLister is an Answerer that answers with a choice of models (a
// Request.Model among them); an Answerer without it has one model, its
// Name.
type ModelLister interface {
	// Models are the models a request may name, the default first.
	Models() []string
}

// Models returns the models p's answerer answers with, the default first.
func (p *Pipeline) Models() []string {
	if l, ok := p.Answerer.(ModelLister); ok {
		return l.Models()
	}
	return []string{p.Answerer.Name()}
}

// CheckModel checks a per-question model override ("" keeps the
// default): it must be one of Models. Errors: validation_failed (422,
// field model).
func (p *Pipeline) CheckModel(model string) error {
	if model == "" {
		return nil
	}
	models := p.Models()
	for _, m := range models {
		if m == model {
			return nil
		}
	}
	return apperr.Unprocessablef(apperr.CodeValidationFailed, "model", "model %q is not a model this server answers with; use one of: %s", model, strings.Join(models, ", "))
}

// ModelFor is the model that answers a question with override model.
func (p *Pipeline) ModelFor(model string) string {
	if model != "" {
		return model
	}
	return p.Models()[0]
}

// NewStep returns a step of type typ with data, stamped now.
func NewStep(typ string, data map[string]any) Step {
	return Step{Type: typ, Data: data, At: time.Now().UTC()}
}

// Pipeline runs retrieval and an Answerer for one question.
type Pipeline struct {
	// Searcher retrieves sources.
	Searcher *retrieval.Searcher
	// Answerer answers from them.
	Answerer Answerer
	// HistoryBudget bounds the runes of conversation passed along.
	HistoryBudget int
}

// Options are per-question settings.
type Options struct {
	// PathPrefix restricts retrieval to a folder.
	PathPrefix string
	// TopK is the number of sources retrieved (0: default).
	TopK int
	// Model overrides the answerer's model.
	Model string
	// Temperature is the model's sampling temperature (nil: its default).
	Temperature *float32
}

// Run retrieves sources for question in tenantID and answers it. Every
// step, including the retrieval, is both sent to sink and returned in the
// result; on error the steps so far are returned with it.
func (p *Pipeline) Run(ctx context.Context, tenantID uuid.UUID, question string, history []Turn, opt Options, sink Sink) (Result, error) {
	var steps []Step
	step := func(s Step) {
		steps = append(steps, s)
		sink.Step(s)
	}
	search := func(ctx context.Context, query string) ([]retrieval.Hit, error) {
		t0 := time.Now()
		q := retrieval.Query{Text: query, TopK: opt.TopK, PathPrefix: opt.PathPrefix, Mode: retrieval.Hybrid}
		hits, err := p.Searcher.Search(ctx, tenantID, q)
		if err != nil {
			return nil, err
		}
		step(NewStep("retrieval", map[string]any{
			"query": query, "mode": string(q.Mode), "path_prefix": opt.PathPrefix, "top_k": q.TopK,
			"latency_ms": time.Since(t0).Milliseconds(), "hits": hitSummaries(hits),
		}))
		return hits, nil
	}
	history = trimHistory(history, p.HistoryBudget)
	query, context := p.retrievalQuery(ctx, question, history, opt.Model, step)
	hits, err := search(ctx, query)
	if err != nil {
		return Result{Steps: steps}, err
	}
	req := Request{Question: question, History: history, Context: context, Sources: hits, Model: opt.Model, Temperature: opt.Temperature, Search: search}
	// The answerer numbers markers by source; mk renumbers them 1, 2, … in
	// order of first use in everything it sends on and in the result.
	mk := newMarkers(stepSink{sink, step})
	res, err := p.Answerer.Answer(ctx, req, mk)
	res = mk.result(res)
	res.Steps = steps // the answerer's steps came through stepSink
	if err != nil {
		if _, ok := apperr.As(err); !ok {
			err = &apperr.Error{Kind: apperr.Unavailable, Code: CodeGenerationFailed, Message: "the answer could not be generated", Err: err}
		}
		return res, err
	}
	return res, nil
}

// stepSink forwards deltas and citations and routes steps through step.
type stepSink struct {
	Sink
	step func(Step)
}

func (s stepSink) Step(st Step) { s.step(st) }

func hitSummaries(hits []retrieval.Hit) []map[string]any {
	out := make([]map[string]any, len(hits))
	for i, h := range hits {
		out[i] = map[string]any{
			"source": i + 1, "chunk_id": h.ChunkID, "document_id": h.DocumentID, "document_name": h.DocumentName,
			"version_number": h.VersionNumber, "score": h.Score, "vector_rank": h.VectorRank, "text_rank": h.TextRank,
		}
	}
	return out
}

// trimHistory keeps the most recent turns whose text fits in budget runes.
func trimHistory(h []Turn, budget int) []Turn {
	if budget <= 0 {
		budget = 8000
	}
	used, i := 0, len(h)
	for i > 0 {
		n := len([]rune(h[i-1].Text))
		if used+n > budget {
			break
		}
		used += n
		i--
	}
	return h[i:]
}

// verify checks a citation against the offered sources: the source number
// must be offered and the quote must be located in its chunk. It returns
// the citation with the verified span, or the reason for rejection.
func verify(sources []retrieval.Hit, source int, quote string) (citation.Citation, string) {
	if source < 1 || source > len(sources) {
		return citation.Citation{}, fmt.Sprintf("source %d was not offered", source)
	}
	h := sources[source-1]
	s, l, ok := citation.Locate(h.Content, quote)
	if !ok {
		return citation.Citation{}, "quote not found in the source"
	}
	return citation.Citation{ChunkID: h.ChunkID, Quote: citation.Slice(h.Content, s, l), StartChar: s, Length: l, Marker: source}, ""
}
