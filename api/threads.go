package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

// registerThreadRoutes registers the thread and message routes on g (the
// JSON group, bounded by Config.MaxBodyBytes, which also bounds messages
// with base64 attachments).
func (s *Server) registerThreadRoutes(g *gin.RouterGroup) {
	g.POST("/threads", s.createThread)
	g.GET("/threads", s.listThreads)
	g.GET("/threads/:thread_id", getOne(s, "thread_id", s.deps.Threads.GetThread))
	g.PATCH("/threads/:thread_id", s.updateThread)
	g.DELETE("/threads/:thread_id", s.deleteThread)
	g.POST("/threads/:thread_id/messages", s.createMessage)
	g.GET("/threads/:thread_id/messages", s.listMessages)
	g.GET("/threads/:thread_id/messages/:message_id", s.getMessage)
	g.PATCH("/threads/:thread_id/messages/:message_id", s.updateMessage)
	g.DELETE("/threads/:thread_id/messages/:message_id", s.deleteMessage)
	g.GET("/threads/:thread_id/attachments/:attachment_id", s.getAttachment)
}

// maxOffset bounds the offset of the thread and message lists.
const maxOffset = 1 << 30

type createThreadRequest struct {
	Name     *string         `json:"name"`
	Folder   *string         `json:"folder"`
	Metadata json.RawMessage `json:"metadata"`
}

func (s *Server) createThread(c *gin.Context) {
	var req createThreadRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	in := threads.NewThread{Name: req.Name, Metadata: req.Metadata}
	if req.Folder != nil {
		in.Folder = *req.Folder
	}
	t, err := s.deps.Threads.CreateThread(c.Request.Context(), tenantID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, t)
}

// threadListParams are the query parameters of GET /v1/threads.
var threadListParams = []string{"limit", "offset", "folder", "sort_by", "sort_dir", "name_like"}

