package funchost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

const (
	// readinessPollInterval is how often GET / is retried while the handler
	// starts; the real host polls every 25 ms.
	readinessPollInterval = 25 * time.Millisecond

	// workerRestartLimit and workerRestartWindow: the real host stops after
	// the third handler failure within 30 minutes.
	workerRestartLimit  = 3
	workerRestartWindow = 30 * time.Minute

	// workerStopTimeout is how long the handler gets to exit after SIGTERM
	// before it is killed.
	workerStopTimeout = 10 * time.Second

	// consoleCategory is the log category the real host gives handler output.
	consoleCategory = "Host.Function.Console"
)

// errWorkerStopped is returned to invocations waiting for a handler that
// will not start again.
var errWorkerStopped = errors.New("custom handler stopped")

// worker runs the custom handler process, restarts it when it exits and
// gives invocations its base URL.
type worker struct {
	executable  string
	arguments   []string
	directory   string
	environment []string
	fixedPort   int
	initTimeout time.Duration
	logger      *slog.Logger
	probe       *http.Client

	mu      sync.Mutex
	baseURL string
	// readyCh is closed when the current process responds to GET /, and
	// replaced when the process exits.
	readyCh chan struct{}
	// doneCh is closed when run returns and no handler will start again.
	doneCh chan struct{}
}

func newWorker(app *App, settings map[string]string, logger *slog.Logger) *worker {
	environment := os.Environ()
	for name, value := range settings {
		environment = append(environment, name+"="+value)
	}
	environment = append(environment, "FUNCTIONS_APP_ROOT_PATH="+app.Dir)

	return &worker{
		executable:  app.Host.ExecutablePath,
		arguments:   app.Host.Arguments,
		directory:   app.Host.WorkingDirectory,
		environment: environment,
		fixedPort:   app.Host.HandlerPort,
		initTimeout: app.Host.InitializationTimeout,
		logger:      logger,
		probe:       &http.Client{Timeout: time.Second},
		readyCh:     make(chan struct{}),
		doneCh:      make(chan struct{}),
	}
}

// endpoint waits until the handler is ready and returns its base URL.
func (w *worker) endpoint(ctx context.Context) (string, error) {
	w.mu.Lock()
	ready := w.readyCh
	w.mu.Unlock()

	select {
	case <-ready:
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.baseURL, nil
	case <-w.doneCh:
		return "", errWorkerStopped
	case <-ctx.Done():
		return "", fmt.Errorf("wait for custom handler: %w", ctx.Err())
	}
}

// run starts the handler and restarts it whenever it exits or fails to start,
// until ctx ends (it then stops the handler and returns nil) or the handler
// fails workerRestartLimit times within workerRestartWindow. onReady is
// called each time a process becomes ready.
func (w *worker) run(ctx context.Context, onReady func()) error {
	defer close(w.doneCh)

	var failures []time.Time
	for {
		err := w.runOnce(ctx, onReady)
		if ctx.Err() != nil {
			return nil
		}

		now := time.Now()
		failures = append(failures, now)
		recent := failures[:0]
		for _, failure := range failures {
			if now.Sub(failure) < workerRestartWindow {
				recent = append(recent, failure)
			}
		}
		failures = recent
		if len(failures) >= workerRestartLimit {
			w.logger.Error("custom handler failed too often, shutting down the host",
				"error", err, "failures", len(failures), "window", workerRestartWindow.String())
			return fmt.Errorf("custom handler failed %d times within %s: %w", len(failures), workerRestartWindow, err)
		}
		w.logger.Error("custom handler stopped, restarting", "error", err, "failures", len(failures))
	}
}

