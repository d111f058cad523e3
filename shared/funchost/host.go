// Package funchost is a local Azure Functions host for custom handlers. It
// reads the same host.json and functions/<Name>/function.json files as the
// real host and drives the one handler binary the same way: it starts the
// process with FUNCTIONS_CUSTOMHANDLER_PORT, forwards HTTP requests, and
// posts Data/Metadata envelopes for blob, Service Bus and timer triggers.
// Service Bus is replaced by the PostgreSQL stand-in of package localqueue
// and blob storage is Azurite, so the binary runs unchanged in Azure.
//
// Function keys are not checked: like Azure Functions Core Tools, the local
// host accepts every authLevel without a key.
package funchost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bondingai/platform/shared/queue/localqueue"
)

const (
	// AddrDefault is the listen address Core Tools uses.
	AddrDefault = "127.0.0.1:7071"

	// BlobPollIntervalDefault is the pause between container scans.
	BlobPollIntervalDefault = 2 * time.Second

	// QueuePollIntervalDefault is the longest pause between receives on an
	// idle queue; a send wakes receivers sooner through LISTEN/NOTIFY.
	QueuePollIntervalDefault = time.Second

	// LockDurationDefault is the peek-lock duration, the Service Bus default.
	LockDurationDefault = localqueue.LockDurationDefault

	// ShutdownTimeoutDefault bounds the wait for in-flight invocations.
	ShutdownTimeoutDefault = 30 * time.Second

	// PoisonQueueConnectionDefault is the setting the app uses for its
	// Service Bus connection.
	PoisonQueueConnectionDefault = "ServiceBusConnection"
)

// Config configures Run. Only AppDir is required.
type Config struct {
	// AppDir is the folder with host.json and one folder per function.
	AppDir string
	// Settings are the app settings (local.settings.json Values). They are
	// exported to the handler as environment variables.
	Settings map[string]string
	// HandlerPath overrides customHandler.description.defaultExecutablePath.
	HandlerPath string
	// Addr is the listen address, AddrDefault when empty. Port 0 picks a
	// free port; OnReady receives the address in use.
	Addr string
	// Logger receives the host's log; nil means JSON to stdout.
	Logger *slog.Logger
	// OnReady is called once with the HTTP listen address, after the handler
	// responded to its first GET / and every trigger started.
	OnReady func(addr string)

	// BlobPollInterval is the pause between scans of each blob container.
	BlobPollInterval time.Duration
	// QueuePollInterval is the longest pause between receives on an idle queue.
	QueuePollInterval time.Duration
	// LockDuration is the peek-lock duration of Service Bus deliveries.
	LockDuration time.Duration
	// QueueOptions configures the local queues, for example MaxDeliveryCount.
	QueueOptions localqueue.Options
	// ShutdownTimeout bounds the wait for in-flight invocations on shutdown.
	ShutdownTimeout time.Duration
	// PoisonQueueConnection names the setting with the local queue database
	// that receives poison blob messages; PoisonQueueConnectionDefault when
	// empty. The real host uses the AzureWebJobsStorage queue service.
	PoisonQueueConnection string
}

// Host is a running local Functions host.
type Host struct {
	config   Config
	app      *App
	settings map[string]string
	logger   *slog.Logger
	worker   *worker
	client   *http.Client
	routes   []*httpRoute

	queuesMu sync.Mutex
	queues   map[string]*localqueue.Queue

	// invocations counts in-flight trigger invocations for shutdown.
	invocations sync.WaitGroup
}

// Run loads the app, starts the handler and every trigger and serves HTTP
// until ctx ends, then stops accepting work, waits for in-flight
// invocations and stops the handler. It returns an error when the app is
// invalid, the handler never starts or fails too often, or serving fails.
func Run(ctx context.Context, config Config) error {
	host, err := newHost(config)
	if err != nil {
		return err
	}
	return host.run(ctx)
}

