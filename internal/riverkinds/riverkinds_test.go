package riverkinds_test

import (
	"testing"

	"github.com/riverqueue/river"

	"github.com/cairn-rag/cairn/internal/riverkinds"
)

type args struct{}

func (args) Kind() string { return "riverkinds_test" }

// The kind is known to the bundle afterwards: a second registration of
// it (by the owner's worker or again) fails.
func TestForeignRegistersTheKind(t *testing.T) {
	w := river.NewWorkers()
	if err := riverkinds.Foreign[args](w); err != nil {
		t.Fatal(err)
	}
	if err := riverkinds.Foreign[args](w); err == nil {
		t.Fatal("a kind registered twice must fail: the first registration did not take")
	}
}
