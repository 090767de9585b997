package threads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// Limits of the seed message fields.
const (
	// MaxTags bounds a message's tags; each is 1..MaxTagChars code points.
	MaxTags     = 32
	MaxTagChars = 64
	// MaxDepth bounds the nesting depth of sub-prompt messages.
	MaxDepth = 16
	// MaxToolCalls bounds an assistant message's tool calls.
	MaxToolCalls = 64
	// maxShortText bounds name, tool_call_id and sender_id, in code points.
	maxShortText = 255
)

// SeedFields are the message fields of the other seed APIs: seeds 000 and
// 001 (name, tool_calls, tool_call_id, depth), 002 (thinking and its
// signature) and 004 (sender_id, parent_message_id, tags, checksum).
type SeedFields struct {
	// Name is a display name (an agent's label), or nil.
	Name *string `json:"name"`
	// ToolCalls are the tool calls an ASSISTANT message makes, or nil.
	ToolCalls []ToolCall `json:"tool_calls"`
	// ToolCallID links a TOOL message (a tool's result) to its call.
	ToolCallID *string `json:"tool_call_id"`
	// Depth is the nesting depth of a sub-prompt message (0: top level).
	Depth int `json:"depth"`
	// Thinking is a reasoning model's thinking before its answer, and
	// ThinkingSignature the model's signature of it.
	Thinking          *string `json:"thinking"`
	ThinkingSignature *string `json:"thinking_signature"`
	// SenderID names who sent the message (a client's user id).
	SenderID *string `json:"sender_id"`
	// ParentMessageID is the message this one follows in a branch.
	ParentMessageID *uuid.UUID `json:"parent_message_id"`
	// Tags label the message; messages are listable by tag.
	Tags []string `json:"tags"`
	// Checksum is "sha256:" and the hex SHA-256 of the text (read only).
	Checksum string `json:"checksum"`
	// Model is, on a USER message, the model its answer was asked of (a
	// per-message override), and on an answer the model that wrote it.
	Model *string `json:"model"`
}

// ToolCall is one tool call of an assistant message (OpenAI's shape).
type ToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// MaxParts bounds a message's content parts.
const MaxParts = 64

// Part is one part of a message's content (seed 002): text, an image (an
// attachment of the thread), a tool call, or a tool's result.
type Part struct {
	// Type is text, image, tool_call or tool_result.
	Type string `json:"type"`
	// Text is a text part's text.
	Text *string `json:"text,omitempty"`
	// AttachmentID is an image part's attachment (of this thread).
	AttachmentID *uuid.UUID `json:"attachment_id,omitempty"`
	// ToolCall is a tool_call part's call (ASSISTANT messages).
	ToolCall *ToolCall `json:"tool_call,omitempty"`
	// ToolCallID and Content are a tool_result part's call and result
	// (TOOL messages).
	ToolCallID *string `json:"tool_call_id,omitempty"`
	Content    *string `json:"content,omitempty"`
}

// stored is the part of SeedFields kept in messages.fields.
type stored struct {
	Parts             []Part     `json:"parts,omitempty"`
	Name              *string    `json:"name,omitempty"`
	ToolCalls         []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID        *string    `json:"tool_call_id,omitempty"`
	Depth             int        `json:"depth,omitempty"`
	Thinking          *string    `json:"thinking,omitempty"`
	ThinkingSignature *string    `json:"thinking_signature,omitempty"`
	SenderID          *string    `json:"sender_id,omitempty"`
	Model             *string    `json:"model,omitempty"`
}

func (f SeedFields) stored(parts []Part) stored {
	return stored{Parts: parts, Name: f.Name, ToolCalls: f.ToolCalls, ToolCallID: f.ToolCallID, Depth: f.Depth,
		Thinking: f.Thinking, ThinkingSignature: f.ThinkingSignature, SenderID: f.SenderID, Model: f.Model}
}

