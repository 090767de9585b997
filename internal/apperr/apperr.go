// Package apperr owns Cairn's domain error type: one Error with a small set
// of kinds and a stable machine code. Domain packages return *Error (or wrap
// one); the api package maps Kind to an HTTP status and a coarse class in
// exactly one place.
//
// Every public code is declared once, as a constant of type Code in the
// package that owns it (codes.go); this package declares the few that
// several packages share. No call site spells a code as a string literal:
// internal/codescan's test fails on one, and api's test fails on a
// declared code that api/openapi.yaml does not list.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for transport mapping.
type Kind int

// The kinds of domain error. The api package maps each to one HTTP status.
const (
	// Internal is an unexpected failure; clients see only "internal error".
	Internal Kind = iota
	// Invalid is malformed input (bad id, bad JSON, unknown field): 400.
	Invalid
	// Unauthorized is a missing, wrong or revoked credential: 401.
	Unauthorized
	// NotFound is a resource that does not exist in the caller's tenant: 404.
	NotFound
	// Conflict is a state clash, such as a duplicate name: 409.
	Conflict
	// TooLarge is a body, file or text over a configured limit: 413.
	TooLarge
	// Unsupported is a media type Cairn cannot process: 415.
	Unsupported
	// Unprocessable is well-formed input that fails validation: 422.
	Unprocessable
	// Unavailable is a dependency that is down (database, model): 503.
	Unavailable
	// BadGateway is an upstream model server that answered with an error: 502.
	BadGateway
	// NotAllowed is a method the resource does not support (the router's): 405.
	NotAllowed
	// Forbidden is a request refused whoever sends it, such as one from a
	// browser origin that is not allowed: 403.
	Forbidden
	// TooManyRequests is a caller over a rate or concurrency limit: 429,
	// with Retry-After.
	TooManyRequests

	numKinds // keep last: the number of kinds
)

var kindNames = [numKinds]string{
	Internal:        "Internal",
	Invalid:         "Invalid",
	Unauthorized:    "Unauthorized",
	NotFound:        "NotFound",
	Conflict:        "Conflict",
	TooLarge:        "TooLarge",
	Unsupported:     "Unsupported",
	Unprocessable:   "Unprocessable",
	Unavailable:     "Unavailable",
	BadGateway:      "BadGateway",
	NotAllowed:      "NotAllowed",
	Forbidden:       "Forbidden",
	TooManyRequests: "TooManyRequests",
}

// Kinds lists every Kind, in declaration order.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// String returns the kind's name as declared ("NotFound").
func (k Kind) String() string {
	if k >= 0 && k < numKinds && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Code is a stable machine code, the "code" of a problem document (e.g.
// "thread_not_found"). Declare each one once as a constant in the package
// that owns it, and pass the constant.
//
// Code is an alias of string while code that predates it still handles
// codes as plain strings; it documents which strings are codes.
type Code = string

// Error is a domain error with a stable machine code.
type Error struct {
	Kind    Kind
	Code    Code   // stable machine code, e.g. "thread_not_found"
	Message string // human-readable, safe to show to clients
	Field   string // the offending field, when there is one
	Err     error  // wrapped cause, never shown to clients
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error of the given kind and code.
func New(kind Kind, code Code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithField returns a copy of e naming the offending field.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// NotFoundf is a NotFound error with code.
func NotFoundf(code Code, format string, args ...any) *Error {
	return New(NotFound, code, format, args...)
}

// Invalidf is an Invalid error with code, naming field when non-empty.
func Invalidf(code Code, field, format string, args ...any) *Error {
	e := New(Invalid, code, format, args...)
	e.Field = field
	return e
}

// Unprocessablef is an Unprocessable error with code, naming field when non-empty.
func Unprocessablef(code Code, field, format string, args ...any) *Error {
	e := New(Unprocessable, code, format, args...)
	e.Field = field
	return e
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// KindOf returns the Kind of err's *Error, or Internal.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// Is reports whether err carries an *Error with the given code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}

// CodeOf returns the code of err's *Error, or CodeInternal.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return CodeInternal
}
