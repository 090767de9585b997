package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/db"
)

// Class is the coarse class of a problem: one of the closed set of codes
// of Knowledge Stack's ErrorResponse, so a client written against that set
// can branch on it while Cairn's own clients keep the fine code.
type Class string

// The classes a problem can carry (Knowledge Stack has no class of its own
// for 405, 413, 415 and 502: they are bad_request and service_unavailable).
const (
	ClassBadRequest          Class = "bad_request"
	ClassUnauthorized        Class = "unauthorized"
	ClassNotFound            Class = "not_found"
	ClassConflict            Class = "conflict"
	ClassUnprocessableEntity Class = "unprocessable_entity"
	ClassInternalError       Class = "internal_error"
	ClassServiceUnavailable  Class = "service_unavailable"
	ClassTooManyRequests     Class = "too_many_requests"
	// ClassForbidden is Cairn's own (403): Knowledge Stack has no class for it.
	ClassForbidden Class = "forbidden"
)

// kindHTTP is the one table that maps a domain error kind to its HTTP
// status and its coarse class.
var kindHTTP = map[apperr.Kind]struct {
	status int
	class  Class
}{
	apperr.Internal:        {http.StatusInternalServerError, ClassInternalError},
	apperr.Invalid:         {http.StatusBadRequest, ClassBadRequest},
	apperr.Unauthorized:    {http.StatusUnauthorized, ClassUnauthorized},
	apperr.NotFound:        {http.StatusNotFound, ClassNotFound},
	apperr.Conflict:        {http.StatusConflict, ClassConflict},
	apperr.TooLarge:        {http.StatusRequestEntityTooLarge, ClassBadRequest},
	apperr.Unsupported:     {http.StatusUnsupportedMediaType, ClassBadRequest},
	apperr.Unprocessable:   {http.StatusUnprocessableEntity, ClassUnprocessableEntity},
	apperr.Unavailable:     {http.StatusServiceUnavailable, ClassServiceUnavailable},
	apperr.BadGateway:      {http.StatusBadGateway, ClassServiceUnavailable},
	apperr.NotAllowed:      {http.StatusMethodNotAllowed, ClassBadRequest},
	apperr.Forbidden:       {http.StatusForbidden, ClassForbidden},
	apperr.TooManyRequests: {http.StatusTooManyRequests, ClassTooManyRequests},
}

// unavailableRetry is the Retry-After of a 503: about how long a
// Postgres restart or failover takes.
const unavailableRetry = 5 * time.Second

// Problem is an RFC 9457 problem document with Cairn's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Class     Class  `json:"class"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// fail answers with the problem document for err. Only internal errors are
// logged in full; clients never see their text.
func (s *Server) fail(c *gin.Context, err error) {
	e := s.explain(c, err)
	s.problem(c, e.Kind, e.Code, e.Message, e.Field)
}

// explain returns what a client is told about err: the domain error as
// it is, a timeout for a request whose context ended, and "internal
// error" (logged in full) for anything else.
func (s *Server) explain(c *gin.Context, err error) *apperr.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = tooLarge(mbe.Limit)
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind == apperr.Internal {
		if errors.Is(err, c.Request.Context().Err()) && c.Request.Context().Err() != nil {
			s.log.WarnContext(c.Request.Context(), "request cancelled or timed out", slog.Any("error", err))
			return apperr.New(apperr.Unavailable, CodeTimeout, "the request timed out or was cancelled")
		}
		if db.IsUnavailable(err) {
			s.log.WarnContext(c.Request.Context(), "database unavailable", slog.Any("error", err))
			return apperr.New(apperr.Unavailable, db.CodeDatabaseUnavailable, "the database is unavailable; retry after the time in Retry-After")
		}
		s.log.ErrorContext(c.Request.Context(), "internal error", slog.Any("error", err))
		return apperr.New(apperr.Internal, apperr.CodeInternal, "internal error")
	}
	if e.Kind == apperr.Unavailable || e.Kind == apperr.BadGateway {
		s.log.WarnContext(c.Request.Context(), "dependency error", slog.Any("error", err))
	}
	return e
}

// problem answers with the problem document of kind: its status, title
// and class come from kindHTTP.
func (s *Server) problem(c *gin.Context, kind apperr.Kind, code apperr.Code, detail, field string) {
	k := kindHTTP[kind]
	p := Problem{
		Type:      problemType(code),
		Title:     http.StatusText(k.status),
		Status:    k.status,
		Detail:    detail,
		Code:      code,
		Class:     k.class,
		Field:     field,
		RequestID: c.Writer.Header().Get("X-Request-Id"),
	}
	if k.status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		retryAfter(c, unavailableRetry)
	}
	if isKS(c) {
		writeKSError(c, p)
		return
	}
	body, _ := json.Marshal(p)
	c.Data(k.status, "application/problem+json", body)
}