// checksum is the Checksum of text.
func checksum(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// readFields fills m's seed fields from the fields column, tags and parent.
func (m *Message) readFields(fields []byte, tags []string, parent *uuid.UUID) error {
	var st stored
	if len(fields) > 2 {
		if err := json.Unmarshal(fields, &st); err != nil {
			return fmt.Errorf("decode message fields: %w", err)
		}
	}
	if tags == nil {
		tags = []string{}
	}
	m.Content.Parts = st.Parts
	m.SeedFields = SeedFields{Name: st.Name, ToolCalls: st.ToolCalls, ToolCallID: st.ToolCallID, Depth: st.Depth,
		Thinking: st.Thinking, ThinkingSignature: st.ThinkingSignature, SenderID: st.SenderID,
		ParentMessageID: parent, Tags: tags, Checksum: checksum(m.Content.Text), Model: st.Model}
	return nil
}

// validateFields checks the seed fields of a message of role.
func validateFields(f SeedFields, role Role) (SeedFields, error) {
	short := func(v *string, field string) error {
		if v == nil {
			return nil
		}
		n := utf8.RuneCountInString(*v)
		if n == 0 || n > maxShortText || strings.TrimSpace(*v) == "" {
			return apperr.Unprocessablef(apperr.CodeValidationFailed, field, "%s must be 1 to %d characters", field, maxShortText)
		}
		return nil
	}
	for field, v := range map[string]*string{"name": f.Name, "tool_call_id": f.ToolCallID, "sender_id": f.SenderID, "model": f.Model} {
		if err := short(v, field); err != nil {
			return f, err
		}
	}
	if f.Depth < 0 || f.Depth > MaxDepth {
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "depth", "depth must be 0 to %d, got %d", MaxDepth, f.Depth)
	}
	switch {
	case role == RoleTool && f.ToolCallID == nil:
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "tool_call_id", "a TOOL message needs the tool_call_id of the call it answers")
	case role != RoleTool && f.ToolCallID != nil:
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "tool_call_id", "only a TOOL message has a tool_call_id")
	case role != RoleAssistant && len(f.ToolCalls) > 0:
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "tool_calls", "only an ASSISTANT message makes tool calls")
	case len(f.ToolCalls) > MaxToolCalls:
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "tool_calls", "at most %d tool calls", MaxToolCalls)
	case f.ThinkingSignature != nil && f.Thinking == nil:
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "thinking_signature", "thinking_signature needs thinking")
	}
	for i, tc := range f.ToolCalls {
		field := fmt.Sprintf("tool_calls[%d]", i)
		if tc.Type == "" {
			f.ToolCalls[i].Type = "function"
		} else if tc.Type != "function" {
			return f, apperr.Unprocessablef(apperr.CodeValidationFailed, field+".type", "%s.type must be function, got %q", field, tc.Type)
		}
		if strings.TrimSpace(tc.ID) == "" || utf8.RuneCountInString(tc.ID) > maxShortText {
			return f, apperr.Unprocessablef(apperr.CodeValidationFailed, field+".id", "%s.id must be 1 to %d characters", field, maxShortText)
		}
		if strings.TrimSpace(tc.Function.Name) == "" || utf8.RuneCountInString(tc.Function.Name) > maxShortText {
			return f, apperr.Unprocessablef(apperr.CodeValidationFailed, field+".function.name", "%s.function.name must be 1 to %d characters", field, maxShortText)
		}
		if len(tc.Function.Arguments) > MaxDetailsBytes {
			return f, apperr.Unprocessablef(apperr.CodeValidationFailed, field+".function.arguments", "%s.function.arguments must be at most %d bytes", field, MaxDetailsBytes)
		}
	}
	if f.Thinking != nil {
		if n := utf8.RuneCountInString(*f.Thinking); n > MaxTextChars {
			return f, apperr.Unprocessablef(apperr.CodeTextTooLong, "thinking", "thinking must be at most %d characters, got %d", MaxTextChars, n)
		}
	}
	if f.ThinkingSignature != nil && len(*f.ThinkingSignature) > 64<<10 {
		return f, apperr.Unprocessablef(apperr.CodeValidationFailed, "thinking_signature", "thinking_signature must be at most 64 KiB")
	}
	tags, err := ValidateTags(f.Tags, "tags")
	if err != nil {
		return f, err
	}
	f.Tags = tags
	return f, nil
}

