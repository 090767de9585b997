// Package config owns Cairn's runtime configuration: every setting comes
// from an environment variable, is validated at start, and each bad value
// gets its own clear message.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/jobs"
	"github.com/cairn-rag/cairn/retrieval"
)

// Defaults of the settings this package owns: the HTTP server's, the
// pool's and the process's. Settings of a domain package take that
// package's ...Default (retrieval.RRFKDefault, embed.TimeoutDefault).
const (
	AddrDefault            = "127.0.0.1:8080"
	MaxBodyBytesDefault    = 8 << 20
	MaxUploadBytesDefault  = 64 << 20
	RequestTimeoutDefault  = 60 * time.Second
	ReadTimeoutDefault     = 60 * time.Second
	WriteTimeoutDefault    = 300 * time.Second
	ShutdownTimeoutDefault = 20 * time.Second
	DBMaxConnsDefault      = 20
	WorkersDefault         = 2
	AnswerWorkersDefault   = 4
	ChatModelDefault       = "gpt-4o-mini"
	// ModelTimeoutDefault bounds a call to a model server, chat or
	// embeddings.
	ModelTimeoutDefault = embed.TimeoutDefault
	// The ingest defaults are still written here as well as in package
	// ingest (issue 9, round 2: refer to ingest's once it is split).
	ChunkSizeDefault              = 800
	ChunkOverlapDefault           = 100
	MaxTextCharsDefault           = 10_000_000
	IngestJobTimeoutDefault       = 30 * time.Minute
	IngestJobTimeoutMinDefault    = jobs.MinJobTimeoutDefault
	IngestJobTimeoutPerMiBDefault = jobs.JobTimeoutPerMiBDefault
	// RateLimitDefault and RateBurstDefault are each tenant's request
	// rate (requests per second, per API replica) and the burst above it:
	// generous enough that no interactive client or `cairn ingest` over
	// the API meets them, low enough that one key cannot take a replica.
	RateLimitDefault = 100
	RateBurstDefault = 400
	// AuthFailRateDefault and AuthFailBurstDefault throttle failed
	// authentication per client address: 20 wrong keys at once, then one
	// attempt every 2 s.
	AuthFailRateDefault  = 0.5
	AuthFailBurstDefault = 20
	// MaxTenantAnswersDefault bounds the answers (streamed or not) one
	// tenant has in flight on one API replica.
	MaxTenantAnswersDefault = 8
	// SSEKeepaliveDefault is well under the 60 s idle timeout of common
	// proxies (nginx proxy_read_timeout, AWS ALB).
	SSEKeepaliveDefault = 15 * time.Second
)

