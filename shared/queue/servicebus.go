package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/uuid"
)

// ServiceBusConnection is a Service Bus connection resolved from app
// settings, in the forms the Functions host accepts for a binding's
// "connection": a connection string in the setting itself, or an
// identity-based connection in <name>__fullyQualifiedNamespace.
type ServiceBusConnection struct {
	// ConnectionString is set for a connection-string connection.
	ConnectionString string
	// FullyQualifiedNamespace is set for an identity-based connection, for
	// example "contoso.servicebus.windows.net".
	FullyQualifiedNamespace string
	// ClientID is the user-assigned managed identity (<name>__clientId); empty
	// means the default credential chain.
	ClientID string
}

// ErrLocalQueueConnection is returned by ParseServiceBusConnection for a
// postgres:// URL, which selects the local stand-in (package localqueue).
var ErrLocalQueueConnection = errors.New("connection is a PostgreSQL URL for the local queue stand-in")

// ParseServiceBusConnection resolves the connection setting name with
// lookup, which returns an app setting by name.
func ParseServiceBusConnection(name string, lookup func(string) (string, bool)) (ServiceBusConnection, error) {
	if value, ok := lookup(name); ok && strings.TrimSpace(value) != "" {
		switch {
		case strings.HasPrefix(value, "postgres://") || strings.HasPrefix(value, "postgresql://"):
			return ServiceBusConnection{}, fmt.Errorf("parse Service Bus connection %s: %w", name, ErrLocalQueueConnection)
		case strings.Contains(strings.ToLower(value), "endpoint=sb://"):
			return ServiceBusConnection{ConnectionString: value}, nil
		default:
			return ServiceBusConnection{}, fmt.Errorf("parse Service Bus connection %s: invalid value: want a connection string starting with Endpoint=sb://", name)
		}
	}

	namespace, ok := lookup(name + "__fullyQualifiedNamespace")
	if !ok || strings.TrimSpace(namespace) == "" {
		return ServiceBusConnection{}, fmt.Errorf("parse Service Bus connection %s: missing setting %s or %s__fullyQualifiedNamespace", name, name, name)
	}
	if strings.Contains(namespace, "://") || !strings.Contains(namespace, ".") {
		return ServiceBusConnection{}, fmt.Errorf("parse Service Bus connection %s: invalid %s__fullyQualifiedNamespace %q: want a host name such as contoso.servicebus.windows.net", name, name, namespace)
	}
	clientID, _ := lookup(name + "__clientId")
	return ServiceBusConnection{FullyQualifiedNamespace: namespace, ClientID: clientID}, nil
}

// Credential returns the token credential of an identity-based connection:
// the user-assigned managed identity when ClientID is set, else the default
// Azure credential chain (managed identity in Azure, developer tools locally).
func (c ServiceBusConnection) Credential() (azcore.TokenCredential, error) {
	if c.ClientID != "" {
		credential, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ID: azidentity.ClientID(c.ClientID),
		})
		if err != nil {
			return nil, fmt.Errorf("create managed identity credential for client %s: %w", c.ClientID, err)
		}
		return credential, nil
	}
	credential, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("create default Azure credential: %w", err)
	}
	return credential, nil
}

// ServiceBusSender sends to Azure Service Bus queues. It keeps one AMQP
// sender per queue and sends each Send call in as few batches as fit.
// It is safe for concurrent use.
type ServiceBusSender struct {
	client *azservicebus.Client
	// newSender opens a sender for a queue; tests replace it.
	newSender func(queueName string) (batchSender, error)

	mu      sync.Mutex
	senders map[string]batchSender
	closed  bool
}

var _ Sender = (*ServiceBusSender)(nil)

// NewServiceBusSender connects to the namespace of connection. options may
// be nil.
func NewServiceBusSender(connection ServiceBusConnection, options *azservicebus.ClientOptions) (*ServiceBusSender, error) {
	var client *azservicebus.Client
	var err error
	switch {
	case connection.ConnectionString != "":
		client, err = azservicebus.NewClientFromConnectionString(connection.ConnectionString, options)
	case connection.FullyQualifiedNamespace != "":
		var credential azcore.TokenCredential
		credential, err = connection.Credential()
		if err == nil {
			client, err = azservicebus.NewClient(connection.FullyQualifiedNamespace, credential, options)
		}
	default:
		err = errors.New("missing connection string and namespace")
	}
	if err != nil {
		return nil, fmt.Errorf("create Service Bus client: %w", err)
	}

	sender := newServiceBusSender(func(queueName string) (batchSender, error) {
		azureSender, err := client.NewSender(queueName, nil)
		if err != nil {
			return nil, err
		}
		return azureBatchSender{sender: azureSender}, nil
	})
	sender.client = client
	return sender, nil
}

func newServiceBusSender(newSender func(string) (batchSender, error)) *ServiceBusSender {
	return &ServiceBusSender{newSender: newSender, senders: map[string]batchSender{}}
}

