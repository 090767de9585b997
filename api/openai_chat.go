package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// Limits of a chat completion request.
const (
	// maxStopSequences is OpenAI's limit of stop sequences.
	maxStopSequences = 4
	// maxTemperature is OpenAI's upper bound of temperature.
	maxTemperature = 2
	// metaThreadID names the Cairn thread of the exchange in metadata.
	metaThreadID = "cairn_thread_id"
	// metaMessageID makes a thread-mapped question idempotent.
	metaMessageID = "cairn_message_id"
)

// chatRequest is OpenAI's chat completion request. Fields Cairn honours
// are typed; the other documented fields are accepted and ignored
// (json.RawMessage: any value); a field OpenAI does not document is 400
// unknown_field, as OpenAI answers it.
type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []chatMessage     `json:"messages"`
	Stream              bool              `json:"stream"`
	StreamOptions       *streamOptions    `json:"stream_options"`
	Temperature         *float64          `json:"temperature"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	Stop                json.RawMessage   `json:"stop"`
	User                string            `json:"user"`
	N                   *int              `json:"n"`
	Metadata            map[string]string `json:"metadata"`

	// Accepted and ignored: they tune sampling, tools or output formats
	// that a cited knowledge-base answer does not have.
	TopP              json.RawMessage `json:"top_p"`
	FrequencyPenalty  json.RawMessage `json:"frequency_penalty"`
	PresencePenalty   json.RawMessage `json:"presence_penalty"`
	LogitBias         json.RawMessage `json:"logit_bias"`
	Logprobs          json.RawMessage `json:"logprobs"`
	TopLogprobs       json.RawMessage `json:"top_logprobs"`
	Seed              json.RawMessage `json:"seed"`
	Tools             json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls json.RawMessage `json:"parallel_tool_calls"`
	Functions         json.RawMessage `json:"functions"`
	FunctionCall      json.RawMessage `json:"function_call"`
	ResponseFormat    json.RawMessage `json:"response_format"`
	Store             json.RawMessage `json:"store"`
	ServiceTier       json.RawMessage `json:"service_tier"`
	ReasoningEffort   json.RawMessage `json:"reasoning_effort"`
	Verbosity         json.RawMessage `json:"verbosity"`
	Modalities        json.RawMessage `json:"modalities"`
	Audio             json.RawMessage `json:"audio"`
	Prediction        json.RawMessage `json:"prediction"`
	WebSearchOptions  json.RawMessage `json:"web_search_options"`
	PromptCacheKey    json.RawMessage `json:"prompt_cache_key"`
	SafetyIdentifier  json.RawMessage `json:"safety_identifier"`
}

type streamOptions struct {
	IncludeUsage       bool            `json:"include_usage"`
	IncludeObfuscation json.RawMessage `json:"include_obfuscation"`
}

// chatMessage is one message of the request.
type chatMessage struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	Name         string          `json:"name"`
	ToolCalls    []chatToolCall  `json:"tool_calls"`
	ToolCallID   string          `json:"tool_call_id"`
	FunctionCall *chatFunction   `json:"function_call"`
	Refusal      json.RawMessage `json:"refusal"`
	Audio        json.RawMessage `json:"audio"`
}

type chatToolCall struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Function *chatFunction   `json:"function"`
	Custom   json.RawMessage `json:"custom"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// contentPart is one element of an array content.
type contentPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text"`
	Refusal    string          `json:"refusal"`
	ImageURL   json.RawMessage `json:"image_url"`
	InputAudio json.RawMessage `json:"input_audio"`
	File       json.RawMessage `json:"file"`
}

// chatParams are a validated request, ready for ask.
type chatParams struct {
	model     openAIModel
	conv      ask.Conversation
	threadID  *uuid.UUID
	messageID *uuid.UUID
	stops     []string
	maxTokens int
	usage     bool // stream_options.include_usage
	prompt    int  // approximate prompt tokens
}

