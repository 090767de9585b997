package answer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/retry"
	"github.com/cairn-rag/cairn/retrieval"
)

// Defaults of OpenAIConfig.
const (
	MaxRetriesDefault    = 3
	MaxBackoffDefault    = 8 * time.Second
	MaxToolRoundsDefault = 3
	citationsMarker      = "CITATIONS:"
	searchToolName       = "search_knowledge_base"
)

// OpenAIConfig configures the OpenAI-compatible answerer.
type OpenAIConfig struct {
	// BaseURL is the endpoint (e.g. https://api.openai.com/v1); empty uses OpenAI's.
	BaseURL string
	// APIKey is sent as the bearer token.
	APIKey string
	// Model is the default chat model.
	Model string
	// Models are further models a request may ask for (Request.Model);
	// Model is always one.
	Models []string
	// Timeout bounds one model call, its stream included.
	Timeout time.Duration
	// MaxRetries is how often a 429 or 5xx answer is retried.
	MaxRetries int
	// MaxBackoff caps the wait between retries, Retry-After included.
	MaxBackoff time.Duration
	// MaxToolRounds bounds the search tool calls of one answer.
	MaxToolRounds int
	// Transport is the HTTP transport (nil: http.DefaultTransport).
	Transport http.RoundTripper
}

// OpenAI answers with a chat model over the OpenAI wire format: it
// streams, offers a search_knowledge_base tool, and verifies each quoted
// citation against its source before keeping it.
type OpenAI struct {
	client *openai.Client
	cfg    OpenAIConfig
}

// NewOpenAI returns an OpenAI answerer.
func NewOpenAI(cfg OpenAIConfig) *OpenAI {
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = MaxRetriesDefault
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = MaxBackoffDefault
	}
	if cfg.MaxToolRounds <= 0 {
		cfg.MaxToolRounds = MaxToolRoundsDefault
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 120 * time.Second
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	oc.HTTPClient = &http.Client{Transport: &retryTransport{base: base, retries: cfg.MaxRetries, maxWait: cfg.MaxBackoff}}
	return &OpenAI{client: openai.NewClientWithConfig(oc), cfg: cfg}
}

// Name is the default model.
func (o *OpenAI) Name() string { return o.cfg.Model }

// Models are the models a request may ask for: the default one first.
func (o *OpenAI) Models() []string {
	out := []string{o.cfg.Model}
	for _, m := range o.cfg.Models {
		if m != o.cfg.Model {
			out = append(out, m)
		}
	}
	return out
}

const systemPrompt = `You are Cairn, a knowledge-base assistant. Answer the user's question using only the numbered sources below; mark statements with the source number in brackets, like [1]. You may decline: if the sources do not answer the question, reply with exactly "` + NotFoundText + `" and nothing else (no citations); never answer from general knowledge.
After the answer write a line "` + citationsMarker + `" and then one line per citation in the form
[n] "verbatim quote"
where n is a source number and the quote is copied exactly from that source (a sentence or phrase, at most 300 characters). Do not cite anything that is not in the sources. You may call ` + searchToolName + ` to search the knowledge base for more sources; its results are numbered after the existing ones.

Sources:
`

