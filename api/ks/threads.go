package ks

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/threads"
)

// Thread is Knowledge Stack's ThreadResponse. Title is the thread's name
// (its path part's name); Owner is always null (Cairn keys belong to a
// tenant, not a user). MessageCount is Cairn's own.
type Thread struct {
	ID               uuid.UUID  `json:"id"`
	PathPartID       uuid.UUID  `json:"path_part_id"`
	Title            string     `json:"title"`
	ParentThreadID   *uuid.UUID `json:"parent_thread_id"`
	MaterializedPath string     `json:"materialized_path"`
	TenantID         uuid.UUID  `json:"tenant_id"`
	Owner            *struct{}  `json:"owner"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	MessageCount     int64      `json:"message_count"`
}

func toThread(t threads.Thread, tenant uuid.UUID) Thread {
	return Thread{ID: t.ID, PathPartID: t.PathPartID, Title: t.Name, ParentThreadID: t.ParentThreadID,
		MaterializedPath: t.MaterializedPath, TenantID: tenant, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		MessageCount: t.MessageCount}
}

// createThreadRequest is Knowledge Stack's CreateThreadRequest.
// message_for_title (title generation) and system_managed are accepted
// and ignored.
type createThreadRequest struct {
	ParentPathPartID *uuid.UUID `json:"parent_path_part_id"`
	Title            *string    `json:"title"`
	MessageForTitle  *string    `json:"message_for_title"`
	PathPartName     *string    `json:"path_part_name"`
	SystemManaged    *bool      `json:"system_managed"`
}

func (h *handler) createThread(c *gin.Context) {
	var req createThreadRequest
	if err := h.HTTP.Decode(c, &req); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	ctx, tenant := c.Request.Context(), h.HTTP.Tenant(c)
	in := threads.NewThread{Name: req.Title}
	if in.Name == nil {
		in.Name = req.PathPartName
	}
	if req.ParentPathPartID != nil {
		folder, err := h.Threads.FolderPath(ctx, tenant, *req.ParentPathPartID, "parent_path_part_id")
		if err != nil {
			h.HTTP.Fail(c, err)
			return
		}
		in.Folder = folder
	}
	t, err := h.Threads.CreateThread(ctx, tenant, in)
	if err != nil {
		h.HTTP.Fail(c, renameField(err, "name", "title"))
		return
	}
	c.JSON(http.StatusCreated, toThread(t, tenant))
}

// renameField names a domain error's field as this surface calls it.
func renameField(err error, from, to string) error {
	if e, ok := apperr.As(err); ok && e.Field == from {
		out := *e
		out.Field = to
		if rest, ok := strings.CutPrefix(out.Message, from); ok {
			out.Message = to + rest
		}
		return &out
	}
	return err
}

// threadListParams are the query parameters of listThreads (Knowledge
// Stack's ListThreadsRequest).
var threadListParams = []string{"parent_path_part_id", "sort_by", "sort_dir", "title_like", "limit", "offset",
	"created_after", "created_before", "updated_after", "updated_before"}

// threadOrders maps Knowledge Stack's ThreadOrder to Cairn's sorts:
// UPDATED_AT is the thread's last activity (its latest message, or a
// rename).
var threadOrders = map[string]threads.ThreadSort{
	"CREATED_AT": threads.SortCreated,
	"UPDATED_AT": threads.SortLastActivity,
}

// sortDir reads Knowledge Stack's SortDirection (ASC or DESC, any case):
// true for oldest first.
func sortDir(c *gin.Context) (bool, error) {
	switch raw := c.Query("sort_dir"); strings.ToUpper(raw) {
	case "", "DESC":
		return false, nil
	case "ASC":
		return true, nil
	default:
		return false, apperr.Invalidf(apperr.CodeValidationFailed, "sort_dir", "sort_dir must be ASC or DESC, got %q", raw)
	}
}

func (h *handler) listThreads(c *gin.Context) {
	if err := h.HTTP.AllowQuery(c, threadListParams...); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	ctx, tenant := c.Request.Context(), h.HTTP.Tenant(c)
	o := threads.ThreadListOptions{NameLike: c.Query("title_like")}
	var err error
	if o.Limit, err = h.HTTP.Int(c, "limit", listLimitDefault, 1, threads.ListLimitMax); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.Offset, err = h.HTTP.Int(c, "offset", 0, 0, maxOffset); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if o.Oldest, err = sortDir(c); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if raw := c.Query("sort_by"); raw != "" {
		var ok bool
		if o.SortBy, ok = threadOrders[strings.ToUpper(raw)]; !ok {
			h.HTTP.Fail(c, apperr.Invalidf(apperr.CodeValidationFailed, "sort_by", "sort_by must be CREATED_AT or UPDATED_AT, got %q", raw))
			return
		}
	}
	for name, dst := range map[string]**time.Time{"created_after": &o.CreatedAfter, "created_before": &o.CreatedBefore,
		"updated_after": &o.UpdatedAfter, "updated_before": &o.UpdatedBefore} {
		if *dst, err = h.HTTP.Time(c, name); err != nil {
			h.HTTP.Fail(c, err)
			return
		}
	}
	if raw := c.Query("parent_path_part_id"); raw != "" {
		id, perr := uuid.Parse(raw)
		if perr != nil {
			h.HTTP.Fail(c, apperr.Invalidf(apperr.CodeValidationFailed, "parent_path_part_id", "parent_path_part_id must be a UUID, got %q", raw))
			return
		}
		if o.Folder, err = h.Threads.FolderPath(ctx, tenant, id, "parent_path_part_id"); err != nil {
			h.HTTP.Fail(c, err)
			return
		}
	}
	page, err := h.Threads.ListThreads(ctx, tenant, o)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	total, err := h.Threads.CountThreads(ctx, tenant, o)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	out := Page[Thread]{Items: make([]Thread, len(page.Data)), Total: total, Limit: o.Limit, Offset: o.Offset}
	for i, t := range page.Data {
		out.Items[i] = toThread(t, tenant)
	}
	c.JSON(http.StatusOK, out)
}

func (h *handler) getThread(c *gin.Context) {
	id, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	t, err := h.Threads.GetThread(c.Request.Context(), h.HTTP.Tenant(c), id)
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toThread(t, h.HTTP.Tenant(c)))
}

// updateThreadRequest is Knowledge Stack's UpdateThreadRequest: a null
// title is unchanged; a null parent_thread_id unlinks, an absent one is
// unchanged.
type updateThreadRequest struct {
	Title          *string         `json:"title"`
	ParentThreadID json.RawMessage `json:"parent_thread_id"`
}

func (h *handler) updateThread(c *gin.Context) {
	id, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	var req updateThreadRequest
	if err := h.HTTP.Decode(c, &req); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	p := threads.ThreadPatch{Name: req.Title}
	switch raw := bytes.TrimSpace(req.ParentThreadID); {
	case len(raw) == 0:
	case string(raw) == "null":
		p.ParentThread = &uuid.Nil
	default:
		var s string
		parent, perr := uuid.Nil, json.Unmarshal(raw, &s)
		if perr == nil {
			parent, perr = uuid.Parse(s)
		}
		if perr != nil || parent == uuid.Nil {
			h.HTTP.Fail(c, apperr.Invalidf(apperr.CodeValidationFailed, "parent_thread_id", "parent_thread_id must be a thread id (a UUID) or null"))
			return
		}
		p.ParentThread = &parent
	}
	tenant := h.HTTP.Tenant(c)
	t, err := h.Threads.UpdateThread(c.Request.Context(), tenant, id, p)
	if err != nil {
		h.HTTP.Fail(c, renameField(err, "name", "title"))
		return
	}
	c.JSON(http.StatusOK, toThread(t, tenant))
}

func (h *handler) deleteThread(c *gin.Context) {
	id, err := h.HTTP.PathUUID(c, "thread_id")
	if err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	if err := h.Threads.DeleteThread(c.Request.Context(), h.HTTP.Tenant(c), id); err != nil {
		h.HTTP.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