func (s *Server) listThreads(c *gin.Context) {
	if err := AllowQuery(c, threadListParams...); err != nil {
		s.fail(c, err)
		return
	}
	limit, err := queryInt(c, "limit", threads.ListLimitDefault, 1, threads.ListLimitMax)
	if err != nil {
		s.fail(c, err)
		return
	}
	offset, err := queryInt(c, "offset", 0, 0, maxOffset)
	if err != nil {
		s.fail(c, err)
		return
	}
	oldest, err := querySortDir(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	sortBy := threads.ThreadSort(c.Query("sort_by"))
	if sortBy != "" && sortBy != threads.SortCreated && sortBy != threads.SortLastActivity {
		s.fail(c, apperr.Invalidf(CodeInvalidParameter, "sort_by", "sort_by must be %s or %s, got %q", threads.SortCreated, threads.SortLastActivity, sortBy))
		return
	}
	page, err := s.deps.Threads.ListThreads(c.Request.Context(), tenantID(c), threads.ThreadListOptions{
		Folder: c.Query("folder"), Limit: limit, Offset: offset, SortBy: sortBy, Oldest: oldest, NameLike: c.Query("name_like")})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) updateThread(c *gin.Context) {
	id, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	var req createThreadRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.deps.Threads.UpdateThread(c.Request.Context(), tenantID(c), id,
		threads.ThreadPatch{Name: req.Name, Folder: req.Folder, Metadata: req.Metadata})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (s *Server) deleteThread(c *gin.Context) {
	id, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.deps.Threads.DeleteThread(c.Request.Context(), tenantID(c), id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type messageContentRequest struct {
	Text       *string             `json:"text"`
	IsError    bool                `json:"is_error"`
	Citations  []citation.Citation `json:"citations"`
	References []threads.Reference `json:"references"`
	Parts      []threads.Part      `json:"parts"`
}

type attachmentRequest struct {
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Data     string `json:"data"`
}

type createMessageRequest struct {
	Role        *string                `json:"role"`
	Content     *messageContentRequest `json:"content"`
	MessageID   *string                `json:"message_id"`
	Details     json.RawMessage        `json:"details"`
	Metadata    json.RawMessage        `json:"metadata"`
	Attachments []attachmentRequest    `json:"attachments"`
	// The seed message fields (seeds 000, 001, 002, 004).
	Name              *string            `json:"name"`
	ToolCalls         []threads.ToolCall `json:"tool_calls"`
	ToolCallID        *string            `json:"tool_call_id"`
	Depth             int                `json:"depth"`
	Thinking          *string            `json:"thinking"`
	ThinkingSignature *string            `json:"thinking_signature"`
	SenderID          *string            `json:"sender_id"`
	ParentMessageID   *string            `json:"parent_message_id"`
	Tags              []string           `json:"tags"`
}

// toNewMessage checks presence and formats the domain cannot see.
func (r createMessageRequest) toNewMessage() (threads.NewMessage, error) {
	var in threads.NewMessage
	if r.Role == nil {
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "role", "role is required")
	}
	if r.Content == nil || (r.Content.Text == nil && len(r.Content.Parts) == 0) {
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "content.text", "content.text (or content.parts) is required")
	}
	if r.MessageID != nil {
		id, err := uuid.Parse(*r.MessageID)
		if err != nil || len(*r.MessageID) != 36 {
			return in, apperr.Invalidf(CodeInvalidID, "message_id", "message_id must be a UUID, got %q", *r.MessageID)
		}
		in.ID = &id
	}
	in.Role = threads.Role(*r.Role)
	if r.Content.Text != nil {
		in.Text = *r.Content.Text
	}
	in.Parts = r.Content.Parts
	in.IsError = r.Content.IsError
	in.Citations = r.Content.Citations
	in.References = r.Content.References
	in.Details = r.Details
	in.Metadata = r.Metadata
	in.Fields = threads.SeedFields{Name: r.Name, ToolCalls: r.ToolCalls, ToolCallID: r.ToolCallID, Depth: r.Depth,
		Thinking: r.Thinking, ThinkingSignature: r.ThinkingSignature, SenderID: r.SenderID, Tags: r.Tags}
	if r.ParentMessageID != nil {
		id, err := uuid.Parse(*r.ParentMessageID)
		if err != nil || len(*r.ParentMessageID) != 36 {
			return in, apperr.Invalidf(CodeInvalidID, "parent_message_id", "parent_message_id must be a UUID, got %q", *r.ParentMessageID)
		}
		in.Fields.ParentMessageID = &id
	}
	for i, a := range r.Attachments {
		data, err := threads.DecodeBase64(a.Data, fmt.Sprintf("attachments[%d].data", i))
		if err != nil {
			return in, err
		}
		in.Attachments = append(in.Attachments, threads.NewAttachment{Name: a.Name, MimeType: a.MimeType, Data: data})
	}
	return in, nil
}

func (s *Server) createMessage(c *gin.Context) {
	threadID, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	var req createMessageRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	in, err := req.toNewMessage()
	if err != nil {
		s.fail(c, err)
		return
	}
	m, created, err := s.deps.Threads.CreateMessage(c.Request.Context(), nil, tenantID(c), threadID, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, m)
}

// queryBool reads a boolean query parameter, or def.
func queryBool(c *gin.Context, name string, def bool) (bool, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, apperr.Invalidf(CodeInvalidParameter, name, "%s must be true or false, got %q", name, raw)
	}
	return b, nil
}

// querySortDir reads sort_dir: true for asc (oldest first), false for
// desc (the default, newest first).
func querySortDir(c *gin.Context) (bool, error) {
	switch raw := c.Query("sort_dir"); raw {
	case "", "desc":
		return false, nil
	case "asc":
		return true, nil
	default:
		return false, apperr.Invalidf(CodeInvalidParameter, "sort_dir", "sort_dir must be asc or desc, got %q", raw)
	}
}

// queryTime reads an RFC 3339 / ISO 8601 time query parameter, or nil.
func queryTime(c *gin.Context, name string) (*time.Time, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return nil, apperr.Invalidf(CodeInvalidParameter, name, "%s must be an ISO 8601 date-time such as 2026-01-02T15:04:05Z, got %q", name, raw)
	}
	return &t, nil
}

// messageListParams are the query parameters of GET .../messages.
var messageListParams = []string{"limit", "offset", "before", "after", "with_details", "sort_dir", "role", "tag", "branch", "leaf_id"}

