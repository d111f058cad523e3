package localqueue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifierRetryDelay is the pause before the listener reconnects after its
// connection fails. Waiters still wake on their own timeout meanwhile.
const notifierRetryDelay = time.Second

// notifier holds one LISTEN connection and wakes the goroutines waiting for
// messages on a queue.
type notifier struct {
	config *pgx.ConnConfig
	logger *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
}

func startNotifier(config *pgx.ConnConfig, logger *slog.Logger) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{
		config:  config,
		logger:  logger,
		cancel:  cancel,
		done:    make(chan struct{}),
		waiters: map[string]map[chan struct{}]struct{}{},
	}
	go n.run(ctx)
	return n
}

func (n *notifier) stop() {
	n.cancel()
	<-n.done
}

func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for ctx.Err() == nil {
		err := n.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		n.logger.Warn("local queue listener failed, reconnecting", "error", err, "retry_in", notifierRetryDelay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(notifierRetryDelay):
		}
	}
}

func (n *notifier) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, n.config)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	for {
		notification, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		n.wake(notification.Payload)
	}
}

func (n *notifier) wake(queueName string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for waiter := range n.waiters[queueName] {
		select {
		case waiter <- struct{}{}:
		default:
		}
	}
}

// wait blocks until a notification for queueName arrives, timeout passes or
// ctx ends.
func (n *notifier) wait(ctx context.Context, queueName string, timeout time.Duration) {
	waiter := make(chan struct{}, 1)

	n.mu.Lock()
	if n.waiters[queueName] == nil {
		n.waiters[queueName] = map[chan struct{}]struct{}{}
	}
	n.waiters[queueName][waiter] = struct{}{}
	n.mu.Unlock()

	defer func() {
		n.mu.Lock()
		delete(n.waiters[queueName], waiter)
		if len(n.waiters[queueName]) == 0 {
			delete(n.waiters, queueName)
		}
		n.mu.Unlock()
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	case <-waiter:
	}
}