// Config is Cairn's validated configuration.
type Config struct {
	// DatabaseURL is the Postgres connection string (DATABASE_URL).
	DatabaseURL string
	// Addr is the listen address of `cairn serve` (CAIRN_ADDR).
	Addr string
	// LogLevel is the minimum level logged (CAIRN_LOG_LEVEL: debug, info, warn, error).
	LogLevel slog.Level
	// MaxBodyBytes bounds JSON request bodies (CAIRN_MAX_BODY_BYTES).
	MaxBodyBytes int64
	// MaxUploadBytes bounds document uploads (CAIRN_MAX_UPLOAD_BYTES).
	MaxUploadBytes int64
	// RequestTimeout bounds the work of one non-streaming request (CAIRN_REQUEST_TIMEOUT).
	RequestTimeout time.Duration
	// ReadTimeout bounds reading a whole request (CAIRN_READ_TIMEOUT).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, streams included (CAIRN_WRITE_TIMEOUT).
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM (CAIRN_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// DBMaxConns is the size of the connection pool (CAIRN_DB_MAX_CONNS).
	DBMaxConns int32
	// Workers is the number of in-process ingest workers of `cairn serve`;
	// 0 leaves ingestion to `cairn worker` processes (CAIRN_WORKERS).
	Workers int
	// AnswerWorkers is the number of background answers `cairn serve`
	// generates at once (CAIRN_ANSWER_WORKERS; 0: none here, only enqueue).
	AnswerWorkers int
	// OpenAIAPIKey is the key for an OpenAI-compatible endpoint (OPENAI_API_KEY).
	OpenAIAPIKey string
	// OpenAIBaseURL is the OpenAI-compatible endpoint; empty with no key
	// selects the offline models (OPENAI_BASE_URL).
	OpenAIBaseURL string
	// ChatModel is the chat model name (CAIRN_CHAT_MODEL).
	ChatModel string
	// ChatModels are further chat models a user message may ask for by
	// its model field (CAIRN_CHAT_MODELS, comma-separated); ChatModel is
	// always allowed.
	ChatModels []string
	// EmbedModel is the embedding model name; empty selects the offline
	// hashing embedder (CAIRN_EMBED_MODEL).
	EmbedModel string
	// EmbedDim is the dimension of EmbedModel's vectors (CAIRN_EMBED_DIM).
	EmbedDim int
	// ModelTimeout bounds one call to the model server (CAIRN_MODEL_TIMEOUT).
	ModelTimeout time.Duration
	// AnswerTimeout bounds one answer: retrieval, the model rounds and
	// storing (CAIRN_ANSWER_TIMEOUT; default CAIRN_MODEL_TIMEOUT + 30s). An
	// answer whose process died is generated again by its job after it.
	AnswerTimeout time.Duration
	// ChunkSize is the target chunk size in code points (CAIRN_CHUNK_SIZE).
	ChunkSize int
	// ChunkOverlap is how many code points consecutive chunks share (CAIRN_CHUNK_OVERLAP).
	ChunkOverlap int
	// MaxTextChars bounds the extracted text of one document version, in
	// code points (CAIRN_MAX_TEXT_CHARS).
	MaxTextChars int
	// ExtractMaxPages bounds the pages of a PDF (CAIRN_EXTRACT_MAX_PAGES).
	ExtractMaxPages int
	// ExtractMaxBytes bounds the decompressed content streams of a PDF,
	// all pages together (CAIRN_EXTRACT_MAX_BYTES); one page's are
	// bounded by extract.MaxPageBytes.
	ExtractMaxBytes int64
	// Fusion is how hybrid search merges its legs: score or rrf (CAIRN_FUSION).
	Fusion string
	// RRFK is reciprocal rank fusion's k (CAIRN_RRF_K).
	RRFK float64
	// VectorWeight weighs the vector leg in hybrid search (CAIRN_VECTOR_WEIGHT).
	VectorWeight float64
	// TextWeight weighs the text leg in hybrid search (CAIRN_TEXT_WEIGHT).
	TextWeight float64
	// EfSearch is the HNSW ef_search of the vector leg (CAIRN_HNSW_EF_SEARCH).
	EfSearch int
	// TextCandidates caps the chunks the text leg scores (CAIRN_TEXT_CANDIDATES).
	TextCandidates int
	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to
	// call the API cross-origin, or ["*"] for any (CAIRN_CORS_ORIGINS,
	// comma-separated; empty allows none: same-origin only).
	CORSOrigins []string
	// IngestJobTimeout is the most time one ingest job gets
	// (CAIRN_INGEST_JOB_TIMEOUT).
	IngestJobTimeout time.Duration
	// IngestJobTimeoutMin is the time limit of the smallest ingest job
	// (CAIRN_INGEST_JOB_TIMEOUT_MIN); each MiB uploaded adds
	// IngestJobTimeoutPerMiB (CAIRN_INGEST_JOB_TIMEOUT_PER_MIB), up to
	// IngestJobTimeout. A job whose worker died runs again its limit plus
	// 5 s (and River's rescue interval, 30 s) after it started.
	IngestJobTimeoutMin    time.Duration
	IngestJobTimeoutPerMiB time.Duration
	// IngestFairShare is how many queued ingest jobs a tenant may have
	// before its new jobs queue behind other tenants'
	// (CAIRN_INGEST_FAIR_SHARE).
	IngestFairShare int
	// RateLimit is each tenant's sustained request rate on /v1, in
	// requests per second per API replica; 0 turns rate limiting off
	// (CAIRN_RATE_LIMIT).
	RateLimit float64
	// RateBurst is how many requests a tenant may send at once above
	// RateLimit (CAIRN_RATE_BURST).
	RateBurst int
	// AuthFailRate is how many failed authentications per second one
	// client address may make once AuthFailBurst is spent; 0 turns the
	// throttle off (CAIRN_AUTH_FAIL_RATE).
	AuthFailRate float64
	// AuthFailBurst is how many failed authentications one client address
	// may make at once (CAIRN_AUTH_FAIL_BURST).
	AuthFailBurst int
	// MaxTenantAnswers bounds the answers one tenant has in flight on one
	// API replica (POST .../user_message, streamed or not); 0 means no
	// bound (CAIRN_MAX_TENANT_ANSWERS).
	MaxTenantAnswers int
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For names the client address; empty trusts none, so the
	// client address is the peer's (CAIRN_TRUSTED_PROXIES, comma-separated).
	TrustedProxies []string
	// SSEKeepalive is how often a Server-Sent Events stream gets a
	// comment line while no event is due (CAIRN_SSE_KEEPALIVE).
	SSEKeepalive time.Duration
	// MetricsAddr, when set, serves /metrics on its own listener at this
	// address instead of on the API's (CAIRN_METRICS_ADDR).
	MetricsAddr string
	// MetricsToken, when set, makes /metrics require
	// "Authorization: Bearer <token>" (CAIRN_METRICS_TOKEN).
	MetricsToken string
}

// UsesOpenAI reports whether an OpenAI-compatible endpoint is configured.
func (c Config) UsesOpenAI() bool { return c.OpenAIBaseURL != "" || c.OpenAIAPIKey != "" }

// Load reads and validates the configuration from getenv (os.Getenv in
// production). All problems are reported together, one per line.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		DatabaseURL:            strings.TrimSpace(getenv("DATABASE_URL")),
		Addr:                   p.str("CAIRN_ADDR", AddrDefault),
		LogLevel:               p.level("CAIRN_LOG_LEVEL"),
		MaxBodyBytes:           p.int64("CAIRN_MAX_BODY_BYTES", MaxBodyBytesDefault, 1024, 1<<30),
		MaxUploadBytes:         p.int64("CAIRN_MAX_UPLOAD_BYTES", MaxUploadBytesDefault, 1024, 4<<30),
		RequestTimeout:         p.duration("CAIRN_REQUEST_TIMEOUT", RequestTimeoutDefault),
		ReadTimeout:            p.duration("CAIRN_READ_TIMEOUT", ReadTimeoutDefault),
		WriteTimeout:           p.duration("CAIRN_WRITE_TIMEOUT", WriteTimeoutDefault),
		ShutdownTimeout:        p.duration("CAIRN_SHUTDOWN_TIMEOUT", ShutdownTimeoutDefault),
		DBMaxConns:             int32(p.int64("CAIRN_DB_MAX_CONNS", DBMaxConnsDefault, 2, 1000)),
		Workers:                int(p.int64("CAIRN_WORKERS", WorkersDefault, 0, 256)),
		AnswerWorkers:          int(p.int64("CAIRN_ANSWER_WORKERS", AnswerWorkersDefault, 0, 256)),
		OpenAIAPIKey:           strings.TrimSpace(getenv("OPENAI_API_KEY")),
		OpenAIBaseURL:          strings.TrimSpace(getenv("OPENAI_BASE_URL")),
		ChatModel:              p.str("CAIRN_CHAT_MODEL", ChatModelDefault),
		ChatModels:             p.list("CAIRN_CHAT_MODELS"),
		EmbedModel:             strings.TrimSpace(getenv("CAIRN_EMBED_MODEL")),
		EmbedDim:               int(p.int64("CAIRN_EMBED_DIM", 0, 0, 16000)),
		ModelTimeout:           p.duration("CAIRN_MODEL_TIMEOUT", ModelTimeoutDefault),
		AnswerTimeout:          p.duration("CAIRN_ANSWER_TIMEOUT", 0),
		ChunkSize:              int(p.int64("CAIRN_CHUNK_SIZE", ChunkSizeDefault, 64, 100_000)),
		ChunkOverlap:           int(p.int64("CAIRN_CHUNK_OVERLAP", ChunkOverlapDefault, 0, 50_000)),
		MaxTextChars:           int(p.int64("CAIRN_MAX_TEXT_CHARS", MaxTextCharsDefault, 1000, 1<<30)),
		ExtractMaxPages:        int(p.int64("CAIRN_EXTRACT_MAX_PAGES", extract.MaxPagesDefault, 1, 1_000_000)),
		ExtractMaxBytes:        p.int64("CAIRN_EXTRACT_MAX_BYTES", extract.MaxContentBytesDefault, 1<<20, 64<<30),
		IngestJobTimeout:       p.duration("CAIRN_INGEST_JOB_TIMEOUT", IngestJobTimeoutDefault),
		IngestJobTimeoutMin:    p.duration("CAIRN_INGEST_JOB_TIMEOUT_MIN", IngestJobTimeoutMinDefault),
		IngestJobTimeoutPerMiB: p.duration("CAIRN_INGEST_JOB_TIMEOUT_PER_MIB", IngestJobTimeoutPerMiBDefault),
		CORSOrigins:            p.origins("CAIRN_CORS_ORIGINS"),
		IngestFairShare:        int(p.int64("CAIRN_INGEST_FAIR_SHARE", jobs.FairShareDefault, 1, 1_000_000)),
		Fusion:                 p.str("CAIRN_FUSION", retrieval.FusionDefault),
		RRFK:                   p.float("CAIRN_RRF_K", retrieval.RRFKDefault, 1, 10000),
		VectorWeight:           p.float("CAIRN_VECTOR_WEIGHT", retrieval.VectorWeightDefault, 0.001, 100),
		TextWeight:             p.float("CAIRN_TEXT_WEIGHT", retrieval.TextWeightDefault, 0.001, 100),
		EfSearch:               int(p.int64("CAIRN_HNSW_EF_SEARCH", retrieval.EfSearchDefault, 10, 1000)),
		TextCandidates:         int(p.int64("CAIRN_TEXT_CANDIDATES", retrieval.TextCandidatesDefault, 10, 1_000_000)),
		RateLimit:              p.float("CAIRN_RATE_LIMIT", RateLimitDefault, 0, 1e6),
		RateBurst:              int(p.int64("CAIRN_RATE_BURST", RateBurstDefault, 1, 1e7)),
		AuthFailRate:           p.float("CAIRN_AUTH_FAIL_RATE", AuthFailRateDefault, 0, 1e6),
		AuthFailBurst:          int(p.int64("CAIRN_AUTH_FAIL_BURST", AuthFailBurstDefault, 1, 1e7)),
		MaxTenantAnswers:       int(p.int64("CAIRN_MAX_TENANT_ANSWERS", MaxTenantAnswersDefault, 0, 100_000)),
		TrustedProxies:         p.list("CAIRN_TRUSTED_PROXIES"),
		SSEKeepalive:           p.duration("CAIRN_SSE_KEEPALIVE", SSEKeepaliveDefault),
		MetricsAddr:            strings.TrimSpace(getenv("CAIRN_METRICS_ADDR")),
		MetricsToken:           strings.TrimSpace(getenv("CAIRN_METRICS_TOKEN")),
	}
	for _, tp := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(tp); err != nil {
			if _, err := netip.ParseAddr(tp); err != nil {
				p.fail("CAIRN_TRUSTED_PROXIES", fmt.Sprintf("must list IP addresses or CIDRs, got %q", tp))
			}
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			p.fail("CAIRN_METRICS_ADDR", fmt.Sprintf("must be host:port, got %q", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			p.fail("CAIRN_METRICS_ADDR", "must differ from CAIRN_ADDR")
		}
	}
	if c.IngestJobTimeoutMin > c.IngestJobTimeout {
		p.fail("CAIRN_INGEST_JOB_TIMEOUT_MIN", fmt.Sprintf("must be at most CAIRN_INGEST_JOB_TIMEOUT (%s), got %s", c.IngestJobTimeout, c.IngestJobTimeoutMin))
	}
	if c.ChunkOverlap*2 > c.ChunkSize {
		p.fail("CAIRN_CHUNK_OVERLAP", fmt.Sprintf("must be at most half of CAIRN_CHUNK_SIZE (%d), got %d", c.ChunkSize, c.ChunkOverlap))
	}
	if c.DatabaseURL == "" {
		p.fail("DATABASE_URL", "is required (e.g. postgres://user@127.0.0.1:5432/cairn)")
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		p.fail("DATABASE_URL", "must be a postgres:// or postgresql:// URL")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		p.fail("CAIRN_ADDR", fmt.Sprintf("must be host:port, got %q", c.Addr))
	}
	if c.OpenAIBaseURL != "" {
		if u, err := url.Parse(c.OpenAIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.fail("OPENAI_BASE_URL", fmt.Sprintf("must be an http(s) URL, got %q", c.OpenAIBaseURL))
		}
	}
	if c.EmbedModel != "" && c.EmbedDim == 0 {
		p.fail("CAIRN_EMBED_DIM", "is required when CAIRN_EMBED_MODEL is set")
	}
	if c.EmbedModel != "" && !c.UsesOpenAI() {
		p.fail("CAIRN_EMBED_MODEL", "needs OPENAI_BASE_URL or OPENAI_API_KEY")
	}
	if c.Fusion != retrieval.FusionScore && c.Fusion != retrieval.FusionRRF {
		p.fail("CAIRN_FUSION", fmt.Sprintf("must be score or rrf, got %q", c.Fusion))
	}
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) fail(name, msg string) {
	p.errs = append(p.errs, fmt.Errorf("config: %s %s", name, msg))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int64(name string, def, min, max int64) int64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(name, fmt.Sprintf("must be an integer, got %q", v))
		return def
	}
	if n < min || n > max {
		p.fail(name, fmt.Sprintf("must be between %d and %d, got %d", min, max, n))
		return def
	}
	return n
}

