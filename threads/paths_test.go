package threads_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/threads"
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
		{"RejectsRelative", "support", nil, false},
		{"RejectsTrailingSlash", "/a/", nil, false},
		{"RejectsDoubleSlash", "/a//b", nil, false},
		{"RejectsDot", "/a/./b", nil, false},
		{"RejectsDotDot", "/a/..", nil, false},
		{"RejectsControl", "/a\x00b", nil, false},
		{"RejectsLongSegment", "/" + strings.Repeat("x", 256), nil, false},
		{"RejectsInvalidUTF8", "/\xff", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := threads.ParseFolder(tc.in, "folder")
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseFolder(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/cafe\u0301/東京", "/a//b", "/..", "x", "/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		segs, err := threads.ParseFolder(in, "folder")
		if err != nil {
			return
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.Contains(s, "/") || len(s) > threads.MaxNameBytes ||
				!utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
				t.Fatalf("ParseFolder(%q) accepted bad segment %q", in, s)
			}
		}
		if len(segs) > 0 {
			again, err := threads.ParseFolder("/"+strings.Join(segs, "/"), "folder")
			if err != nil || strings.Join(again, "/") != strings.Join(segs, "/") {
				t.Fatalf("ParseFolder is not idempotent on %q: %v %v", in, again, err)
			}
		}
	})
}

func TestMigrationsDownAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := db.Open(ctx, testdb.Fresh(t), 2)
	require.NoError(t, err)
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Up(ctx)
	require.NoError(t, err)
	_, err = m.DownTo(ctx, 2)
	require.NoError(t, err)
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('messages') IS NOT NULL`).Scan(&exists))
	require.False(t, exists)
	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.NoError(t, m.CheckCurrent(ctx))
}
