package config

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const goodURL = "postgres://u@127.0.0.1:5432/cairn"

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"DATABASE_URL": goodURL}))
	require.NoError(t, err)
	require.Equal(t, AddrDefault, c.Addr)
	require.Equal(t, slog.LevelInfo, c.LogLevel)
	require.EqualValues(t, MaxBodyBytesDefault, c.MaxBodyBytes)
	require.Equal(t, ShutdownTimeoutDefault, c.ShutdownTimeout)
	require.Equal(t, WorkersDefault, c.Workers)
	require.False(t, c.UsesOpenAI())
	// Limits are on by default.
	require.EqualValues(t, RateLimitDefault, c.RateLimit)
	require.Equal(t, RateBurstDefault, c.RateBurst)
	require.EqualValues(t, AuthFailRateDefault, c.AuthFailRate)
	require.Equal(t, MaxTenantAnswersDefault, c.MaxTenantAnswers)
	require.Empty(t, c.TrustedProxies)
	require.Empty(t, c.MetricsAddr)
}

func TestLoadOverrides(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"DATABASE_URL": goodURL, "CAIRN_ADDR": "0.0.0.0:9000", "CAIRN_LOG_LEVEL": "DEBUG",
		"CAIRN_SHUTDOWN_TIMEOUT": "3s", "CAIRN_WORKERS": "0", "OPENAI_BASE_URL": "http://127.0.0.1:1234/v1",
		"CAIRN_EMBED_MODEL": "text-embedding-3-small", "CAIRN_EMBED_DIM": "1536",
		"CAIRN_CORS_ORIGINS": "https://app.example.com, http://localhost:5173",
	}))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", c.Addr)
	require.Equal(t, slog.LevelDebug, c.LogLevel)
	require.Equal(t, 3*time.Second, c.ShutdownTimeout)
	require.Equal(t, 0, c.Workers)
	require.True(t, c.UsesOpenAI())
	require.Equal(t, 1536, c.EmbedDim)
	require.Equal(t, []string{"https://app.example.com", "http://localhost:5173"}, c.CORSOrigins)
}

func TestLoadRejectsBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"MissingDatabaseURL", map[string]string{}, "DATABASE_URL is required"},
		{"NonPostgresURL", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a postgres://"},
		{"AddrWithoutPort", map[string]string{"DATABASE_URL": goodURL, "CAIRN_ADDR": "localhost"}, "CAIRN_ADDR must be host:port"},
		{"BodyLimitNotANumber", map[string]string{"DATABASE_URL": goodURL, "CAIRN_MAX_BODY_BYTES": "lots"}, "CAIRN_MAX_BODY_BYTES must be an integer"},
		{"BodyLimitOutOfRange", map[string]string{"DATABASE_URL": goodURL, "CAIRN_MAX_BODY_BYTES": "10"}, "CAIRN_MAX_BODY_BYTES must be between"},
		{"BadDuration", map[string]string{"DATABASE_URL": goodURL, "CAIRN_REQUEST_TIMEOUT": "ten"}, "CAIRN_REQUEST_TIMEOUT must be a duration"},
		{"NegativeDuration", map[string]string{"DATABASE_URL": goodURL, "CAIRN_SHUTDOWN_TIMEOUT": "-1s"}, "CAIRN_SHUTDOWN_TIMEOUT must be positive"},
		{"BadLogLevel", map[string]string{"DATABASE_URL": goodURL, "CAIRN_LOG_LEVEL": "loud"}, "CAIRN_LOG_LEVEL must be one of"},
		{"TooManyWorkers", map[string]string{"DATABASE_URL": goodURL, "CAIRN_WORKERS": "1000"}, "CAIRN_WORKERS must be between"},
		{"BadOpenAIURL", map[string]string{"DATABASE_URL": goodURL, "OPENAI_BASE_URL": "ftp://x"}, "OPENAI_BASE_URL must be an http(s) URL"},
		{"EmbedModelWithoutDim", map[string]string{"DATABASE_URL": goodURL, "OPENAI_API_KEY": "k", "CAIRN_EMBED_MODEL": "m"}, "CAIRN_EMBED_DIM is required"},
		{"CORSOriginWithPath", map[string]string{"DATABASE_URL": goodURL, "CAIRN_CORS_ORIGINS": "https://a.example/app"}, "CAIRN_CORS_ORIGINS must list origins"},
		{"CORSOriginWithoutScheme", map[string]string{"DATABASE_URL": goodURL, "CAIRN_CORS_ORIGINS": "a.example"}, "CAIRN_CORS_ORIGINS must list origins"},
		{"EmbedModelWithoutEndpoint", map[string]string{"DATABASE_URL": goodURL, "CAIRN_EMBED_MODEL": "m", "CAIRN_EMBED_DIM": "8"}, "CAIRN_EMBED_MODEL needs OPENAI_BASE_URL"},
		{"NegativeRate", map[string]string{"DATABASE_URL": goodURL, "CAIRN_RATE_LIMIT": "-1"}, "CAIRN_RATE_LIMIT must be between"},
		{"ZeroBurst", map[string]string{"DATABASE_URL": goodURL, "CAIRN_RATE_BURST": "0"}, "CAIRN_RATE_BURST must be between"},
		{"BadTrustedProxy", map[string]string{"DATABASE_URL": goodURL, "CAIRN_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, `CAIRN_TRUSTED_PROXIES must list IP addresses or CIDRs, got "proxy.local"`},
		{"MetricsOnTheAPIAddress", map[string]string{"DATABASE_URL": goodURL, "CAIRN_METRICS_ADDR": AddrDefault}, "CAIRN_METRICS_ADDR must differ from CAIRN_ADDR"},
		{"MetricsAddrWithoutPort", map[string]string{"DATABASE_URL": goodURL, "CAIRN_METRICS_ADDR": "localhost"}, "CAIRN_METRICS_ADDR must be host:port"},
		{"JobTimeoutMinOverMax", map[string]string{"DATABASE_URL": goodURL, "CAIRN_INGEST_JOB_TIMEOUT": "10s", "CAIRN_INGEST_JOB_TIMEOUT_MIN": "20s"}, "CAIRN_INGEST_JOB_TIMEOUT_MIN must be at most"},
		{"ExtractBytesTooSmall", map[string]string{"DATABASE_URL": goodURL, "CAIRN_EXTRACT_MAX_BYTES": "1000"}, "CAIRN_EXTRACT_MAX_BYTES must be between"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(env(tc.env))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{"CAIRN_ADDR": "nope", "CAIRN_WORKERS": "x"}))
	require.Error(t, err)
	for _, want := range []string{"DATABASE_URL", "CAIRN_ADDR", "CAIRN_WORKERS"} {
		require.Contains(t, err.Error(), want)
	}
}
