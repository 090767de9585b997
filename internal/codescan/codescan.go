// Package codescan reads the module's Go source (go/parser, no build) and
// reports how public error codes are written: the constants that declare
// them, and every code passed to an apperr constructor or comparison,
// with the constant it names and the kind it is raised with when those
// can be read off the source. Its tests hold the rules: no code is a
// string literal at a call site, each code is declared once, and (in
// package api) every code is documented in api/openapi.yaml.
package codescan

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ApperrPath is the import path of the package whose functions take codes,
// relative to the module.
const ApperrPath = "internal/apperr"

// Decl is one package-level string constant.
type Decl struct {
	// Pkg is the import path of the declaring package.
	Pkg string
	// Name is the constant's name.
	Name string
	// Value is the constant's string value.
	Value string
	// Typed reports whether the constant is of type apperr.Code.
	Typed bool
	// Pos is where it is declared.
	Pos token.Position
}

// Use is one code argument: of a function taking an apperr.Code (apperr's
// constructors and comparisons, and helpers of other packages), or the
// Code field of an apperr.Error literal.
type Use struct {
	// File is the file's path relative to the module root, with slashes.
	File string
	// Pos is where the argument is.
	Pos token.Position
	// Func names what takes the code: "New", "Is", "Error{Code}".
	Func string
	// Constructor is false for comparisons (apperr.Is), which tests may
	// write with literals to pin the wire value.
	Constructor bool
	// Test reports whether File is a _test.go file.
	Test bool
	// Expr is the argument as written.
	Expr string
	// Const is the module constant the argument names, if it names one.
	Const *Decl
	// Literal is the value of a string-literal argument.
	Literal string
	// IsLiteral reports whether the argument is a string literal.
	IsLiteral bool
	// Kind is the apperr kind the code is raised with ("NotFound"), when
	// the constructor or its kind argument says; empty otherwise.
	Kind string
	// Problem says why the argument breaks the rule (a literal, or a code
	// computed at run time); empty when it names a constant, a variable
	// or a field.
	Problem string
}

// Result is what Scan found.
type Result struct {
	// Module is the module path from go.mod.
	Module string
	// Decls are the package-level string constants of non-test files
	// that are codes: of type apperr.Code, or named as a code argument.
	Decls []Decl
	// Uses are all code arguments, test files included.
	Uses []Use
}

// codeParam describes one function that takes a Code.
type codeParam struct {
	index       int    // position of the Code parameter
	kindIndex   int    // position of a Kind parameter, or -1
	kind        string // the kind an apperr constructor's body passes to New
	constructor bool   // false for a comparison (returns bool)
}

type file struct {
	rel   string
	pkg   string // import path of its directory
	test  bool
	ast   *ast.File
	names map[string]string // local import name -> import path
}