// chatResponseMessage is the answer. Citations (resolved, as in Cairn's
// messages) is Cairn's extra field; the final stream chunk carries them
// as delta.citations.
type chatResponseMessage struct {
	Role      string              `json:"role"`
	Content   string              `json:"content"`
	Refusal   *string             `json:"refusal"`
	Citations []citation.Citation `json:"citations"`
	// ReasoningContent is the model's thinking, when it returned some
	// (as DeepSeek and vLLM name it).
	ReasoningContent *string `json:"reasoning_content,omitempty"`
}

type chatChoice struct {
	Index        int                 `json:"index"`
	Message      chatResponseMessage `json:"message"`
	Logprobs     *struct{}           `json:"logprobs"`
	FinishReason string              `json:"finish_reason"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// cairnExchange names the thread messages of a thread-mapped completion.
type cairnExchange struct {
	ThreadID           uuid.UUID `json:"thread_id"`
	UserMessageID      uuid.UUID `json:"user_message_id"`
	AssistantMessageID uuid.UUID `json:"assistant_message_id"`
}

type chatCompletion struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	Model   string         `json:"model"`
	Choices []chatChoice   `json:"choices"`
	Usage   chatUsage      `json:"usage"`
	Cairn   *cairnExchange `json:"cairn,omitempty"`
}

// chunkDelta is the delta of a text chunk.
type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// finalDelta is the delta of the final chunk: the answer's citations.
type finalDelta struct {
	Citations []citation.Citation `json:"citations"`
	// ReasoningContent is the model's thinking, when it returned some.
	ReasoningContent *string `json:"reasoning_content,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        any       `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type chatChunk struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	Model   string         `json:"model"`
	Choices []chunkChoice  `json:"choices"`
	Usage   *chatUsage     `json:"usage"`
	Cairn   *cairnExchange `json:"cairn,omitempty"`
}

// openAIChatCompletions answers POST /openai/v1/chat/completions, as
// one JSON completion or, with stream, as OpenAI's SSE chunks.
func (s *Server) openAIChatCompletions(c *gin.Context) {
	var req chatRequest
	if err := decodeJSON(c, &req); err != nil {
		s.openAIFail(c, err)
		return
	}
	p, err := s.chatParams(c, &req)
	if err != nil {
		s.openAIFail(c, err)
		return
	}
	if req.User != "" {
		s.log.InfoContext(c.Request.Context(), "chat completion", slog.String("openai_user", req.User), slog.String("model", p.model.ID))
	}
	run := &chatRun{s: s, c: c, p: p, limit: newTextLimit(p.stops, p.maxTokens),
		id: "chatcmpl-" + uuid.Must(uuid.NewV7()).String(), created: time.Now().Unix(), stream: req.Stream}
	run.answer()
}

// chatParams validates the request and maps it onto an ask conversation.
func (s *Server) chatParams(c *gin.Context, req *chatRequest) (chatParams, error) {
	var p chatParams
	if strings.TrimSpace(req.Model) == "" {
		return p, apperr.Invalidf(apperr.CodeValidationFailed, "model", "model is required: %q or %q followed by a folder (GET %s/models lists them)", modelWhole, modelScopePrefix, openAIPrefix)
	}
	if len(req.Messages) == 0 {
		return p, apperr.Invalidf(apperr.CodeValidationFailed, "messages", "messages must hold at least one message")
	}
	if req.N != nil && *req.N != 1 {
		return p, apperr.Invalidf(apperr.CodeValidationFailed, "n", "n must be 1: Cairn returns one answer per request, got %d", *req.N)
	}
	if t := req.Temperature; t != nil && (*t < 0 || *t > maxTemperature) {
		return p, apperr.Invalidf(apperr.CodeValidationFailed, "temperature", "temperature must be between 0 and %d, got %g", maxTemperature, *t)
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 {
			return p, apperr.Invalidf(apperr.CodeValidationFailed, f.name, "%s must be at least 1, got %d", f.name, *f.v)
		}
		if p.maxTokens == 0 || *f.v < p.maxTokens {
			p.maxTokens = *f.v
		}
	}
	stops, err := parseStop(req.Stop)
	if err != nil {
		return p, err
	}
	p.stops = stops
	if err := p.readMetadata(req.Metadata); err != nil {
		return p, err
	}
	history, question, err := chatConversation(req.Messages)
	if err != nil {
		return p, err
	}
	for _, t := range history {
		p.prompt += approxTokens(t.Text)
	}
	p.prompt += approxTokens(question)
	if p.model, err = s.openAIResolveModel(c, req.Model); err != nil {
		return p, err
	}
	prefix := p.model.PathPrefix
	if prefix == "/" {
		prefix = ""
	}
	var temp *float32
	if req.Temperature != nil {
		t := float32(*req.Temperature)
		temp = &t
	}
	p.conv = ask.Conversation{History: history, Question: question, PathPrefix: prefix, Temperature: temp}
	p.usage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return p, nil
}

