package customhandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// PortVariable is the environment variable through which the host tells the
// handler which port to listen on. FUNCTIONS_HTTPWORKER_PORT is its legacy
// name, still set by the host.
const (
	PortVariable       = "FUNCTIONS_CUSTOMHANDLER_PORT"
	legacyPortVariable = "FUNCTIONS_HTTPWORKER_PORT"
)

// InvocationIDHeader carries the host's invocation id on every call.
const InvocationIDHeader = "X-Azure-Functions-InvocationId"

// ShutdownTimeoutDefault bounds how long in-flight invocations may run after
// the host asks the handler to stop.
const ShutdownTimeoutDefault = 30 * time.Second

// maxEnvelopeBytes caps a trigger envelope. Blob triggers carry the whole
// blob base64-encoded (4/3 of its size), so the cap follows the largest
// upload the platform accepts.
const maxEnvelopeBytes = 200 << 20

// TriggerFunc handles one non-HTTP invocation. Returning an error replies
// with status 500, which the host treats as a failed invocation: Service Bus
// abandons and later dead-letters the message, a blob trigger is retried and
// then poisoned, a timer waits for its next occurrence. Return an error only
// where a retry can help; record permanent failures and return nil.
type TriggerFunc func(ctx context.Context, inv *Invocation) (*Result, error)

// App is the custom handler: one HTTP server for every function.
type App struct {
	mux    *http.ServeMux
	logger *slog.Logger
}

// NewApp returns an App logging to logger. GET / answers 200 so the host's
// readiness probe succeeds as soon as the server listens.
func NewApp(logger *slog.Logger) *App {
	app := &App{mux: http.NewServeMux(), logger: logger}
	app.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	return app
}

// HandleTrigger registers fn for the non-HTTP function functionName, which
// the host calls as POST /<functionName>.
func (a *App) HandleTrigger(functionName string, fn TriggerFunc) {
	a.mux.HandleFunc("POST /"+functionName, func(w http.ResponseWriter, r *http.Request) {
		a.serveTrigger(w, r, functionName, fn)
	})
}

// HandleHTTP registers h for an HTTP-triggered function. The host forwards
// the original request, so pattern is a net/http pattern with the route
// prefix, such as "GET /api/documents/{id}".
func (a *App) HandleHTTP(functionName, pattern string, h http.Handler) {
	a.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger := a.logger.With(
			slog.String("invocation_id", r.Header.Get(InvocationIDHeader)),
			slog.String("function", functionName),
		)
		ctx := WithFunctionName(WithLogger(r.Context(), logger), functionName)
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
}

// Handler returns the App's HTTP handler, for tests and for Serve.
func (a *App) Handler() http.Handler {
	return a.mux
}

func (a *App) serveTrigger(w http.ResponseWriter, r *http.Request, functionName string, fn TriggerFunc) {
	started := time.Now()
	inv := &Invocation{ID: r.Header.Get(InvocationIDHeader), FunctionName: functionName}
	logger := a.logger.With(slog.String("invocation_id", inv.ID), slog.String("function", functionName))

	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEnvelopeBytes)).Decode(inv); err != nil {
		// A malformed envelope will not improve on retry, but the host has no
		// other way to keep the input, so fail loudly rather than drop it.
		logger.Error("invalid invocation envelope", slog.Any("error", err))
		writeResult(w, http.StatusBadRequest, &Result{Logs: []string{"invalid invocation envelope: " + err.Error()}})
		return
	}

	ctx := WithFunctionName(WithLogger(r.Context(), logger), functionName)
	result, err := runTrigger(ctx, fn, inv)
	duration := time.Since(started)
	if err != nil {
		logger.Error("invocation failed", slog.Any("error", err), slog.Duration("duration", duration))
		writeResult(w, http.StatusInternalServerError, &Result{Logs: []string{err.Error()}})
		return
	}
	logger.Info("invocation succeeded", slog.Duration("duration", duration))
	writeResult(w, http.StatusOK, result)
}

// runTrigger calls fn, turning a panic into an error so one bad input cannot
// take down every other function sharing the process.
func runTrigger(ctx context.Context, fn TriggerFunc, inv *Invocation) (result *Result, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("panic in function %s: %v", inv.FunctionName, recovered)
		}
	}()
	return fn(ctx, inv)
}

func writeResult(w http.ResponseWriter, status int, result *Result) {
	if result == nil {
		result = &Result{}
	}
	if result.Outputs == nil {
		result.Outputs = map[string]any{}
	}
	if result.Logs == nil {
		result.Logs = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(result)
}

// ListenAddress returns the loopback address the host expects the handler
// on. The host dials the IPv4 literal 127.0.0.1, so binding there (rather
// than all interfaces) keeps the handler private.
func ListenAddress() (string, error) {
	port := os.Getenv(PortVariable)
	if port == "" {
		port = os.Getenv(legacyPortVariable)
	}
	if port == "" {
		return "", fmt.Errorf("%s is not set: the Functions host sets it when it starts the handler", PortVariable)
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}

// Serve listens on addr until ctx is cancelled (the host sends SIGTERM),
// then stops accepting requests and waits up to ShutdownTimeoutDefault for
// in-flight invocations.
func (a *App) Serve(ctx context.Context, addr string) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return a.ServeListener(ctx, listener)
}

// ServeListener is Serve on an existing listener.
func (a *App) ServeListener(ctx context.Context, listener net.Listener) error {
	server := &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests keep running during shutdown; Shutdown waits for them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.logger.Info("custom handler listening", slog.String("address", listener.Addr().String()))

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	a.logger.Info("custom handler shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeoutDefault)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