// list reads a comma-separated list; blank items are dropped.
func (p *parser) list(name string) []string {
	var out []string
	for _, item := range strings.Split(p.getenv(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (p *parser) float(name string, def, min, max float64) float64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(name, fmt.Sprintf("must be a number, got %q", v))
		return def
	}
	if f < min || f > max {
		p.fail(name, fmt.Sprintf("must be between %g and %g, got %g", min, max, f))
		return def
	}
	return f
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.fail(name, fmt.Sprintf("must be a duration such as 30s or 2m, got %q", v))
		return def
	}
	if d <= 0 {
		p.fail(name, fmt.Sprintf("must be positive, got %q", v))
		return def
	}
	return d
}

// origins parses a comma-separated list of browser origins: each exactly
// scheme://host[:port] (http or https, no path, query or trailing slash),
// or the single value "*".
func (p *parser) origins(name string) []string {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return nil
	}
	if v == "*" {
		return []string{"*"}
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.String() != u.Scheme+"://"+u.Host {
			p.fail(name, fmt.Sprintf("must list origins such as https://app.example.com (scheme://host[:port]) or be *, got %q", o))
			return nil
		}
		out = append(out, o)
	}
	return out
}

func (p *parser) level(name string) slog.Level {
	v := strings.ToLower(strings.TrimSpace(p.getenv(name)))
	switch v {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	p.fail(name, fmt.Sprintf("must be one of debug, info, warn, error, got %q", v))
	return slog.LevelInfo
}
