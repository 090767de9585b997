package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/apperr"
)

type decodeInner struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

type decodeEmbedded struct {
	Promoted string `json:"promoted"`
}

type decodeTarget struct {
	decodeEmbedded
	Name    string                  `json:"name"`
	Content *decodeInner            `json:"content"`
	Items   []decodeInner           `json:"items"`
	ByName  map[string]*decodeInner `json:"by_name"`
	Raw     json.RawMessage         `json:"raw"`
	Any     any                     `json:"any"`
	Skipped string                  `json:"-"`
	Untag   string
}

func TestDecodeJSONNamesUnknownFieldPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, code, field string
	}{
		{"TopLevel", `{"name":"a","extra":1}`, "unknown_field", "extra"},
		{"NestedInObject", `{"content":{"txt":"x"}}`, "unknown_field", "content.txt"},
		{"NestedInArray", `{"items":[{"n":1},{"n":2,"colour":"red"}]}`, "unknown_field", "items[1].colour"},
		{"NestedInMapValue", `{"by_name":{"k":{"text":"a","zz":1}}}`, "unknown_field", "by_name.k.zz"},
		{"CaseInsensitiveKeysAreKnown", `{"CONTENT":{"Text":"x","bad":1}}`, "unknown_field", "CONTENT.bad"},
		{"FirstInDocumentOrder", `{"content":{"a":1},"b":2}`, "unknown_field", "content.a"},
		{"SameLeafNameDeeper", `{"items":[{"text":"x"}],"content":{"text":"y"},"text":1}`, "unknown_field", "text"},
		{"PromotedFieldIsKnown", `{"promoted":"p","x":2}`, "unknown_field", "x"},
		{"DashTagIsUnknown", `{"Skipped":"s"}`, "unknown_field", "Skipped"},
		{"UntaggedFieldByGoName", `{"untag":"u","content":{"n":1,"y":1}}`, "unknown_field", "content.y"},
		{"RawAndAnyAreNotWalked", `{"raw":{"anything":1},"any":{"x":[{"y":1}]},"extra":1}`, "unknown_field", "extra"},
		{"WrongNestedType", `{"content":{"n":"seven"}}`, "invalid_field", "content.n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			c.Request.Header.Set("Content-Type", "application/json")
			var v decodeTarget
			err := decodeJSON(c, &v)
			e, ok := apperr.As(err)
			require.Truef(t, ok, "error %v", err)
			require.Equal(t, apperr.Invalid, e.Kind)
			require.Equal(t, tc.code, e.Code, e.Message)
			require.Equal(t, tc.field, e.Field, e.Message)
		})
	}
	t.Run("KnownFieldsDecode", func(t *testing.T) {
		t.Parallel()
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"promoted":"p","content":{"text":"x"},"items":[{"n":1}],"raw":{"a":1}}`))
		var v decodeTarget
		require.NoError(t, decodeJSON(c, &v))
		require.Equal(t, "p", v.Promoted)
		require.Equal(t, "x", v.Content.Text)
		require.Equal(t, 1, v.Items[0].N)
		require.JSONEq(t, `{"a":1}`, string(v.Raw))
	})
}

// TestTypeErrorsNameJSONTypes: a value of the wrong type is answered with
// the JSON field and the JSON type it needs, never a Go type name.
func TestTypeErrorsNameJSONTypes(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, field, want string }{
		{"ObjectGivenString", `{"content":"text"}`, "content", "field content must be an object, got string"},
		{"IntegerGivenString", `{"content":{"n":"seven"}}`, "content.n", "field content.n must be an integer, got string"},
		{"StringGivenNumber", `{"name":7}`, "name", "field name must be a string, got number"},
		{"ArrayGivenObject", `{"items":{"n":1}}`, "items", "field items must be an array, got object"},
		{"ArrayItemGivenBool", `{"items":[true]}`, "items", "must be an object, got bool"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			var v decodeTarget
			e, ok := apperr.As(decodeJSON(c, &v))
			require.True(t, ok)
			require.Equal(t, CodeInvalidField, e.Code)
			require.Contains(t, e.Field, tc.field)
			require.Contains(t, e.Message, tc.want)
			require.NotContains(t, e.Message, "api.")
			require.NotContains(t, e.Message, "decode")
		})
	}
}
