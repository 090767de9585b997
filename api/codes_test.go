package api

import (
	"fmt"
	"net/http"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/codescan"
)

// documentedCodes returns the Problem schema's code enum, its x-classes
// (code -> classes) and the class enum of api/openapi.yaml.
func documentedCodes(t testing.TB) (codes []string, classesOf map[string][]Class, classes []Class) {
	t.Helper()
	doc, err := OpenAPI()
	require.NoError(t, err)
	problem := doc.Components.Schemas["Problem"].Value
	code := problem.Properties["code"].Value
	for _, v := range code.Enum {
		codes = append(codes, v.(string))
	}
	raw, ok := code.Extensions["x-classes"].(map[string]any)
	require.True(t, ok, "Problem.code has no x-classes map")
	classesOf = map[string][]Class{}
	for c, list := range raw {
		items, ok := list.([]any)
		require.Truef(t, ok, "x-classes.%s is not a list", c)
		for _, it := range items {
			classesOf[c] = append(classesOf[c], Class(fmt.Sprint(it)))
		}
	}
	for _, v := range problem.Properties["class"].Value.Enum {
		classes = append(classes, Class(v.(string)))
	}
	return codes, classesOf, classes
}

// TestEveryKindHasAStatusAndClass fails when a kind is added to apperr
// without its row in kindHTTP, or a row's class is not documented.
func TestEveryKindHasAStatusAndClass(t *testing.T) {
	t.Parallel()
	_, _, documented := documentedCodes(t)
	used := map[Class]bool{}
	for _, k := range apperr.Kinds() {
		row, ok := kindHTTP[k]
		require.Truef(t, ok, "kind %s has no row in kindHTTP", k)
		require.NotEmptyf(t, http.StatusText(row.status), "kind %s", k)
		require.Containsf(t, documented, row.class, "class of kind %s is not in the Problem class enum", k)
		used[row.class] = true
	}
	for _, c := range documented {
		require.Truef(t, used[c], "documented class %s is the class of no kind", c)
	}
	statuses := map[int]Class{}
	for k, row := range kindHTTP {
		if c, ok := statuses[row.status]; ok {
			require.Equalf(t, c, row.class, "status %d has two classes (kind %s)", row.status, k)
		}
		statuses[row.status] = row.class
	}
}

// TestEveryErrorCodeIsDocumented fails when a code declared in the
// module is missing from the Problem schema's code
// enum in api/openapi.yaml, when the enum lists a code nothing declares,
// and when a code is raised with a kind whose class its x-classes entry
// does not list.
func TestEveryErrorCodeIsDocumented(t *testing.T) {
	t.Parallel()
	root, err := codescan.ModuleRoot()
	require.NoError(t, err)
	r, err := codescan.Scan(root)
	require.NoError(t, err)
	declared := r.Codes()
	require.Greater(t, len(declared), 20, "the scan found too few codes")
	codes, classesOf, _ := documentedCodes(t)

	documented := map[string]bool{}
	for _, c := range codes {
		require.Falsef(t, documented[c], "code %s is listed twice", c)
		documented[c] = true
		_, ok := classesOf[c]
		require.Truef(t, ok, "code %s has no x-classes entry", c)
	}
	for c := range classesOf {
		require.Truef(t, documented[c], "x-classes lists %s, which the code enum lacks", c)
	}
	var undocumented, undeclared []string
	for c := range declared {
		if !documented[c] {
			undocumented = append(undocumented, c)
		}
	}
	for c := range documented {
		if _, ok := declared[c]; !ok {
			undeclared = append(undeclared, c)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(undeclared)
	require.Emptyf(t, undocumented, "codes missing from the Problem code enum of api/openapi.yaml: %v", undocumented)
	require.Emptyf(t, undeclared, "codes in api/openapi.yaml that no constant declares: %v", undeclared)

	kinds := map[string]apperr.Kind{}
	for _, k := range apperr.Kinds() {
		kinds[k.String()] = k
	}
	for c, ks := range declared {
		for name := range ks {
			k, ok := kinds[name]
			require.Truef(t, ok, "code %s raised with unknown kind %s", c, name)
			require.Containsf(t, classesOf[c], kindHTTP[k].class, "code %s is raised as %s (class %s), which its x-classes entry lacks", c, name, kindHTTP[k].class)
		}
	}
}

// checkProblemClass checks a problem document's class against its status
// and against the classes api/openapi.yaml documents for its code.
func checkProblemClass(t testing.TB, p Problem) {
	t.Helper()
	_, classesOf, _ := documentedCodes(t)
	require.Containsf(t, classesOf[p.Code], p.Class, "problem %s has class %s, not documented for it", p.Code, p.Class)
	for _, row := range kindHTTP {
		if row.status == p.Status {
			require.Equalf(t, row.class, p.Class, "problem %s with status %d", p.Code, p.Status)
			return
		}
	}
	t.Fatalf("problem %s has status %d, which no kind maps to", p.Code, p.Status)
}
