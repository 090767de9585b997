package codescan

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixture is a tiny module: an apperr with the real one's shape, a
// package that declares its codes and one that breaks every rule.
var fixture = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.26\n",
	"internal/apperr/apperr.go": `package apperr

type Kind int

const (
	Internal Kind = iota
	NotFound
	Conflict
)

type Code = string

type Error struct {
	Kind Kind
	Code Code
}

func New(kind Kind, code Code, format string, args ...any) *Error { return &Error{Kind: kind, Code: code} }

func NotFoundf(code Code, format string, args ...any) *Error { return New(NotFound, code, format, args...) }

func Is(err error, code Code) bool { return false }
`,
	"internal/apperr/codes.go": `package apperr

const CodeInternal Code = "internal"
`,
	"good/codes.go": `package good

import "example.com/m/internal/apperr"

const (
	CodeThingNotFound apperr.Code = "thing_not_found"
	CodeUntyped = "untyped_code"
	NotACode = "not_a_code"
)
`,
	"good/good.go": `package good

import (
	ae "example.com/m/internal/apperr"
)

type server struct{}

func (s *server) problem(kind ae.Kind, code ae.Code, detail string) {}

func f(err error, code ae.Code) {
	_ = ae.NotFoundf(CodeThingNotFound, "x")
	_ = ae.New(ae.Conflict, CodeUntyped, "x")
	_ = ae.New(ae.Internal, code, "x")
	_ = &ae.Error{Kind: ae.Internal, Code: ae.CodeInternal}
	_ = ae.Is(err, CodeThingNotFound)
	var s server
	s.problem(ae.NotFound, CodeThingNotFound, "d")
}
`,
	"bad/bad.go": `package bad

import (
	"example.com/m/good"
	"example.com/m/internal/apperr"
)

func f(err error, what string) {
	_ = apperr.NotFoundf("literal_code", "x")
	_ = apperr.NotFoundf(what+"_not_found", "x")
	_ = apperr.New(apperr.Conflict, apperr.Code("converted"), "x")
	_ = &apperr.Error{Kind: apperr.Conflict, Code: "in_literal"}
	_ = apperr.Is(err, "compared")
	_ = apperr.NotFoundf(good.CodeThingNotFound, "x")
}
`,
	"bad/bad_test.go": `package bad

import (
	"testing"

	"example.com/m/internal/apperr"
)

func TestX(t *testing.T) {
	_ = apperr.Is(nil, "pinned_in_test")
	_ = apperr.New(apperr.Internal, "made_in_test", "x")
}
`,
	".hidden/skip.go": "package hidden\n\nimport \"example.com/m/internal/apperr\"\n\nvar _ = apperr.NotFoundf(\"hidden\", \"x\")\n",
}

func writeFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, src := range fixture {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestScanFindsDeclarationsAndUses(t *testing.T) {
	t.Parallel()
	r, err := Scan(writeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Module != "example.com/m" {
		t.Fatalf("module %q", r.Module)
	}
	var decls []string
	for _, d := range r.Decls {
		decls = append(decls, d.Name+"="+d.Value)
	}
	// NotACode is neither typed apperr.Code nor passed as a code.
	want := "CodeInternal=internal CodeThingNotFound=thing_not_found CodeUntyped=untyped_code"
	if got := strings.Join(decls, " "); got != want {
		t.Errorf("decls\n got %s\nwant %s", got, want)
	}

	var got []string
	for _, u := range r.Uses {
		if u.File == "internal/apperr/apperr.go" {
			continue
		}
		s := u.File + " " + u.Func + " " + u.Expr + " kind=" + u.Kind
		if u.Const != nil {
			s += " const=" + u.Const.Value
		}
		if u.Problem != "" {
			s += " BAD"
		}
		if u.Exempt() {
			s += " exempt"
		}
		got = append(got, s)
	}
	sort.Strings(got)
	wantUses := []string{
		`bad/bad.go Error{Code} "in_literal" kind=Conflict BAD`,
		`bad/bad.go Is "compared" kind= BAD`,
		`bad/bad.go New apperr.Code("converted") kind=Conflict BAD`,
		`bad/bad.go NotFoundf "literal_code" kind=NotFound BAD`,
		`bad/bad.go NotFoundf good.CodeThingNotFound kind=NotFound const=thing_not_found`,
		`bad/bad.go NotFoundf what + "_not_found" kind=NotFound BAD`,
		`bad/bad_test.go Is "pinned_in_test" kind= BAD exempt`,
		`bad/bad_test.go New "made_in_test" kind=Internal BAD`,
		`good/good.go Error{Code} ae.CodeInternal kind=Internal const=internal`,
		`good/good.go Is CodeThingNotFound kind= const=thing_not_found`,
		`good/good.go New CodeUntyped kind=Conflict const=untyped_code`,
		`good/good.go New code kind=Internal`,
		`good/good.go NotFoundf CodeThingNotFound kind=NotFound const=thing_not_found`,
		`good/good.go problem CodeThingNotFound kind=NotFound const=thing_not_found`,
	}
	if strings.Join(got, "\n") != strings.Join(wantUses, "\n") {
		t.Errorf("uses\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantUses, "\n"))
	}

	codes := r.Codes()
	if !codes["thing_not_found"]["NotFound"] || !codes["untyped_code"]["Conflict"] {
		t.Errorf("codes with kinds: %v", codes)
	}
	if _, ok := codes["literal_code"]; ok {
		t.Errorf("a literal counted as a code: %v", codes)
	}
}

func TestScanNeedsAnApperrWithCodes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(root); err == nil {
		t.Fatal("a module without apperr scanned without error")
	}
}
