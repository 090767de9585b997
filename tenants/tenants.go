// Package tenants owns tenants and their API keys: creation, key issue and
// revocation, and the mapping of a presented key to its tenant. Keys are
// random, shown once, and stored only as a SHA-256 hash.
package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/pg"
)

// KeyPrefix starts every Cairn API key, so leaked keys are recognisable.
const KeyPrefix = "cairn_"

// ErrUnauthorized is returned for a missing, unknown or revoked key.
var ErrUnauthorized = apperr.New(apperr.Unauthorized, CodeUnauthorized, "missing, invalid or revoked API key")

// Tenant is one customer of the service; every row of data belongs to one.
type Tenant struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
}

// Key is an issued API key. Secret is set only when the key is created.
type Key struct {
	ID        uuid.UUID
	TenantID  uuid.UUID
	Prefix    string
	Secret    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Store reads and writes tenants and keys.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Create makes a tenant named name and its first API key, in one transaction.
func (s *Store) Create(ctx context.Context, name string) (Tenant, Key, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Tenant{}, Key{}, apperr.Invalidf(CodeInvalidName, "name", "tenant name must be 1 to 200 characters")
	}
	t := Tenant{ID: uuid.Must(uuid.NewV7()), Name: name}
	var k Key
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING created_at`, t.ID, t.Name).Scan(&t.CreatedAt); err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		var err error
		k, err = createKey(ctx, tx, t.ID)
		return err
	})
	if err != nil {
		return Tenant{}, Key{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, k, nil
}

// CreateKey issues a new API key for an existing tenant.
func (s *Store) CreateKey(ctx context.Context, tenantID uuid.UUID) (Key, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, tenantID).Scan(&exists); err != nil {
		return Key{}, fmt.Errorf("look up tenant: %w", err)
	}
	if !exists {
		return Key{}, apperr.NotFoundf(CodeTenantNotFound, "tenant %s does not exist", tenantID)
	}
	return createKey(ctx, s.pool, tenantID)
}

func createKey(ctx context.Context, q pg.DB, tenantID uuid.UUID) (Key, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	secret := KeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k := Key{ID: uuid.Must(uuid.NewV7()), TenantID: tenantID, Prefix: secret[:len(KeyPrefix)+6], Secret: secret}
	err := q.QueryRow(ctx, `INSERT INTO api_keys (id, tenant_id, key_hash, prefix) VALUES ($1, $2, $3, $4) RETURNING created_at`,
		k.ID, k.TenantID, hashKey(secret), k.Prefix).Scan(&k.CreatedAt)
	if err != nil {
		return Key{}, fmt.Errorf("insert api key: %w", err)
	}
	return k, nil
}

// Revoke revokes a key by id; later requests with it are unauthorized.
func (s *Store) Revoke(ctx context.Context, keyID uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, keyID)
	if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFoundf(CodeKeyNotFound, "no active key %s", keyID)
	}
	return nil
}

// Authenticate maps a presented secret to its tenant id. It returns
// ErrUnauthorized for an unknown or revoked key.
func (s *Store) Authenticate(ctx context.Context, secret string) (uuid.UUID, error) {
	if !strings.HasPrefix(secret, KeyPrefix) || len(secret) > 100 {
		return uuid.Nil, ErrUnauthorized
	}
	var tenantID uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, hashKey(secret)).Scan(&tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, ErrUnauthorized
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("authenticate: %w", err)
	}
	return tenantID, nil
}

// List returns every tenant, oldest first.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tenant, error) {
		var t Tenant
		err := r.Scan(&t.ID, &t.Name, &t.CreatedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

func hashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
