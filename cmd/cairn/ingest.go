package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cairn-rag/cairn/ingest/bulk"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/logging"
	"github.com/cairn-rag/cairn/pathtree"
)

func init() {
	commands["ingest"] = command{summary: "ingest PATH... [--folder /kb/x] [--concurrency N] [--tenant ID]: index files and directory trees", run: runIngest}
}

// runIngest ingests files and directory trees straight into the database
// (DATABASE_URL) for one tenant (--tenant or CAIRN_TENANT_ID), running
// the ingest jobs in-process with --concurrency workers; `cairn serve` or
// `cairn worker` processes sharing the database help with the queue.
// Each argument keeps its tree under --folder (planIngest); unchanged
// files are skipped by checksum without writing anything.
func runIngest(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	folder := fs.String("folder", "/", "folder the files land in (a directory argument becomes a subfolder named after it)")
	concurrency := fs.Int("concurrency", 4, "files and jobs in flight at once")
	tenantFlag := fs.String("tenant", "", "tenant id (default CAIRN_TENANT_ID)")
	maxFiles := fs.Int("max-files", maxFilesDefault, "refuse to ingest more files than this")
	deferIndex := fs.Bool("defer-index", false, "drop the model's HNSW index during the load and rebuild it after (large initial loads; vector search is exact and slower meanwhile)")
	if err := parseFlags(env, fs, commands["ingest"].summary, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"usage: cairn ingest PATH... [--folder /kb/x] [--concurrency N] [--tenant ID]"}
	}
	if *concurrency < 1 || *concurrency > 256 {
		return usageError{"--concurrency must be between 1 and 256"}
	}
	raw := *tenantFlag
	if raw == "" {
		raw = env.getenv("CAIRN_TENANT_ID")
	}
	tenant, err := uuid.Parse(strings.TrimSpace(raw))
	if err != nil {
		return usageError{"--tenant (or CAIRN_TENANT_ID) must be a tenant id; `cairn tenant list` shows them"}
	}
	plan, err := planIngest(fs.Args(), *folder, *maxFiles)
	if err != nil {
		if apperr.KindOf(err) == apperr.Unprocessable {
			return usageError{"--folder: " + err.Error()}
		}
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	// The progress output is the interface; only warnings are logged.
	log := logging.New(env.stderr, max(cfg.LogLevel, slog.LevelWarn))
	pool, err := db.Open(ctx, cfg.DatabaseURL, int32(max(*concurrency*2+4, 8)))
	if err != nil {
		return err
	}
	defer pool.Close()
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, tenant).Scan(&exists); err != nil {
		return fmt.Errorf("look up tenant: %w", err)
	}
	if !exists {
		return fmt.Errorf("tenant %s does not exist", tenant)
	}
	svc, err := newIngest(ctx, cfg, pool, log, *concurrency)
	if err != nil {
		return err
	}
	stop, err := startWorkers(ctx, svc, cfg.ShutdownTimeout)
	if err != nil {
		return err
	}
	defer stop()
	progress := newIngestProgress(env.stderr)
	perArg := make([]bulk.Summary, len(plan.args))
	sum, err := bulk.Load(ctx, svc, tenant, plan.files, bulk.Options{
		Concurrency: *concurrency, DeferIndex: *deferIndex,
		Progress: func(p bulk.Progress) {
			perArg[plan.argOf[p.Last.File]].Add(p.Last, 0)
			progress.update(p)
		},
	})
	progress.finish()
	if err != nil {
		return err
	}
	secs := max(sum.Elapsed.Seconds(), 1e-9)
	files := sum.New + sum.Updated + sum.Unchanged + sum.Failed
	fmt.Fprintf(env.stdout, "ingested %d files in %v: %d new, %d updated, %d unchanged, %d failed; %d chunks (%.0f chunks/s)\n",
		files, sum.Elapsed.Round(time.Millisecond), sum.New, sum.Updated, sum.Unchanged, sum.Failed,
		sum.Chunks, float64(sum.Chunks)/secs)
	for i, a := range plan.args {
		dest := a.Dest
		if a.Dir {
			dest = strings.TrimSuffix(dest, "/") + "/" // a folder
		}
		fmt.Fprintf(env.stdout, "  %s -> %s: %s\n", a.Arg, dest, outcomes(perArg[i]))
	}
	for _, f := range sum.Failures {
		fmt.Fprintf(env.stdout, "failed: %s -> %s: %v\n", f.Path, pathtree.Child(f.Folder, f.Name), f.Err)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d files failed", sum.Failed, files)
	}
	return nil
}

// outcomes says what happened to an argument's files: "3 files: 2 new,
// 1 unchanged", "no files".
func outcomes(s bulk.Summary) string {
	n := s.New + s.Updated + s.Unchanged + s.Failed
	if n == 0 {
		return "no files"
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{s.New, "new"}, {s.Updated, "updated"}, {s.Unchanged, "unchanged"}, {s.Failed, "failed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	unit := "files"
	if n == 1 {
		unit = "file"
	}
	return fmt.Sprintf("%d %s: %s", n, unit, strings.Join(parts, ", "))
}

// ingestProgress shows a progress bar (files, chunks/s, ETA) on a
// terminal and plain progress lines otherwise.
type ingestProgress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	last time.Time
}

func newIngestProgress(w io.Writer) *ingestProgress {
	p := &ingestProgress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("files"), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *ingestProgress) update(pr bulk.Progress) {
	rate := float64(pr.Chunks) / max(pr.Elapsed.Seconds(), 1e-9)
	if p.bar != nil {
		if p.bar.GetMax() != pr.FilesTotal {
			p.bar.ChangeMax(pr.FilesTotal)
		}
		p.bar.Describe(fmt.Sprintf("%d chunks, %.0f chunks/s", pr.Chunks, rate))
		_ = p.bar.Set(pr.FilesDone)
		return
	}
	if pr.FilesDone == pr.FilesTotal || time.Since(p.last) >= 2*time.Second {
		p.last = time.Now()
		eta := time.Duration(0)
		if pr.FilesDone > 0 {
			eta = time.Duration(float64(pr.Elapsed) / float64(pr.FilesDone) * float64(pr.FilesTotal-pr.FilesDone))
		}
		fmt.Fprintf(p.w, "ingest: %d/%d files, %d chunks, %.0f chunks/s, ETA %v\n", pr.FilesDone, pr.FilesTotal, pr.Chunks, rate, eta.Round(time.Second))
	}
}

func (p *ingestProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
