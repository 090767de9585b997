package pathtree_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/pathtree"
)

func TestParseFolder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string
		ok       bool
	}{
		{"RootIsEmpty", "/", nil, true},
		{"EmptyIsRoot", "", nil, true},
		{"Nested", "/support/acme", []string{"support", "acme"}, true},
		{"NormalisesToNFC", "/cafe\u0301", []string{"café"}, true},
		{"KeepsCJKAndEmoji", "/東京/🚀", []string{"東京", "🚀"}, true},
		{"AcceptsMaxDepth", strings.Repeat("/a", pathtree.MaxDepth), strings.Split(strings.Repeat("a", pathtree.MaxDepth), ""), true},
		{"RejectsRelative", "support", nil, false},
		{"RejectsTrailingSlash", "/a/", nil, false},
		{"RejectsDoubleSlash", "/a//b", nil, false},
		{"RejectsDot", "/a/./b", nil, false},
		{"RejectsDotDot", "/a/..", nil, false},
		{"RejectsControl", "/a\x00b", nil, false},
		{"RejectsDelete", "/a\x7fb", nil, false},
		{"RejectsLongSegment", "/" + strings.Repeat("x", 256), nil, false},
		{"RejectsLongSegmentInBytes", "/" + strings.Repeat("é", 128), nil, false},
		{"RejectsTooDeep", strings.Repeat("/a", pathtree.MaxDepth+1), nil, false},
		{"RejectsInvalidUTF8", "/\xff", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := pathtree.ParseFolder(tc.in, "folder")
			if !tc.ok {
				require.Error(t, err)
				e, ok := apperr.As(err)
				require.True(t, ok)
				require.Equal(t, apperr.Invalid, e.Kind)
				require.Equal(t, pathtree.CodeInvalidPath, e.Code)
				require.Equal(t, "folder", e.Field)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPathHelpers(t *testing.T) {
	t.Parallel()
	require.Equal(t, "/", pathtree.Join())
	require.Equal(t, "/a/b", pathtree.Join("a", "b"))
	require.Equal(t, "/x", pathtree.Child("/", "x"))
	require.Equal(t, "/a/x", pathtree.Child("/a", "x"))
	require.Nil(t, pathtree.Split("/"))
	require.Equal(t, []string{"a", "b"}, pathtree.Split("/a/b"))
	require.Equal(t, `a\_b\%c\\`, pathtree.EscapeLike(`a_b%c\`))
}

func FuzzParseFolder(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/cafe\u0301/東京", "/a//b", "/..", "x", "/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		segs, err := pathtree.ParseFolder(in, "folder")
		if err != nil {
			require.True(t, apperr.Is(err, pathtree.CodeInvalidPath), "unexpected error %v", err)
			return
		}
		if len(segs) > pathtree.MaxDepth {
			t.Fatalf("ParseFolder(%q) accepted %d segments", in, len(segs))
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.Contains(s, "/") || len(s) > pathtree.MaxNameBytes ||
				!utf8.ValidString(s) || !norm.NFC.IsNormalString(s) ||
				strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
				t.Fatalf("ParseFolder(%q) accepted bad segment %q", in, s)
			}
		}
		again, err := pathtree.ParseFolder(pathtree.Join(segs...), "folder")
		if err != nil || pathtree.Join(again...) != pathtree.Join(segs...) {
			t.Fatalf("ParseFolder is not idempotent on %q: %v %v", in, again, err)
		}
	})
}