// problemType is the type URI of a problem with code.
func problemType(code apperr.Code) string {
	return "https://cairn.dev/problems/" + strings.ReplaceAll(code, "_", "-")
}

// decodeJSON decodes the request body into v strictly: unknown fields,
// wrong types, trailing data and oversized bodies are errors that name
// the field by its path where possible (content.txt, items[1].colour).
func decodeJSON(c *gin.Context, v any) error {
	if c.Request.Body == nil {
		return apperr.Invalidf(CodeInvalidJSON, "", "request body is required")
	}
	ct := c.ContentType()
	if ct != "" && ct != "application/json" {
		return apperr.New(apperr.Unsupported, apperr.CodeUnsupportedMediaType, "Content-Type must be application/json, got %s", ct)
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if leaf, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field := unknownFieldPath(body, reflect.TypeOf(v), strings.Trim(leaf, `"`))
			return apperr.Invalidf(CodeUnknownField, field, "unknown field %q", field)
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalidf(CodeInvalidJSON, "", "request body must hold a single JSON value")
	}
	return checkJSONText(body)
}

func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		return apperr.Invalidf(CodeInvalidJSON, "", "request body is empty")
	case errors.As(err, &syn):
		return apperr.Invalidf(CodeInvalidJSON, "", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return apperr.Invalidf(CodeInvalidField, typ.Field, "field %s must be %s, got %s", typ.Field, jsonTypeName(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalidf(CodeInvalidJSON, "", "truncated JSON body")
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return apperr.Invalidf(CodeInvalidJSON, "", "invalid JSON: %s", err.Error())
}

// jsonTypeName names the JSON type that decodes into t ("a string", "an
// integer", "an object"), so an error never shows a Go type name.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		return "a string"
	case reflect.PointerTo(t).Implements(jsonUnmarshaler):
		return "a JSON value of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a JSON value of another type"
}

// unknownFieldPath returns the full path (content.txt,
// attachments[1].colour) of the unknown field leaf that decoding body into
// t reported: the first key, in document order, that names no field of
// the struct it would decode into, as the decoder stops at the first one.
// It returns leaf when the walk finds no such key of that name.
func unknownFieldPath(body []byte, t reflect.Type, leaf string) string {
	p, ok := walkUnknown(json.NewDecoder(bytes.NewReader(body)), t, "")
	if ok && (p == leaf || strings.HasSuffix(p, "."+leaf)) {
		return p
	}
	return leaf
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walkUnknown consumes one JSON value from dec that decodes into t (nil:
// opaque, only consumed) and reports the path of its first unknown key.
func walkUnknown(dec *json.Decoder, t reflect.Type, path string) (string, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", false
			}
			key, _ := kt.(string)
			sub := key
			if path != "" {
				sub = path + "." + key
			}
			var ft reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Struct:
				var ok bool
				if ft, ok = structField(t, key); !ok {
					return sub, true
				}
			case t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if p, ok := walkUnknown(dec, ft, sub); ok {
				return p, true
			}
		}
		_, _ = dec.Token()
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, ok := walkUnknown(dec, et, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
		_, _ = dec.Token()
	}
	return "", false
}

// structField returns the type of the field of struct t that encoding/json
// decodes key into: an exact name match, else a case-insensitive one,
// including fields promoted from embedded structs.
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	var folded reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft, ok := structField(et, key); ok {
					return ft, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type, true
		}
		if folded == nil && strings.EqualFold(name, key) {
			folded = f.Type
		}
	}
	return folded, folded != nil
}

// pathUUID parses the path parameter name as a UUID, or answers 400.
func pathUUID(c *gin.Context, name string) (uuid.UUID, error) {
	raw := c.Param(name)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, apperr.Invalidf(CodeInvalidID, name, "%s must be a UUID, got %q", name, raw)
	}
	return id, nil
}

// queryInt reads an integer query parameter within [min, max], or def.
func queryInt(c *gin.Context, name string, def, min, max int) (int, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscanf(raw, "%d", &n); err != nil || fmt.Sprint(n) != strings.TrimLeft(raw, "+") {
		return 0, apperr.Invalidf(CodeInvalidParameter, name, "%s must be an integer, got %q", name, raw)
	}
	if n < min || n > max {
		return 0, apperr.Invalidf(CodeInvalidParameter, name, "%s must be between %d and %d, got %d", name, min, max, n)
	}
	return n, nil
}