func newHost(config Config) (*Host, error) {
	if config.Addr == "" {
		config.Addr = AddrDefault
	}
	if config.Logger == nil {
		config.Logger = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	if config.BlobPollInterval <= 0 {
		config.BlobPollInterval = BlobPollIntervalDefault
	}
	if config.QueuePollInterval <= 0 {
		config.QueuePollInterval = QueuePollIntervalDefault
	}
	if config.LockDuration <= 0 {
		config.LockDuration = LockDurationDefault
	}
	if config.ShutdownTimeout <= 0 {
		config.ShutdownTimeout = ShutdownTimeoutDefault
	}
	if config.PoisonQueueConnection == "" {
		config.PoisonQueueConnection = PoisonQueueConnectionDefault
	}
	if config.QueueOptions.Logger == nil {
		config.QueueOptions.Logger = config.Logger
	}
	if config.Settings == nil {
		config.Settings = map[string]string{}
	}

	app, err := LoadApp(config.AppDir, config.Settings)
	if err != nil {
		return nil, err
	}
	if config.HandlerPath != "" {
		app.Host.ExecutablePath = config.HandlerPath
	}

	host := &Host{
		config:   config,
		app:      app,
		settings: config.Settings,
		logger:   config.Logger,
		queues:   map[string]*localqueue.Queue{},
		client: &http.Client{
			// Redirects from the handler are relayed, never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	host.worker = newWorker(app, config.Settings, config.Logger)
	if err := host.validateFunctions(); err != nil {
		return nil, fmt.Errorf("load app %s: %w", app.Dir, err)
	}
	return host, nil
}

// validateFunctions builds the HTTP routes and checks every trigger's
// settings, reporting all problems at once.
func (h *Host) validateFunctions() error {
	var problems []error
	for _, function := range h.app.Functions {
		switch function.triggerType() {
		case bindingHTTPTrigger:
			route, err := h.newHTTPRoute(function)
			if err != nil {
				problems = append(problems, err)
			} else if route != nil {
				h.routes = append(h.routes, route)
			}
		case bindingServiceBusTrigger:
			if _, err := h.localQueueURL(function.Trigger.Connection); err != nil {
				problems = append(problems, fmt.Errorf("function %s: %w", function.Name, err))
			}
			if function.Trigger.QueueName == "" {
				problems = append(problems, fmt.Errorf("function %s: serviceBusTrigger needs queueName: topics are not supported by the local host", function.Name))
			}
			if function.Trigger.IsSessions || strings.EqualFold(function.Trigger.Cardinality, "many") {
				problems = append(problems, fmt.Errorf("function %s: sessions and cardinality many are not supported by the local host", function.Name))
			}
		case bindingBlobTrigger:
			if _, err := h.newBlobTrigger(function); err != nil {
				problems = append(problems, err)
			}
		case bindingTimerTrigger:
			if _, err := ParseSchedule(function.Trigger.Schedule); err != nil {
				problems = append(problems, fmt.Errorf("function %s: %w", function.Name, err))
			}
		default:
			h.logger.Warn("trigger type not supported by the local host, function not loaded",
				"function", function.Name, "trigger", function.Trigger.Type)
		}

		for _, output := range function.Outputs {
			switch strings.ToLower(output.Type) {
			case bindingServiceBus:
				if _, err := h.localQueueURL(output.Connection); err != nil {
					problems = append(problems, fmt.Errorf("function %s: output %s: %w", function.Name, output.Name, err))
				}
			case bindingHTTP:
			default:
				h.logger.Warn("output binding type not supported by the local host, its values are ignored",
					"function", function.Name, "binding", output.Name, "type", output.Type)
			}
		}
	}
	sortRoutes(h.routes)
	return errors.Join(problems...)
}

func (h *Host) run(ctx context.Context) error {
	listener, err := net.Listen("tcp", h.config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", h.config.Addr, err)
	}
	addr := listener.Addr().String()
	h.logger.Info("functions host starting", "addr", addr, "app_dir", h.app.Dir,
		"handler", h.app.Host.ExecutablePath, "host_version", HostVersion)
	for _, function := range h.app.Functions {
		h.logger.Info("function loaded", "function", function.Name, "trigger", function.Trigger.Type, "binding", function.Trigger.Name)
	}
	defer h.closeQueues()

	group, groupCtx := errgroup.WithContext(ctx)
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()

	handlerReady := make(chan struct{})
	var readyOnce sync.Once
	workerDone := make(chan error, 1)
	go func() {
		workerDone <- h.worker.run(workerCtx, func() { readyOnce.Do(func() { close(handlerReady) }) })
	}()

	server := &http.Server{Handler: h.httpHandler(), ReadHeaderTimeout: 30 * time.Second}
	group.Go(func() error {
		if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve HTTP on %s: %w", addr, err)
		}
		return nil
	})
	group.Go(func() error {
		select {
		case err := <-workerDone:
			workerDone <- err
			if err != nil {
				return err
			}
			return errWorkerStopped
		case <-groupCtx.Done():
			return nil
		}
	})

	select {
	case <-handlerReady:
	case <-groupCtx.Done():
	}
	if groupCtx.Err() == nil {
		if err := h.startTriggers(groupCtx, group); err != nil {
			h.logger.Error("start triggers failed", "error", err)
			server.Close()
			stopWorker()
			<-workerDone
			return err
		}
		h.logger.Info("functions host ready", "addr", addr, "functions", len(h.app.Functions))
		if h.config.OnReady != nil {
			h.config.OnReady(addr)
		}
	}

	<-groupCtx.Done()
	h.logger.Info("functions host stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), h.config.ShutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		h.logger.Warn("HTTP shutdown timed out", "error", err)
	}
	runErr := group.Wait()
	h.waitInvocations(shutdownCtx)
	stopWorker()
	if err := <-workerDone; err != nil && runErr == nil {
		runErr = err
	}
	h.logger.Info("functions host stopped")
	if errors.Is(runErr, errWorkerStopped) && ctx.Err() != nil {
		return nil
	}
	return runErr
}

// startTriggers starts one goroutine per Service Bus, blob and timer
// function in group.
func (h *Host) startTriggers(ctx context.Context, group *errgroup.Group) error {
	for _, function := range h.app.Functions {
		switch function.triggerType() {
		case bindingServiceBusTrigger:
			listener, err := h.newServiceBusListener(ctx, function)
			if err != nil {
				return err
			}
			group.Go(func() error { return listener.run(ctx) })
		case bindingBlobTrigger:
			trigger, err := h.newBlobTrigger(function)
			if err != nil {
				return err
			}
			if err := trigger.connect(ctx); err != nil {
				return err
			}
			group.Go(func() error { return trigger.run(ctx) })
		case bindingTimerTrigger:
			timer, err := h.newTimerTrigger(function)
			if err != nil {
				return err
			}
			group.Go(func() error { return timer.run(ctx) })
		}
	}
	return nil
}

func (h *Host) waitInvocations(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		h.invocations.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		h.logger.Warn("in-flight invocations did not finish before the shutdown timeout")
	}
}

// localQueueURL resolves a Service Bus connection setting to the database
// URL of the local stand-in. An empty name means AzureWebJobsServiceBus, as
// in the real host.
func (h *Host) localQueueURL(connection string) (string, error) {
	if connection == "" {
		connection = "AzureWebJobsServiceBus"
	}
	value, ok := lookupSetting(h.settings, connection)
	if !ok {
		if _, identity := lookupSetting(h.settings, connection+"__fullyQualifiedNamespace"); identity {
			return "", fmt.Errorf("connection %s: %w, found %s__fullyQualifiedNamespace", connection, errNotLocalQueue, connection)
		}
		return "", fmt.Errorf("connection setting %s not found: set it to a postgres:// URL in local.settings.json", connection)
	}
	if !strings.HasPrefix(value, "postgres://") && !strings.HasPrefix(value, "postgresql://") {
		return "", fmt.Errorf("connection %s: %w", connection, errNotLocalQueue)
	}
	return value, nil
}

// localQueueFor opens (once) the local queue a connection setting names.
func (h *Host) localQueueFor(ctx context.Context, connection string) (*localqueue.Queue, error) {
	databaseURL, err := h.localQueueURL(connection)
	if err != nil {
		return nil, err
	}
	return h.openLocalQueue(ctx, databaseURL)
}

func (h *Host) openLocalQueue(ctx context.Context, databaseURL string) (*localqueue.Queue, error) {
	h.queuesMu.Lock()
	defer h.queuesMu.Unlock()
	if q, ok := h.queues[databaseURL]; ok {
		return q, nil
	}
	q, err := localqueue.Open(ctx, databaseURL, h.config.QueueOptions)
	if err != nil {
		return nil, err
	}
	h.queues[databaseURL] = q
	return q, nil
}

func (h *Host) closeQueues() {
	h.queuesMu.Lock()
	defer h.queuesMu.Unlock()
	for databaseURL, q := range h.queues {
		if err := q.Close(context.Background()); err != nil {
			h.logger.Warn("close local queue failed", "error", err)
		}
		delete(h.queues, databaseURL)
	}
}

func (h *Host) functionByName(name string) *Function {
	for _, function := range h.app.Functions {
		if strings.EqualFold(function.Name, name) {
			return function
		}
	}
	return nil
}
