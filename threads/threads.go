// Package threads owns chat threads and their messages on the path-part
// tree: a thread is a path part (under an optional folder), each message a
// path part under its thread named by its zero-padded sequence number, and
// each attachment a path part under the thread's "attachments" folder. It
// owns gap-free sequences under concurrent writers, idempotent creates on a
// caller-supplied message id, keyset pagination, citation and reference
// validation at write time, and their enrichment at read time in the same
// query that reads the messages.
package threads

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/pg"
	"github.com/cairn-rag/cairn/pathtree"
)

// DB is what the store runs queries on: a *pgxpool.Pool or a pgx.Tx
// (pg.DB). Begin on a pgx.Tx opens a savepoint, so every write of the
// store is atomic on its own and also inside a caller's transaction.
type DB = pg.DB

// MaxMetadataBytes bounds the JSON metadata of a thread or a message.
const MaxMetadataBytes = 64 << 10

// ErrThreadNotFound is returned for a thread that does not exist in the tenant.
var ErrThreadNotFound = apperr.NotFoundf(CodeThreadNotFound, "thread not found")

// Store reads and writes threads, messages and attachments. Its methods
// taking a DB run on a pool or inside a caller's transaction; the others
// use the store's pool.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
}

// Config tunes a Store; zero fields take their defaults.
type Config struct {
	// MaxImageBytes is the size an image attachment is scaled down to fit
	// under (default MaxImageBytesDefault, 1.5 MB).
	MaxImageBytes int
}

// NewStore returns a Store over pool with the default Config.
func NewStore(pool *pgxpool.Pool) *Store { return NewStoreConfig(pool, Config{}) }

// NewStoreConfig returns a Store over pool with cfg.
func NewStoreConfig(pool *pgxpool.Pool, cfg Config) *Store {
	if cfg.MaxImageBytes <= 0 {
		cfg.MaxImageBytes = MaxImageBytesDefault
	}
	return &Store{pool: pool, cfg: cfg}
}

