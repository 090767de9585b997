package api

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of the HTTP layer itself: malformed requests the
// domain packages never see, and the router's and readiness answers. Every
// code a response can carry is listed, with its class, in the Problem
// schema of api/openapi.yaml.
const (
	// CodeInvalidJSON is a body that is empty, malformed, truncated or more
	// than one JSON value.
	CodeInvalidJSON apperr.Code = "invalid_json"
	// CodeUnknownField is a JSON key or form field the request type lacks;
	// the field names its path.
	CodeUnknownField apperr.Code = "unknown_field"
	// CodeUnknownParameter is a query parameter the endpoint does not
	// accept; the field names the first, the detail all of them.
	CodeUnknownParameter apperr.Code = "unknown_parameter"
	// CodeInvalidField is a JSON value of the wrong type, or an undecodable
	// one (bad base64).
	CodeInvalidField apperr.Code = "invalid_field"
	// CodeInvalidMultipart is a multipart body that cannot be read.
	CodeInvalidMultipart apperr.Code = "invalid_multipart"
	// CodeInvalidID is a path or body id that is not a UUID.
	CodeInvalidID apperr.Code = "invalid_id"
	// CodeInvalidParameter is a query parameter out of range or of the
	// wrong form.
	CodeInvalidParameter apperr.Code = "invalid_parameter"
	// CodeIngestFailed is an upload awaited with ?wait=true whose ingest
	// job failed.
	CodeIngestFailed apperr.Code = "ingest_failed"
	// CodeRouteNotFound is a path no route serves.
	CodeRouteNotFound apperr.Code = "route_not_found"
	// CodeMethodNotAllowed is a method a route does not serve.
	CodeMethodNotAllowed apperr.Code = "method_not_allowed"
	// CodeNotReady is /readyz while the database is unreachable or its
	// schema is not current.
	CodeNotReady apperr.Code = "not_ready"
	// CodeOriginNotAllowed is a cross-origin browser request (or CORS
	// preflight) from an origin CAIRN_CORS_ORIGINS does not list.
	CodeOriginNotAllowed apperr.Code = "origin_not_allowed"
	// CodeModelNotFound is an OpenAI-compatible request whose model names
	// no answerable scope (cairn, or cairn:/<folder that holds documents>);
	// OpenAI's own code for an unknown model.
	CodeModelNotFound apperr.Code = "model_not_found"
	// CodeShuttingDown is an answer or stream ended by a server shutdown
	// before the answer was stored (it is stored when done).
	CodeShuttingDown apperr.Code = "shutting_down"
	// CodeTimeout is a request whose context ended (timeout or client gone)
	// before it was answered.
	CodeTimeout apperr.Code = "timeout"
	// CodeRateLimited is a request over its tenant's rate limit
	// (CAIRN_RATE_LIMIT, CAIRN_RATE_BURST): 429 with Retry-After.
	CodeRateLimited apperr.Code = "rate_limited"
	// CodeAuthThrottled is a request from a client address that failed
	// authentication too often (CAIRN_AUTH_FAIL_RATE, CAIRN_AUTH_FAIL_BURST):
	// 429 with Retry-After, whatever key it presents.
	CodeAuthThrottled apperr.Code = "auth_throttled"
	// CodeTooManyAnswers is a user_message while its tenant already has
	// CAIRN_MAX_TENANT_ANSWERS answers in flight: 429 with Retry-After.
	CodeTooManyAnswers apperr.Code = "too_many_answers"
	// CodeInvalidText is a string (JSON value or key, query parameter,
	// form field) that Postgres cannot store: U+0000, a lone UTF-16
	// surrogate escape, or bytes that are not UTF-8. The field names it.
	CodeInvalidText apperr.Code = "invalid_text"
)
