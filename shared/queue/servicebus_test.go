package queue

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// NOTE: these tests cover settings parsing, message conversion, batch
// splitting and sender caching through the batchSender seam. Sending over
// AMQP, batch size limits of a real namespace, authentication and duplicate
// detection can only be tested against a Service Bus namespace or the
// official Service Bus emulator, neither of which runs here.

// fakeBatch holds up to capacity messages; a message whose body is longer
// than tooLarge does not fit even an empty batch.
type fakeBatch struct {
	capacity int
	tooLarge int
	messages []*azservicebus.Message
}

func (b *fakeBatch) AddMessage(message *azservicebus.Message, _ *azservicebus.AddMessageOptions) error {
	if len(b.messages) >= b.capacity || (b.tooLarge > 0 && len(message.Body) > b.tooLarge) {
		return azservicebus.ErrMessageTooLarge
	}
	b.messages = append(b.messages, message)
	return nil
}

func (b *fakeBatch) NumMessages() int32 { return int32(len(b.messages)) }

type fakeSender struct {
	capacity int
	tooLarge int
	sendErr  error
	sent     [][]*azservicebus.Message
	closed   bool
}

func (s *fakeSender) NewMessageBatch(context.Context) (messageBatch, error) {
	return &fakeBatch{capacity: s.capacity, tooLarge: s.tooLarge}, nil
}

func (s *fakeSender) SendMessageBatch(_ context.Context, batch messageBatch) error {
	if s.sendErr != nil {
		return s.sendErr
	}
	s.sent = append(s.sent, batch.(*fakeBatch).messages)
	return nil
}

func (s *fakeSender) Close(context.Context) error {
	s.closed = true
	return nil
}

func settingsLookup(settings map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		value, ok := settings[name]
		return value, ok
	}
}

func TestParseServiceBusConnection(t *testing.T) {
	connectionString := "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc="
	cases := []struct {
		name     string
		settings map[string]string
		want     ServiceBusConnection
		wantErr  string
	}{
		{"connection string", map[string]string{"SB": connectionString}, ServiceBusConnection{ConnectionString: connectionString}, ""},
		{"namespace", map[string]string{"SB__fullyQualifiedNamespace": "contoso.servicebus.windows.net"}, ServiceBusConnection{FullyQualifiedNamespace: "contoso.servicebus.windows.net"}, ""},
		{"namespace with client id", map[string]string{"SB__fullyQualifiedNamespace": "contoso.servicebus.windows.net", "SB__clientId": "1234"}, ServiceBusConnection{FullyQualifiedNamespace: "contoso.servicebus.windows.net", ClientID: "1234"}, ""},
		{"postgres URL", map[string]string{"SB": "postgres://localhost/db"}, ServiceBusConnection{}, "PostgreSQL URL"},
		{"missing", map[string]string{}, ServiceBusConnection{}, "missing setting SB"},
		{"invalid value", map[string]string{"SB": "contoso"}, ServiceBusConnection{}, "invalid value"},
		{"namespace as URL", map[string]string{"SB__fullyQualifiedNamespace": "sb://contoso.servicebus.windows.net"}, ServiceBusConnection{}, "want a host name"},
	}
	for _, c := range cases {
		got, err := ParseServiceBusConnection("SB", settingsLookup(c.settings))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error = %v, want one containing %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: connection = %+v, want %+v", c.name, got, c.want)
		}
	}

	_, err := ParseServiceBusConnection("SB", settingsLookup(map[string]string{"SB": "postgresql://x/y"}))
	if !errors.Is(err, ErrLocalQueueConnection) {
		t.Errorf("postgresql URL error = %v, want ErrLocalQueueConnection", err)
	}
}

func TestNewServiceBusSenderWithoutConnection(t *testing.T) {
	if _, err := NewServiceBusSender(ServiceBusConnection{}, nil); err == nil {
		t.Error("NewServiceBusSender without connection succeeded")
	}
}

func TestNewServiceBusSenderFromConnectionString(t *testing.T) {
	// The client connects lazily, so creating and closing it sends nothing.
	sender, err := NewServiceBusSender(ServiceBusConnection{
		ConnectionString: "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=send;SharedAccessKey=abc=",
	}, nil)
	if err != nil {
		t.Fatalf("NewServiceBusSender: %v", err)
	}
	if err := sender.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := sender.Send(context.Background(), "embed", Message{}); err == nil {
		t.Error("Send after Close succeeded")
	}
}

