package codescan

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

func scanRepo(t *testing.T) *Result {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNoLiteralErrorCodes fails on a code passed to an apperr constructor
// (or to any function taking an apperr.Code, or as an apperr.Error's
// Code) that is a string literal or computed at run time, anywhere in
// the module, tests included; apperr.Is in a test may pin a literal.
func TestNoLiteralErrorCodes(t *testing.T) {
	t.Parallel()
	r := scanRepo(t)
	if len(r.Uses) < 50 {
		t.Fatalf("found only %d code arguments: the scan is broken", len(r.Uses))
	}
	var bad []string
	for _, u := range r.Uses {
		if u.Problem == "" || u.Exempt() {
			continue
		}
		bad = append(bad, u.Pos.String()+": "+u.Func+"("+u.Expr+"): "+u.Problem)
	}
	if len(bad) > 0 {
		t.Errorf("%d error codes are not declared constants:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

var codeValue = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestEachCodeIsDeclaredOnce fails on a code value declared by two
// constants, and on a code that is not snake_case.
func TestEachCodeIsDeclaredOnce(t *testing.T) {
	t.Parallel()
	r := scanRepo(t)
	by := map[string][]string{}
	for _, d := range r.Decls {
		by[d.Value] = append(by[d.Value], d.Pos.String()+" "+d.Name)
	}
	if len(by) < 20 {
		t.Fatalf("found only %d declared codes: the scan is broken", len(by))
	}
	var values []string
	for v := range by {
		values = append(values, v)
	}
	sort.Strings(values)
	for _, v := range values {
		if len(by[v]) > 1 {
			t.Errorf("code %q is declared %d times: %s", v, len(by[v]), strings.Join(by[v], ", "))
		}
		if !codeValue.MatchString(v) {
			t.Errorf("code %q (%s) is not snake_case", v, by[v][0])
		}
	}
	for code := range r.Codes() {
		if !codeValue.MatchString(code) {
			t.Errorf("code %q is not snake_case", code)
		}
	}
}
