package sqlcheck_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cairn-rag/cairn/internal/sqlcheck"
)

var checker = sqlcheck.New(
	[]string{"chunks", "documents", "document_versions", "messages", "threads", "path_parts"},
	[]string{"clock_timestamp", "random", "gen_random_uuid", "nextval"},
)

func rules(fs []sqlcheck.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

// TestCheckerFindsBadStatements feeds the checker statements Citus cannot
// route or run and expects each one's finding, so that the statement
// recording test can fail.
func TestCheckerFindsBadStatements(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      []string
	}{
		{"no tenant predicate", `SELECT id FROM chunks WHERE version_id = $1`, []string{sqlcheck.RuleTenantPredicate}},
		{"predicate under OR", `SELECT id FROM chunks WHERE tenant_id = $1 OR id = $2`, []string{sqlcheck.RuleTenantPredicate}},
		{"predicate on another column", `SELECT id FROM chunks WHERE document_id = $1 AND id = $2`, []string{sqlcheck.RuleTenantPredicate}},
		{"join without tenant_id", `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.tenant_id = $1`,
			[]string{sqlcheck.RuleJoin, sqlcheck.RuleTenantPredicate}},
		{"join on different tenants", `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.tenant_id = $1 AND d.tenant_id = $2`,
			[]string{sqlcheck.RuleJoin}},
		{"enrichment lateral join", `SELECT m.id, c.content FROM messages m
			CROSS JOIN LATERAL jsonb_array_elements(m.citations) e
			LEFT JOIN chunks c ON c.id = (e->>'chunk_id')::uuid
			WHERE m.tenant_id = $1`, []string{sqlcheck.RuleJoin, sqlcheck.RuleTenantPredicate}},
		{"correlated subquery without tenant", `SELECT id FROM documents d WHERE d.tenant_id = $1
			AND EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)`,
			[]string{sqlcheck.RuleTenantPredicate}},
		{"cte without tenant", `WITH x AS (SELECT id FROM chunks) SELECT * FROM x`, []string{sqlcheck.RuleTenantPredicate}},
		{"update with clock_timestamp", `UPDATE threads SET updated_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2`,
			[]string{sqlcheck.RuleVolatile}},
		{"update without tenant", `UPDATE threads SET metadata = $2 WHERE id = $1`, []string{sqlcheck.RuleTenantPredicate}},
		{"delete with random", `DELETE FROM chunks WHERE tenant_id = $1 AND random() < 0.5`, []string{sqlcheck.RuleVolatile}},
		{"update in a CTE with nextval", `WITH u AS (UPDATE messages SET sequence = nextval('s') WHERE tenant_id = $1 RETURNING id) SELECT * FROM u`,
			[]string{sqlcheck.RuleVolatile}},
		{"insert without tenant_id", `INSERT INTO chunks (id, content) VALUES ($1, $2)`, []string{sqlcheck.RuleInsertColumns}},
		{"insert select without tenant", `INSERT INTO chunks (tenant_id, id) SELECT tenant_id, id FROM documents`, []string{sqlcheck.RuleTenantPredicate}},
		{"union arm without tenant", `SELECT id FROM chunks WHERE tenant_id = $1 UNION ALL SELECT id FROM documents`, []string{sqlcheck.RuleTenantPredicate}},
		{"not sql", `SELEC nothing`, []string{sqlcheck.RuleParse}},
		{"all-tenants marker in a string is no comment", `SELECT id FROM chunks WHERE content = '/* cairn:all-tenants */'`, []string{sqlcheck.RuleTenantPredicate}},
		{"all-tenants marker keeps the join rule", `SELECT /* cairn:all-tenants */ c.id FROM chunks c JOIN documents d ON d.id = c.document_id`, []string{sqlcheck.RuleJoin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ElementsMatch(t, tc.want, rules(checker.Check(tc.sql)))
		})
	}
}

// TestCheckerAcceptsDistributableStatements: what Citus routes to one
// tenant's shards passes.
func TestCheckerAcceptsDistributableStatements(t *testing.T) {
	for _, sql := range []string{
		`SELECT id FROM chunks WHERE tenant_id = $1 AND version_id = $2`,
		`SELECT id FROM chunks WHERE tenant_id = $1::uuid`,
		`SELECT c.id FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id WHERE c.tenant_id = $1`,
		`SELECT c.id FROM chunks c, documents d WHERE c.tenant_id = $1 AND d.tenant_id = $1 AND d.id = c.document_id`,
		`SELECT c.id FROM chunks c JOIN documents d USING (tenant_id, id) WHERE tenant_id = $1`,
		`SELECT id FROM chunks WHERE tenant_id = ANY($1::uuid[])`,
		`SELECT id FROM documents d WHERE d.tenant_id = $1 AND EXISTS (SELECT 1 FROM chunks c WHERE c.tenant_id = d.tenant_id AND c.document_id = d.id)`,
		`SELECT m.id, c.content FROM messages m CROSS JOIN LATERAL jsonb_array_elements(m.citations) e
			LEFT JOIN chunks c ON c.tenant_id = m.tenant_id AND c.id = (e->>'chunk_id')::uuid WHERE m.tenant_id = $1`,
		`WITH x AS (SELECT id FROM chunks WHERE tenant_id = $1) SELECT * FROM x`,
		`UPDATE threads SET updated_at = greatest($3::timestamptz, updated_at) WHERE tenant_id = $1 AND id = $2`,
		`UPDATE threads SET updated_at = now() WHERE tenant_id = $1 AND id = $2`,
		`INSERT INTO chunks (tenant_id, id) VALUES ($1, $2) ON CONFLICT (tenant_id, id) DO UPDATE SET id = excluded.id`,
		`INSERT INTO threads (tenant_id, id, created_at) VALUES ($1, gen_random_uuid(), clock_timestamp())`,
		`SELECT * FROM river_job WHERE id = $1`,
		`SELECT id, name FROM tenants`,
		`BEGIN`,
		`SELECT /* cairn:all-tenants */ count(*) FROM chunks WHERE model_id = $1`,
	} {
		assert.Empty(t, checker.Check(sql), sql)
	}
}

// TestCheckerCTEColumnDoesNotPin: a tenant table joined to a CTE's
// tenant_id (the read-time citation enrichment before this check) is not
// pinned; Citus cannot prune its shards through the CTE.
func TestCheckerCTEColumnDoesNotPin(t *testing.T) {
	sql := `WITH page AS (SELECT tenant_id, id, path_part_id FROM messages WHERE tenant_id = $1 LIMIT 10)
		SELECT m.id, (SELECT count(*) FROM chunks c WHERE c.tenant_id = m.tenant_id) FROM page m
		JOIN path_parts p ON p.tenant_id = m.tenant_id AND p.id = m.path_part_id`
	assert.ElementsMatch(t, []string{sqlcheck.RuleTenantPredicate, sqlcheck.RuleTenantPredicate}, rules(checker.Check(sql)))
	fixed := `WITH page AS (SELECT tenant_id, id, path_part_id FROM messages WHERE tenant_id = $1 LIMIT 10)
		SELECT m.id, (SELECT count(*) FROM chunks c WHERE c.tenant_id = $1) FROM page m
		JOIN path_parts p ON p.tenant_id = $1 AND p.id = m.path_part_id`
	assert.Empty(t, checker.Check(fixed))
}