// ModuleRoot returns the nearest directory at or above the working
// directory that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("codescan: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Scan parses every .go file under root (a module root; hidden
// directories, testdata and vendor are skipped) and returns the code
// declarations and uses.
func Scan(root string) (*Result, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*file
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		pkg := module
		if dir := filepath.ToSlash(filepath.Dir(rel)); dir != "." {
			pkg += "/" + dir
		}
		files = append(files, &file{rel: rel, pkg: pkg, test: strings.HasSuffix(name, "_test.go"), ast: f, names: importNames(f)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	apperrPkg := module + "/" + ApperrPath
	params := codeParams(files, apperrPkg)
	if len(params) == 0 {
		return nil, fmt.Errorf("codescan: no function of %s takes a Code", apperrPkg)
	}
	kinds := kindNames(files, apperrPkg)
	consts := map[string]map[string]*Decl{} // pkg -> name -> decl
	for _, f := range files {
		if !f.test {
			collectConsts(fset, f, apperrPkg, consts)
		}
	}
	r := &Result{Module: module}
	used := map[*Decl]bool{}
	for _, f := range files {
		for _, u := range uses(fset, f, apperrPkg, params, kinds, consts) {
			if u.Const != nil {
				used[u.Const] = true
			}
			r.Uses = append(r.Uses, u)
		}
	}
	for _, byName := range consts {
		for _, d := range byName {
			if d.Typed || used[d] {
				r.Decls = append(r.Decls, *d)
			}
		}
	}
	sort.Slice(r.Decls, func(i, j int) bool {
		if r.Decls[i].Value != r.Decls[j].Value {
			return r.Decls[i].Value < r.Decls[j].Value
		}
		return r.Decls[i].Pkg+r.Decls[i].Name < r.Decls[j].Pkg+r.Decls[j].Name
	})
	sort.SliceStable(r.Uses, func(i, j int) bool {
		if r.Uses[i].File != r.Uses[j].File {
			return r.Uses[i].File < r.Uses[j].File
		}
		return r.Uses[i].Pos.Offset < r.Uses[j].Pos.Offset
	})
	return r, nil
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close() //nolint:errcheck // read-only file; a close error loses nothing
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("codescan: %s has no module line", gomod)
}

func importNames(f *ast.File) map[string]string {
	names := map[string]string{}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = path
	}
	return names
}

// isApperrType reports whether t names apperr's type name in f (bare
// inside apperr, qualified elsewhere).
func isApperrType(t ast.Expr, f *file, apperrPkg, name string) bool {
	switch t := t.(type) {
	case *ast.Ident:
		return f.pkg == apperrPkg && t.Name == name
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		return ok && t.Sel.Name == name && f.names[x.Name] == apperrPkg
	}
	return false
}

func isCodeType(t ast.Expr, f *file, apperrPkg string) bool {
	return isApperrType(t, f, apperrPkg, "Code")
}

func isKindType(t ast.Expr, f *file, apperrPkg string) bool {
	return isApperrType(t, f, apperrPkg, "Kind")
}

// funcKey names a function (recv false) or a method (recv true) of a package.
type funcKey struct {
	pkg  string
	name string
	recv bool
}

// codeParams finds the functions and methods of the module (non-test
// files) that take an apperr.Code: apperr's constructors and comparisons,
// and helpers such as api's problem writer.
func codeParams(files []*file, apperrPkg string) map[funcKey]codeParam {
	out := map[funcKey]codeParam{}
	for _, f := range files {
		if f.test {
			continue
		}
		for _, d := range f.ast.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			p := codeParam{index: -1, kindIndex: -1, constructor: true}
			i := 0
			for _, field := range fn.Type.Params.List {
				for range max(len(field.Names), 1) {
					if isCodeType(field.Type, f, apperrPkg) && p.index < 0 {
						p.index = i
					}
					if isKindType(field.Type, f, apperrPkg) && p.kindIndex < 0 {
						p.kindIndex = i
					}
					i++
				}
			}
			if p.index < 0 {
				continue
			}
			if r := fn.Type.Results; r != nil && len(r.List) == 1 && len(r.List[0].Names) <= 1 {
				if id, ok := r.List[0].Type.(*ast.Ident); ok && id.Name == "bool" {
					p.constructor = false // a comparison such as apperr.Is
				}
			}
			if p.kindIndex < 0 && f.pkg == apperrPkg && fn.Body != nil {
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || p.kind != "" {
						return p.kind == ""
					}
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "New" && len(call.Args) > 0 {
						if k, ok := call.Args[0].(*ast.Ident); ok {
							p.kind = k.Name
						}
					}
					return true
				})
			}
			out[funcKey{pkg: f.pkg, name: fn.Name.Name, recv: fn.Recv != nil}] = p
		}
	}
	return out
}

// kindNames returns the names of apperr's Kind constants.
func kindNames(files []*file, apperrPkg string) map[string]bool {
	out := map[string]bool{}
	for _, f := range files {
		if f.pkg != apperrPkg || f.test {
			continue
		}
		for _, d := range f.ast.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST || len(gd.Specs) == 0 {
				continue
			}
			if first := gd.Specs[0].(*ast.ValueSpec); first.Type == nil || !isKindType(first.Type, f, apperrPkg) {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					out[n.Name] = true
				}
			}
		}
	}
	return out
}

