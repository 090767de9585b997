package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/config"
)

// Limits are the abuse limits of one API replica: a token bucket of
// requests per tenant, a token bucket of failed authentications per
// client address, and a count of answers in flight per tenant. They live
// in this process (golang.org/x/time/rate), so with N replicas behind a
// load balancer a tenant gets up to N times each figure; README
// ("Operating Cairn") gives the arithmetic.
//
// A Limits is safe for concurrent use. The zero value is not usable; build
// one with NewLimits.
type Limits struct {
	cfg      config.Config
	tenants  *bucketSet[uuid.UUID]
	authFail *bucketSet[string]

	mu      sync.Mutex
	answers map[uuid.UUID]int

	rejected *prometheus.CounterVec
}

// NewLimits returns the limits cfg configures (CAIRN_RATE_LIMIT,
// CAIRN_RATE_BURST, CAIRN_AUTH_FAIL_RATE, CAIRN_AUTH_FAIL_BURST,
// CAIRN_MAX_TENANT_ANSWERS), counting rejections in reg when non-nil.
func NewLimits(cfg config.Config, reg prometheus.Registerer) *Limits {
	l := &Limits{
		cfg:      cfg,
		tenants:  newBucketSet[uuid.UUID](rate.Limit(cfg.RateLimit), cfg.RateBurst),
		authFail: newBucketSet[string](rate.Limit(cfg.AuthFailRate), cfg.AuthFailBurst),
		answers:  map[uuid.UUID]int{},
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_limit_rejections_total",
			Help: "Requests refused with 429, by limit (rate, auth_failures, answers).",
		}, []string{"limit"}),
	}
	if reg != nil {
		reg.MustRegister(l.rejected)
	}
	return l
}

// AllowRequest takes one token from tenant's request bucket. When none is
// left it returns false and how long until one is.
func (l *Limits) AllowRequest(tenant uuid.UUID, now time.Time) (bool, time.Duration) {
	if l.cfg.RateLimit <= 0 {
		return true, 0
	}
	ok, wait := l.tenants.take(tenant, now)
	if !ok {
		l.rejected.WithLabelValues("rate").Inc()
	}
	return ok, wait
}

// AuthBlocked reports whether addr has spent its failed-authentication
// budget, and how long until it may try again. It takes nothing: only a
// failure (AuthFailed) spends the budget, so a client presenting a good
// key is never slowed by it until it is blocked.
func (l *Limits) AuthBlocked(addr string, now time.Time) (bool, time.Duration) {
	if l.cfg.AuthFailRate <= 0 {
		return false, 0
	}
	blocked, wait := l.authFail.empty(addr, now)
	if blocked {
		l.rejected.WithLabelValues("auth_failures").Inc()
	}
	return blocked, wait
}

// AuthFailed spends one of addr's failed-authentication tokens.
func (l *Limits) AuthFailed(addr string, now time.Time) {
	if l.cfg.AuthFailRate > 0 {
		l.authFail.take(addr, now)
	}
}

// AcquireAnswer takes one of tenant's answer slots. It returns false when
// the tenant already has MaxTenantAnswers answers in flight; otherwise
// release must be called exactly once when the answer is done.
func (l *Limits) AcquireAnswer(tenant uuid.UUID) (release func(), ok bool) {
	if l.cfg.MaxTenantAnswers <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answers[tenant] >= l.cfg.MaxTenantAnswers {
		l.rejected.WithLabelValues("answers").Inc()
		return nil, false
	}
	l.answers[tenant]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.answers[tenant]--; l.answers[tenant] <= 0 {
				delete(l.answers, tenant)
			}
		})
	}, true
}

// bucketSet is one token bucket per key, created on first use. Buckets
// that have refilled are dropped on a sweep (a full bucket is the same as
// a new one), so the set holds only keys seen in the last burst/rate
// seconds.
type bucketSet[K comparable] struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[K]*rate.Limiter
	nextSweep time.Time
}

// sweepEvery is how often a bucketSet drops its refilled buckets.
const sweepEvery = time.Minute

func newBucketSet[K comparable](limit rate.Limit, burst int) *bucketSet[K] {
	return &bucketSet[K]{limit: limit, burst: burst, buckets: map[K]*rate.Limiter{}}
}

func (b *bucketSet[K]) bucket(key K, now time.Time, create bool) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.After(b.nextSweep) {
		for k, lim := range b.buckets {
			if lim.TokensAt(now) >= float64(b.burst) {
				delete(b.buckets, k)
			}
		}
		b.nextSweep = now.Add(sweepEvery)
	}
	lim := b.buckets[key]
	if lim == nil && create {
		lim = rate.NewLimiter(b.limit, b.burst)
		b.buckets[key] = lim
	}
	return lim
}

// take takes one token of key's bucket, or reports how long until one is
// there (taking nothing).
func (b *bucketSet[K]) take(key K, now time.Time) (bool, time.Duration) {
	lim := b.bucket(key, now, true)
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// empty reports whether key's bucket has less than one token, and how
// long until it has one.
func (b *bucketSet[K]) empty(key K, now time.Time) (bool, time.Duration) {
	lim := b.bucket(key, now, false)
	if lim == nil {
		return false, 0
	}
	t := lim.TokensAt(now)
	if t >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - t) / float64(b.limit) * float64(time.Second))
}

// retryAfter sets the Retry-After header to wait, in whole seconds
// rounded up (at least 1).
func retryAfter(c *gin.Context, wait time.Duration) {
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 || wait < 0 {
		secs = 1
	}
	c.Header("Retry-After", strconv.FormatInt(secs, 10))
}

// tooMany answers 429 with Retry-After and the problem document.
func (s *Server) tooMany(c *gin.Context, code apperr.Code, wait time.Duration, detail string) {
	retryAfter(c, wait)
	s.problem(c, apperr.TooManyRequests, code, detail, "")
	c.Abort()
}

// rateLimit answers 429 rate_limited when the authenticated tenant's
// request bucket is empty (CAIRN_RATE_LIMIT, CAIRN_RATE_BURST).
func (s *Server) rateLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if ok, wait := s.limits.AllowRequest(tenantID(c), time.Now()); !ok {
			s.tooMany(c, CodeRateLimited, wait, "too many requests for this tenant: retry after the time in Retry-After")
			return
		}
		c.Next()
	}
}

// LimitAnswers is the middleware that bounds a tenant's answers in flight
// (CAIRN_MAX_TENANT_ANSWERS): a request over the bound answers 429
// too_many_answers; the slot is held until the handler returns, streams
// included. It goes after authentication on every route that generates.
func (s *Server) LimitAnswers() gin.HandlerFunc {
	return func(c *gin.Context) {
		release, ok := s.limits.AcquireAnswer(tenantID(c))
		if !ok {
			s.tooMany(c, CodeTooManyAnswers, time.Second,
				"this tenant has "+strconv.Itoa(s.deps.Config.MaxTenantAnswers)+" answers in progress; retry when one is done")
			return
		}
		defer release()
		c.Next()
	}
}
