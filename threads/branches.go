package threads

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// Branches (seed 004). A thread's messages form a tree by their
// effective parent:
//
//   - parent_message_id when the message was given one;
//   - none for a message stored as a new root (the sibling of a first
//     message: fields.branch_root);
//   - otherwise the message created just before it (the one with the
//     previous sequence), so a thread written without parents is one
//     straight branch, as it always was.
//
// The active branch is the path from the root to the thread's latest
// message (the most recently created leaf: a message's children are
// always created after it, so the latest message is a leaf). Listing
// returns the active branch unless asked for another leaf's path
// (ListOptions.LeafID) or for every message (BranchAll). Each message
// names its siblings: the messages with its effective parent, itself
// included, oldest first.
//
// An edit of a USER message's text (EditMessage) stores a sibling: a new
// USER message with the edited one's parent; the edited message and its
// branch stay as they were, and the new sibling, being the latest
// message, makes its branch the active one.

// BranchMode selects the messages a list returns.
type BranchMode string

// The branch modes.
const (
	// BranchActive lists the active branch (the default).
	BranchActive BranchMode = "active"
	// BranchAll lists every message of the thread.
	BranchAll BranchMode = "all"
)

// tree is a thread's message tree.
type tree struct {
	parent   map[uuid.UUID]uuid.UUID   // uuid.Nil: a root
	children map[uuid.UUID][]uuid.UUID // by parent (uuid.Nil: the roots), oldest first
	last     uuid.UUID                 // the latest message
}

// loadTree reads the thread's tree, or nil when no message has a parent
// of its own or is a stored root: the thread is then one straight branch
// (checked with one index probe, so unbranched threads cost no more).
func loadTree(ctx context.Context, q DB, tenantID, threadID uuid.UUID) (*tree, error) {
	var branched bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE tenant_id = $1 AND thread_id = $2
  AND (parent_message_id IS NOT NULL OR fields ? 'branch_root'))`, tenantID, threadID).Scan(&branched); err != nil {
		return nil, fmt.Errorf("read branches: %w", err)
	}
	if !branched {
		return nil, nil
	}
	t := &tree{parent: map[uuid.UUID]uuid.UUID{}, children: map[uuid.UUID][]uuid.UUID{}}
	return t.fill(ctx, q, tenantID, threadID)
}

// fill reads the rows of the tree (split from loadTree for its scan loop).
func (t *tree) fill(ctx context.Context, q DB, tenantID, threadID uuid.UUID) (*tree, error) {
	rows, err := q.Query(ctx, `SELECT id, parent_message_id, fields ? 'branch_root' FROM messages
