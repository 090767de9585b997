// Package sqlcheck checks SQL statements for what Citus needs to distribute
// Cairn's tenant tables by tenant_id: every tenant table a statement reads
// or changes is pinned by a tenant_id predicate, every join between tenant
// tables equates tenant_id, and no UPDATE or DELETE on a tenant table calls
// a volatile function. Statements are parsed with Postgres's own parser
// (pg_query_go); the package is for tests only (it needs cgo).
package sqlcheck

import (
	"fmt"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The rules a finding breaks.
const (
	RuleTenantPredicate = "tenant_predicate" // a tenant table not pinned by tenant_id
	RuleJoin            = "tenant_join"      // tenant tables joined without equating tenant_id
	RuleVolatile        = "volatile_update"  // a volatile function in UPDATE/DELETE on a tenant table
	RuleInsertColumns   = "insert_tenant"    // an INSERT into a tenant table without a tenant_id column
	RuleParse           = "parse"            // the statement does not parse
)

// Finding is one broken rule in one statement.
type Finding struct {
	Rule   string
	Detail string
	SQL    string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s\n    %s", f.Rule, f.Detail, strings.Join(strings.Fields(f.SQL), " "))
}

// AllTenants is the comment that marks a statement meant to read every
// tenant's rows (e.g. counting a model's chunks across tenants for its
// index): /* cairn:all-tenants */. Citus runs such a statement on every
// shard; the tenant_predicate rule does not apply to it, the others do.
const AllTenants = "cairn:all-tenants"

// Checker holds what the rules need from the catalog.
type Checker struct {
	tenant   map[string]bool
	volatile map[string]bool
}

// New returns a Checker for the given tenant tables and volatile function
// names (unqualified; pg_proc rows with provolatile = 'v').
func New(tenantTables, volatileFuncs []string) *Checker {
	c := &Checker{tenant: map[string]bool{}, volatile: map[string]bool{}}
	for _, t := range tenantTables {
		c.tenant[t] = true
	}
	for _, f := range volatileFuncs {
		c.volatile[f] = true
	}
	return c
}

// Check parses sql (one or more statements) and returns its findings.
func (c *Checker) Check(sql string) []Finding {
	tree, err := pg.Parse(sql)
	if err != nil {
		return []Finding{{Rule: RuleParse, Detail: err.Error(), SQL: sql}}
	}
	a := &analysis{c: c, sql: sql, parent: map[string]string{}, allTenants: markedAllTenants(sql)}
	for _, raw := range tree.GetStmts() {
		a.statement(raw.GetStmt(), nil)
	}
	a.finish()
	return a.findings
}

// markedAllTenants reports whether a comment of sql (found by Postgres's
// scanner) says AllTenants.
func markedAllTenants(sql string) bool {
	res, err := pg.Scan(sql)
	if err != nil {
		return false
	}
	for _, tok := range res.GetTokens() {
		if t := tok.GetToken(); (t == pg.Token_C_COMMENT || t == pg.Token_SQL_COMMENT) &&
			strings.Contains(sql[tok.GetStart():tok.GetEnd()], AllTenants) {
			return true
		}
	}
	return false
}

// rel is one occurrence of a table in a FROM list (or an UPDATE/DELETE
// target); id names it as a node of the union-find.
type rel struct {
	id, table, alias string
	tenant           bool
}

// scope is one query block: its relations and the enclosing block.
type scope struct {
	up   *scope
	rels []*rel
}

type analysis struct {
	c        *Checker
	sql      string
	n        int
	parent   map[string]string // union-find over rel ids and "value:" nodes
	blocks   [][]*rel          // tenant relations per block, for the join rule
	all      []*rel
	findings []Finding
	// allTenants: the statement is marked AllTenants.
	allTenants bool
}

func (a *analysis) find(x string) string {
	for {
		p, ok := a.parent[x]
		if !ok || p == x {
			return x
		}
		a.parent[x] = a.parent[p]
		x = p
	}
}

func (a *analysis) union(x, y string) {
	for _, k := range []string{x, y} {
		if _, ok := a.parent[k]; !ok {
			a.parent[k] = k
		}
	}
	a.parent[a.find(x)] = a.find(y)
}

func (a *analysis) addRel(s *scope, rv *pg.RangeVar) *rel {
	a.n++
	r := &rel{id: fmt.Sprintf("rel:%d", a.n), table: rv.GetRelname(), alias: rv.GetRelname(), tenant: a.c.tenant[rv.GetRelname()]}
	if al := rv.GetAlias().GetAliasname(); al != "" {
		r.alias = al
	}
	s.rels = append(s.rels, r)
	if r.tenant {
		a.all = append(a.all, r)
	}
	return r
}

// statement analyses one statement (at top level or inside a CTE or a
// subquery) as a query block whose enclosing block is up.
func (a *analysis) statement(n *pg.Node, up *scope) {
	switch {
	case n.GetSelectStmt() != nil:
		a.selectStmt(n.GetSelectStmt(), up)
	case n.GetInsertStmt() != nil:
		st := n.GetInsertStmt()
		a.with(st.GetWithClause(), up)
		if a.c.tenant[st.GetRelation().GetRelname()] && len(st.GetCols()) > 0 && !hasTenantCol(st.GetCols()) {
			a.add(RuleInsertColumns, "INSERT INTO "+st.GetRelation().GetRelname()+" does not set tenant_id")
		}
		if sel := st.GetSelectStmt(); sel != nil {
			a.statement(sel, up)
		}
		// The inserted rows carry their tenant_id; the target needs no
		// predicate, but ON CONFLICT and RETURNING may read it.
		s := &scope{up: up, rels: []*rel{{id: "insert", table: st.GetRelation().GetRelname(), alias: st.GetRelation().GetRelname()}}}
		a.exprs(s, st.GetOnConflictClause(), st.GetReturningList())
	case n.GetUpdateStmt() != nil:
		st := n.GetUpdateStmt()
		a.with(st.GetWithClause(), up)
		s := &scope{up: up}
		target := a.addRel(s, st.GetRelation())
		for _, f := range st.GetFromClause() {
			a.fromItem(s, f)
		}
		a.where(s, st.GetWhereClause())
		a.exprs(s, st.GetTargetList(), st.GetReturningList())
		a.endBlock(s)
		if target.tenant {
			a.volatileIn("UPDATE "+target.table, st.GetTargetList(), st.GetWhereClause(), st.GetFromClause(), st.GetReturningList())
		}
	case n.GetDeleteStmt() != nil:
		st := n.GetDeleteStmt()
		a.with(st.GetWithClause(), up)
		s := &scope{up: up}
		target := a.addRel(s, st.GetRelation())
		for _, f := range st.GetUsingClause() {
			a.fromItem(s, f)
		}
		a.where(s, st.GetWhereClause())
		a.exprs(s, st.GetReturningList())
		a.endBlock(s)
		if target.tenant {
			a.volatileIn("DELETE FROM "+target.table, st.GetUsingClause(), st.GetWhereClause(), st.GetReturningList())
		}
	default:
		// Utility statements (BEGIN, SET, DDL, COPY, ...) and others:
		// only the queries nested in them matter (e.g. EXPLAIN, CREATE
		// TABLE AS), reached through their sub-statements.
		if e := n.GetExplainStmt(); e != nil {
			a.statement(e.GetQuery(), up)
		}
	}
}

func (a *analysis) with(w *pg.WithClause, up *scope) {
	for _, cte := range w.GetCtes() {
		a.statement(cte.GetCommonTableExpr().GetCtequery(), up)
	}
}

func (a *analysis) selectStmt(st *pg.SelectStmt, up *scope) {
	if st == nil {
		return
	}
	a.with(st.GetWithClause(), up)
	if st.GetOp() != pg.SetOperation_SETOP_NONE && st.GetOp() != pg.SetOperation_SET_OPERATION_UNDEFINED {
		a.selectStmt(st.GetLarg(), up)
		a.selectStmt(st.GetRarg(), up)
		return
	}
	s := &scope{up: up}
	for _, f := range st.GetFromClause() {
		a.fromItem(s, f)
	}
	a.where(s, st.GetWhereClause())
	a.where(s, st.GetHavingClause())
	a.exprs(s, st.GetTargetList(), st.GetGroupClause(), st.GetSortClause(), st.GetValuesLists(),
		st.GetDistinctClause(), st.GetLimitCount(), st.GetLimitOffset())
	a.endBlock(s)
}

func (a *analysis) endBlock(s *scope) {
	var tenant []*rel
	for _, r := range s.rels {
		if r.tenant {
			tenant = append(tenant, r)
		}
	}
	if len(tenant) > 1 {
		a.blocks = append(a.blocks, tenant)
	}
}

// fromItem adds the relations of one FROM item to s.
func (a *analysis) fromItem(s *scope, n *pg.Node) {
	switch {
	case n.GetRangeVar() != nil:
		a.addRel(s, n.GetRangeVar())
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		before := len(s.rels)
		a.fromItem(s, j.GetLarg())
		mid := len(s.rels)
		a.fromItem(s, j.GetRarg())
		if hasTenantCol(j.GetUsingClause()) {
			for _, l := range s.rels[before:mid] {
				for _, r := range s.rels[mid:] {
					if l.tenant && r.tenant {
						a.union(l.id, r.id)
					}
				}
			}
		}
		a.where(s, j.GetQuals())
	case n.GetRangeSubselect() != nil:
		sub := n.GetRangeSubselect()
		up := s.up
		if sub.GetLateral() {
			up = s
		}
		a.statement(sub.GetSubquery(), up)
		// The subquery's result is a derived relation, not a tenant table.
		s.rels = append(s.rels, &rel{id: "derived", alias: sub.GetAlias().GetAliasname()})
	case n.GetRangeFunction() != nil:
		rf := n.GetRangeFunction()
		a.exprs(s, rf.GetFunctions())
		s.rels = append(s.rels, &rel{id: "function", alias: rf.GetAlias().GetAliasname()})
	}
}

// where takes the equalities among the top-level conjuncts of cond into
// the union-find and analyses the subqueries anywhere in it.
func (a *analysis) where(s *scope, cond *pg.Node) {
	if cond == nil {
		return
	}
	for _, c := range conjuncts(cond) {
		a.equality(s, c)
	}
	a.exprs(s, cond)
}

func conjuncts(n *pg.Node) []*pg.Node {
	if b := n.GetBoolExpr(); b != nil && b.GetBoolop() == pg.BoolExprType_AND_EXPR {
		var out []*pg.Node
		for _, arg := range b.GetArgs() {
			out = append(out, conjuncts(arg)...)
		}
		return out
	}
	return []*pg.Node{n}
}

// equality links the relations of "x.tenant_id = y.tenant_id" and pins
// the relation of "x.tenant_id = <value>", "= ANY(...)" or "IN (...)".
func (a *analysis) equality(s *scope, n *pg.Node) {
	e := n.GetAExpr()
	if e == nil || len(e.GetName()) != 1 || e.GetName()[0].GetString_().GetSval() != "=" {
		return
	}
	l, r := a.tenantSide(s, e.GetLexpr()), a.tenantSide(s, e.GetRexpr())
	switch e.GetKind() {
	case pg.A_Expr_Kind_AEXPR_OP:
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_IN:
		if l != nil && !readsColumn(e.GetRexpr()) {
			a.union(l.id, "value:"+deparseKey(e.GetRexpr()))
		}
		return
	default:
		return
	}
	switch {
	case l != nil && r != nil:
		a.union(l.id, r.id)
	case l != nil && !readsColumn(e.GetRexpr()):
		a.union(l.id, "value:"+deparseKey(e.GetRexpr()))
	case r != nil && !readsColumn(e.GetLexpr()):
		a.union(r.id, "value:"+deparseKey(e.GetLexpr()))
	}
}

// tenantSide returns the tenant relation whose tenant_id column n is
// (through casts), or nil.
func (a *analysis) tenantSide(s *scope, n *pg.Node) *rel {
	for n.GetTypeCast() != nil {
		n = n.GetTypeCast().GetArg()
	}
	cr := n.GetColumnRef()
	if cr == nil {
		return nil
	}
	fields := cr.GetFields()
	if len(fields) == 0 || fields[len(fields)-1].GetString_().GetSval() != "tenant_id" {
		return nil
	}
	r := a.resolve(s, fields)
	if r == nil || !r.tenant {
		return nil
	}
	return r
}

// resolve finds the relation a column reference belongs to: by qualifier,
// innermost block first; unqualified, the innermost block's only tenant
// relation, or any of them if USING (tenant_id) merged them into one.
func (a *analysis) resolve(s *scope, fields []*pg.Node) *rel {
	if len(fields) >= 2 {
		q := fields[len(fields)-2].GetString_().GetSval()
		for sc := s; sc != nil; sc = sc.up {
			for _, r := range sc.rels {
				if r.alias == q {
					return r
				}
			}
		}
		return nil
	}
	for sc := s; sc != nil; sc = sc.up {
		var tenant []*rel
		for _, r := range sc.rels {
			if r.tenant {
				tenant = append(tenant, r)
			}
		}
		if len(tenant) > 0 {
			same := true
			for _, r := range tenant[1:] {
				same = same && a.find(r.id) == a.find(tenant[0].id)
			}
			if same {
				return tenant[0]
			}
		}
		if len(sc.rels) > 0 {
			return nil
		}
	}
	return nil
}

// readsColumn reports whether expression n reads a column (outside its
// subqueries). Only an expression of parameters and constants pins a
// relation to one tenant: a column of a CTE or a derived table does not
// carry the tenant into Citus's shard pruning.
func readsColumn(n *pg.Node) bool {
	found := false
	walk(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch m.Interface().(type) {
		case *pg.ColumnRef:
			found = true
		case *pg.SubLink:
			return false
		}
		return !found
	})
	return found
}

