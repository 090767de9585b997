package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/retry"
)

func TestBackoffIsCappedAndJittered(t *testing.T) {
	p := retry.Policy{Attempts: 10, Base: 100 * time.Millisecond, Cap: time.Second}
	for n := 1; n <= 10; n++ {
		d := p.Backoff(n, 0)
		require.LessOrEqual(t, d, time.Second)
		require.GreaterOrEqual(t, d, min(100*time.Millisecond<<(n-1), time.Second)/2)
	}
	require.Equal(t, time.Second, p.Backoff(1, time.Hour), "Retry-After is capped")
	require.Equal(t, 300*time.Millisecond, p.Backoff(1, 300*time.Millisecond))
}

func TestDoStopsOnFinalErrors(t *testing.T) {
	calls := 0
	final := errors.New("final")
	err := retry.Do(context.Background(), retry.Policy{Attempts: 5, Base: time.Millisecond, Cap: time.Millisecond}, func(context.Context) error {
		calls++
		if calls < 3 {
			return retry.Retryable(errors.New("again"), 0)
		}
		return final
	})
	require.ErrorIs(t, err, final)
	require.Equal(t, 3, calls)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d, ok := retry.ParseRetryAfter("2", now)
	require.True(t, ok)
	require.Equal(t, 2*time.Second, d)
	d, ok = retry.ParseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)
	require.True(t, ok)
	require.Equal(t, 5*time.Second, d)
	_, ok = retry.ParseRetryAfter("soon", now)
	require.False(t, ok)
}
