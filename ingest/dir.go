package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// DefaultMaxFiles bounds how many files one IngestPaths call takes.
const DefaultMaxFiles = 100_000

// PathsOptions configure IngestPaths.
type PathsOptions struct {
	// Folder is where files land ("/" by default); a directory argument's
	// subdirectories become subfolders.
	Folder string
	// Concurrency is how many files are in flight at once.
	Concurrency int
	// MaxFiles bounds the number of files (DefaultMaxFiles when 0).
	MaxFiles int
	// Progress, when set, is called after each file (from one goroutine at a time).
	Progress func(Progress)
	// BatchFiles and BatchBytes bound how many files share one upload
	// transaction, River job and COPY (defaults 32 files, 4 MiB); 1 gives
	// every file its own job, as the HTTP API does.
	BatchFiles int
	BatchBytes int64
	// DeferIndex drops the embedding model's HNSW index for the load and
	// rebuilds it at the end (DeferModelIndex): for large initial loads.
	DeferIndex bool
}

// Progress is the state of an IngestPaths run.
type Progress struct {
	FilesDone, FilesTotal int
	Chunks                int
	Bytes                 int64
	Elapsed               time.Duration
	Last                  FileResult
}

// File outcomes.
const (
	FileNew       = "new"
	FileUpdated   = "updated"
	FileUnchanged = "unchanged"
	FileFailed    = "failed"
)

// FileResult is what happened to one file.
type FileResult struct {
	Path   string
	Folder string
	Name   string
	Status string
	Chunks int
	Err    error
}

// Summary counts the outcomes of an IngestPaths run.
type Summary struct {
	New, Updated, Unchanged, Failed int
	Chunks                          int
	Bytes                           int64
	Elapsed                         time.Duration
	Failures                        []FileResult
}

type fileTask struct{ path, folder, name string }

