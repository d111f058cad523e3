// Package queue sends jobs to Azure Service Bus queues. Production uses
// azservicebus; local runs use the durable stand-in in package localqueue,
// which the local Functions host drains the way the real host drains
// Service Bus.
package queue

import "context"

// Message is one queue message. ID doubles as the Service Bus MessageId, so
// a queue with duplicate detection drops a resend of the same job.
type Message struct {
	ID          string
	Body        []byte
	ContentType string
	// ApplicationProperties are sent as Service Bus application properties.
	ApplicationProperties map[string]any
}

// Sender sends messages to a named queue.
type Sender interface {
	Send(ctx context.Context, queueName string, messages ...Message) error
	Close(ctx context.Context) error
}
