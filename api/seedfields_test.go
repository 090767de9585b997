package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/threads"
)

// The message fields of the other seed APIs round-trip through the API:
// roles SYSTEM and TOOL, tool_calls, tool_call_id, name, depth, thinking
// and its signature, sender_id, parent_message_id, tags (and listing by
// tag), checksum.
func TestSeedMessageFields(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	target := "/v1/threads/" + th.ID.String() + "/messages"
	post := func(body map[string]any) threads.Message {
		t.Helper()
		rec := f.call(t, http.MethodPost, target, body)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		return decodeBody[threads.Message](t, rec)
	}
	sys := post(map[string]any{"role": "system", "content": map[string]any{"text": "You answer from the handbook."}})
	require.Equal(t, threads.RoleSystem, sys.Role)
	user := post(map[string]any{"role": "user", "content": map[string]any{"text": "Weather in Oslo?"},
		"sender_id": "user-42", "tags": []string{"weather", "oslo", "weather"}, "parent_message_id": sys.ID})
	require.Equal(t, []string{"weather", "oslo"}, user.Tags, "duplicates dropped, order kept")
	require.Equal(t, "user-42", *user.SenderID)
	require.Equal(t, sys.ID, *user.ParentMessageID)
	sum := sha256.Sum256([]byte("Weather in Oslo?"))
	require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), user.Checksum)
	call := post(map[string]any{"role": "assistant", "content": map[string]any{"text": "Looking it up."}, "name": "planner", "depth": 1,
		"thinking": "The user wants the forecast.", "thinking_signature": "sig-1",
		"tool_calls": []any{map[string]any{"id": "call_1", "function": map[string]any{"name": "weather", "arguments": `{"city":"Oslo"}`}}}})
	require.Equal(t, "planner", *call.Name)
	require.Equal(t, 1, call.Depth)
	require.Equal(t, "The user wants the forecast.", *call.Thinking)
	require.Equal(t, "sig-1", *call.ThinkingSignature)
	require.Len(t, call.ToolCalls, 1)
	require.Equal(t, "function", call.ToolCalls[0].Type)
	require.Equal(t, `{"city":"Oslo"}`, call.ToolCalls[0].Function.Arguments)
	result := post(map[string]any{"role": "TOOL", "content": map[string]any{"text": "-3 °C, snow"}, "tool_call_id": "call_1", "depth": 1})
	require.Equal(t, threads.RoleTool, result.Role)
	require.Equal(t, "call_1", *result.ToolCallID)
	require.Empty(t, result.Tags)
	require.Nil(t, result.ParentMessageID)

	rec := f.call(t, http.MethodGet, target+"/"+call.ID.String(), nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, call, decodeBody[threads.Message](t, rec), "a read returns what the create returned")
	page := decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target+"?tag=oslo", nil))
	require.Len(t, page.Data, 1)
	require.Equal(t, user.ID, page.Data[0].ID)
	page = decodeBody[threads.MessagePage](t, f.call(t, http.MethodGet, target+"?role=tool", nil))
	require.Len(t, page.Data, 1)
	require.Equal(t, result.ID, page.Data[0].ID)

	var raw map[string]any
	require.NoError(t, json.Unmarshal(f.call(t, http.MethodGet, target+"/"+sys.ID.String(), nil).Body.Bytes(), &raw))
	for _, k := range []string{"name", "tool_calls", "tool_call_id", "thinking", "thinking_signature", "sender_id", "parent_message_id"} {
		v, ok := raw[k]
		require.Truef(t, ok, "%s is always present", k)
		require.Nilf(t, v, "%s is null when not set", k)
	}
}

