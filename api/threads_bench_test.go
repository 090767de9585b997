package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/threads"
	"github.com/cairn-rag/cairn/threads/threadstest"
)

// BenchmarkListMessages measures a page of 20 messages (two citations each,
// enriched) on a thread of 10,000 messages: the raw SQL of the page (rows
// read, not decoded), Store.ListMessages, and the whole HTTP path (auth,
// query parsing, JSON), in the same run on the same data.
func BenchmarkListMessages(b *testing.B) {
	const messages, rounds = 10_000, 400
	ctx := context.Background()
	pool := testdb.Pool(b)
	tenant, key := testdb.Tenant(b, pool)
	store := threads.NewStore(pool)
	th, err := store.CreateThread(ctx, tenant, threads.NewThread{Folder: "/bench"})
	if err != nil {
		b.Fatal(err)
	}
	contents := make([]string, 50)
	for i := range contents {
		contents[i] = fmt.Sprintf("Chunk %d: Zürich liegt am See, 東京は首都 🚀 and more text to quote from.", i)
	}
	chunks := threadstest.InsertDocument(b, pool, tenant, "bench.md", contents...)
	ids := make([]uuid.UUID, len(chunks))
	for i, c := range chunks {
		ids[i] = c.ID
	}
	start := time.Now()
	if _, err := pool.Exec(ctx, `
WITH rows AS (
  SELECT g, gen_random_uuid() AS id, gen_random_uuid() AS pp,
         timestamptz '2026-01-01' + g * interval '1 second' AS at
  FROM generate_series(1, $4::int) g
), pps AS (
  INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path, created_at, updated_at)
  SELECT $1, pp, $3, lpad(g::text, 10, '0'), 'message', $5 || '/' || lpad(g::text, 10, '0'), at, at FROM rows
)
INSERT INTO messages (tenant_id, id, thread_id, path_part_id, sequence, role, text, citations, details, created_at, updated_at)
SELECT $1, id, $2, pp, g, CASE WHEN g % 2 = 0 THEN 'ASSISTANT' ELSE 'USER' END,
       'Message ' || g || ': Zürich liegt am See [1][2].',
       jsonb_build_array(
         jsonb_build_object('chunk_id', ($6::uuid[])[1 + g % 50], 'quote', 'Zürich liegt', 'start_char', length('Chunk ' || (g % 50) || ': '), 'length', 12),
         jsonb_build_object('chunk_id', ($6::uuid[])[1 + (g + 7) % 50], 'quote', '東京は首都 🚀', 'start_char', length('Chunk ' || ((g + 7) % 50) || ': Zürich liegt am See, '), 'length', 7)),
       jsonb_build_array(jsonb_build_object('type', 'retrieval', 'hits', 8)), at, at
FROM rows`, tenant, th.ID, th.PathPartID, messages, th.MaterializedPath, ids); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE threads SET message_count = $3::bigint, last_message_at = timestamptz '2026-01-01' + $3::bigint * interval '1 second' WHERE tenant_id = $1 AND id = $2`,
		tenant, th.ID, messages); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE messages; ANALYZE path_parts; ANALYZE chunks`); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("BenchmarkListMessages: seeded %d messages with 2 citations each in %s\n", messages, time.Since(start).Round(time.Millisecond))

	// Check the seeded citations resolve, so the benchmark measures real enrichment.
	page, err := store.ListMessages(ctx, nil, tenant, th.ID, threads.ListOptions{Limit: 20, WithDetails: true})
	if err != nil || len(page.Data) != 20 || page.Data[0].Content.Citations[1].DocumentName == nil {
		b.Fatalf("seeded page does not enrich: %v", err)
	}

	// Rate limiting off: the benchmark sends thousands of requests on one key.
	h := testHandler(pool, testConfig(b, map[string]string{"CAIRN_RATE_LIMIT": "0"}), Deps{Threads: store})
	target := "/v1/threads/" + th.ID.String() + "/messages?limit=20"

	rawSQL := threads.ListMessagesSQL(true)
	if os.Getenv("CAIRN_BENCH_EXPLAIN") != "" {
		rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+rawSQL, tenant, th.ID, 21, 0, nil, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			fmt.Println(line)
		}
		rows.Close()
	}
	variants := []struct {
		name string
		run  func() error
	}{
		{"raw SQL (same enriched query, rows not decoded)", func() error {
			rows, err := pool.Query(ctx, rawSQL, tenant, th.ID, 21, 0, nil, nil, nil, nil)
			if err != nil {
				return err
			}
			for rows.Next() {
				_ = rows.RawValues()
			}
			return rows.Err()
		}},
		{"Store.ListMessages", func() error {
			_, err := store.ListMessages(ctx, nil, tenant, th.ID, threads.ListOptions{Limit: 20, WithDetails: true})
			return err
		}},
		{"HTTP GET .../messages?limit=20 (auth + JSON)", func() error {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return fmt.Errorf("status %d: %s", rec.Code, rec.Body.String())
			}
			return nil
		}},
	}
	b.ResetTimer()
	for range b.N {
		durs := make([][]time.Duration, len(variants))
		for r := range rounds + 20 { // interleaved, the first 20 rounds warm up
			for i, v := range variants {
				t0 := time.Now()
				if err := v.run(); err != nil {
					b.Fatal(err)
				}
				if r >= 20 {
					durs[i] = append(durs[i], time.Since(t0))
				}
			}
		}
		p50s := make([]time.Duration, len(variants))
		for i, v := range variants {
			d := durs[i]
			slices.Sort(d)
			p50, p99 := d[len(d)/2], d[len(d)*99/100]
			p50s[i] = p50
			fmt.Printf("BenchmarkListMessages: %-48s p50 %8s  p99 %8s  (%d rounds, 20 per page, %d-message thread)\n",
				v.name, p50.Round(time.Microsecond), p99.Round(time.Microsecond), rounds, messages)
		}
		fmt.Printf("BenchmarkListMessages: service path minus raw SQL at p50: store %s, HTTP %s\n",
			(p50s[1] - p50s[0]).Round(time.Microsecond), (p50s[2] - p50s[0]).Round(time.Microsecond))
		b.ReportMetric(float64(p50s[0].Microseconds()), "raw-p50-µs")
		b.ReportMetric(float64(p50s[2].Microseconds()), "http-p50-µs")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
