package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestEveryKindHasAName(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range Kinds() {
		name := k.String()
		if name == "" || name == fmt.Sprintf("Kind(%d)", int(k)) {
			t.Errorf("kind %d has no name in kindNames", int(k))
		}
		if seen[name] {
			t.Errorf("two kinds are named %s", name)
		}
		seen[name] = true
	}
	if got := Kind(-1).String(); got != "Kind(-1)" {
		t.Errorf("Kind(-1).String() = %q", got)
	}
}

func TestIsFindsTheCodeThroughWrapping(t *testing.T) {
	t.Parallel()
	const code Code = "thing_not_found"
	err := fmt.Errorf("load: %w", NotFoundf(code, "thing %d not found", 7))
	if !Is(err, code) || Is(err, CodeInternal) || KindOf(err) != NotFound {
		t.Fatalf("Is/KindOf on %v", err)
	}
	if KindOf(errors.New("plain")) != Internal {
		t.Fatal("a plain error is not Internal")
	}
	e, _ := As(err)
	if got := e.WithField("name").Error(); got != "thing_not_found: thing 7 not found (field name)" {
		t.Fatalf("Error() = %q", got)
	}
}
