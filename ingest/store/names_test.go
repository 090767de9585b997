package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
)

func TestCleanFolder(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"EmptyIsRoot", "", "/"},
		{"SpaceIsRoot", "  ", "/"},
		{"Root", "/", "/"},
		{"AllowsTrailingSlash", "/kb/guides/", "/kb/guides"},
		{"TrimsSegments", " /kb / guides ", "/kb/guides"},
		{"NormalisesToNFC", "/cafe\u0301", "/café"},
		{"RejectsRelative", "kb", ""},
		{"RejectsDoubleSlashRoot", "//", ""},
		{"RejectsEmptySegment", "/a//b", ""},
		{"RejectsBlankSegment", "/a/ /b", ""},
		{"RejectsDotDot", "/x/../y", ""},
		{"RejectsTooDeep", strings.Repeat("/a", 33), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := store.CleanFolder(tc.in)
			if tc.want == "" {
				require.True(t, apperr.Is(err, store.CodeValidationFailed), "%v", err)
				require.Equal(t, apperr.Unprocessable, apperr.KindOf(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	got, err := store.CleanName("name", "  a.txt ")
	require.NoError(t, err)
	require.Equal(t, "a.txt", got)
	for _, bad := range []string{"", " ", ".", "..", "a/b", "a\x00", "\xff", strings.Repeat("é", 128)} {
		_, err := store.CleanName("name", bad)
		e, ok := apperr.As(err)
		require.True(t, ok, "%q", bad)
		require.Equal(t, store.CodeValidationFailed, e.Code, "%q", bad)
		require.Equal(t, "name", e.Field, "%q", bad)
	}
}