// Pool returns the store's pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Thread is a conversation: a path part of kind thread.
type Thread struct {
	ID               uuid.UUID       `json:"id"`
	PathPartID       uuid.UUID       `json:"path_part_id"`
	Name             string          `json:"name"`
	MaterializedPath string          `json:"materialized_path"`
	Metadata         json.RawMessage `json:"metadata"`
	MessageCount     int64           `json:"message_count"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	// LastActivityAt is when the thread's latest message was posted, or
	// its creation time while it has none.
	LastActivityAt time.Time `json:"last_activity_at"`
	// ParentThreadID is the thread this one is linked under (a
	// sub-thread), kept in metadata as parent_thread_id (a metadata
	// update keeps it); nil when unlinked.
	ParentThreadID *uuid.UUID `json:"-"`
}

// NewThread is the input of CreateThread.
type NewThread struct {
	// Name of the thread's path part; defaults to the thread id.
	Name *string
	// Folder is a path such as "/support/acme", created when missing; empty
	// or "/" is the root.
	Folder string
	// Metadata is a JSON object or nil.
	Metadata json.RawMessage
}

// ThreadPatch is the input of UpdateThread; nil fields are left unchanged.
type ThreadPatch struct {
	Name     *string
	Folder   *string
	Metadata json.RawMessage
	// ParentThread links the thread under another thread of the tenant
	// (uuid.Nil unlinks it); nil leaves the link as it is.
	ParentThread *uuid.UUID
}

// ThreadPage is one page of threads.
type ThreadPage struct {
	Data    []Thread `json:"data"`
	HasMore bool     `json:"has_more"`
}

const threadColumns = `t.id, t.path_part_id, p.name, p.path, t.metadata, t.message_count, t.created_at, t.updated_at,
  coalesce(t.last_message_at, t.created_at), t.metadata->>'parent_thread_id'`

func scanThread(row pgx.Row) (Thread, error) {
	var t Thread
	var parent *string
	err := row.Scan(&t.ID, &t.PathPartID, &t.Name, &t.MaterializedPath, &t.Metadata, &t.MessageCount, &t.CreatedAt, &t.UpdatedAt, &t.LastActivityAt, &parent)
	t.CreatedAt, t.UpdatedAt, t.LastActivityAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC(), t.LastActivityAt.UTC()
	if parent != nil {
		if id, perr := uuid.Parse(*parent); perr == nil {
			t.ParentThreadID = &id
		}
	}
	return t, err
}

// ThreadSort is the order of a thread list.
type ThreadSort string

// The orders of a thread list (sort_by).
const (
	// SortCreated orders by creation time (the default).
	SortCreated ThreadSort = "created_at"
	// SortLastActivity orders by the latest message, or creation while
	// there is none (Thread.LastActivityAt).
	SortLastActivity ThreadSort = "last_activity_at"
)

// ThreadListOptions selects a page of threads.
type ThreadListOptions struct {
	// Folder limits the list to that folder and below ("" for all).
	Folder string
	Limit  int
	Offset int
	// SortBy is SortCreated ("" too) or SortLastActivity.
	SortBy ThreadSort
	// Oldest orders oldest first (sort_dir=asc); newest first otherwise.
	Oldest bool
	// NameLike keeps the threads whose name contains it, case-insensitively
	// ("" for all).
	NameLike string
	// CreatedAfter keeps the threads created at or after it (nil: no bound).
	CreatedAfter *time.Time
	// CreatedBefore keeps the threads created strictly before it.
	CreatedBefore *time.Time
	// UpdatedAfter keeps the threads updated at or after it.
	UpdatedAfter *time.Time
	// UpdatedBefore keeps the threads updated strictly before it.
	UpdatedBefore *time.Time
}

// threadFilter is the FROM and WHERE of ListThreads and CountThreads: $1
// tenant, $2 path prefix pattern (”), $3 name pattern (”), $4..$7 the
// created and updated bounds (NULL).
const threadFilter = `
FROM threads t
JOIN path_parts p ON p.tenant_id = t.tenant_id AND p.id = t.path_part_id
WHERE t.tenant_id = $1 AND ($2 = '' OR p.path LIKE $2) AND ($3 = '' OR p.name ILIKE $3)
  AND ($4::timestamptz IS NULL OR t.created_at >= $4) AND ($5::timestamptz IS NULL OR t.created_at < $5)
  AND ($6::timestamptz IS NULL OR t.updated_at >= $6) AND ($7::timestamptz IS NULL OR t.updated_at < $7)`

// filterArgs validates o's folder and returns the arguments $1..$7 of
// threadFilter.
func (o ThreadListOptions) filterArgs(tenantID uuid.UUID) ([]any, error) {
	segs, err := ParseFolder(o.Folder, "folder")
	if err != nil {
		return nil, err
	}
	prefix := ""
	if len(segs) > 0 {
		prefix = pg.EscapeLike(joinPath(segs)) + "/%"
	}
	name := ""
	if o.NameLike != "" {
		name = "%" + pg.EscapeLike(o.NameLike) + "%"
	}
	return []any{tenantID, prefix, name, o.CreatedAfter, o.CreatedBefore, o.UpdatedAfter, o.UpdatedBefore}, nil
}

// threadOrders are the ORDER BY clauses of ListThreads, by sort and
// direction, each served by an index leading with tenant_id
// (threads_created, threads_activity).
var threadOrders = map[ThreadSort][2]string{
	SortCreated:      {`t.created_at DESC, t.id DESC`, `t.created_at ASC, t.id ASC`},
	SortLastActivity: {`coalesce(t.last_message_at, t.created_at) DESC, t.id DESC`, `coalesce(t.last_message_at, t.created_at) ASC, t.id ASC`},
}

// validateObject checks that raw is absent, null or a JSON object of at
// most MaxMetadataBytes, and returns it ("{}" when absent).
func validateObject(raw json.RawMessage, field string) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage(`{}`), nil
	}
	if len(raw) > MaxMetadataBytes {
		return nil, apperr.Unprocessablef(apperr.CodeValidationFailed, field, "%s must be at most %d bytes", field, MaxMetadataBytes)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, apperr.Unprocessablef(apperr.CodeValidationFailed, field, "%s must be a JSON object", field)
	}
	return raw, nil
}

// CreateThread creates a thread (and its missing folders) in one transaction.
// Errors: invalid_path (400), validation_failed (422), thread_name_conflict
// and path_conflict (409).
func (s *Store) CreateThread(ctx context.Context, tenantID uuid.UUID, in NewThread) (Thread, error) {
	id := uuid.Must(uuid.NewV7())
	name := id.String()
	if in.Name != nil {
		n, err := ValidateName(*in.Name, "name")
		if err != nil {
			return Thread{}, err
		}
		name = n
	}
	segs, err := ParseFolder(in.Folder, "folder")
	if err != nil {
		return Thread{}, err
	}
	meta, err := validateObject(in.Metadata, "metadata")
	if err != nil {
		return Thread{}, err
	}
	var out Thread
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		parent, err := pathtree.EnsureFolder(ctx, tx, tenantID, segs)
		if err != nil {
			return err
		}
		ppID := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, `
INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'thread', $5)`,
			tenantID, ppID, parent, name, joinPath(append(segs, name))); err != nil {
			if isUnique(err) {
				return nameConflict(joinPath(append(segs, name)))
			}
			return fmt.Errorf("insert thread path part: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO threads (tenant_id, id, path_part_id, metadata) VALUES ($1, $2, $3, $4)`,
			tenantID, id, ppID, meta); err != nil {
			return fmt.Errorf("insert thread: %w", err)
		}
		out, err = getThread(ctx, tx, tenantID, id)
		return err
	})
	return out, err
}

