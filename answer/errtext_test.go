package answer

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// TestStepErrorsHideInternals: a model_call or tool_call step, which a
// client reads in details, shows the public message of the error, never
// the model server's URL or the dial error beneath it.
func TestStepErrorsHideInternals(t *testing.T) {
	t.Parallel()
	dial := errors.New(`Post "http://10.1.2.3:11434/v1/chat/completions": dial tcp 10.1.2.3:11434: connect: connection refused`)
	err := &apperr.Error{Kind: apperr.Unavailable, Code: apperr.CodeModelUnavailable, Message: "the model server could not be reached", Err: dial}
	require.Equal(t, "the model server could not be reached", errText(err))
	require.Equal(t, "the model call failed", errText(dial))
	require.Nil(t, errText(nil))
}