// IngestPaths ingests files and directory trees: unchanged files (same
// sha256 as their latest version) are skipped without writing anything;
// others are uploaded and their jobs awaited. A per-file failure is
// recorded in the Summary, not returned.
func (s *Service) IngestPaths(ctx context.Context, tenant uuid.UUID, paths []string, o PathsOptions) (sum Summary, err error) {
	start := time.Now()
	root, err := CleanFolder(o.Folder)
	if err != nil {
		return Summary{}, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.BatchFiles <= 0 {
		o.BatchFiles = 32
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	tasks, err := collect(paths, root, o.MaxFiles)
	if err != nil {
		return Summary{}, err
	}
	if o.DeferIndex {
		rebuild, err := DeferModelIndex(ctx, s.pool, s.embedder.Model(), s.embedder.Dim())
		if err != nil {
			return Summary{}, err
		}
		defer func() {
			if rerr := rebuild(context.WithoutCancel(ctx)); rerr != nil {
				err = errors.Join(err, rerr)
			}
			sum.Elapsed = time.Since(start)
		}()
	}
	// One query per folder for the checksums of what is already there.
	known := map[string]map[string]string{}
	for _, t := range tasks {
		if _, ok := known[t.folder]; ok {
			continue
		}
		sums, err := s.Checksums(ctx, tenant, t.folder)
		if err != nil {
			return Summary{}, err
		}
		known[t.folder] = sums
	}
	var (
		mu   sync.Mutex
		done int
	)
	record := func(r FileResult, size int64) {
		mu.Lock()
		defer mu.Unlock()
		done++
		sum.Bytes += size
		switch r.Status {
		case FileNew:
			sum.New++
		case FileUpdated:
			sum.Updated++
		case FileUnchanged:
			sum.Unchanged++
		default:
			sum.Failed++
			sum.Failures = append(sum.Failures, r)
		}
		sum.Chunks += r.Chunks
		if o.Progress != nil {
			o.Progress(Progress{FilesDone: done, FilesTotal: len(tasks), Chunks: sum.Chunks, Bytes: sum.Bytes, Elapsed: time.Since(start), Last: r})
		}
	}
	// Uploaders enqueue; one waiter polls every pending job in one query.
	// At most maxPending jobs are in flight so that an interrupted run
	// leaves a bounded queue behind.
	maxPending := max(8*o.Concurrency, 64)
	w := newWaiter(s, tenant, maxPending, record)
	g, gctx := errgroup.WithContext(ctx)
	waitDone := make(chan error, 1)
	go func() { waitDone <- w.run(gctx) }()
	up, _ := errgroup.WithContext(gctx)
	up.SetLimit(o.Concurrency)
	for _, batch := range batches(tasks, o.BatchFiles, o.BatchBytes) {
		if gctx.Err() != nil {
			break
		}
		up.Go(func() error {
			var ps []prepared
			var pts []fileTask
			for _, t := range batch {
				r, size, p := s.readFile(t, known[t.folder][t.name])
				if p == nil {
					record(r, size)
					continue
				}
				ps, pts = append(ps, *p), append(pts, t)
			}
			if len(ps) == 0 {
				return nil
			}
			ups, err := s.uploadBatch(gctx, tenant, ps)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				// One bad file (a path clash, say) must not sink the
				// others: fall back to one transaction per file.
				ups = make([]uploaded, len(ps))
				for i := range ps {
					u, err := s.uploadBatch(gctx, tenant, ps[i:i+1])
					if err != nil {
						record(FileResult{Path: pts[i].path, Folder: pts[i].folder, Name: pts[i].name, Status: FileFailed, Err: err}, 0)
						ups[i].Unchanged, ups[i].jobID = false, uuid.Nil
						continue
					}
					ups[i] = u[0]
				}
			}
			for i, u := range ups {
				r := FileResult{Path: pts[i].path, Folder: pts[i].folder, Name: pts[i].name}
				size := int64(len(ps[i].data))
				switch {
				case u.Unchanged:
					r.Status = FileUnchanged
					record(r, size)
				case u.jobID == uuid.Nil: // failed above
				default:
					if err := w.add(gctx, pendingJob{res: r, size: size, job: u.jobID, new: u.versionNumber == 1}); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		err := up.Wait()
		w.close()
		return errors.Join(err, <-waitDone)
	})
	if err := g.Wait(); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	sort.Slice(sum.Failures, func(i, j int) bool { return sum.Failures[i].Path < sum.Failures[j].Path })
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// pendingJob is an uploaded file whose job is not done yet.
type pendingJob struct {
	res  FileResult
	size int64
	job  uuid.UUID
	new  bool
}

// readFile reads and validates one file; a nil *prepared means the
// result is final (unchanged or failed).
func (s *Service) readFile(t fileTask, knownSum string) (FileResult, int64, *prepared) {
	r := FileResult{Path: t.path, Folder: t.folder, Name: t.name}
	fail := func(err error) (FileResult, int64, *prepared) {
		r.Status, r.Err = FileFailed, err
		return r, 0, nil
	}
	st, err := os.Stat(t.path)
	if err != nil {
		return fail(err)
	}
	if st.Size() > s.opts.MaxBytes {
		return fail(apperr.New(apperr.TooLarge, "payload_too_large", "%d bytes, over the limit of %d", st.Size(), s.opts.MaxBytes))
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return fail(err)
	}
	if knownSum != "" && Checksum(data) == knownSum {
		r.Status = FileUnchanged
		return r, int64(len(data)), nil
	}
	p, err := s.prepare(UploadInput{Folder: t.folder, Name: t.name, Data: data})
	if err != nil {
		return fail(err)
	}
	return r, int64(len(data)), &p
}

// batches groups tasks into runs of at most files files and bytes bytes
// (by size on disk), in order.
func batches(tasks []fileTask, files int, bytes int64) [][]fileTask {
	var out [][]fileTask
	var cur []fileTask
	var size int64
	for _, t := range tasks {
		var n int64
		if st, err := os.Stat(t.path); err == nil {
			n = st.Size()
		}
		if len(cur) > 0 && (len(cur) >= files || size+n > bytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, t)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// waiter polls the states of pending jobs in batches.
type waiter struct {
	s       *Service
	tenant  uuid.UUID
	slots   chan struct{}
	mu      sync.Mutex
	pending map[uuid.UUID]pendingJob
	closed  bool
	record  func(FileResult, int64)
}

func newWaiter(s *Service, tenant uuid.UUID, max int, record func(FileResult, int64)) *waiter {
	return &waiter{s: s, tenant: tenant, slots: make(chan struct{}, max), pending: map[uuid.UUID]pendingJob{}, record: record}
}

func (w *waiter) add(ctx context.Context, p pendingJob) error {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.Lock()
	w.pending[p.job] = p
	w.mu.Unlock()
	return nil
}

func (w *waiter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

func (w *waiter) run(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		w.mu.Lock()
		ids := make([]uuid.UUID, 0, len(w.pending))
		for id := range w.pending {
			ids = append(ids, id)
		}
		closed := w.closed
		w.mu.Unlock()
		if len(ids) == 0 {
			if closed {
				return nil
			}
			continue
		}
		rows, err := w.s.pool.Query(ctx, jobSelect+`WHERE j.tenant_id = $1 AND j.id = ANY($2)`, w.tenant, ids)
		if err != nil {
			return fmt.Errorf("poll jobs: %w", err)
		}
		jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) { return scanJob(r) })
		if err != nil {
			return fmt.Errorf("poll jobs: %w", err)
		}
		seen := make(map[uuid.UUID]bool, len(jobs))
		for _, j := range jobs {
			seen[j.ID] = true
		}
		for _, id := range ids {
			if !seen[id] { // the document was deleted meanwhile
				msg := "the document was deleted while it was being ingested"
				jobs = append(jobs, Job{ID: id, State: JobFailed, Error: &msg})
			}
		}
		for _, j := range jobs {
			if !j.Done() {
				continue
			}
			w.mu.Lock()
			p := w.pending[j.ID]
			delete(w.pending, j.ID)
			w.mu.Unlock()
			<-w.slots
			r := p.res
			switch {
			case j.State == JobFailed:
				msg := "ingestion failed"
				if j.Error != nil {
					msg = *j.Error
				}
				r.Status, r.Err = FileFailed, errors.New(msg)
			case p.new:
				r.Status, r.Chunks = FileNew, j.ChunksTotal
			default:
				r.Status, r.Chunks = FileUpdated, j.ChunksTotal
			}
			w.record(r, p.size)
		}
	}
}

// collect walks paths into tasks: a file lands in root; a directory's
// files land in root plus their relative directory. Hidden files and
// directories (".name") are skipped.
func collect(paths []string, root string, maxFiles int) ([]fileTask, error) {
	var tasks []fileTask
	add := func(path, folder, name string) error {
		if len(tasks) >= maxFiles {
			return apperr.New(apperr.TooLarge, "too_many_files", "more than %d files; ingest in parts or raise --max-files", maxFiles)
		}
		tasks = append(tasks, fileTask{path: path, folder: folder, name: name})
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if !st.IsDir() {
			if err := add(p, root, filepath.Base(p)); err != nil {
				return nil, err
			}
			continue
		}
		base := filepath.Clean(p)
		err = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != base && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(base, filepath.Dir(path))
			if err != nil {
				return err
			}
			folder := root
			if rel != "." {
				folder = strings.TrimSuffix(root, "/") + "/" + filepath.ToSlash(rel)
			}
			return add(path, folder, d.Name())
		})
		if err != nil {
			return nil, fmt.Errorf("ingest: walk %s: %w", p, err)
		}
	}
	return tasks, nil
}
