package ask

import "github.com/cairn-rag/cairn/internal/apperr"

// CodeAnswerInProgress (503) is a question whose answer another request
// is still generating when this one's time ran out.
const CodeAnswerInProgress apperr.Code = "answer_in_progress"
