// Package bulk loads many local files into the knowledge base at once,
// for the CLI's `cairn ingest` (which maps its arguments to Files): the
// checksums of each destination folder are read in one query and
// unchanged files skipped without writing anything; the rest are
// uploaded in batches (one transaction, River job and COPY per batch)
// with bounded concurrency, and their jobs awaited together by one
// poller. A file's failure is recorded in the Summary, not returned.
package bulk

import (
	"context"
	"errors"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// File is one local file and where it goes.
type File struct {
	// Path is the file on disk.
	Path string
	// Folder and Name are the document it becomes (Folder/Name).
	Folder, Name string
}

// Defaults for Options.
const (
	ConcurrencyDefault = 4
	BatchFilesDefault  = 32
	BatchBytesDefault  = 4 << 20
)

// Options configure Load; zero fields take defaults.
type Options struct {
	// Concurrency is how many batches are uploaded at once (ConcurrencyDefault).
	Concurrency int
	// Progress, when set, is called after each file (from one goroutine at a time).
	Progress func(Progress)
	// BatchFiles and BatchBytes bound how many files share one upload
	// transaction, River job and COPY (BatchFilesDefault,
	// BatchBytesDefault); 1 gives every file its own job, as the HTTP API
	// does.
	BatchFiles int
	BatchBytes int64
	// DeferIndex drops the embedding model's HNSW index for the load and
	// rebuilds it at the end (ingest.Service.DeferModelIndex). Without it
	// a load does so on its own when it brings at least AutoDeferChunks
	// chunks and more than the index holds already
	// (building the graph once over all rows is then cheaper than
	// inserting the new ones one by one), unless KeepIndex is set.
	DeferIndex bool
	// KeepIndex keeps the HNSW index maintained row by row whatever the
	// size of the load (vector search keeps its index meanwhile).
	KeepIndex bool
	// AutoDeferChunks is the smallest load, in estimated chunks, that
	// defers the HNSW index on its own (AutoDeferChunksDefault).
	AutoDeferChunks int
}

// AutoDeferChunksDefault is Options.AutoDeferChunks's default.
const AutoDeferChunksDefault = 2000

// Progress is the state of a Load.
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
	File
	Status string
	Chunks int
	Err    error
}

// Summary counts the outcomes of a Load.
type Summary struct {
	New, Updated, Unchanged, Failed int
	Chunks                          int
	Bytes                           int64
	Elapsed                         time.Duration
	// Failures are the failed files, by path.
	Failures []FileResult
}

// Add counts the outcome of one file of size bytes into s.
func (s *Summary) Add(r FileResult, size int64) {
	s.Bytes += size
	s.Chunks += r.Chunks
	switch r.Status {
	case FileNew:
		s.New++
	case FileUpdated:
		s.Updated++
	case FileUnchanged:
		s.Unchanged++
	default:
		s.Failed++
		s.Failures = append(s.Failures, r)
	}
}

