package answer

import (
	"context"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/cairn-rag/cairn/textsearch"
)

// Rewriter is an Answerer that can first rewrite a follow-up question as
// a standalone one (a model does; the offline pipeline expands the query
// from the conversation instead).
type Rewriter interface {
	// Standalone returns question rewritten so that it can be understood
	// without history.
	Standalone(ctx context.Context, question string, history []Turn, model string) (string, error)
}

// followUpWords are the words that make an (English) question lean on
// the earlier turns: pronouns, "and", "also", "else", "same".
var followUpWords = map[string]bool{
	"it": true, "its": true, "that": true, "this": true, "those": true, "these": true, "they": true, "them": true,
	"their": true, "there": true, "he": true, "she": true, "his": true, "her": true, "one": true, "ones": true,
	"and": true, "also": true, "else": true, "same": true, "former": true, "latter": true, "instead": true,
}

// maxShortTerms is the most terms (words, or bigrams of unspaced scripts)
// of a question that counts as short, and so as a follow-up, in any language.
const maxShortTerms = 3

// expansionRunes bounds what the previous turns add to a follow-up's query.
const expansionRunes = 400

// isFollowUp reports whether question is short or anaphoric.
func isFollowUp(question string) bool {
	terms := textsearch.Terms(question)
	if len(terms) <= maxShortTerms {
		return true
	}
	for _, t := range terms {
		if followUpWords[t] {
			return true
		}
	}
	return false
}

// expandQuery returns what the retrieval query of a follow-up is expanded
// with: the previous user question and answer (without markers), so that
// retrieval stays on the earlier turn's topic; "" when there is none.
func expandQuery(history []Turn) string {
	var user, assistant string
	for i := len(history) - 1; i >= 0 && user == ""; i-- {
		switch history[i].Role {
		case "USER":
			user = history[i].Text
		case "ASSISTANT":
			if assistant == "" && history[i].Text != NotFoundText {
				assistant = markerRE.ReplaceAllString(history[i].Text, "")
			}
		}
	}
	if user == "" {
		return ""
	}
	extra := []rune(strings.TrimSpace(user + " " + assistant))
	if len(extra) > expansionRunes {
		extra = extra[:expansionRunes]
	}
	return string(extra)
}

const standalonePrompt = `Rewrite the user's last question as one standalone question that can be understood without the conversation (resolve pronouns and references to earlier turns). Keep its language. Reply with the question only.`

// Standalone asks the model for a standalone version of question.
func (o *OpenAI) Standalone(ctx context.Context, question string, history []Turn, model string) (string, error) {
	if model == "" {
		model = o.cfg.Model
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	var conv strings.Builder
	for _, t := range history {
		conv.WriteString(t.Role + ": " + t.Text + "\n")
	}
	conv.WriteString("USER: " + question + "\n")
	resp, err := o.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: model, Messages: []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: standalonePrompt},
		{Role: openai.ChatMessageRoleUser, Content: conv.String()},
	}})
	if err != nil {
		return "", modelError(ctx, err)
	}
	if len(resp.Choices) == 0 {
		return "", nil
	}
	return strings.TrimSpace(resp.Choices[0].Message.Content), nil
}

// retrievalQuery is the query retrieval runs for question (the model's
// standalone question, or the offline expansion of a follow-up, each
// recorded as a step; question itself otherwise) and the earlier turn's
// text the offline expansion added.
func (p *Pipeline) retrievalQuery(ctx context.Context, question string, history []Turn, model string, step func(Step)) (string, string) {
	if len(history) == 0 || !isFollowUp(question) {
		return question, ""
	}
	if r, ok := p.Answerer.(Rewriter); ok {
		t0 := time.Now()
		q, err := r.Standalone(ctx, question, history, model)
		data := map[string]any{"question": question, "standalone": q, "latency_ms": time.Since(t0).Milliseconds(), "error": errText(err)}
		step(NewStep("standalone_question", data))
		if err != nil || q == "" {
			return question, ""
		}
		return q, ""
	}
	extra := expandQuery(history)
	if extra == "" {
		return question, ""
	}
	q := question + "\n" + extra
	step(NewStep("query_expansion", map[string]any{"question": question, "query": q}))
	return q, extra
}
