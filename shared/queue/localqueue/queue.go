// Package localqueue is a durable stand-in for Azure Service Bus queues,
// stored in PostgreSQL, for local runs where no Service Bus namespace or
// emulator is available. It keeps the Service Bus semantics the app relies
// on: peek-lock delivery, delivery counts, abandon, lock expiry, a
// dead-letter sub-queue per queue and duplicate detection on MessageId.
//
// It is a development tool. Its tables live in their own schema
// ("localqueue") that the package creates on Open, outside the product's
// migrations.
package localqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bondingai/platform/shared/queue"
)

const (
	// MaxDeliveryCountDefault matches the Azure Service Bus queue default.
	MaxDeliveryCountDefault = 10

	// DuplicateDetectionWindowDefault matches the Service Bus default
	// duplicate detection history (10 minutes).
	DuplicateDetectionWindowDefault = 10 * time.Minute

	// LockDurationDefault matches the Service Bus queue default (PT1M).
	LockDurationDefault = time.Minute

	// ReasonMaxDeliveryCountExceeded is the dead-letter reason Service Bus
	// uses when a message was delivered MaxDeliveryCount times.
	ReasonMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded"

	// notifyChannel is the PostgreSQL NOTIFY channel; the payload is the
	// queue name that has a message to receive.
	notifyChannel = "localqueue"
)

// ErrLockLost is returned when a settlement names a lock that expired or was
// already settled, as Service Bus does with MessageLockLost.
var ErrLockLost = errors.New("message lock lost")

// Options configures a Queue. The zero value uses the Service Bus defaults.
type Options struct {
	// MaxDeliveryCount is how many deliveries a message gets before it is
	// dead-lettered, for queues not listed in QueueMaxDeliveryCount.
	// Zero means MaxDeliveryCountDefault.
	MaxDeliveryCount int

	// QueueMaxDeliveryCount overrides MaxDeliveryCount per queue name.
	QueueMaxDeliveryCount map[string]int

	// DuplicateDetectionWindow is how long a MessageId is remembered; a
	// second Send of the same id within the window is dropped silently.
	// Zero means DuplicateDetectionWindowDefault.
	DuplicateDetectionWindow time.Duration

	// Logger receives warnings from the notification listener. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Queue is a set of named queues in one PostgreSQL database. It is safe for
// concurrent use.
type Queue struct {
	pool     *pgxpool.Pool
	options  Options
	logger   *slog.Logger
	notifier *notifier
}

var _ queue.Sender = (*Queue)(nil)

// Open connects to databaseURL (a postgres:// URL), creates the stand-in's
// tables if they are missing and starts listening for new messages.
func Open(ctx context.Context, databaseURL string, opts Options) (*Queue, error) {
	if opts.MaxDeliveryCount == 0 {
		opts.MaxDeliveryCount = MaxDeliveryCountDefault
	}
	if opts.MaxDeliveryCount < 1 {
		return nil, fmt.Errorf("open local queue: invalid MaxDeliveryCount %d: must be at least 1", opts.MaxDeliveryCount)
	}
	for name, count := range opts.QueueMaxDeliveryCount {
		if count < 1 {
			return nil, fmt.Errorf("open local queue: invalid MaxDeliveryCount %d for queue %s: must be at least 1", count, name)
		}
	}
	if opts.DuplicateDetectionWindow == 0 {
		opts.DuplicateDetectionWindow = DuplicateDetectionWindowDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	config, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open local queue: parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("open local queue: %w", err)
	}
	if err := createSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open local queue: %w", err)
	}

	q := &Queue{
		pool:    pool,
		options: opts,
		logger:  opts.Logger,
	}
	q.notifier = startNotifier(config.ConnConfig.Copy(), q.logger)
	return q, nil
}

// Close stops the listener and closes the connection pool. The context is
// unused; it is part of queue.Sender.
func (q *Queue) Close(ctx context.Context) error {
	q.notifier.stop()
	q.pool.Close()
	return nil
}

// MaxDeliveryCount returns the delivery limit of queueName.
func (q *Queue) MaxDeliveryCount(queueName string) int {
	if count, ok := q.options.QueueMaxDeliveryCount[queueName]; ok {
		return count
	}
	return q.options.MaxDeliveryCount
}

// Send enqueues messages on queueName in one transaction. A message whose ID
// was sent to the same queue within the duplicate detection window is
// dropped, as Service Bus does. A message without an ID gets a random one.
func (q *Queue) Send(ctx context.Context, queueName string, messages ...queue.Message) error {
	if queueName == "" {
		return errors.New("send to local queue: missing queue name")
	}
	if len(messages) == 0 {
		return nil
	}

	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("send to queue %s: begin: %w", queueName, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a rollback after commit is a no-op

	_, err = tx.Exec(ctx,
		`DELETE FROM localqueue.duplicate_detection
		 WHERE queue_name = $1 AND detected_at < now() - make_interval(secs => $2)`,
		queueName, q.options.DuplicateDetectionWindow.Seconds())
	if err != nil {
		return fmt.Errorf("send to queue %s: prune duplicate detection history: %w", queueName, err)
	}

	for _, message := range messages {
		if err := sendOne(ctx, tx, queueName, message); err != nil {
			return err
		}
	}

	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, queueName); err != nil {
		return fmt.Errorf("send to queue %s: notify: %w", queueName, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("send to queue %s: commit: %w", queueName, err)
	}
	return nil
}

func sendOne(ctx context.Context, tx pgx.Tx, queueName string, message queue.Message) error {
	id := message.ID
	if id == "" {
		id = uuid.NewString()
	}

	tag, err := tx.Exec(ctx,
		`INSERT INTO localqueue.duplicate_detection (queue_name, message_id)
		 VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		queueName, id)
	if err != nil {
		return fmt.Errorf("send message %s to queue %s: record message id: %w", id, queueName, err)
	}
	if tag.RowsAffected() == 0 {
		// Duplicate within the window: Service Bus accepts the send and
		// drops the message.
		return nil
	}

	properties := message.ApplicationProperties
	if properties == nil {
		properties = map[string]any{}
	}
	propertiesJSON, err := json.Marshal(properties)
	if err != nil {
		return fmt.Errorf("send message %s to queue %s: encode application properties: %w", id, queueName, err)
	}
	body := message.Body
	if body == nil {
		body = []byte{}
	}

	_, err = tx.Exec(ctx,
		`INSERT INTO localqueue.message (queue_name, message_id, content_type, application_properties, body)
		 VALUES ($1, $2, $3, $4, $5)`,
		queueName, id, message.ContentType, propertiesJSON, body)
	if err != nil {
		return fmt.Errorf("send message %s to queue %s: %w", id, queueName, err)
	}
	return nil
}