// Load ingests files through svc for tenant and waits for their jobs.
// The destinations must be distinct (two files never become versions of
// one document in one load); the caller maps its arguments to them.
// It returns early only when ctx ends or the database fails.
func Load(ctx context.Context, svc *ingest.Service, tenant uuid.UUID, files []File, o Options) (sum Summary, err error) {
	start := time.Now()
	if o.Concurrency <= 0 {
		o.Concurrency = ConcurrencyDefault
	}
	if o.BatchFiles <= 0 {
		o.BatchFiles = BatchFilesDefault
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = BatchBytesDefault
	}
	if o.AutoDeferChunks <= 0 {
		o.AutoDeferChunks = AutoDeferChunksDefault
	}
	if !o.DeferIndex && !o.KeepIndex {
		// A chunk covers about ChunkStride bytes of text; the estimate
		// only decides whether to defer.
		var bytes int64
		for _, f := range files {
			if st, err := os.Stat(f.Path); err == nil {
				bytes += st.Size()
			}
		}
		if est := int(bytes / int64(svc.ChunkStride())); est >= o.AutoDeferChunks {
			indexed, err := svc.ModelRows(ctx, est)
			if err != nil {
				return Summary{}, err
			}
			o.DeferIndex = indexed < est
		}
	}
	if o.DeferIndex {
		rebuild, err := svc.DeferModelIndex(ctx)
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
	var (
		mu   sync.Mutex
		done int
	)
	record := func(r FileResult, size int64) {
		mu.Lock()
		defer mu.Unlock()
		done++
		sum.Add(r, size)
		if o.Progress != nil {
			o.Progress(Progress{FilesDone: done, FilesTotal: len(files), Chunks: sum.Chunks, Bytes: sum.Bytes, Elapsed: time.Since(start), Last: r})
		}
	}
	// One query per folder for the checksums of what is already there; a
	// folder that is not a valid path fails its files.
	known := map[string]map[string]string{}
	invalid := map[string]error{}
	var todo []File
	for _, f := range files {
		if _, seen := known[f.Folder]; !seen && invalid[f.Folder] == nil {
			sums, err := svc.Checksums(ctx, tenant, f.Folder)
			switch {
			case err == nil:
				known[f.Folder] = sums
			case apperr.KindOf(err) == apperr.Unprocessable:
				invalid[f.Folder] = err
			default:
				return Summary{}, err
			}
		}
		if err := invalid[f.Folder]; err != nil {
			record(FileResult{File: f, Status: FileFailed, Err: err}, 0)
			continue
		}
		todo = append(todo, f)
	}
	// Uploaders enqueue; one waiter polls every pending job in one query.
	// At most maxPending jobs are in flight so that an interrupted run
	// leaves a bounded queue behind.
	maxPending := max(8*o.Concurrency, 64)
	w := newWaiter(svc, tenant, maxPending, record)
	g, gctx := errgroup.WithContext(ctx)
	waitDone := make(chan error, 1)
	go func() { waitDone <- w.run(gctx) }()
	up, _ := errgroup.WithContext(gctx)
	up.SetLimit(o.Concurrency)
	for _, batch := range batches(todo, o.BatchFiles, o.BatchBytes) {
		if gctx.Err() != nil {
			break
		}
		up.Go(func() error { return uploadBatch(gctx, svc, tenant, batch, known, w, record) })
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

// uploadBatch reads, validates and uploads one batch in one transaction
// and hands its jobs to w; files that are unchanged or invalid are
// recorded at once.
func uploadBatch(ctx context.Context, svc *ingest.Service, tenant uuid.UUID, batch []File, known map[string]map[string]string,
	w *waiter, record func(FileResult, int64)) error {
	var vs []store.NewVersion
	var fs []File
	for _, f := range batch {
		r, size, v := readFile(svc, f, known[f.Folder][f.Name])
		if v == nil {
			record(r, size)
			continue
		}
		vs, fs = append(vs, *v), append(fs, f)
	}
	if len(vs) == 0 {
		return nil
	}
	staged, err := svc.UploadBatch(ctx, tenant, vs)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// One bad file (a path clash, say) must not sink the others: fall
		// back to one transaction per file.
		staged = make([]store.Staged, len(vs))
		for i := range vs {
			s, err := svc.UploadBatch(ctx, tenant, vs[i:i+1])
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				record(FileResult{File: fs[i], Status: FileFailed, Err: err}, 0)
				continue // staged[i].JobID stays uuid.Nil
			}
			staged[i] = s[0]
		}
	}
	for i, s := range staged {
		r := FileResult{File: fs[i]}
		size := int64(len(vs[i].Data))
		switch {
		case s.Unchanged:
			r.Status = FileUnchanged
			record(r, size)
		case s.JobID == uuid.Nil: // failed above
		default:
			if err := w.add(ctx, pendingJob{res: r, size: size, job: s.JobID, new: s.VersionNumber == 1}); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFile reads and validates one file; a nil version means the result
// is final (unchanged or failed).
func readFile(svc *ingest.Service, f File, knownSum string) (FileResult, int64, *store.NewVersion) {
	r := FileResult{File: f}
	fail := func(err error) (FileResult, int64, *store.NewVersion) {
		r.Status, r.Err = FileFailed, err
		return r, 0, nil
	}
	st, err := os.Stat(f.Path)
	if err != nil {
		return fail(err)
	}
	if err := svc.CheckSize(f.Name, st.Size()); err != nil {
		return fail(err)
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return fail(err)
	}
	if knownSum != "" && store.Checksum(data) == knownSum {
		r.Status = FileUnchanged
		return r, int64(len(data)), nil
	}
	v, err := svc.Prepare(ingest.UploadInput{Folder: f.Folder, Name: f.Name, Data: data})
	if err != nil {
		return fail(err)
	}
	return r, int64(len(data)), &v
}

// batches groups files into runs of at most files files and bytes bytes
// (by size on disk), in order.
func batches(all []File, files int, bytes int64) [][]File {
	var out [][]File
	var cur []File
	var size int64
	for _, f := range all {
		var n int64
		if st, err := os.Stat(f.Path); err == nil {
			n = st.Size()
		}
		if len(cur) > 0 && (len(cur) >= files || size+n > bytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, f)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
