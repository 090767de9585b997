// Package riverkinds lets a River client know the job kinds that another
// client of the same database works. River's maintenance (the rescuer of
// stuck jobs) runs in whichever client is elected leader, and it discards
// a stuck job whose kind the leader's workers do not know: an ingest-only
// `cairn worker` would discard a background answer whose process died.
// Registering the other kinds as Foreign makes every leader rescue them
// (back to retryable); only the client that works their queue runs them.
package riverkinds

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// Register adds kinds to a workers bundle (each a Foreign[T]).
type Register func(*river.Workers) error

// Foreign registers T's kind in workers without working it here: the
// client never fetches T's queue, and a job that reaches it anyway is
// snoozed for another client.
func Foreign[T river.JobArgs](workers *river.Workers) error {
	return river.AddWorkerSafely(workers, &foreign[T]{})
}

type foreign[T river.JobArgs] struct {
	river.WorkerDefaults[T]
}

// Work implements river.Worker: this client does not work T.
func (*foreign[T]) Work(context.Context, *river.Job[T]) error { return river.JobSnooze(time.Minute) }