func (s *Server) listMessages(c *gin.Context) {
	threadID, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := AllowQuery(c, messageListParams...); err != nil {
		s.fail(c, err)
		return
	}
	var o threads.ListOptions
	if raw := c.Query("role"); raw != "" {
		if o.Role, err = threads.ParseRole(raw); err != nil {
			s.fail(c, apperr.Invalidf(CodeInvalidParameter, "role", "role must be USER, ASSISTANT, SYSTEM or TOOL, got %q", raw))
			return
		}
	}
	if raw, ok := c.GetQuery("tag"); ok {
		tags, err := threads.ValidateTags([]string{raw}, "tag")
		if err != nil {
			s.fail(c, apperr.Invalidf(CodeInvalidParameter, "tag", "tag must be 1 to %d characters without surrounding spaces or control characters", threads.MaxTagChars))
			return
		}
		o.Tag = tags[0]
	}
	switch b := threads.BranchMode(c.Query("branch")); b {
	case "", threads.BranchActive, threads.BranchAll:
		o.Branch = b
	default:
		s.fail(c, apperr.Invalidf(CodeInvalidParameter, "branch", "branch must be %s or %s, got %q", threads.BranchActive, threads.BranchAll, b))
		return
	}
	if raw, ok := c.GetQuery("leaf_id"); ok {
		id, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			s.fail(c, apperr.Invalidf(CodeInvalidID, "leaf_id", "leaf_id must be a UUID, got %q", raw))
			return
		}
		if o.Branch == threads.BranchAll {
			s.fail(c, apperr.Invalidf(CodeInvalidParameter, "leaf_id", "leaf_id selects one branch; it cannot be combined with branch=all"))
			return
		}
		o.LeafID = &id
	}
	if o.Limit, err = queryInt(c, "limit", threads.ListLimitDefault, 1, threads.ListLimitMax); err != nil {
		s.fail(c, err)
		return
	}
	if o.Offset, err = queryInt(c, "offset", 0, 0, maxOffset); err != nil {
		s.fail(c, err)
		return
	}
	if o.Before, err = queryTime(c, "before"); err != nil {
		s.fail(c, err)
		return
	}
	if o.After, err = queryTime(c, "after"); err != nil {
		s.fail(c, err)
		return
	}
	if o.WithDetails, err = queryBool(c, "with_details", true); err != nil {
		s.fail(c, err)
		return
	}
	if o.Oldest, err = querySortDir(c); err != nil {
		s.fail(c, err)
		return
	}
	page, err := s.deps.Threads.ListMessages(c.Request.Context(), nil, tenantID(c), threadID, o)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) getMessage(c *gin.Context) {
	threadID, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	messageID, err := pathUUID(c, "message_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	withDetails, err := queryBool(c, "with_details", true)
	if err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.deps.Threads.GetMessage(c.Request.Context(), nil, tenantID(c), threadID, messageID, withDetails)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// updateMessageRequest is the body of PATCH .../messages/{message_id}:
// absent fields are unchanged.
type updateMessageRequest struct {
	Content  *updateContentRequest `json:"content"`
	Details  json.RawMessage       `json:"details"`
	Metadata json.RawMessage       `json:"metadata"`
}

type updateContentRequest struct {
	Text       *string              `json:"text"`
	IsError    *bool                `json:"is_error"`
	Citations  *[]citation.Citation `json:"citations"`
	References *[]threads.Reference `json:"references"`
}

// messageIDs reads the thread and message ids of the path.
func messageIDs(c *gin.Context) (thread, message uuid.UUID, err error) {
	if thread, err = pathUUID(c, "thread_id"); err != nil {
		return
	}
	message, err = pathUUID(c, "message_id")
	return
}

func (s *Server) updateMessage(c *gin.Context) {
	threadID, messageID, err := messageIDs(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req updateMessageRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	inPlace, err := queryBool(c, "in_place", false)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := threads.MessagePatch{Details: req.Details, Metadata: req.Metadata}
	if req.Content != nil {
		p.Text, p.IsError, p.Citations, p.References = req.Content.Text, req.Content.IsError, req.Content.Citations, req.Content.References
	}
	m, sibling, err := s.deps.Threads.EditMessage(c.Request.Context(), tenantID(c), threadID, messageID, p, inPlace)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if sibling {
		status = http.StatusCreated
	}
	c.JSON(status, m)
}

func (s *Server) deleteMessage(c *gin.Context) {
	threadID, messageID, err := messageIDs(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.deps.Threads.DeleteMessage(c.Request.Context(), tenantID(c), threadID, messageID); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) getAttachment(c *gin.Context) {
	threadID, err := pathUUID(c, "thread_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	id, err := pathUUID(c, "attachment_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	f, err := s.deps.Threads.GetAttachment(c.Request.Context(), tenantID(c), threadID, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf("inline; filename=%q", f.Name))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, f.MimeType, f.Data)
}
