package ks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

// Message is Knowledge Stack's ThreadMessageResponse; ThreadID, Status
// and Metadata are Cairn's own.
type Message struct {
	ID               uuid.UUID       `json:"id"`
	PathPartID       uuid.UUID       `json:"path_part_id"`
	Sequence         int64           `json:"sequence"`
	Role             threads.Role    `json:"role"`
	Content          Content         `json:"content"`
	Details          json.RawMessage `json:"details"`
	ParentPathID     uuid.UUID       `json:"parent_path_id"`
	MaterializedPath string          `json:"materialized_path"`
	TenantID         uuid.UUID       `json:"tenant_id"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	ThreadID         uuid.UUID       `json:"thread_id"`
	Status           threads.Status  `json:"status"`
}

// Content is Knowledge Stack's EnrichedThreadMessageContent (citations
// are Cairn's enriched citations, whose names follow it).
type Content struct {
	Text       string              `json:"text"`
	IsError    bool                `json:"is_error"`
	Citations  []citation.Citation `json:"citations"`
	References []Reference         `json:"references"`
}

// Reference is Knowledge Stack's ResolvedReferenceOutput.
type Reference struct {
	RefType          string    `json:"ref_type"`
	EntityID         uuid.UUID `json:"entity_id"`
	DisplayName      string    `json:"display_name"`
	MaterializedPath *string   `json:"materialized_path"`
}

// refTypes maps Cairn's path part kinds to Knowledge Stack's
// ReferenceType; refKinds is the reverse.
var (
	refTypes = map[string]string{"folder": "FOLDER", "document": "DOCUMENT", "version": "DOCUMENT_VERSION",
		"chunk": "CHUNK", "thread": "THREAD", "message": "THREAD_MESSAGE", "attachment": "ATTACHMENT"}
	refKinds = func() map[string]string {
		m := map[string]string{}
		for k, v := range refTypes {
			m[v] = k
		}
		return m
	}()
)

// entityIDs returns the entity ids (thread, message, document, version
// ids) of the path parts the references of ms name, for Reference.EntityID.
func (h *handler) entityIDs(ctx context.Context, tenant uuid.UUID, ms ...threads.Message) (map[uuid.UUID]uuid.UUID, error) {
	var ids []uuid.UUID
	for _, m := range ms {
		for _, r := range m.Content.References {
			ids = append(ids, r.PathPartID)
		}
	}
	return h.Threads.PathPartEntities(ctx, tenant, ids)
}

// toMessage converts m; entities maps its references' path part ids to
// entity ids (a path part that is not mapped is its own entity: a folder
// or a chunk).
func toMessage(m threads.Message, entities map[uuid.UUID]uuid.UUID) Message {
	out := Message{ID: m.ID, PathPartID: m.PathPartID, Sequence: m.Sequence, Role: m.Role,
		Content:      Content{Text: m.Content.Text, IsError: m.Content.IsError, Citations: m.Content.Citations, References: make([]Reference, len(m.Content.References))},
		Details:      toDetails(m.Details),
		ParentPathID: m.ParentPathID, MaterializedPath: m.MaterializedPath, TenantID: m.TenantID,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, ThreadID: m.ThreadID, Status: m.Status}
	if out.Details == nil {
		out.Details = json.RawMessage("null")
	}
	for i, r := range m.Content.References {
		name := r.PathPartID.String()
		if r.MaterializedPath != nil {
			name = (*r.MaterializedPath)[strings.LastIndex(*r.MaterializedPath, "/")+1:]
		}
		t, ok := refTypes[r.RefType]
		if !ok {
			t = strings.ToUpper(r.RefType)
		}
		entity, ok := entities[r.PathPartID]
		if !ok {
			entity = r.PathPartID
		}
		out.Content.References[i] = Reference{RefType: t, EntityID: entity, DisplayName: name, MaterializedPath: r.MaterializedPath}
	}
	return out
}

// Step is Knowledge Stack's Step (an entry of details.steps).
type Step struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Args      map[string]any `json:"args"`
	Detail    *string        `json:"detail"`
	StartTime time.Time      `json:"start_time"`
	EndTime   *time.Time     `json:"end_time"`
}

// cairnStep is a step as Cairn's answerer writes it (answer.Step).
type cairnStep struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
	At   *time.Time     `json:"at"`
}

// toStep turns a Cairn step into Knowledge Stack's: retrieval and tool
// calls are tool_call, everything else (model calls, citation checks,
// errors) reasoning; Cairn records when a step finished, which is both
// its start and end time; detail is its error or detail text.
func toStep(id string, s cairnStep) Step {
	kind := "reasoning"
	if s.Type == "retrieval" || s.Type == "tool_call" {
		kind = "tool_call"
	}
	out := Step{ID: id, Name: s.Type, Kind: kind, Args: s.Data}
	if s.At != nil {
		at := s.At.UTC()
		out.StartTime, out.EndTime = at, &at
	}
	for _, k := range []string{"error", "detail"} {
		if v, ok := s.Data[k].(string); ok {
			out.Detail = &v
			break
		}
	}
	return out
}

// toDetails returns Knowledge Stack's ThreadMessageDetails for stored
// details: Cairn's answer details ({user_message_id, answerer, steps of
// {type, data, at}}) get their steps in Knowledge Stack's shape and
// model_id; details written by a client (any other JSON) pass through.
func toDetails(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var d map[string]json.RawMessage
	if json.Unmarshal(raw, &d) != nil {
		return raw
	}
	var steps []map[string]json.RawMessage
	if json.Unmarshal(d["steps"], &steps) != nil || len(steps) == 0 {
		return raw
	}
	for _, s := range steps {
		if _, ok := s["kind"]; ok {
			return raw // already Knowledge Stack's
		}
		if _, ok := s["type"]; !ok {
			return raw
		}
	}
	var cs []cairnStep
	if json.Unmarshal(d["steps"], &cs) != nil {
		return raw
	}
	out := make([]Step, len(cs))
	for i, s := range cs {
		out[i] = toStep(fmt.Sprintf("step-%d", i+1), s)
	}
	d["steps"], _ = json.Marshal(out)
	if a, ok := d["answerer"]; ok {
		if _, has := d["model_id"]; !has {
			d["model_id"] = a
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return raw
	}
	return b
}

// createMessageRequest is Knowledge Stack's CreateThreadMessageRequest.
type createMessageRequest struct {
	MessageID *string         `json:"message_id"`
	Role      *string         `json:"role"`
	Content   *contentRequest `json:"content"`
	Details   json.RawMessage `json:"details"`
}

// contentRequest is Knowledge Stack's ThreadMessageContent.
type contentRequest struct {
	Text       *string             `json:"text"`
	IsError    *bool               `json:"is_error"`
	Citations  []citation.Citation `json:"citations"`
	References []referenceRequest  `json:"references"`
}

// referenceRequest is Knowledge Stack's ResolvedReferenceInput: the
// entity is a thread, message, document or version by its id, a folder by
// its path part id or a chunk by its id (any path part id is taken too);
// display_name, materialized_path and document_type are read back
// resolved, not stored.
type referenceRequest struct {
	RefType          string          `json:"ref_type"`
	EntityID         uuid.UUID       `json:"entity_id"`
	DisplayName      *string         `json:"display_name"`
	MaterializedPath *string         `json:"materialized_path"`
	DocumentType     json.RawMessage `json:"document_type"`
}

func (r createMessageRequest) toNewMessage() (threads.NewMessage, error) {
	var in threads.NewMessage
	if r.Role == nil {
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "role", "role is required")
	}
	if r.Content == nil || r.Content.Text == nil {
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "content.text", "content.text is required")
	}
	if r.MessageID != nil {
		id, err := uuid.Parse(*r.MessageID)
		if err != nil || len(*r.MessageID) != 36 {
			return in, apperr.Invalidf(apperr.CodeValidationFailed, "message_id", "message_id must be a UUID, got %q", *r.MessageID)
		}
		in.ID = &id
	}
	in.Role, in.Text, in.Citations, in.Details = threads.Role(*r.Role), *r.Content.Text, r.Content.Citations, r.Details
	if r.Content.IsError != nil {
		in.IsError = *r.Content.IsError
	}
	for i, ref := range r.Content.References {
		kind, ok := refKinds[strings.ToUpper(ref.RefType)]
		if !ok {
			field := fmt.Sprintf("content.references[%d].ref_type", i)
			return in, apperr.Unprocessablef(threads.CodeReferenceInvalid, field, "%s: Cairn cannot reference a %q (only FOLDER, DOCUMENT, DOCUMENT_VERSION, CHUNK, THREAD, THREAD_MESSAGE, ATTACHMENT)", field, ref.RefType)
		}
		in.References = append(in.References, threads.Reference{RefType: kind, PathPartID: ref.EntityID})
	}
	return in, nil
}

func (h *handler) createMessage(c *gin.Context) {
	threadID, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	var req createMessageRequest
	if err := h.HTTP.Decode(c, &req); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	in, err := req.toNewMessage()
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	ctx, tenant := c.Request.Context(), h.HTTP.Tenant(c)
	if len(in.References) > 0 {
		ids := make([]uuid.UUID, len(in.References))
		for i, r := range in.References {
			ids[i] = r.PathPartID
		}
		pps, err := h.Threads.EntityPathParts(ctx, tenant, ids)
		if err != nil {
			h.HTTP.Fail(c, err)
			return
		}
		for i, r := range in.References {
			if pp, ok := pps[r.PathPartID]; ok {
				in.References[i].PathPartID = pp
			}
		}
	}
	m, created, err := h.Threads.CreateMessage(ctx, nil, tenant, threadID, in)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	h.respond(c, created, m)
}

// respond answers with m converted: 201 when created, 200 otherwise.
func (h *handler) respond(c *gin.Context, created bool, m threads.Message) {
	ents, err := h.entityIDs(c.Request.Context(), h.HTTP.Tenant(c), m)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, toMessage(m, ents))
}

// messageListParams are the query parameters of listMessages (Knowledge
// Stack's ListThreadMessagesRequest, and Cairn's after cursor).
var messageListParams = []string{"before", "role", "sort_dir", "with_details", "limit", "offset", "after"}

func (h *handler) listMessages(c *gin.Context) {
	threadID, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if err := h.HTTP.AllowQuery(c, messageListParams...); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	var o threads.ListOptions
	if raw := c.Query("role"); raw != "" {
		if o.Role, err = threads.ParseRole(raw); err != nil {
			h.HTTP.Fail(c, apperr.Invalidf(apperr.CodeValidationFailed, "role", "role must be USER, ASSISTANT or SYSTEM, got %q", raw))
			return
		}
	}
	if o.Limit, err = h.HTTP.Int(c, "limit", listLimitDefault, 1, threads.ListLimitMax); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.Offset, err = h.HTTP.Int(c, "offset", 0, 0, maxOffset); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.Before, err = h.HTTP.Time(c, "before"); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.After, err = h.HTTP.Time(c, "after"); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.WithDetails, err = h.HTTP.Bool(c, "with_details", true); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.Oldest, err = sortDir(c); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	ctx, tenant := c.Request.Context(), h.HTTP.Tenant(c)
	page, err := h.Threads.ListMessages(ctx, nil, tenant, threadID, o)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	total, err := h.Threads.CountMessages(ctx, nil, tenant, threadID, o)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	ents, err := h.entityIDs(ctx, tenant, page.Data...)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	out := Page[Message]{Items: make([]Message, len(page.Data)), Total: total, Limit: o.Limit, Offset: o.Offset}
	for i, m := range page.Data {
		out.Items[i] = toMessage(m, ents)
	}
	c.JSON(http.StatusOK, out)
}

func (h *handler) getMessage(c *gin.Context) {
	threadID, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	messageID, err := h.HTTP.PathUUID(c, "message_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if err := h.HTTP.AllowQuery(c, "with_details"); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	withDetails, err := h.HTTP.Bool(c, "with_details", true)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	m, err := h.Threads.GetMessage(c.Request.Context(), nil, h.HTTP.Tenant(c), threadID, messageID, withDetails)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	h.respond(c, false, m)
}
