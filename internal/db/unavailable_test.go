package db

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"Nil", nil, false},
		{"AdminShutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"CannotConnectNow", fmt.Errorf("query: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"ConnectionFailure", &pgconn.PgError{Code: "08006"}, true},
		{"UniqueViolation", &pgconn.PgError{Code: "23505"}, false},
		{"ContextCancelled", context.Canceled, false},
		{"Plain", errors.New("boom"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, IsUnavailable(tc.err))
		})
	}
	t.Run("RefusedConnection", func(t *testing.T) {
		t.Parallel()
		_, err := pgconn.Connect(context.Background(), "postgres://x@127.0.0.1:1/x?connect_timeout=2")
		require.Error(t, err)
		require.True(t, IsUnavailable(err), "%v", err)
	})
}
