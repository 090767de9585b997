package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/tenants"
)

// slowRate is a refill rate so slow (one token per 1000 s) that no token
// comes back while a test runs: the tests count, they never time.
const slowRate = "0.001"

// requireTooMany checks a 429 problem with code and a Retry-After of at
// least minSecs seconds.
func requireTooMany(t *testing.T, rec *httptest.ResponseRecorder, code string, minSecs int) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	p := decodeProblem(t, rec)
	require.Equal(t, code, p.Code)
	checkProblemClass(t, p)
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err, "Retry-After must be whole seconds")
	require.GreaterOrEqual(t, secs, minSecs)
}

func TestRateLimitIsPerTenant(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	const burst = 5
	cfg := testConfig(t, map[string]string{"CAIRN_RATE_LIMIT": slowRate, "CAIRN_RATE_BURST": strconv.Itoa(burst)})
	h := testHandler(pool, cfg, Deps{})
	_, hot := testdb.Tenant(t, pool)
	_, calm := testdb.Tenant(t, pool)

	var wg sync.WaitGroup
	codes := make([]int, 3*burst)
	for i := range codes {
		wg.Go(func() { codes[i] = do(t, h, http.MethodGet, "/v1/tenant", hot, nil).Code })
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	require.Equal(t, map[int]int{http.StatusOK: burst, http.StatusTooManyRequests: 2 * burst}, count,
		"a burst of %d on one tenant: exactly CAIRN_RATE_BURST pass", len(codes))

	t.Run("OverTheBurstIs429WithRetryAfter", func(t *testing.T) {
		requireTooMany(t, do(t, h, http.MethodGet, "/v1/tenant", hot, nil), string(CodeRateLimited), 900)
	})
	t.Run("AnotherTenantIsServed", func(t *testing.T) {
		for range burst {
			require.Equal(t, http.StatusOK, do(t, h, http.MethodGet, "/v1/tenant", calm, nil).Code)
		}
	})
	t.Run("OperationsRoutesAreNotLimited", func(t *testing.T) {
		require.Equal(t, http.StatusOK, do(t, h, http.MethodGet, "/healthz", "", nil).Code)
	})
	t.Run("ZeroTurnsItOff", func(t *testing.T) {
		off := testHandler(pool, testConfig(t, map[string]string{"CAIRN_RATE_LIMIT": "0", "CAIRN_RATE_BURST": "1"}), Deps{})
		for range 3 * burst {
			require.Equal(t, http.StatusOK, do(t, off, http.MethodGet, "/v1/tenant", hot, nil).Code)
		}
	})
}

// from sends GET /v1/tenant with key from the client address addr.
func from(h http.Handler, addr, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/tenant", nil)
	req.RemoteAddr = addr + ":40000"
	req.Header.Set("Authorization", "Bearer "+key)
	// A client cannot escape the throttle by claiming another address:
	// no proxy is trusted by default.
	req.Header.Set("X-Forwarded-For", "198.51.100.77")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFailedAuthenticationIsThrottledPerAddress(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	const burst = 4
	cfg := testConfig(t, map[string]string{"CAIRN_AUTH_FAIL_RATE": slowRate, "CAIRN_AUTH_FAIL_BURST": strconv.Itoa(burst)})
	h := testHandler(pool, cfg, Deps{})
	_, key := testdb.Tenant(t, pool)
	const attacker, other = "203.0.113.9", "203.0.113.10"

	for i := range burst {
		rec := from(h, attacker, "cairn_wrong"+strconv.Itoa(i))
		require.Equal(t, http.StatusUnauthorized, rec.Code, "attempt %d of the burst", i)
	}
	t.Run("WrongKeyOverTheBudgetIs429", func(t *testing.T) {
		requireTooMany(t, from(h, attacker, "cairn_wrong"), string(CodeAuthThrottled), 900)
	})
	t.Run("EvenAGoodKeyFromThatAddressWaits", func(t *testing.T) {
		requireTooMany(t, from(h, attacker, key), string(CodeAuthThrottled), 900)
	})
	t.Run("OtherAddressesAreServed", func(t *testing.T) {
		require.Equal(t, http.StatusOK, from(h, other, key).Code)
		require.Equal(t, http.StatusUnauthorized, from(h, other, "cairn_wrong").Code)
	})
	t.Run("GoodKeysSpendNothing", func(t *testing.T) {
		for range 3 * burst {
			require.Equal(t, http.StatusOK, from(h, "203.0.113.11", key).Code)
		}
	})
}

func TestConcurrentAnswersAreBoundedPerTenant(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	const most = 2
	cfg := testConfig(t, map[string]string{"CAIRN_MAX_TENANT_ANSWERS": strconv.Itoa(most)})
	d := Deps{}
	d.Config, d.Logger, d.Pool = cfg, discardLogger(), pool
	d.Tenants = tenants.NewStore(pool)
	srv := New(d)
	_, key := testdb.Tenant(t, pool)
	_, key2 := testdb.Tenant(t, pool)

	// An engine whose answers hold their slot until release is closed,
	// behind the server's own authentication and answer limit.
	entered, release := make(chan struct{}, 10*most), make(chan struct{})
	e := gin.New()
	e.POST("/answer", srv.authenticate(srv.fail), srv.LimitAnswers(), func(c *gin.Context) {
		entered <- struct{}{}
		<-release
		c.Status(http.StatusCreated)
	})
	var wg sync.WaitGroup
	for range most {
		wg.Go(func() { require.Equal(t, http.StatusCreated, do(t, e, http.MethodPost, "/answer", key, nil).Code) })
	}
	for range most {
		<-entered
	}
	t.Run("OneMoreIs429", func(t *testing.T) {
		requireTooMany(t, do(t, e, http.MethodPost, "/answer", key, nil), string(CodeTooManyAnswers), 1)
	})
	t.Run("AnotherTenantAnswers", func(t *testing.T) {
		wg.Go(func() { require.Equal(t, http.StatusCreated, do(t, e, http.MethodPost, "/answer", key2, nil).Code) })
		<-entered
	})
	close(release)
	wg.Wait()
	t.Run("SlotsComeBackWhenAnswersEnd", func(t *testing.T) {
		for range most + 1 {
			require.Equal(t, http.StatusCreated, do(t, e, http.MethodPost, "/answer", key, nil).Code)
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	t.Run("RuntimeAndProcessCollectors", func(t *testing.T) {
		t.Parallel()
		h := testHandler(pool, testConfig(t, nil), Deps{})
		rec := do(t, h, http.MethodGet, "/metrics", "", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_open_fds"} {
			require.Truef(t, strings.Contains(rec.Body.String(), "\n"+name+" "), "/metrics lacks %s", name)
		}
	})
	t.Run("TokenRequired", func(t *testing.T) {
		t.Parallel()
		h := testHandler(pool, testConfig(t, map[string]string{"CAIRN_METRICS_TOKEN": "s3cret"}), Deps{})
		for _, key := range []string{"", "wrong"} {
			rec := do(t, h, http.MethodGet, "/metrics", key, nil)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			require.Equal(t, "unauthorized", decodeProblem(t, rec).Code)
		}
		rec := do(t, h, http.MethodGet, "/metrics", "s3cret", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Body.String(), "go_goroutines")
	})
	t.Run("OwnAddress", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		maddr := ln.Addr().String()
		require.NoError(t, ln.Close())
		cfg := testConfig(t, map[string]string{"CAIRN_METRICS_ADDR": maddr})
		d := Deps{Config: cfg, Logger: discardLogger(), Pool: pool, Tenants: tenants.NewStore(pool)}
		srv := New(d)
		require.Equal(t, http.StatusNotFound, do(t, srv.Handler(), http.MethodGet, "/metrics", "", nil).Code,
			"not on the API's address")
		api, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, api) }()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			resp, err := http.Get("http://" + maddr + "/metrics")
			if !assert.NoError(c, err) {
				return
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			assert.Equal(c, http.StatusOK, resp.StatusCode)
			assert.Contains(c, string(b), "go_goroutines")
		}, 30*time.Second, 20*time.Millisecond)
		cancel()
		require.NoError(t, <-served)
	})
}