// readMetadata reads the Cairn keys of metadata (others are ignored).
func (p *chatParams) readMetadata(md map[string]string) error {
	for key, dst := range map[string]**uuid.UUID{metaThreadID: &p.threadID, metaMessageID: &p.messageID} {
		raw, ok := md[key]
		if !ok {
			continue
		}
		id, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			return apperr.Invalidf(CodeInvalidID, "metadata."+key, "metadata.%s must be a UUID, got %q", key, raw)
		}
		*dst = &id
	}
	if p.messageID != nil && p.threadID == nil {
		return apperr.Invalidf(apperr.CodeValidationFailed, "metadata."+metaMessageID, "metadata.%s needs metadata.%s", metaMessageID, metaThreadID)
	}
	return nil
}

// parseStop reads stop: null, a string or an array of at most four strings.
func parseStop(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, apperr.Invalidf(CodeInvalidField, "stop", "stop must be a string or an array of strings")
	}
	if len(many) > maxStopSequences {
		return nil, apperr.Invalidf(apperr.CodeValidationFailed, "stop", "stop holds at most %d sequences, got %d", maxStopSequences, len(many))
	}
	return many, nil
}

// chatConversation maps the messages onto Cairn's conversation: the last
// user message is the question; every other message, in order, is
// history (messages after the question come last). system and developer
// messages are SYSTEM turns, assistant messages ASSISTANT turns (their
// tool calls written out as text), user messages USER turns, and tool
// (or function) results USER turns that say which call they answer, so
// a model sees what the client's tools returned.
func chatConversation(msgs []chatMessage) (history []answer.Turn, question string, err error) {
	last := -1
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		field := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool", "function":
		default:
			return nil, "", apperr.Invalidf(apperr.CodeValidationFailed, field+".role",
				"%s.role must be system, developer, user, assistant, tool or function, got %q", field, m.Role)
		}
		if texts[i], err = contentText(m.Content, field+".content", m.Role == "assistant"); err != nil {
			return nil, "", err
		}
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 || strings.TrimSpace(texts[last]) == "" {
		return nil, "", apperr.Invalidf(apperr.CodeValidationFailed, "messages", "messages must end the conversation with a user message that has text")
	}
	var after []answer.Turn
	for i, m := range msgs {
		if i == last {
			continue
		}
		t, ok := chatTurn(m, texts[i])
		if !ok {
			continue
		}
		if i < last {
			history = append(history, t)
		} else {
			after = append(after, t)
		}
	}
	return append(history, after...), texts[last], nil
}

