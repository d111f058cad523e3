package localqueue

import (
	"context"
	"fmt"
)

// PeekDeadLetters returns up to limit messages of the dead-letter sub-queue
// of queueName, oldest first, without removing them.
func (q *Queue) PeekDeadLetters(ctx context.Context, queueName string, limit int) ([]ReceivedMessage, error) {
	return q.peek(ctx, queueName, limit, true)
}

// PeekMessages returns up to limit active messages of queueName, oldest
// first, without locking them or changing their delivery count.
func (q *Queue) PeekMessages(ctx context.Context, queueName string, limit int) ([]ReceivedMessage, error) {
	return q.peek(ctx, queueName, limit, false)
}

func (q *Queue) peek(ctx context.Context, queueName string, limit int, deadLettered bool) ([]ReceivedMessage, error) {
	rows, err := q.pool.Query(ctx,
		`SELECT `+messageColumns+` FROM localqueue.message
		 WHERE queue_name = $1 AND (dead_lettered_at IS NOT NULL) = $2
		 ORDER BY sequence_number
		 LIMIT $3`,
		queueName, deadLettered, limit)
	if err != nil {
		return nil, fmt.Errorf("peek queue %s: %w", queueName, err)
	}
	defer rows.Close()

	var messages []ReceivedMessage
	for rows.Next() {
		var message ReceivedMessage
		if err := scanMessage(rows, &message); err != nil {
			return nil, fmt.Errorf("peek queue %s: %w", queueName, err)
		}
		messages = append(messages, message)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("peek queue %s: %w", queueName, err)
	}
	return messages, nil
}

// ActiveMessageCount returns the number of messages of queueName that are
// not dead-lettered, locked ones included, as Service Bus counts them.
func (q *Queue) ActiveMessageCount(ctx context.Context, queueName string) (int64, error) {
	return q.count(ctx, queueName, false)
}

// DeadLetterMessageCount returns the number of messages in the dead-letter
// sub-queue of queueName.
func (q *Queue) DeadLetterMessageCount(ctx context.Context, queueName string) (int64, error) {
	return q.count(ctx, queueName, true)
}

func (q *Queue) count(ctx context.Context, queueName string, deadLettered bool) (int64, error) {
	var count int64
	err := q.pool.QueryRow(ctx,
		`SELECT count(*) FROM localqueue.message
		 WHERE queue_name = $1 AND (dead_lettered_at IS NOT NULL) = $2`,
		queueName, deadLettered).Scan(&count)
	if err != nil {
		return 0, fmt.Errorf("count messages of queue %s: %w", queueName, err)
	}
	return count, nil
}