// messages returns the parse-tree messages among parts (nodes, node
// lists, an ON CONFLICT clause; nil ones left out).
func messages(parts ...any) []protoreflect.Message {
	var out []protoreflect.Message
	for _, p := range parts {
		switch v := p.(type) {
		case *pg.Node:
			if v != nil {
				out = append(out, v.ProtoReflect())
			}
		case []*pg.Node:
			for _, n := range v {
				out = append(out, n.ProtoReflect())
			}
		case *pg.OnConflictClause:
			if v != nil {
				out = append(out, v.ProtoReflect())
			}
		}
	}
	return out
}

// exprs analyses every subquery inside the given parts as a block nested
// in s.
func (a *analysis) exprs(s *scope, parts ...any) {
	for _, m := range messages(parts...) {
		walk(m, func(m protoreflect.Message) bool {
			if sl, ok := m.Interface().(*pg.SubLink); ok {
				a.statement(sl.GetSubselect(), s)
				return false
			}
			return true
		})
	}
}

// volatileIn reports the volatile functions called in the parts of an
// UPDATE or DELETE (its own WITH clause excluded: a CTE is planned apart).
func (a *analysis) volatileIn(what string, parts ...any) {
	seen := map[string]bool{}
	for _, m := range messages(parts...) {
		walk(m, func(m protoreflect.Message) bool {
			if fc, ok := m.Interface().(*pg.FuncCall); ok {
				names := fc.GetFuncname()
				name := names[len(names)-1].GetString_().GetSval()
				if a.c.volatile[name] && !seen[name] {
					seen[name] = true
					a.add(RuleVolatile, what+" calls volatile "+name+"()")
				}
			}
			return true
		})
	}
}