// chatTurn is the history turn of a message other than the question;
// false for one with nothing to say.
func chatTurn(m chatMessage, text string) (answer.Turn, bool) {
	switch m.Role {
	case "system", "developer":
		return answer.Turn{Role: "SYSTEM", Text: text}, strings.TrimSpace(text) != ""
	case "assistant":
		var b strings.Builder
		b.WriteString(text)
		calls := m.ToolCalls
		if m.FunctionCall != nil {
			calls = append(calls, chatToolCall{Function: m.FunctionCall})
		}
		for _, tc := range calls {
			if tc.Function == nil {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "[called tool %s (call %s) with %s]", tc.Function.Name, tc.ID, tc.Function.Arguments)
		}
		return answer.Turn{Role: "ASSISTANT", Text: b.String()}, b.Len() > 0
	case "tool", "function":
		who := m.Name
		if m.ToolCallID != "" {
			who = strings.TrimSpace(who + " call " + m.ToolCallID)
		}
		return answer.Turn{Role: "USER", Text: fmt.Sprintf("[result of tool %s]\n%s", who, text)}, true
	default:
		return answer.Turn{Role: "USER", Text: text}, strings.TrimSpace(text) != ""
	}
}

// contentText reads a message content: a string, null, or an array of
// text parts (joined by newlines). Other parts (images, audio, files)
// are 400: Cairn answers from text only. An assistant's refusal parts
// count as text.
func contentText(raw json.RawMessage, field string, assistant bool) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []contentPart
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&parts); err != nil {
		return "", apperr.Invalidf(CodeInvalidField, field, "%s must be a string or an array of content parts ({type: text, text})", field)
	}
	texts := make([]string, 0, len(parts))
	for j, pt := range parts {
		switch {
		case pt.Type == "text":
			texts = append(texts, pt.Text)
		case pt.Type == "refusal" && assistant:
			texts = append(texts, pt.Refusal)
		default:
			return "", apperr.Invalidf(apperr.CodeValidationFailed, fmt.Sprintf("%s[%d].type", field, j),
				"%s[%d]: only text content parts are supported, got %q", field, j, pt.Type)
		}
	}
	return strings.Join(texts, "\n"), nil
}

// chatRun is one chat completion being answered.
type chatRun struct {
	s       *Server
	c       *gin.Context
	p       chatParams
	limit   *textLimit
	id      string
	created int64
	stream  bool
	started bool // the SSE response has begun
	deltas  bool // answer text was streamed as it came
}

// answer runs ask (Complete, or Ask on the mapped thread) and writes
// the completion.
func (r *chatRun) answer() {
	ctx, tenant := r.c.Request.Context(), tenantID(r.c)
	var genErr error
	sink := func(ev ask.Event) {
		if ev.Type == ask.EventError {
			genErr = ev.Err
		}
		if ev.Type != ask.EventDelta || ev.Text == "" {
			return
		}
		if !r.stream {
			return
		}
		r.deltas = true
		if piece := r.limit.push(ev.Text); piece != "" {
			r.sendContent(piece)
		}
	}
	var (
		text  string
		think *string
		cits  []citation.Citation
		steps []answer.Step
		exch  *cairnExchange
		err   error
	)
	if r.p.threadID != nil {
		var out ask.Outcome
		out, err = r.s.deps.Ask.Ask(ctx, tenant, *r.p.threadID, ask.Question{
			MessageID: r.p.messageID, Text: r.p.conv.Question, PathPrefix: r.p.conv.PathPrefix, Temperature: r.p.conv.Temperature}, 0, sink)
		if err == nil && genErr != nil {
			err = genErr
		}
		if err == nil {
			text, cits, think = out.Assistant.Content.Text, out.Assistant.Content.Citations, out.Assistant.Thinking
			exch = &cairnExchange{ThreadID: *r.p.threadID, UserMessageID: out.User.ID, AssistantMessageID: out.Assistant.ID}
			steps = stepsOf(out.Assistant.Details)
		}
	} else {
		var comp ask.Completion
		comp, err = r.s.deps.Ask.Complete(ctx, tenant, r.p.conv, sink)
		text, cits, steps = comp.Text, comp.Citations, comp.Steps
		if comp.Thinking != "" {
			think = &comp.Thinking
		}
	}
	if err != nil {
		r.fail(err)
		return
	}
	if !r.deltas {
		// Not streamed, a stored answer replayed, or a text the answerer
		// did not stream.
		if piece := r.limit.push(text); piece != "" && r.stream {
			r.sendContent(piece)
		}
	}
	if piece := r.limit.flush(); piece != "" && r.stream {
		r.sendContent(piece)
	}
	if cits == nil {
		cits = []citation.Citation{}
	}
	usage := r.usage(steps)
	if r.stream {
		r.finishStream(cits, think, usage, exch)
		return
	}
	r.c.JSON(http.StatusOK, chatCompletion{
		ID: r.id, Object: "chat.completion", Created: r.created, Model: r.p.model.ID,
		Choices: []chatChoice{{Message: chatResponseMessage{Role: "assistant", Content: r.limit.text.String(), Citations: cits, ReasoningContent: think},
			FinishReason: r.limit.reason}},
		Usage: usage, Cairn: exch,
	})
}

