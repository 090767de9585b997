// Package logging owns Cairn's structured logging: a JSON log/slog handler
// that adds the attributes carried in a context (the request id) to every
// line logged with that context.
package logging

import (
	"context"
	"io"
	"log/slog"
)

type ctxKey struct{}

// WithAttrs returns a context whose log lines carry attrs.
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	all := make([]slog.Attr, 0, len(prev)+len(attrs))
	all = append(append(all, prev...), attrs...)
	return context.WithValue(ctx, ctxKey{}, all)
}

// RequestIDKey is the attribute name of the request id.
const RequestIDKey = "request_id"

// WithRequestID returns a context whose log lines carry the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return WithAttrs(ctx, slog.String(RequestIDKey, id))
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	attrs, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	for _, a := range attrs {
		if a.Key == RequestIDKey {
			return a.Value.String()
		}
	}
	return ""
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}

// New returns a JSON logger writing to w at level that adds context
// attributes to each record.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(ctxHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}
