package db

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReferenceTables are the tables that Citus copies whole to every node:
// small lookups read without a tenant in front (api_keys by key hash).
// api_keys references tenants, so tenants comes first.
var ReferenceTables = []string{"tenants", "api_keys"}

// TenantTables lists Cairn's tenant tables, the tables that Citus
// distributes by tenant_id: every table of the public schema with a
// tenant_id column except the reference tables. They come in foreign-key
// order (a referenced table before the tables referencing it; ties by
// name), the order in which Citus can distribute them without dropping a
// foreign key: a distributed table may only reference distributed or
// reference tables.
func TenantTables(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `
SELECT c.relname
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname <> ALL ($1)
ORDER BY 1`, ReferenceTables)
	if err != nil {
		return nil, fmt.Errorf("list tenant tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tenant tables: %w", err)
	}
	rows, err = pool.Query(ctx, `
SELECT conrelid::regclass::text, confrelid::regclass::text
FROM pg_constraint
WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conrelid <> confrelid`)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	var fks [][2]string
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list foreign keys: %w", err)
		}
		fks = append(fks, [2]string{from, to})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	return fkOrder(tables, fks)
}

// fkOrder sorts tables so that each comes after the tables it references
// (fks: referencing, referenced); among the ready ones, by name.
func fkOrder(tables []string, fks [][2]string) ([]string, error) {
	in := map[string]bool{}
	for _, t := range tables {
		in[t] = true
	}
	deps := map[string]map[string]bool{}
	for _, fk := range fks {
		if in[fk[0]] && in[fk[1]] {
			if deps[fk[0]] == nil {
				deps[fk[0]] = map[string]bool{}
			}
			deps[fk[0]][fk[1]] = true
		}
	}
	var out []string
	done := map[string]bool{}
	for len(out) < len(tables) {
		var ready []string
		for _, t := range tables {
			if done[t] {
				continue
			}
			ok := true
			for d := range deps[t] {
				ok = ok && done[d]
			}
			if ok {
				ready = append(ready, t)
			}
		}
		if len(ready) == 0 {
			return nil, fmt.Errorf("foreign keys between tenant tables form a cycle")
		}
		slices.Sort(ready)
		done[ready[0]] = true
		out = append(out, ready[0])
	}
	return out, nil
}

// CitusStatements returns the statements that make a database Citus-ready:
// create_reference_table for each reference table, then
// create_distributed_table by tenant_id for each tenant table (in
// TenantTables order), each co-located with the first tenant table
// distributed. Tables already in Citus's metadata (distributed) are
// skipped, so running them again does nothing. River's tables have no
// tenant_id and stay local on the coordinator.
func CitusStatements(tenantTables []string, distributed map[string]bool) []string {
	var out []string
	for _, t := range ReferenceTables {
		if !distributed[t] {
			out = append(out, fmt.Sprintf("SELECT create_reference_table(%s)", quoteLiteral(t)))
		}
	}
	anchor := ""
	for _, t := range tenantTables {
		if distributed[t] {
			anchor = t
			break
		}
	}
	for _, t := range tenantTables {
		if distributed[t] {
			continue
		}
		if anchor == "" {
			out = append(out, fmt.Sprintf("SELECT create_distributed_table(%s, 'tenant_id')", quoteLiteral(t)))
			anchor = t
			continue
		}
		out = append(out, fmt.Sprintf("SELECT create_distributed_table(%s, 'tenant_id', colocate_with => %s)",
			quoteLiteral(t), quoteLiteral(anchor)))
	}
	return out
}

// quoteLiteral writes a table name as a regclass literal: '"name"'.
func quoteLiteral(s string) string { return "'" + pgx.Identifier{s}.Sanitize() + "'" }

// distributeIfCitus runs CitusStatements when the database has the citus
// extension, and does nothing on plain Postgres.
func distributeIfCitus(ctx context.Context, pool *pgxpool.Pool) error {
	var citus bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`).Scan(&citus); err != nil {
		return fmt.Errorf("look up citus: %w", err)
	}
	if !citus {
		return nil
	}
	tables, err := TenantTables(ctx, pool)
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, `SELECT logicalrelid::regclass::text FROM pg_dist_partition`)
	if err != nil {
		return fmt.Errorf("read citus metadata: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read citus metadata: %w", err)
	}
	distributed := map[string]bool{}
	for _, n := range names {
		distributed[n] = true
	}
	for _, stmt := range CitusStatements(tables, distributed) {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("citus: %s: %w", stmt, err)
		}
	}
	return nil
}