// runOnce starts one handler process and returns when it exits.
func (w *worker) runOnce(ctx context.Context, onReady func()) error {
	port := w.fixedPort
	if port == 0 {
		free, err := freePort()
		if err != nil {
			return err
		}
		port = free
	}
	workerID := uuid.NewString()

	command := exec.Command(w.executable, w.arguments...)
	command.Dir = w.directory
	command.Env = append(append([]string{}, w.environment...),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port),
		"FUNCTIONS_CUSTOMHANDLER_WORKER_ID="+workerID,
		"FUNCTIONS_HTTPWORKER_PORT="+strconv.Itoa(port),
		"FUNCTIONS_HTTPWORKER_ID="+workerID,
	)
	stdout, err := command.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start custom handler %s: %w", w.executable, err)
	}
	stderr, err := command.StderrPipe()
	if err != nil {
		return fmt.Errorf("start custom handler %s: %w", w.executable, err)
	}
	if err := command.Start(); err != nil {
		return fmt.Errorf("start custom handler %s: %w", w.executable, err)
	}
	logger := w.logger.With("worker_id", workerID, "pid", command.Process.Pid)
	logger.Info("custom handler started", "executable", w.executable, "port", port)

	var relays sync.WaitGroup
	relays.Go(func() { relayOutput(stdout, logger, false) })
	relays.Go(func() { relayOutput(stderr, logger, true) })

	exited := make(chan error, 1)
	go func() {
		relays.Wait()
		exited <- command.Wait()
	}()

	baseURL := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := w.waitReady(ctx, baseURL, exited); err != nil {
		// Not ready in time, exited or shutting down: make sure it is gone.
		_ = command.Process.Kill()
		<-exited
		return err
	}

	w.mu.Lock()
	w.baseURL = baseURL
	close(w.readyCh)
	w.mu.Unlock()
	logger.Info("custom handler ready", "url", baseURL)
	if onReady != nil {
		onReady()
	}

	var exitErr error
	select {
	case exitErr = <-exited:
	case <-ctx.Done():
		exitErr = w.stop(command, exited, logger)
	}

	w.mu.Lock()
	w.readyCh = make(chan struct{})
	w.mu.Unlock()

	if ctx.Err() != nil {
		return nil
	}
	if exitErr == nil {
		exitErr = errors.New("exited with status 0")
	}
	logger.Warn("custom handler exited", "error", exitErr)
	return fmt.Errorf("custom handler exited: %w", exitErr)
}

// waitReady polls GET / until the handler responds with any status, the
// process exits or the initialization timeout passes.
func (w *worker) waitReady(ctx context.Context, baseURL string, exited chan error) error {
	deadline := time.NewTimer(w.initTimeout)
	defer deadline.Stop()
	ticker := time.NewTicker(readinessPollInterval)
	defer ticker.Stop()

	for {
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/", nil)
		if err != nil {
			return err
		}
		response, err := w.probe.Do(request)
		if err == nil {
			io.Copy(io.Discard, response.Body) //nolint:errcheck // draining a probe body
			response.Body.Close()
			return nil
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			exited <- err
			return fmt.Errorf("custom handler exited before it was ready: %v", err)
		case <-deadline.C:
			return fmt.Errorf("custom handler did not respond to GET %s/ within %s: raise customHandler.initializationTimeout in host.json if it needs longer", baseURL, w.initTimeout)
		case <-ticker.C:
		}
	}
}

// stop sends SIGTERM, waits up to workerStopTimeout and then kills.
func (w *worker) stop(command *exec.Cmd, exited chan error, logger *slog.Logger) error {
	logger.Info("stopping custom handler")
	if err := command.Process.Signal(syscall.SIGTERM); err != nil {
		logger.Warn("send SIGTERM to custom handler failed", "error", err)
	}
	select {
	case err := <-exited:
		logger.Info("custom handler stopped")
		return err
	case <-time.After(workerStopTimeout):
		logger.Warn("custom handler ignored SIGTERM, killing it", "timeout", workerStopTimeout.String())
		_ = command.Process.Kill()
		return <-exited
	}
}

// relayOutput logs each line the handler writes, as the real host does:
// stdout at Information, stderr at Error unless the line mentions "warn".
func relayOutput(reader io.Reader, logger *slog.Logger, isStderr bool) {
	scanner := bufio.NewScanner(reader)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	stream := "stdout"
	if isStderr {
		stream = "stderr"
	}
	for scanner.Scan() {
		line := scanner.Text()
		level := slog.LevelInfo
		if isStderr {
			level = slog.LevelError
			if strings.Contains(strings.ToLower(line), "warn") {
				level = slog.LevelWarn
			}
		}
		logger.Log(context.Background(), level, line, "category", consoleCategory, "stream", stream)
	}
	if err := scanner.Err(); err != nil {
		logger.Warn("read custom handler output failed", "stream", stream, "error", err)
	}
}

// freePort returns a free loopback port chosen by the kernel.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for the custom handler: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	if err := listener.Close(); err != nil {
		return 0, fmt.Errorf("find a free port for the custom handler: %w", err)
	}
	return port, nil
}
