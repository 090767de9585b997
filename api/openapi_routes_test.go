package api

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ginParam matches a Gin path parameter (:name or *name).
var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openAPIPath turns a Gin route path into its OpenAPI form:
// /v1/threads/:thread_id -> /v1/threads/{thread_id}.
func openAPIPath(ginPath string) string {
	return ginParam.ReplaceAllString(ginPath, "{$1}")
}

// allRoutesDeps returns Deps whose every optional collaborator held by
// pointer is set (to a zero value: handlers are registered, never run),
// so routes registered only when their collaborator is present are
// listed too. Logger and Pool are used by New itself and stay nil.
func allRoutesDeps() Deps {
	var d Deps
	v := reflect.ValueOf(&d).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if name == "Logger" || name == "Pool" || f.Kind() != reflect.Pointer || f.Type().Elem().Kind() != reflect.Struct {
			continue
		}
		f.Set(reflect.New(f.Type().Elem()))
	}
	return d
}

func TestOpenAPIPathConversion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/healthz":                        "/healthz",
		"/v1/threads/:thread_id":          "/v1/threads/{thread_id}",
		"/v1/threads/:thread_id/messages": "/v1/threads/{thread_id}/messages",
		"/v1/a/:a_id/b/:b_id":             "/v1/a/{a_id}/b/{b_id}",
		"/files/*path":                    "/files/{path}",
	} {
		require.Equal(t, want, openAPIPath(in), in)
	}
}

// TestEveryRegisteredRouteIsDocumented fails when a route registered on
// the Gin engine has no operation in api/openapi.yaml. Routes under
// /test/ (test-only handlers) are exempt. Documented but unregistered
// routes are allowed.
func TestEveryRegisteredRouteIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := OpenAPI()
	require.NoError(t, err)
	srv := New(allRoutesDeps())
	routes := srv.engine.Routes()
	var listed []string
	var missing []string
	for _, r := range routes {
		if strings.HasPrefix(r.Path, "/test/") {
			continue
		}
		p := openAPIPath(r.Path)
		listed = append(listed, r.Method+" "+p)
		item := doc.Paths.Find(p)
		if item == nil || item.GetOperation(r.Method) == nil {
			missing = append(missing, r.Method+" "+p)
		}
	}
	// The collaborator-dependent routes must have been registered, or
	// this test would pass by listing too little.
	require.Contains(t, listed, "POST /v1/documents")
	require.Contains(t, listed, "GET /v1/threads/{thread_id}/messages")
	require.Emptyf(t, missing, "registered routes missing from api/openapi.yaml: %v", missing)
}
