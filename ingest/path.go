package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// MaxNameLen bounds one path segment (a folder or document name), in code points.
const MaxNameLen = 255

// CleanName validates one path segment: NFC, no '/', not '.'/'..', no
// control characters, 1..MaxNameLen code points.
func CleanName(field, name string) (string, error) {
	name = norm.NFC.String(strings.TrimSpace(name))
	switch {
	case name == "":
		return "", apperr.Unprocessablef("validation_failed", field, "%s must not be empty", field)
	case name == "." || name == "..":
		return "", apperr.Unprocessablef("validation_failed", field, "%s must not be %q", field, name)
	case strings.ContainsRune(name, '/'):
		return "", apperr.Unprocessablef("validation_failed", field, "%s must not contain '/'", field)
	case utf8.RuneCountInString(name) > MaxNameLen:
		return "", apperr.Unprocessablef("validation_failed", field, "%s must be at most %d characters", field, MaxNameLen)
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "", apperr.Unprocessablef("validation_failed", field, "%s must not contain control characters", field)
	}
	return name, nil
}

// CleanFolder validates a folder path such as /kb/guides: it starts with
// '/', has no empty, '.' or '..' segments, each at most MaxNameLen, NFC.
// "" and "/" are the root. The result has no trailing slash ("/" for root).
func CleanFolder(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" || p == "/" {
		return "/", nil
	}
	if !strings.HasPrefix(p, "/") {
		return "", apperr.Unprocessablef("validation_failed", "folder", "folder must start with '/', got %q", p)
	}
	p = strings.TrimSuffix(p, "/")
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if s == "" {
			return "", apperr.Unprocessablef("validation_failed", "folder", "folder %q has an empty segment", p)
		}
		c, err := CleanName("folder", s)
		if err != nil {
			return "", err
		}
		segs[i] = c
	}
	return "/" + strings.Join(segs, "/"), nil
}

func joinPath(folder, name string) string {
	if folder == "/" {
		return "/" + name
	}
	return folder + "/" + name
}

// ChunkPath is the materialized path of chunk ordinal of the version at
// versionPath: chunks have no path_parts rows; their path is computed.
func ChunkPath(versionPath string, ordinal int) string {
	return fmt.Sprintf("%s/%06d", versionPath, ordinal)
}

// chunkPathSQL computes ChunkPath in SQL from a version path and ordinal.
const chunkPathSQL = `(%s || '/' || lpad(%s::text, 6, '0'))`

// ensureFolder returns the id of the folder path part at path (nil for
// the root), creating missing folders.
func ensureFolder(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, path string) (*uuid.UUID, error) {
	if path == "/" {
		return nil, nil
	}
	var id uuid.UUID
	var kind string
	err := tx.QueryRow(ctx, `SELECT id, kind FROM path_parts WHERE tenant_id = $1 AND path = $2`, tenant, path).Scan(&id, &kind)
	if err == nil {
		if kind != "folder" {
			return nil, apperr.New(apperr.Conflict, "path_conflict", "%s is a %s, not a folder", path, kind)
		}
		return &id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("look up folder: %w", err)
	}
	var parent *uuid.UUID
	cur := ""
	for _, seg := range strings.Split(path[1:], "/") {
		cur += "/" + seg
		nid := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path)
			VALUES ($1, $2, $3, $4, 'folder', $5) ON CONFLICT DO NOTHING`, tenant, nid, parent, seg, cur); err != nil {
			return nil, fmt.Errorf("create folder %s: %w", cur, err)
		}
		if err := tx.QueryRow(ctx, `SELECT id, kind FROM path_parts WHERE tenant_id = $1 AND path = $2`, tenant, cur).Scan(&id, &kind); err != nil {
			return nil, fmt.Errorf("look up folder %s: %w", cur, err)
		}
		if kind != "folder" {
			return nil, apperr.New(apperr.Conflict, "path_conflict", "%s is a %s, not a folder", cur, kind)
		}
		pid := id
		parent = &pid
	}
	return parent, nil
}