// ValidateTags checks tags (at most MaxTags, each 1..MaxTagChars code
// points, no control characters) and returns them without duplicates,
// in order. field names them in errors.
func ValidateTags(tags []string, field string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, apperr.Unprocessablef(apperr.CodeValidationFailed, field, "at most %d tags", MaxTags)
	}
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for i, t := range tags {
		n := utf8.RuneCountInString(t)
		bad := n == 0 || n > MaxTagChars || strings.TrimSpace(t) != t || strings.IndexFunc(t, unicode.IsControl) >= 0
		if bad {
			return nil, apperr.Unprocessablef(apperr.CodeValidationFailed, fmt.Sprintf("%s[%d]", field, i),
				"%s[%d] must be 1 to %d characters without surrounding spaces or control characters", field, i, MaxTagChars)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// checkParent checks that the parent message is one of the thread's.
func checkParent(ctx context.Context, q DB, tenantID, threadID uuid.UUID, parent *uuid.UUID) error {
	if parent == nil {
		return nil
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
		tenantID, threadID, *parent).Scan(&n); err != nil {
		return fmt.Errorf("read parent message: %w", err)
	}
	if n == 0 {
		return apperr.Unprocessablef(apperr.CodeValidationFailed, "parent_message_id", "parent_message_id %s is not a message of this thread", *parent)
	}
	return nil
}

// tagsArg is the SQL value of tags (never NULL).
func tagsArg(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// TextOfParts is the text of a message given as parts: its text parts,
// separated by blank lines ("" when it has none).
func TextOfParts(parts []Part) string {
	var texts []string
	for _, p := range parts {
		if p.Type == "text" && p.Text != nil {
			texts = append(texts, *p.Text)
		}
	}
	return strings.Join(texts, "\n\n")
}

// validateParts checks the content parts of a message of role.
func validateParts(parts []Part, role Role) error {
	if len(parts) > MaxParts {
		return apperr.Unprocessablef(apperr.CodeValidationFailed, "content.parts", "at most %d content parts", MaxParts)
	}
	for i, p := range parts {
		field := fmt.Sprintf("content.parts[%d]", i)
		bad := func(sub, format string, args ...any) error {
			return apperr.Unprocessablef(apperr.CodeValidationFailed, field+sub, field+sub+" "+format, args...)
		}
		switch p.Type {
		case "text":
			if p.Text == nil || strings.TrimSpace(*p.Text) == "" || utf8.RuneCountInString(*p.Text) > MaxTextChars {
				return bad(".text", "must be 1 to %d characters", MaxTextChars)
			}
		case "image":
			if p.AttachmentID == nil {
				return bad(".attachment_id", "is required: an image part names an attachment of the thread")
			}
		case "tool_call":
			if role != RoleAssistant {
				return bad(".type", "tool_call parts are for ASSISTANT messages")
			}
			if p.ToolCall == nil {
				return bad(".tool_call", "is required")
			}
			if _, err := validateFields(SeedFields{ToolCalls: []ToolCall{*p.ToolCall}}, RoleAssistant); err != nil {
				return bad(".tool_call", "must have an id, type function and a function name")
			}
		case "tool_result":
			if role != RoleTool {
				return bad(".type", "tool_result parts are for TOOL messages")
			}
			if p.ToolCallID == nil || strings.TrimSpace(*p.ToolCallID) == "" || p.Content == nil {
				return bad("", "needs tool_call_id and content")
			}
		default:
			return bad(".type", "must be text, image, tool_call or tool_result, got %q", p.Type)
		}
	}
	return nil
}

// checkPartAttachments checks that each image part names an attachment
// of the thread.
func checkPartAttachments(ctx context.Context, q DB, tenantID, threadID uuid.UUID, parts []Part) error {
	for i, p := range parts {
		if p.Type != "image" {
			continue
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM message_attachments WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
			tenantID, threadID, *p.AttachmentID).Scan(&n); err != nil {
			return fmt.Errorf("read attachment: %w", err)
		}
		if n == 0 {
			field := fmt.Sprintf("content.parts[%d].attachment_id", i)
			return apperr.Unprocessablef(apperr.CodeValidationFailed, field, "%s %s is not an attachment of this thread", field, *p.AttachmentID)
		}
	}
	return nil
}