func nameConflict(path string) error {
	return apperr.New(apperr.Conflict, CodeThreadNameConflict, "%s already exists", path).WithField("name")
}

// GetThread returns one thread. Errors: thread_not_found (404).
func (s *Store) GetThread(ctx context.Context, tenantID, threadID uuid.UUID) (Thread, error) {
	return getThread(ctx, s.pool, tenantID, threadID)
}

func getThread(ctx context.Context, q DB, tenantID, threadID uuid.UUID) (Thread, error) {
	t, err := scanThread(q.QueryRow(ctx, `
SELECT `+threadColumns+` FROM threads t
JOIN path_parts p ON p.tenant_id = t.tenant_id AND p.id = t.path_part_id
WHERE t.tenant_id = $1 AND t.id = $2`, tenantID, threadID))
	if noRows(err) {
		return Thread{}, ErrThreadNotFound
	}
	if err != nil {
		return Thread{}, fmt.Errorf("get thread: %w", err)
	}
	return t, nil
}

// ListThreads returns a page of threads in the order of o (newest created
// first by default); with o.Folder, only those in that folder or below it
// (an unknown folder gives an empty page). Errors: invalid_path (400),
// validation_failed (422, an unknown sort).
func (s *Store) ListThreads(ctx context.Context, tenantID uuid.UUID, o ThreadListOptions) (ThreadPage, error) {
	args, err := o.filterArgs(tenantID)
	if err != nil {
		return ThreadPage{}, err
	}
	if o.SortBy == "" {
		o.SortBy = SortCreated
	}
	order, ok := threadOrders[o.SortBy]
	if !ok {
		return ThreadPage{}, apperr.Unprocessablef(apperr.CodeValidationFailed, "sort_by", "sort_by must be %s or %s, got %q", SortCreated, SortLastActivity, o.SortBy)
	}
	dir := 0
	if o.Oldest {
		dir = 1
	}
	limit := o.Limit
	rows, err := s.pool.Query(ctx, `
SELECT `+threadColumns+threadFilter+`
ORDER BY `+order[dir]+`
LIMIT $8 OFFSET $9`, append(args, limit+1, o.Offset)...)
	if err != nil {
		return ThreadPage{}, fmt.Errorf("list threads: %w", err)
	}
	var page ThreadPage
	if page.Data, err = pgx.CollectRows(rows, rowTo(scanThread)); err != nil {
		return ThreadPage{}, fmt.Errorf("list threads: %w", err)
	}
	if len(page.Data) > limit {
		page.Data, page.HasMore = page.Data[:limit], true
	}
	return page, nil
}