func (a *analysis) add(rule, detail string) {
	a.findings = append(a.findings, Finding{Rule: rule, Detail: detail, SQL: a.sql})
}

func (a *analysis) finish() {
	for _, b := range a.blocks {
		groups := map[string][]string{}
		for _, r := range b {
			root := a.find(r.id)
			groups[root] = append(groups[root], r.alias)
		}
		if len(groups) > 1 {
			var parts []string
			for _, g := range groups {
				sort.Strings(g)
				parts = append(parts, strings.Join(g, ", "))
			}
			sort.Strings(parts)
			a.add(RuleJoin, "tenant tables joined without equal tenant_id: {"+strings.Join(parts, "} {")+"}")
		}
	}
	pinned := map[string]bool{}
	for x := range a.parent {
		if strings.HasPrefix(x, "value:") {
			pinned[a.find(x)] = true
		}
	}
	reported := map[string]bool{}
	if a.allTenants {
		return
	}
	for _, r := range a.all {
		if !pinned[a.find(r.id)] && !reported[r.alias] {
			reported[r.alias] = true
			a.add(RuleTenantPredicate, r.table+" ("+r.alias+") has no tenant_id predicate")
		}
	}
}

func hasTenantCol(cols []*pg.Node) bool {
	for _, c := range cols {
		if c.GetResTarget().GetName() == "tenant_id" || c.GetString_().GetSval() == "tenant_id" {
			return true
		}
	}
	return false
}

// deparseKey names a value expression, so that two relations equated to
// the same parameter are linked and two different ones are not.
func deparseKey(n *pg.Node) string {
	for n.GetTypeCast() != nil {
		n = n.GetTypeCast().GetArg()
	}
	if p := n.GetParamRef(); p != nil {
		return fmt.Sprintf("$%d", p.GetNumber())
	}
	tree := &pg.ParseResult{Stmts: []*pg.RawStmt{{Stmt: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: &pg.SelectStmt{
		TargetList: []*pg.Node{{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: n}}}},
	}}}}}}
	s, err := pg.Deparse(tree)
	if err != nil {
		return "expr"
	}
	return s
}

// walk visits m and every message below it, depth first, descending while
// visit returns true.
func walk(m protoreflect.Message, visit func(protoreflect.Message) bool) {
	if !m.IsValid() || !visit(m) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), visit)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message(), visit)
		}
		return true
	})
}