var searchTool = openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
	Name:        searchToolName,
	Description: "Search the knowledge base and return further numbered sources.",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"what to search for"}},"required":["query"]}`),
}}

// Answer runs the model (with tool rounds) and verifies its citations.
func (o *OpenAI) Answer(ctx context.Context, req Request, sink Sink) (Result, error) {
	model := o.cfg.Model
	if req.Model != "" {
		model = req.Model
	}
	sources := append([]retrieval.Hit(nil), req.Sources...)
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: systemPrompt + Sources(sources, 1)}}
	for _, t := range req.History {
		role := openai.ChatMessageRoleUser
		switch t.Role {
		case "ASSISTANT":
			role = openai.ChatMessageRoleAssistant
		case "SYSTEM":
			role = openai.ChatMessageRoleSystem
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: role, Content: t.Text})
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: req.Question})
	var res Result
	step := func(s Step) {
		res.Steps = append(res.Steps, s)
		sink.Step(s)
	}
	for round := 1; ; round++ {
		tools := []openai.Tool(nil)
		if req.Search != nil && round <= o.cfg.MaxToolRounds {
			tools = []openai.Tool{searchTool}
		}
		out, err := o.call(ctx, model, req.Temperature, msgs, tools, sink)
		step(NewStep("model_call", map[string]any{
			"model": model, "round": round, "prompt_tokens": out.usage.PromptTokens, "completion_tokens": out.usage.CompletionTokens,
			"latency_ms": out.latency.Milliseconds(), "finish_reason": out.finish, "error": errText(err),
		}))
		if t := strings.TrimSpace(out.reasoning.String()); t != "" {
			if res.Thinking != "" {
				res.Thinking += "\n\n"
			}
			res.Thinking += t
		}
		if err != nil {
			return res, err
		}
		if len(out.calls) == 0 {
			res.Text = strings.TrimSpace(out.answer)
			if declined(res.Text) {
				// A declined answer stores no citations, whatever the model
				// listed.
				res.Text = NotFoundText
				step(NewStep("citations", map[string]any{"accepted": []citation.Citation{}, "rejected": []any{}, "reason": "declined"}))
				return res, nil
			}
			o.citations(sources, out.citations, sink, &res, step)
			return res, nil
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: out.content, ToolCalls: out.calls})
		for _, tc := range out.calls {
			content, data := o.runTool(ctx, req.Search, tc, &sources)
			step(NewStep("tool_call", data))
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: tc.ID, Name: tc.Function.Name, Content: content})
		}
	}
}

// errText is the error shown in a model_call step, which clients read in
// a message's details: the error's public message only, never its cause
// (which names the model server's URL and the dial error; those are
// logged by the caller).
func errText(err error) any {
	if err == nil {
		return nil
	}
	if e, ok := apperr.As(err); ok && e.Message != "" {
		return e.Message
	}
	return "the model call failed"
}

func (o *OpenAI) runTool(ctx context.Context, search SearchFunc, tc openai.ToolCall, sources *[]retrieval.Hit) (string, map[string]any) {
	data := map[string]any{"id": tc.ID, "name": tc.Function.Name, "arguments": tc.Function.Arguments}
	if tc.Function.Name != searchToolName {
		data["error"] = "unknown tool"
		return "error: unknown tool " + tc.Function.Name, data
	}
	var args struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil || strings.TrimSpace(args.Query) == "" {
		data["error"] = "invalid arguments"
		return `error: arguments must be {"query": "..."}`, data
	}
	hits, err := search(ctx, args.Query)
	if err != nil {
		data["error"] = errText(err)
		return "error: search failed", data
	}
	first := len(*sources) + 1
	*sources = append(*sources, hits...)
	data["sources"] = hitSummaries(hits)
	data["first_source"] = first
	if len(hits) == 0 {
		return "no results", data
	}
	return Sources(hits, first), data
}

type citedQuote struct {
	source int
	quote  string
}

var citeLine = regexp.MustCompile(`^\s*(?:[-*]\s*)?\[(\d+)\]\s*[:\-–]?\s*["“”']?(.*?)["“”']?\s*$`)

// parseCitations reads the lines after the citations marker.
func parseCitations(block string) []citedQuote {
	var out []citedQuote
	for _, line := range strings.Split(block, "\n") {
		m := citeLine.FindStringSubmatch(line)
		if m == nil || strings.TrimSpace(m[2]) == "" {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		out = append(out, citedQuote{n, m[2]})
	}
	return out
}

func (o *OpenAI) citations(sources []retrieval.Hit, raw []citedQuote, sink Sink, res *Result, step func(Step)) {
	rejected := []map[string]any{}
	seen := map[citation.Citation]bool{}
	for _, rc := range raw {
		c, reason := verify(sources, rc.source, rc.quote)
		if reason != "" {
			rejected = append(rejected, map[string]any{"source": rc.source, "quote": rc.quote, "reason": reason})
			continue
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		res.Citations = append(res.Citations, c)
		sink.Citation(c)
	}
	accepted := res.Citations
	if accepted == nil {
		accepted = []citation.Citation{}
	}
	step(NewStep("citations", map[string]any{"accepted": accepted, "rejected": rejected}))
}

type callOut struct {
	content   string // everything the model wrote
	answer    string // the part before the citations marker
	citations []citedQuote
	calls     []openai.ToolCall
	usage     openai.Usage
	finish    string
	reasoning strings.Builder // the model's reasoning_content
	latency   time.Duration
}

// call runs one streamed completion, forwarding answer text (never the
// citation block) to sink as it arrives.
func (o *OpenAI) call(ctx context.Context, model string, temperature *float32, msgs []openai.ChatCompletionMessage, tools []openai.Tool, sink Sink) (callOut, error) {
	t0 := time.Now()
	var out callOut
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	creq := openai.ChatCompletionRequest{
		Model: model, Messages: msgs, Tools: tools, Stream: true,
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	}
	if temperature != nil {
		// go-openai omits a zero temperature; the smallest positive one
		// is its documented way to ask for 0.
		creq.Temperature = max(*temperature, math.SmallestNonzeroFloat32)
	}
	stream, err := o.client.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		out.latency = time.Since(t0)
		return out, modelError(ctx, err)
	}
	defer func() { _ = stream.Close() }()
	var content strings.Builder
	emitted := 0
	marker := -1
	byIndex := map[int]*openai.ToolCall{}
	var order []int
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.latency = time.Since(t0)
			return out, modelError(ctx, err)
		}
		if chunk.Usage != nil {
			out.usage = *chunk.Usage
		}
		for _, ch := range chunk.Choices {
			if ch.FinishReason != "" {
				out.finish = string(ch.FinishReason)
			}
			for _, tc := range ch.Delta.ToolCalls {
				i := 0
				if tc.Index != nil {
					i = *tc.Index
				}
				cur, ok := byIndex[i]
				if !ok {
					cur = &openai.ToolCall{Type: openai.ToolTypeFunction}
					byIndex[i] = cur
					order = append(order, i)
				}
				if tc.ID != "" {
					cur.ID = tc.ID
				}
				cur.Function.Name += tc.Function.Name
				cur.Function.Arguments += tc.Function.Arguments
			}
			// Reasoning models served by DeepSeek, vLLM and others send
			// their thinking as reasoning_content beside the content.
			out.reasoning.WriteString(ch.Delta.ReasoningContent)
			if ch.Delta.Content == "" {
				continue
			}
			content.WriteString(ch.Delta.Content)
			if marker >= 0 {
				continue
			}
			s := content.String()
			if i := strings.Index(s, citationsMarker); i >= 0 {
				marker = i
				if i > emitted {
					sink.Delta(s[emitted:i])
				}
				emitted = i
				continue
			}
			safe := len(s) - len(citationsMarker) + 1
			for safe > emitted && safe < len(s) && !utf8.RuneStart(s[safe]) {
				safe--
			}
			if safe > emitted {
				sink.Delta(s[emitted:safe])
				emitted = safe
			}
		}
	}
	out.latency = time.Since(t0)
	out.content = content.String()
	for _, i := range order {
		out.calls = append(out.calls, *byIndex[i])
	}
	if marker < 0 {
		if len(out.calls) == 0 && emitted < len(out.content) {
			sink.Delta(out.content[emitted:])
		}
		out.answer = out.content
		return out, nil
	}
	out.answer = out.content[:marker]
	out.citations = parseCitations(out.content[marker+len(citationsMarker):])
	return out, nil
}