// CountThreads returns how many threads match o's folder and filters (its
// order and page are ignored). Errors: invalid_path (400).
func (s *Store) CountThreads(ctx context.Context, tenantID uuid.UUID, o ThreadListOptions) (int64, error) {
	args, err := o.filterArgs(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*)`+threadFilter, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count threads: %w", err)
	}
	return n, nil
}

// UpdateThread renames, re-files or re-tags a thread in one transaction;
// the paths of its messages and attachments follow. Errors as CreateThread,
// plus thread_not_found (404).
func (s *Store) UpdateThread(ctx context.Context, tenantID, threadID uuid.UUID, p ThreadPatch) (Thread, error) {
	var name *string
	if p.Name != nil {
		n, err := ValidateName(*p.Name, "name")
		if err != nil {
			return Thread{}, err
		}
		name = &n
	}
	var segs []string
	if p.Folder != nil {
		var err error
		if segs, err = ParseFolder(*p.Folder, "folder"); err != nil {
			return Thread{}, err
		}
	}
	var meta json.RawMessage
	if len(p.Metadata) > 0 {
		var err error
		if meta, err = validateObject(p.Metadata, "metadata"); err != nil {
			return Thread{}, err
		}
	}
	var out Thread
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ppID uuid.UUID
		var parent *uuid.UUID
		var oldName, oldPath string
		err := tx.QueryRow(ctx, `
SELECT p.id, p.parent_id, p.name, p.path FROM threads t
JOIN path_parts p ON p.tenant_id = t.tenant_id AND p.id = t.path_part_id
WHERE t.tenant_id = $1 AND t.id = $2
FOR UPDATE OF t`, tenantID, threadID).Scan(&ppID, &parent, &oldName, &oldPath)
		if noRows(err) {
			return ErrThreadNotFound
		}
		if err != nil {
			return fmt.Errorf("lock thread: %w", err)
		}
		newName := oldName
		if name != nil {
			newName = *name
		}
		newParentPath := oldPath[:len(oldPath)-len(oldName)-1]
		if p.Folder != nil {
			if parent, err = pathtree.EnsureFolder(ctx, tx, tenantID, segs); err != nil {
				return err
			}
			newParentPath = ""
			if len(segs) > 0 {
				newParentPath = joinPath(segs)
			}
		}
		newPath := newParentPath + "/" + newName
		if newPath != oldPath {
			if _, err := tx.Exec(ctx, `
UPDATE path_parts SET parent_id = $3, name = $4, path = $5, updated_at = now()
WHERE tenant_id = $1 AND id = $2`, tenantID, ppID, parent, newName, newPath); err != nil {
				if isUnique(err) {
					return nameConflict(newPath)
				}
				return fmt.Errorf("move thread: %w", err)
			}
			if _, err := tx.Exec(ctx, `
UPDATE path_parts SET path = $3 || substr(path, $4), updated_at = now()
WHERE tenant_id = $1 AND path LIKE $2`, tenantID, pg.EscapeLike(oldPath)+"/%", newPath, len([]rune(oldPath))+1); err != nil {
				return fmt.Errorf("move thread contents: %w", err)
			}
		}
		link, parentArg, err := parentLink(ctx, tx, tenantID, threadID, p.ParentThread)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
UPDATE threads SET metadata = CASE $4::int
    WHEN 1 THEN coalesce($3, metadata) || jsonb_build_object('parent_thread_id', $5::text)
    WHEN 2 THEN coalesce($3, metadata) - 'parent_thread_id'
    ELSE coalesce($3 || jsonb_strip_nulls(jsonb_build_object('parent_thread_id', metadata->'parent_thread_id')), metadata) END,
  updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, threadID, meta, link, parentArg); err != nil {
			return fmt.Errorf("update thread: %w", err)
		}
		out, err = getThread(ctx, tx, tenantID, threadID)
		return err
	})
	return out, err
}

// parentLink checks a ThreadPatch.ParentThread and returns how the update
// treats the link (0 unchanged, 1 set, 2 cleared) and the parent id.
// Errors: parent_not_found (404), validation_failed (422, itself).
func parentLink(ctx context.Context, q DB, tenantID, threadID uuid.UUID, parent *uuid.UUID) (int, *string, error) {
	switch {
	case parent == nil:
		return 0, nil, nil
	case *parent == uuid.Nil:
		return 2, nil, nil
	case *parent == threadID:
		return 0, nil, apperr.Unprocessablef(apperr.CodeValidationFailed, "parent_thread_id", "a thread cannot be its own parent")
	}
	var found bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM threads WHERE tenant_id = $1 AND id = $2)`, tenantID, *parent).Scan(&found); err != nil {
		return 0, nil, fmt.Errorf("read parent thread: %w", err)
	}
	if !found {
		return 0, nil, apperr.NotFoundf(CodeParentNotFound, "parent thread %s not found", *parent).WithField("parent_thread_id")
	}
	id := parent.String()
	return 1, &id, nil
}

// DeleteThread deletes a thread with its messages and attachments in one
// transaction. Errors: thread_not_found (404).
func (s *Store) DeleteThread(ctx context.Context, tenantID, threadID uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ppID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT path_part_id FROM threads WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, threadID).Scan(&ppID)
		if noRows(err) {
			return ErrThreadNotFound
		}
		if err != nil {
			return fmt.Errorf("lock thread: %w", err)
		}
		// The path part cascades to the thread row, its messages, their
		// path parts and the attachments.
		if _, err := tx.Exec(ctx, `DELETE FROM path_parts WHERE tenant_id = $1 AND id = $2`, tenantID, ppID); err != nil {
			return fmt.Errorf("delete thread: %w", err)
		}
		return nil
	})
}