// Send sends messages to queueName. A message without an ID gets a random
// MessageID. Messages that do not fit one batch are split over several,
// sent in order; a failure leaves the batches before it sent.
func (s *ServiceBusSender) Send(ctx context.Context, queueName string, messages ...Message) error {
	if queueName == "" {
		return errors.New("send to Service Bus: missing queue name")
	}
	if len(messages) == 0 {
		return nil
	}
	sender, err := s.sender(queueName)
	if err != nil {
		return err
	}

	converted := make([]*azservicebus.Message, len(messages))
	for i, message := range messages {
		converted[i] = toServiceBusMessage(message)
	}
	if err := sendInBatches(ctx, sender, converted); err != nil {
		return fmt.Errorf("send to Service Bus queue %s: %w", queueName, err)
	}
	return nil
}

// sender returns the cached sender of queueName, opening it on first use.
func (s *ServiceBusSender) sender(queueName string) (batchSender, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("send to Service Bus queue %s: sender closed", queueName)
	}
	if sender, ok := s.senders[queueName]; ok {
		return sender, nil
	}
	sender, err := s.newSender(queueName)
	if err != nil {
		return nil, fmt.Errorf("open Service Bus sender for queue %s: %w", queueName, err)
	}
	s.senders[queueName] = sender
	return sender, nil
}

// Close closes every queue sender and the client.
func (s *ServiceBusSender) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true

	var problems []error
	for queueName, sender := range s.senders {
		if err := sender.Close(ctx); err != nil {
			problems = append(problems, fmt.Errorf("close Service Bus sender for queue %s: %w", queueName, err))
		}
		delete(s.senders, queueName)
	}
	if s.client != nil {
		if err := s.client.Close(ctx); err != nil {
			problems = append(problems, fmt.Errorf("close Service Bus client: %w", err))
		}
	}
	return errors.Join(problems...)
}

func toServiceBusMessage(message Message) *azservicebus.Message {
	id := message.ID
	if id == "" {
		id = uuid.NewString()
	}
	converted := &azservicebus.Message{
		MessageID:             &id,
		Body:                  message.Body,
		ApplicationProperties: message.ApplicationProperties,
	}
	if message.ContentType != "" {
		contentType := message.ContentType
		converted.ContentType = &contentType
	}
	return converted
}

// messageBatch is the part of *azservicebus.MessageBatch that batching
// uses. AddMessage returns azservicebus.ErrMessageTooLarge when full.
type messageBatch interface {
	AddMessage(message *azservicebus.Message, options *azservicebus.AddMessageOptions) error
	NumMessages() int32
}

// batchSender is the part of *azservicebus.Sender that batching uses. The
// SDK's batch type has no public constructor, so the seam covers batch
// creation too.
type batchSender interface {
	NewMessageBatch(ctx context.Context) (messageBatch, error)
	SendMessageBatch(ctx context.Context, batch messageBatch) error
	Close(ctx context.Context) error
}

// azureBatchSender adapts *azservicebus.Sender to batchSender.
type azureBatchSender struct {
	sender *azservicebus.Sender
}

func (a azureBatchSender) NewMessageBatch(ctx context.Context) (messageBatch, error) {
	return a.sender.NewMessageBatch(ctx, nil)
}

func (a azureBatchSender) SendMessageBatch(ctx context.Context, batch messageBatch) error {
	azureBatch, ok := batch.(*azservicebus.MessageBatch)
	if !ok {
		return fmt.Errorf("send batch: unexpected batch type %T", batch)
	}
	return a.sender.SendMessageBatch(ctx, azureBatch, nil)
}

func (a azureBatchSender) Close(ctx context.Context) error {
	return a.sender.Close(ctx)
}

// sendInBatches fills a batch until the next message does not fit, sends
// it and starts a new one. A message too large for an empty batch fails the
// call, because Service Bus would reject it on its own too.
func sendInBatches(ctx context.Context, sender batchSender, messages []*azservicebus.Message) error {
	batch, err := sender.NewMessageBatch(ctx)
	if err != nil {
		return fmt.Errorf("create message batch: %w", err)
	}

	for _, message := range messages {
		err := batch.AddMessage(message, nil)
		if errors.Is(err, azservicebus.ErrMessageTooLarge) && batch.NumMessages() > 0 {
			if err := sender.SendMessageBatch(ctx, batch); err != nil {
				return fmt.Errorf("send batch of %d messages: %w", batch.NumMessages(), err)
			}
			batch, err = sender.NewMessageBatch(ctx)
			if err != nil {
				return fmt.Errorf("create message batch: %w", err)
			}
			err = batch.AddMessage(message, nil)
		}
		if errors.Is(err, azservicebus.ErrMessageTooLarge) {
			return fmt.Errorf("message %s is larger than the max batch size: %w", messageID(message), err)
		}
		if err != nil {
			return fmt.Errorf("add message %s to batch: %w", messageID(message), err)
		}
	}

	if batch.NumMessages() > 0 {
		if err := sender.SendMessageBatch(ctx, batch); err != nil {
			return fmt.Errorf("send batch of %d messages: %w", batch.NumMessages(), err)
		}
	}
	return nil
}

func messageID(message *azservicebus.Message) string {
	if message.MessageID == nil {
		return ""
	}
	return *message.MessageID
}