func TestSeedMessageFieldsRejectBadInput(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	target := "/v1/threads/" + th.ID.String() + "/messages"
	text := map[string]any{"text": "x"}
	long := strings.Repeat("n", 256)
	for name, tc := range map[string]struct {
		body   map[string]any
		status int
		field  string
	}{
		"ToolWithoutCallID":      {map[string]any{"role": "tool", "content": text}, 422, "tool_call_id"},
		"CallIDOnAUserMessage":   {map[string]any{"role": "user", "content": text, "tool_call_id": "c"}, 422, "tool_call_id"},
		"ToolCallsOnAUser":       {map[string]any{"role": "user", "content": text, "tool_calls": []any{map[string]any{"id": "c", "function": map[string]any{"name": "f"}}}}, 422, "tool_calls"},
		"ToolCallWithoutName":    {map[string]any{"role": "assistant", "content": text, "tool_calls": []any{map[string]any{"id": "c", "function": map[string]any{}}}}, 422, "tool_calls[0].function.name"},
		"ToolCallOfAnotherType":  {map[string]any{"role": "assistant", "content": text, "tool_calls": []any{map[string]any{"id": "c", "type": "code", "function": map[string]any{"name": "f"}}}}, 422, "tool_calls[0].type"},
		"DepthTooDeep":           {map[string]any{"role": "user", "content": text, "depth": 17}, 422, "depth"},
		"NegativeDepth":          {map[string]any{"role": "user", "content": text, "depth": -1}, 422, "depth"},
		"SignatureWithoutThinks": {map[string]any{"role": "assistant", "content": text, "thinking_signature": "s"}, 422, "thinking_signature"},
		"BlankSender":            {map[string]any{"role": "user", "content": text, "sender_id": " "}, 422, "sender_id"},
		"LongName":               {map[string]any{"role": "user", "content": text, "name": long}, 422, "name"},
		"PaddedTag":              {map[string]any{"role": "user", "content": text, "tags": []string{"ok", " padded"}}, 422, "tags[1]"},
		"TooManyTags":            {map[string]any{"role": "user", "content": text, "tags": make([]string, 33)}, 422, "tags"},
		"ParentNotAUUID":         {map[string]any{"role": "user", "content": text, "parent_message_id": "m-1"}, 400, "parent_message_id"},
		"ParentOfAnotherThread":  {map[string]any{"role": "user", "content": text, "parent_message_id": uuid.NewString()}, 422, "parent_message_id"},
		"TagsNotStrings":         {map[string]any{"role": "user", "content": text, "tags": []any{1}}, 400, "tags"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := f.call(t, http.MethodPost, target, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"field":"`+tc.field)
		})
	}
	rec := f.call(t, http.MethodGet, target+"?tag=%20x", nil)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	var count int
	require.NoError(t, f.pool.QueryRow(t.Context(), `SELECT count(*) FROM messages WHERE tenant_id = $1`, f.tenant).Scan(&count))
	require.Zero(t, count, "nothing stored")
}

// Content as parts (seed 002): text, an image by attachment id, a tool
// call, a tool result; text defaults to the text parts.
func TestContentParts(t *testing.T) {
	t.Parallel()
	f := setupThreads(t)
	th := f.newThread(t, map[string]any{})
	target := "/v1/threads/" + th.ID.String() + "/messages"
	rec := f.call(t, http.MethodPost, target, map[string]any{"role": "user", "content": map[string]any{"text": "a note"},
		"attachments": []any{map[string]any{"name": "n.txt", "mime_type": "text/plain", "data": "aGVsbG8="}}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	att := decodeBody[threads.Message](t, rec).Attachments[0].ID
	rec = f.call(t, http.MethodPost, target, map[string]any{"role": "user", "content": map[string]any{"parts": []any{
		map[string]any{"type": "text", "text": "What is in this file?"},
		map[string]any{"type": "image", "attachment_id": att},
		map[string]any{"type": "text", "text": "Be brief."},
	}}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	m := decodeBody[threads.Message](t, rec)
	require.Equal(t, "What is in this file?\n\nBe brief.", m.Content.Text)
	require.Len(t, m.Content.Parts, 3)
	require.Equal(t, att, *m.Content.Parts[1].AttachmentID)
	got := decodeBody[threads.Message](t, f.call(t, http.MethodGet, target+"/"+m.ID.String(), nil))
	require.Equal(t, m.Content, got.Content)

	rec = f.call(t, http.MethodPost, target, map[string]any{"role": "tool", "tool_call_id": "c1", "content": map[string]any{"text": "ok",
		"parts": []any{map[string]any{"type": "tool_result", "tool_call_id": "c1", "content": "42"}}}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"NeitherTextNorParts": {map[string]any{"role": "user", "content": map[string]any{}}, "content.text"},
		"UnknownAttachment":   {map[string]any{"role": "user", "content": map[string]any{"text": "x", "parts": []any{map[string]any{"type": "image", "attachment_id": uuid.NewString()}}}}, "content.parts[0].attachment_id"},
		"UnknownType":         {map[string]any{"role": "user", "content": map[string]any{"text": "x", "parts": []any{map[string]any{"type": "video"}}}}, "content.parts[0].type"},
		"ToolResultOnUser":    {map[string]any{"role": "user", "content": map[string]any{"text": "x", "parts": []any{map[string]any{"type": "tool_result", "tool_call_id": "c", "content": "r"}}}}, "content.parts[0].type"},
		"BlankTextPart":       {map[string]any{"role": "user", "content": map[string]any{"parts": []any{map[string]any{"type": "text", "text": " "}}}}, "content.parts[0].text"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := f.call(t, http.MethodPost, target, tc.body)
			require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"field":"`+tc.field+`"`)
		})
	}
}
