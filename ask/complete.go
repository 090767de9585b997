package ask

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// Conversation is a stateless question: the turns before it travel with
// it instead of living in a thread (as in OpenAI's chat completions).
type Conversation struct {
	// History is the conversation before Question, oldest first.
	History []answer.Turn
	// Question is the message to answer.
	Question string
	// PathPrefix restricts retrieval to a folder.
	PathPrefix string
	// TopK is the number of sources retrieved (0: the default).
	TopK int
	// Model overrides the answerer's model.
	Model string
	// Temperature is the model's sampling temperature (nil: its default).
	Temperature *float32
}

// Completion is a stateless answer: its citations are resolved now.
type Completion struct {
	Text      string
	Citations []citation.Citation
	Steps     []answer.Step
	// Thinking is the model's reasoning, when it returned some.
	Thinking string
}

// Complete answers a conversation without storing anything, sending
// step, delta and citation events to sink (which may be nil). It fails
// with the generation's error (model_timeout, model_error, ...) when the
// answer could not be generated.
func (s *Service) Complete(ctx context.Context, tenant uuid.UUID, c Conversation, sink Sink) (Completion, error) {
	if sink == nil {
		sink = func(Event) {}
	}
	if c.TopK < 0 || c.TopK > TopKMax {
		return Completion{}, apperr.Invalidf(apperr.CodeValidationFailed, "retrieval.top_k", "top_k must be between 0 (the default) and %d, got %d", TopKMax, c.TopK)
	}
	if strings.TrimSpace(c.Question) == "" {
		return Completion{}, apperr.Invalidf(apperr.CodeValidationFailed, "messages", "the conversation has no question")
	}
	res, err := s.pipeline.Run(ctx, tenant, c.Question, c.History,
		answer.Options{PathPrefix: c.PathPrefix, TopK: c.TopK, Model: strings.TrimSpace(c.Model), Temperature: c.Temperature}, pipelineSink{sink})
	if err != nil {
		return Completion{Steps: res.Steps}, err
	}
	text := res.Text
	if strings.TrimSpace(text) == "" {
		text = answer.NotFoundText
	}
	cits, err := citation.Resolve(ctx, s.pool, tenant, res.Citations)
	if err != nil {
		return Completion{}, err
	}
	return Completion{Text: text, Citations: cits, Steps: res.Steps, Thinking: res.Thinking}, nil
}