// usage is the model's own token counts when its steps report them,
// else the approximation of approxTokens.
func (r *chatRun) usage(steps []answer.Step) chatUsage {
	var u chatUsage
	for _, st := range steps {
		if st.Type != "model_call" {
			continue
		}
		u.PromptTokens += intOf(st.Data["prompt_tokens"])
		u.CompletionTokens += intOf(st.Data["completion_tokens"])
	}
	if u.PromptTokens == 0 {
		u.PromptTokens = r.p.prompt
	}
	if u.CompletionTokens == 0 {
		u.CompletionTokens = approxTokens(r.limit.text.String())
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// intOf reads a step's number (an int in memory, a float64 once stored).
func intOf(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

// stepsOf reads the steps of a stored message's details.
func stepsOf(details json.RawMessage) []answer.Step {
	var d struct {
		Steps []answer.Step `json:"steps"`
	}
	_ = json.Unmarshal(details, &d)
	return d.Steps
}

// fail answers err: an OpenAI error response before the stream began,
// else an error event ({"error": {...}}, as OpenAI sends it) that ends
// the stream.
func (r *chatRun) fail(err error) {
	if !r.started {
		r.s.openAIFail(r.c, err)
		return
	}
	_, body := r.s.openAIErrorOf(r.c, err)
	r.send(body)
}

// start begins the SSE response.
func (r *chatRun) start() {
	if r.started {
		return
	}
	r.started = true
	h := r.c.Writer.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	r.c.Status(http.StatusOK)
	empty := ""
	r.sendChunk(chunkChoice{Delta: chunkDelta{Role: "assistant", Content: &empty}}, nil, nil)
}

// sendContent sends a piece of answer text.
func (r *chatRun) sendContent(piece string) {
	r.start()
	r.sendChunk(chunkChoice{Delta: chunkDelta{Content: &piece}}, nil, nil)
}

// finishStream sends the final chunk (finish_reason, the citations), the
// usage chunk when asked for, and [DONE].
func (r *chatRun) finishStream(cits []citation.Citation, think *string, usage chatUsage, exch *cairnExchange) {
	r.start()
	reason := r.limit.reason
	r.sendChunk(chunkChoice{Delta: finalDelta{Citations: cits, ReasoningContent: think}, FinishReason: &reason}, nil, exch)
	if r.p.usage {
		r.send(r.chunk([]chunkChoice{}, &usage, nil))
	}
	_, _ = fmt.Fprint(r.c.Writer, "data: [DONE]\n\n")
	r.c.Writer.Flush()
}

func (r *chatRun) chunk(choices []chunkChoice, usage *chatUsage, exch *cairnExchange) chatChunk {
	return chatChunk{ID: r.id, Object: "chat.completion.chunk", Created: r.created, Model: r.p.model.ID,
		Choices: choices, Usage: usage, Cairn: exch}
}

func (r *chatRun) sendChunk(ch chunkChoice, usage *chatUsage, exch *cairnExchange) {
	r.send(r.chunk([]chunkChoice{ch}, usage, exch))
}

// send writes v as one data line. Writes to a client that went away
// fail silently.
func (r *chatRun) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	_, _ = fmt.Fprintf(r.c.Writer, "data: %s\n\n", b)
	r.c.Writer.Flush()
}