// modelError turns a client error into a domain error.
func modelError(ctx context.Context, err error) error {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case ctx.Err() != nil:
		return &apperr.Error{Kind: apperr.Unavailable, Code: CodeModelTimeout, Message: "the model did not answer in time", Err: err}
	case errors.As(err, &apiErr):
		return &apperr.Error{Kind: apperr.BadGateway, Code: apperr.CodeModelError, Message: fmt.Sprintf("the model server answered with status %d", apiErr.HTTPStatusCode), Err: err}
	case errors.As(err, &reqErr):
		return &apperr.Error{Kind: apperr.BadGateway, Code: apperr.CodeModelError, Message: fmt.Sprintf("the model server answered with status %d", reqErr.HTTPStatusCode), Err: err}
	}
	return &apperr.Error{Kind: apperr.Unavailable, Code: apperr.CodeModelUnavailable, Message: "the model server could not be reached", Err: err}
}

// retryTransport retries 429 and 5xx answers (retry.StatusRetryable)
// with the capped, jittered backoff of retry.Policy, honouring Retry-After
// (capped too). Retrying at the transport keeps it below go-openai, which
// does not expose response headers.
type retryTransport struct {
	base    http.RoundTripper
	retries int
	maxWait time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	policy := retry.Policy{Attempts: t.retries + 1, Base: 250 * time.Millisecond, Cap: t.maxWait}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.base.RoundTrip(req)
		if err != nil || attempt >= t.retries || !retry.StatusRetryable(resp.StatusCode) || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		wait := policy.Backoff(attempt+1, 0)
		if after, ok := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = min(after, t.maxWait)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
	}
}

// declined reports whether a model's answer is the decline it was told to
// write (allowing for quotes, markers and trailing punctuation).
func declined(text string) bool {
	t := strings.TrimSpace(markerRE.ReplaceAllString(text, ""))
	t = strings.Trim(t, "\"“”'` .")
	return strings.EqualFold(t, strings.TrimSuffix(NotFoundText, "."))
}
