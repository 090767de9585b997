package api

import (
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// AllowQuery checks that the request's query names only parameters of
// allowed, as decodeJSON checks body fields: any other is 400
// unknown_parameter naming each (sorted), so a misspelt filter is never
// silently ignored. Every list endpoint calls it first.
func AllowQuery(c *gin.Context, allowed ...string) error {
	var unknown []string
	for name := range c.Request.URL.Query() {
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	sorted := slices.Clone(allowed)
	sort.Strings(sorted)
	return apperr.Invalidf(CodeUnknownParameter, unknown[0], "unknown query parameter %s; this endpoint accepts %s",
		quoteList(unknown), strings.Join(sorted, ", "))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}
