package localqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ReceivedMessage is a stored message with the broker properties Service Bus
// reports for it.
type ReceivedMessage struct {
	QueueName             string
	MessageID             string
	SequenceNumber        int64
	EnqueuedTime          time.Time
	DeliveryCount         int
	ContentType           string
	ApplicationProperties map[string]any
	Body                  []byte

	// DeadLetterReason and DeadLetterDescription are set on messages in the
	// dead-letter sub-queue.
	DeadLetterReason      string
	DeadLetterDescription string
}

// Delivery is a message locked for one receiver. The receiver settles it with
// Complete, Abandon or DeadLetter before LockedUntil, or the lock expires and
// the message becomes visible again.
type Delivery struct {
	ReceivedMessage
	LockToken   uuid.UUID
	LockedUntil time.Time
}

const messageColumns = `queue_name, message_id, sequence_number, enqueued_at, delivery_count,
	content_type, application_properties, body, dead_letter_reason, dead_letter_description`

// Receive locks the oldest visible message of queueName for lockDuration and
// increments its delivery count. It returns nil, nil when no message is
// visible. A message whose lock expired after its last allowed delivery is
// dead-lettered with ReasonMaxDeliveryCountExceeded instead of delivered
// again, as the broker does for a receiver that crashed.
func (q *Queue) Receive(ctx context.Context, queueName string, lockDuration time.Duration) (*Delivery, error) {
	if lockDuration <= 0 {
		lockDuration = LockDurationDefault
	}
	maxDeliveryCount := q.MaxDeliveryCount(queueName)

	_, err := q.pool.Exec(ctx,
		`UPDATE localqueue.message
		 SET dead_lettered_at = now(), lock_token = NULL, locked_until = NULL,
		     dead_letter_reason = $2, dead_letter_description = $3
		 WHERE queue_name = $1 AND dead_lettered_at IS NULL
		   AND locked_until < now() AND delivery_count >= $4`,
		queueName, ReasonMaxDeliveryCountExceeded, MaxDeliveryCountDescription(maxDeliveryCount), maxDeliveryCount)
	if err != nil {
		return nil, fmt.Errorf("receive from queue %s: dead-letter expired messages: %w", queueName, err)
	}

	lockToken := uuid.New()
	row := q.pool.QueryRow(ctx,
		`UPDATE localqueue.message
		 SET delivery_count = delivery_count + 1, lock_token = $2,
		     locked_until = now() + make_interval(secs => $3)
		 WHERE sequence_number = (
			SELECT sequence_number FROM localqueue.message
			WHERE queue_name = $1 AND dead_lettered_at IS NULL
			  AND (locked_until IS NULL OR locked_until < now())
			ORDER BY sequence_number
			LIMIT 1
			FOR UPDATE SKIP LOCKED)
		 RETURNING `+messageColumns+`, locked_until`,
		queueName, lockToken, lockDuration.Seconds())

	delivery := &Delivery{LockToken: lockToken}
	err = scanMessage(row, &delivery.ReceivedMessage, &delivery.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("receive from queue %s: %w", queueName, err)
	}
	return delivery, nil
}

// WaitForMessage blocks until a message is sent to queueName, timeout passes
// or ctx ends, whichever comes first. It may return early without a message
// and may miss a notification sent just before it started, so callers poll
// Receive in a loop and use it only to shorten the pause between polls.
func (q *Queue) WaitForMessage(ctx context.Context, queueName string, timeout time.Duration) {
	q.notifier.wait(ctx, queueName, timeout)
}

// Complete removes a delivered message from the queue.
func (q *Queue) Complete(ctx context.Context, delivery *Delivery) error {
	tag, err := q.pool.Exec(ctx,
		`DELETE FROM localqueue.message
		 WHERE sequence_number = $1 AND lock_token = $2 AND locked_until >= now()`,
		delivery.SequenceNumber, delivery.LockToken)
	if err != nil {
		return fmt.Errorf("complete message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("complete message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, ErrLockLost)
	}
	return nil
}

// Abandon releases the lock so the message is visible again at once. The
// delivery count keeps its value, so the next receive counts one more.
func (q *Queue) Abandon(ctx context.Context, delivery *Delivery) error {
	tag, err := q.pool.Exec(ctx,
		`WITH released AS (
			UPDATE localqueue.message SET lock_token = NULL, locked_until = NULL
			WHERE sequence_number = $1 AND lock_token = $2 AND locked_until >= now()
			RETURNING queue_name)
		 SELECT pg_notify($3, queue_name) FROM released`,
		delivery.SequenceNumber, delivery.LockToken, notifyChannel)
	if err != nil {
		return fmt.Errorf("abandon message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("abandon message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, ErrLockLost)
	}
	return nil
}

// DeadLetter moves a delivered message to the queue's dead-letter sub-queue,
// where it is kept with reason and description until read or deleted.
func (q *Queue) DeadLetter(ctx context.Context, delivery *Delivery, reason, description string) error {
	tag, err := q.pool.Exec(ctx,
		`UPDATE localqueue.message
		 SET dead_lettered_at = now(), lock_token = NULL, locked_until = NULL,
		     dead_letter_reason = $3, dead_letter_description = $4
		 WHERE sequence_number = $1 AND lock_token = $2 AND locked_until >= now()`,
		delivery.SequenceNumber, delivery.LockToken, reason, description)
	if err != nil {
		return fmt.Errorf("dead-letter message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("dead-letter message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, ErrLockLost)
	}
	return nil
}

// RenewLock extends the lock of a delivery by lockDuration from now and
// updates delivery.LockedUntil.
func (q *Queue) RenewLock(ctx context.Context, delivery *Delivery, lockDuration time.Duration) error {
	if lockDuration <= 0 {
		lockDuration = LockDurationDefault
	}
	err := q.pool.QueryRow(ctx,
		`UPDATE localqueue.message SET locked_until = now() + make_interval(secs => $3)
		 WHERE sequence_number = $1 AND lock_token = $2 AND locked_until >= now()
		 RETURNING locked_until`,
		delivery.SequenceNumber, delivery.LockToken, lockDuration.Seconds()).Scan(&delivery.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("renew lock of message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, ErrLockLost)
	}
	if err != nil {
		return fmt.Errorf("renew lock of message %s on queue %s: %w", delivery.MessageID, delivery.QueueName, err)
	}
	return nil
}

// MaxDeliveryCountDescription returns the dead-letter description Service Bus
// gives a message it dead-letters after maxDeliveryCount deliveries.
func MaxDeliveryCountDescription(maxDeliveryCount int) string {
	return fmt.Sprintf("Message could not be consumed after %d delivery attempts.", maxDeliveryCount)
}

func scanMessage(row pgx.Row, message *ReceivedMessage, extra ...any) error {
	var propertiesJSON []byte
	destinations := []any{
		&message.QueueName, &message.MessageID, &message.SequenceNumber, &message.EnqueuedTime,
		&message.DeliveryCount, &message.ContentType, &propertiesJSON, &message.Body,
		&message.DeadLetterReason, &message.DeadLetterDescription,
	}
	if err := row.Scan(append(destinations, extra...)...); err != nil {
		return err
	}
	message.EnqueuedTime = message.EnqueuedTime.UTC()
	if err := json.Unmarshal(propertiesJSON, &message.ApplicationProperties); err != nil {
		return fmt.Errorf("decode application properties of message %s: %w", message.MessageID, err)
	}
	return nil
}