func collectConsts(fset *token.FileSet, f *file, apperrPkg string, consts map[string]map[string]*Decl) {
	for _, d := range f.ast.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					break
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					continue
				}
				if consts[f.pkg] == nil {
					consts[f.pkg] = map[string]*Decl{}
				}
				consts[f.pkg][name.Name] = &Decl{
					Pkg: f.pkg, Name: name.Name, Value: v,
					Typed: vs.Type != nil && isCodeType(vs.Type, f, apperrPkg),
					Pos:   fset.Position(name.Pos()),
				}
			}
		}
	}
}

// resolve returns the module constant that e names in f, if any.
func resolve(e ast.Expr, f *file, consts map[string]map[string]*Decl) *Decl {
	switch e := e.(type) {
	case *ast.Ident:
		pkg := f.pkg
		if f.test && strings.HasSuffix(f.ast.Name.Name, "_test") {
			return nil // an external test package sees no unqualified consts of the package
		}
		return consts[pkg][e.Name]
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if path, ok := f.names[x.Name]; ok {
				return consts[path][e.Sel.Name]
			}
		}
	}
	return nil
}

// kindOf reads an apperr kind expression: apperr.NotFound, or NotFound
// inside apperr.
func kindOf(e ast.Expr, f *file, apperrPkg string, kinds map[string]bool) string {
	name := ""
	switch e := e.(type) {
	case *ast.Ident:
		if f.pkg == apperrPkg {
			name = e.Name
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && f.names[x.Name] == apperrPkg {
			name = e.Sel.Name
		}
	}
	if !kinds[name] {
		return ""
	}
	return name
}

func uses(fset *token.FileSet, f *file, apperrPkg string, params map[funcKey]codeParam, kinds map[string]bool, consts map[string]map[string]*Decl) []Use {
	var out []Use
	// callee returns the function taking a Code that fun names, if any: a
	// function of f's package or of an imported one, or a method of f's
	// package (matched by name: the scan has no types).
	callee := func(fun ast.Expr) (string, codeParam, bool) {
		var k funcKey
		switch fun := fun.(type) {
		case *ast.Ident:
			k = funcKey{pkg: f.pkg, name: fun.Name}
		case *ast.SelectorExpr:
			k = funcKey{pkg: f.pkg, name: fun.Sel.Name, recv: true}
			if x, ok := fun.X.(*ast.Ident); ok {
				if path, ok := f.names[x.Name]; ok {
					k = funcKey{pkg: path, name: fun.Sel.Name}
				}
			}
		default:
			return "", codeParam{}, false
		}
		p, ok := params[k]
		return k.name, p, ok
	}
	add := func(fn string, constructor bool, arg ast.Expr, kind string) {
		u := Use{
			File: f.rel, Pos: fset.Position(arg.Pos()), Func: fn, Constructor: constructor, Test: f.test,
			Expr: exprString(fset, arg), Kind: kind,
		}
		switch a := arg.(type) {
		case *ast.BasicLit:
			u.IsLiteral = true
			u.Literal, _ = strconv.Unquote(a.Value)
			u.Problem = "a string literal: declare the code as a constant in the package that owns it"
		case *ast.Ident, *ast.SelectorExpr:
			u.Const = resolve(arg, f, consts)
		default:
			u.Problem = "a code computed at run time: declare each code as a constant and pass the constant"
		}
		out = append(out, u)
	}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			name, p, ok := callee(n.Fun)
			if !ok || p.index >= len(n.Args) {
				return true
			}
			kind := p.kind
			if p.kindIndex >= 0 && p.kindIndex < len(n.Args) {
				kind = kindOf(n.Args[p.kindIndex], f, apperrPkg, kinds)
			}
			add(name, p.constructor, n.Args[p.index], kind)
		case *ast.CompositeLit:
			if !isApperrType(n.Type, f, apperrPkg, "Error") {
				return true
			}
			var code ast.Expr
			kind := ""
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				switch key.Name {
				case "Code":
					code = kv.Value
				case "Kind":
					kind = kindOf(kv.Value, f, apperrPkg, kinds)
				}
			}
			if code != nil {
				add("Error{Code}", true, code, kind)
			}
		}
		return true
	})
	return out
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, e); err != nil {
		return fmt.Sprintf("%T", e)
	}
	return b.String()
}