WHERE tenant_id = $1 AND thread_id = $2 ORDER BY sequence`, tenantID, threadID)
	if err != nil {
		return nil, fmt.Errorf("read branches: %w", err)
	}
	defer rows.Close()
	prev := uuid.Nil
	for rows.Next() {
		var id uuid.UUID
		var parent *uuid.UUID
		var root bool
		if err := rows.Scan(&id, &parent, &root); err != nil {
			return nil, fmt.Errorf("read branches: %w", err)
		}
		p := prev
		switch {
		case root:
			p = uuid.Nil
		case parent != nil:
			p = *parent
		}
		t.parent[id] = p
		t.children[p] = append(t.children[p], id)
		prev, t.last = id, id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read branches: %w", err)
	}
	return t, nil
}

// path is the set of messages from the root to leaf.
func (t *tree) path(leaf uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for id := leaf; id != uuid.Nil && !seen[id]; id = t.parent[id] {
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// siblings are the messages with id's parent, id included, oldest first.
func (t *tree) siblings(id uuid.UUID) []uuid.UUID {
	if t == nil {
		return []uuid.UUID{id}
	}
	p, ok := t.parent[id]
	if !ok {
		return []uuid.UUID{id}
	}
	return t.children[p]
}

// setSiblings fills the SiblingIDs of ms from t.
func (t *tree) setSiblings(ms []Message) {
	for i := range ms {
		ms[i].SiblingIDs = t.siblings(ms[i].ID)
	}
}

// branchFilter returns the tree and the ids a list of o keeps (nil: all).
// Errors: invalid_parameter (400, field leaf_id) for a leaf that is not a
// message of the thread.
func branchFilter(ctx context.Context, q DB, tenantID, threadID uuid.UUID, o ListOptions) (*tree, []uuid.UUID, error) {
	t, err := loadTree(ctx, q, tenantID, threadID)
	if err != nil {
		return nil, nil, err
	}
	if o.LeafID != nil {
		if t == nil {
			var n int
			if err := q.QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
				tenantID, threadID, *o.LeafID).Scan(&n); err != nil {
				return nil, nil, fmt.Errorf("read leaf: %w", err)
			}
			if n == 0 {
				return nil, nil, leafNotInThread(*o.LeafID)
			}
			// One straight branch: the path to the leaf is every message
			// up to it.
			var ids []uuid.UUID
			rows, err := q.Query(ctx, `SELECT id FROM messages WHERE tenant_id = $1 AND thread_id = $2
  AND sequence <= (SELECT sequence FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3)`, tenantID, threadID, *o.LeafID)
			if err != nil {
				return nil, nil, fmt.Errorf("read branch: %w", err)
			}
			if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
				return nil, nil, fmt.Errorf("read branch: %w", err)
			}
			return nil, ids, nil
		}
		if _, ok := t.parent[*o.LeafID]; !ok {
			return nil, nil, leafNotInThread(*o.LeafID)
		}
		return t, t.path(*o.LeafID), nil
	}
	if t == nil || o.Branch == BranchAll {
		return t, nil, nil
	}
	return t, t.path(t.last), nil
}

func leafNotInThread(id uuid.UUID) error {
	return apperr.Invalidf(apperr.CodeValidationFailed, "leaf_id", "leaf_id %s is not a message of this thread", id)
}

// EditMessage edits a message: a USER message's new text is stored as a
// sibling (see the top of this file) unless inPlace, and returned with
// created true; anything else (another role, no new text, inPlace) is
// UpdateMessage. The sibling keeps the edited message's sender, tags,
// name, depth and model, and takes p's metadata (or the edited one's).
// Errors: those of UpdateMessage and CreateMessage.
func (s *Store) EditMessage(ctx context.Context, tenantID, threadID, messageID uuid.UUID, p MessagePatch, inPlace bool) (Message, bool, error) {
	old, err := s.GetMessage(ctx, nil, tenantID, threadID, messageID, false)
	if err != nil {
		return Message{}, false, err
	}
	if inPlace || old.Role != RoleUser || p.Text == nil || *p.Text == old.Content.Text {
		m, err := s.UpdateMessage(ctx, tenantID, threadID, messageID, p)
		return m, false, err
	}
	in := NewMessage{Role: RoleUser, Text: *p.Text, Metadata: old.Metadata, Fields: SeedFields{
		Name: old.Name, Depth: old.Depth, SenderID: old.SenderID, Tags: old.Tags, Model: old.Model}}
	if p.Metadata != nil {
		in.Metadata = p.Metadata
	}
	if p.References != nil {
		in.References = *p.References
	}
	t, err := loadTree(ctx, s.pool, tenantID, threadID)
	if err != nil {
		return Message{}, false, err
	}
	parent := uuid.Nil
	if t != nil {
		parent = t.parent[messageID]
	} else if old.Sequence > 1 {
		if err := s.pool.QueryRow(ctx, `SELECT id FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND sequence = $3`,
			tenantID, threadID, old.Sequence-1).Scan(&parent); err != nil {
			return Message{}, false, fmt.Errorf("read parent: %w", err)
		}
	}
	if parent == uuid.Nil {
		in.BranchRoot = true
	} else {
		in.Fields.ParentMessageID = &parent
	}
	m, _, err := s.CreateMessage(ctx, nil, tenantID, threadID, in)
	return m, err == nil, err
}