func TestServiceBusSenderSplitsBatches(t *testing.T) {
	fake := &fakeSender{capacity: 2}
	sender := newServiceBusSender(func(string) (batchSender, error) { return fake, nil })

	messages := []Message{
		{ID: "m1", Body: []byte("1"), ContentType: "application/json", ApplicationProperties: map[string]any{"org_id": "o1"}},
		{ID: "m2"}, {ID: "m3"}, {ID: "m4"}, {},
	}
	if err := sender.Send(context.Background(), "embed", messages...); err != nil {
		t.Fatalf("Send: %v", err)
	}

	if len(fake.sent) != 3 {
		t.Fatalf("sent %d batches, want 3", len(fake.sent))
	}
	var ids []string
	for _, batch := range fake.sent {
		for _, message := range batch {
			ids = append(ids, *message.MessageID)
		}
	}
	if strings.Join(ids[:4], ",") != "m1,m2,m3,m4" {
		t.Errorf("message order = %v, want m1..m4 first", ids)
	}
	if len(ids) != 5 || len(ids[4]) != 36 {
		t.Errorf("message without ID got MessageID %q, want a UUID", ids[len(ids)-1])
	}
	first := fake.sent[0][0]
	if first.ContentType == nil || *first.ContentType != "application/json" {
		t.Errorf("ContentType = %v", first.ContentType)
	}
	if first.ApplicationProperties["org_id"] != "o1" {
		t.Errorf("ApplicationProperties = %v", first.ApplicationProperties)
	}
	if string(first.Body) != "1" {
		t.Errorf("Body = %q", first.Body)
	}
	if fake.sent[1][0].ContentType != nil {
		t.Errorf("ContentType set for a message without one: %q", *fake.sent[1][0].ContentType)
	}
}

func TestServiceBusSenderMessageTooLarge(t *testing.T) {
	fake := &fakeSender{capacity: 10, tooLarge: 4}
	sender := newServiceBusSender(func(string) (batchSender, error) { return fake, nil })

	err := sender.Send(context.Background(), "embed", Message{ID: "small", Body: []byte("ok")}, Message{ID: "big", Body: []byte("too large")})
	if !errors.Is(err, azservicebus.ErrMessageTooLarge) {
		t.Fatalf("error = %v, want ErrMessageTooLarge", err)
	}
	if !strings.Contains(err.Error(), "big") {
		t.Errorf("error %q does not name the message", err)
	}
	// The batch before the large message is already sent when it fails.
	if len(fake.sent) != 1 || len(fake.sent[0]) != 1 || *fake.sent[0][0].MessageID != "small" {
		t.Errorf("sent batches = %v, want one batch with message small", fake.sent)
	}
}

func TestServiceBusSenderSendError(t *testing.T) {
	fake := &fakeSender{capacity: 10, sendErr: errors.New("link detached")}
	sender := newServiceBusSender(func(string) (batchSender, error) { return fake, nil })
	err := sender.Send(context.Background(), "embed", Message{ID: "m1"})
	if err == nil || !strings.Contains(err.Error(), "link detached") || !strings.Contains(err.Error(), "embed") {
		t.Errorf("error = %v, want the send error with the queue name", err)
	}
}

func TestServiceBusSenderCachesPerQueue(t *testing.T) {
	opened := map[string]int{}
	fakes := map[string]*fakeSender{}
	sender := newServiceBusSender(func(queueName string) (batchSender, error) {
		opened[queueName]++
		fakes[queueName] = &fakeSender{capacity: 10}
		return fakes[queueName], nil
	})

	ctx := context.Background()
	for _, queueName := range []string{"embed", "embed", "ingest", "embed"} {
		if err := sender.Send(ctx, queueName, Message{Body: []byte(queueName)}); err != nil {
			t.Fatalf("Send to %s: %v", queueName, err)
		}
	}
	if opened["embed"] != 1 || opened["ingest"] != 1 {
		t.Errorf("senders opened = %v, want one per queue", opened)
	}
	if len(fakes["embed"].sent) != 3 {
		t.Errorf("embed batches = %d, want 3", len(fakes["embed"].sent))
	}

	if err := sender.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for queueName, fake := range fakes {
		if !fake.closed {
			t.Errorf("sender of %s not closed", queueName)
		}
	}
	if err := sender.Send(ctx, "embed"); err != nil {
		t.Errorf("Send of no messages after Close = %v, want nil", err)
	}
	if err := sender.Send(ctx, "embed", Message{}); err == nil {
		t.Error("Send after Close succeeded")
	}
	if err := sender.Send(ctx, "", Message{}); err == nil {
		t.Error("Send without queue name succeeded")
	}
}
