package customhandler

import (
	"context"
	"io"
	"log/slog"
)

// The host logs the handler's stdout at Information and its stderr at Error
// level, so all structured logs go to stdout and carry their own level.

// NewLogger returns a JSON slog logger writing to w.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

type loggerKey struct{}

// WithLogger returns a context carrying logger.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// Logger returns the context's logger: the invocation's logger inside a
// function, with invocation_id and function set, or slog.Default.
func Logger(ctx context.Context) *slog.Logger {
	if logger, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return logger
	}
	return slog.Default()
}

// WithLogAttrs returns a context whose logger adds attrs to every record,
// such as org_id once the caller's organization is known.
func WithLogAttrs(ctx context.Context, attrs ...any) context.Context {
	return WithLogger(ctx, Logger(ctx).With(attrs...))
}

type functionKey struct{}

// WithFunctionName returns ctx naming the function being invoked; App sets
// it for every invocation.
func WithFunctionName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, functionKey{}, name)
}

// FunctionName returns the name of the function ctx belongs to, or "" outside
// an invocation.
func FunctionName(ctx context.Context) string {
	name, _ := ctx.Value(functionKey{}).(string)
	return name
}
