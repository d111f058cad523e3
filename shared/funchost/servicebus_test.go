package funchost_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/funchost"
	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
)

const embedFunction = `{"bindings":[
	{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"%EmbedQueue%","connection":"ServiceBusConnection"}]}`

const forwardFunction = `{"bindings":[
	{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"ingest","connection":"ServiceBusConnection"},
	{"type":"serviceBus","direction":"out","name":"out","queueName":"embed","connection":"ServiceBusConnection"},
	{"type":"blob","direction":"out","name":"ignored","path":"x/{rand-guid}","connection":"AzureWebJobsStorage"}]}`

func openTestQueue(t *testing.T, databaseURL string) *localqueue.Queue {
	t.Helper()
	q, err := localqueue.Open(context.Background(), databaseURL, localqueue.Options{})
	if err != nil {
		t.Fatalf("open local queue: %v", err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

func TestHostServiceBusRetryThenDeadLetter(t *testing.T) {
	databaseURL := localqueuetest.NewDatabase(t)
	appDir := writeApp(t, testApp{Functions: map[string]string{"Embed": embedFunction}})
	host := startHost(t, appDir, map[string]string{
		"ServiceBusConnection": databaseURL,
		"EmbedQueue":           "embed",
		"FAKE_HANDLER_FAIL":    "Embed",
	}, func(config *funchost.Config) {
		config.QueueOptions.MaxDeliveryCount = 3
	})
	q := openTestQueue(t, databaseURL)

	err := q.Send(context.Background(), "embed", queue.Message{
		ID:                    "job-1",
		Body:                  []byte(`{"documentId":"d1","chunks":3}`),
		ContentType:           "application/json",
		ApplicationProperties: map[string]any{"org_id": "o1"},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	var deadLetters []localqueue.ReceivedMessage
	waitFor(t, 30*time.Second, "message dead-lettered", func() bool {
		deadLetters, err = q.PeekDeadLetters(context.Background(), "embed", 10)
		if err != nil {
			t.Fatalf("PeekDeadLetters: %v", err)
		}
		return len(deadLetters) == 1
	})
	if deadLetters[0].DeadLetterReason != localqueue.ReasonMaxDeliveryCountExceeded {
		t.Errorf("dead-letter reason = %q, want %q", deadLetters[0].DeadLetterReason, localqueue.ReasonMaxDeliveryCountExceeded)
	}
	if string(deadLetters[0].Body) != `{"documentId":"d1","chunks":3}` {
		t.Errorf("dead-letter body = %q", deadLetters[0].Body)
	}

	invocations := requestsTo(readRecords(t, host.Record), "/Embed")
	if len(invocations) != 3 {
		t.Fatalf("handler invoked %d times, want 3 (MaxDeliveryCount)", len(invocations))
	}
	for i, invocation := range invocations {
		envelope := invocation.envelope(t)
		metadata := envelope["Metadata"]
		if got := decodeString(t, metadata["DeliveryCount"]); got != []string{"1", "2", "3"}[i] {
			t.Errorf("invocation %d: DeliveryCount = %q, want %d", i, got, i+1)
		}
		if got := decodeString(t, metadata["MessageId"]); got != `"job-1"` {
			t.Errorf("invocation %d: MessageId = %q, want the double-encoded \"job-1\"", i, got)
		}
	}

	first := invocations[0].envelope(t)
	if got := decodeString(t, first["Data"]["msg"]); got != `{"documentId":"d1","chunks":3}` {
		t.Errorf("Data.msg = %q, want the JSON body as a string", got)
	}
	metadata := first["Metadata"]
	if got := decodeString(t, metadata["ContentType"]); got != `"application/json"` {
		t.Errorf("ContentType = %q", got)
	}
	var properties map[string]any
	if err := json.Unmarshal(metadata["ApplicationProperties"], &properties); err != nil || properties["org_id"] != "o1" {
		t.Errorf("ApplicationProperties = %s (%v)", metadata["ApplicationProperties"], err)
	}
	enqueued := decodeString(t, metadata["EnqueuedTimeUtc"])
	if _, err := time.Parse("2006-01-02T15:04:05", enqueued); err != nil {
		t.Errorf("EnqueuedTimeUtc = %q, want a zone-less UTC time: %v", enqueued, err)
	}
	if _, err := time.Parse("2006-01-02T15:04:05-07:00", decodeString(t, metadata["EnqueuedTime"])); err != nil {
		t.Errorf("EnqueuedTime = %s: %v", metadata["EnqueuedTime"], err)
	}
	if got := decodeString(t, metadata["SequenceNumber"]); got == "" || got[0] == '"' {
		t.Errorf("SequenceNumber = %q, want digits", got)
	}
	if got := decodeString(t, metadata["documentId"]); got != `"d1"` {
		t.Errorf("promoted body property documentId = %q, want \"\\\"d1\\\"\"", got)
	}
	var sys struct {
		MethodName string
		UtcNow     string
		RandGuid   string
	}
	if err := json.Unmarshal(metadata["sys"], &sys); err != nil {
		t.Fatalf("decode sys: %v", err)
	}
	if sys.MethodName != "Embed" || uuid.Validate(sys.RandGuid) != nil {
		t.Errorf("sys = %+v", sys)
	}
	if _, err := time.Parse(time.RFC3339Nano, sys.UtcNow); err != nil {
		t.Errorf("sys.UtcNow = %q: %v", sys.UtcNow, err)
	}
	if invocations[0].Headers["X-Azure-Functions-Invocationid"] == nil {
		t.Error("invocation request without X-Azure-Functions-InvocationId")
	}

	active, err := q.ActiveMessageCount(context.Background(), "embed")
	if err != nil {
		t.Fatalf("ActiveMessageCount: %v", err)
	}
	if active != 0 {
		t.Errorf("ActiveMessageCount = %d after dead-lettering, want 0", active)
	}

	var deadLetterLogged bool
	for _, entry := range host.Logs.entries() {
		if entry["msg"] == "message dead-lettered" && entry["message_id"] == "job-1" && entry["function"] == "Embed" {
			deadLetterLogged = true
		}
	}
	if !deadLetterLogged {
		t.Error("dead-letter not logged with message_id and function")
	}
}

func TestHostServiceBusCompletesAndWritesOutputs(t *testing.T) {
	databaseURL := localqueuetest.NewDatabase(t)
	appDir := writeApp(t, testApp{Functions: map[string]string{"Forward": forwardFunction}})
	host := startHost(t, appDir, map[string]string{
		"ServiceBusConnection":         databaseURL,
		"FAKE_HANDLER_OUTPUTS_Forward": `{"out":["aGVsbG8=",{"documentId":"d1"},"plain text"]}`,
	}, nil)
	q := openTestQueue(t, databaseURL)

	if err := q.Send(context.Background(), "ingest", queue.Message{ID: "m1", Body: []byte("hello")}); err != nil {
		t.Fatalf("Send: %v", err)
	}

	var outputs []localqueue.ReceivedMessage
	waitFor(t, 30*time.Second, "output messages on queue embed", func() bool {
		var err error
		outputs, err = q.PeekMessages(context.Background(), "embed", 10)
		if err != nil {
			t.Fatalf("PeekMessages: %v", err)
		}
		return len(outputs) == 3
	})
	wantBodies := []string{"hello", `{"documentId":"d1"}`, "plain text"}
	for i, want := range wantBodies {
		if string(outputs[i].Body) != want {
			t.Errorf("output %d body = %q, want %q", i, outputs[i].Body, want)
		}
	}

	waitFor(t, 10*time.Second, "trigger message completed", func() bool {
		active, err := q.ActiveMessageCount(context.Background(), "ingest")
		if err != nil {
			t.Fatalf("ActiveMessageCount: %v", err)
		}
		return active == 0
	})

	invocations := requestsTo(readRecords(t, host.Record), "/Forward")
	if len(invocations) != 1 {
		t.Fatalf("handler invoked %d times, want 1", len(invocations))
	}
	if got := decodeString(t, invocations[0].envelope(t)["Data"]["msg"]); got != `"hello"` {
		t.Errorf("Data.msg for a text body = %q, want the double-encoded \"hello\"", got)
	}

	var handlerLog, ignoredWarning bool
	for _, entry := range host.Logs.entries() {
		if entry["msg"] == "handled Forward" {
			handlerLog = true
		}
		if entry["msg"] == "output binding type not supported by the local host, its values are ignored" && entry["binding"] == "ignored" {
			ignoredWarning = true
		}
	}
	if !handlerLog {
		t.Error("the handler's Logs entry was not logged")
	}
	if !ignoredWarning {
		t.Error("unsupported blob output binding was not warned about")
	}
}

func TestHostServiceBusConcurrencyLimit(t *testing.T) {
	cases := []struct {
		name               string
		maxConcurrentCalls int
		check              func(maxInFlight int) bool
		want               string
	}{
		{"one at a time", 1, func(maxInFlight int) bool { return maxInFlight == 1 }, "exactly 1"},
		{"up to three", 3, func(maxInFlight int) bool { return maxInFlight > 1 && maxInFlight <= 3 }, "2 or 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			databaseURL := localqueuetest.NewDatabase(t)
			appDir := writeApp(t, testApp{
				Functions:  map[string]string{"Embed": embedFunction},
				Extensions: fmt.Sprintf(`{"serviceBus":{"maxConcurrentCalls":%d}}`, c.maxConcurrentCalls),
			})
			host := startHost(t, appDir, map[string]string{
				"ServiceBusConnection":      databaseURL,
				"EmbedQueue":                "embed",
				"FAKE_HANDLER_INVOKE_DELAY": "150ms",
			}, nil)
			q := openTestQueue(t, databaseURL)

			messages := make([]queue.Message, 6)
			for i := range messages {
				messages[i] = queue.Message{Body: []byte("x")}
			}
			if err := q.Send(context.Background(), "embed", messages...); err != nil {
				t.Fatalf("Send: %v", err)
			}
			invocations := waitForRequests(t, host, "/Embed", 6, 30*time.Second)

			maxInFlight := 0
			for _, invocation := range invocations {
				maxInFlight = max(maxInFlight, invocation.InFlight)
			}
			if !c.check(maxInFlight) {
				t.Errorf("max concurrent invocations = %d, want %s", maxInFlight, c.want)
			}
		})
	}
}

func TestHostServiceBusRenewsLock(t *testing.T) {
	databaseURL := localqueuetest.NewDatabase(t)
	appDir := writeApp(t, testApp{Functions: map[string]string{"Embed": embedFunction}})
	host := startHost(t, appDir, map[string]string{
		"ServiceBusConnection":      databaseURL,
		"EmbedQueue":                "embed",
		"FAKE_HANDLER_INVOKE_DELAY": "1500ms",
	}, func(config *funchost.Config) {
		// Without renewal the lock would expire five times during one
		// invocation and the message would be delivered again.
		config.LockDuration = 300 * time.Millisecond
		config.QueuePollInterval = 50 * time.Millisecond
	})
	q := openTestQueue(t, databaseURL)

	if err := q.Send(context.Background(), "embed", queue.Message{ID: "long-job"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	waitFor(t, 30*time.Second, "long message completed", func() bool {
		active, err := q.ActiveMessageCount(context.Background(), "embed")
		if err != nil {
			t.Fatalf("ActiveMessageCount: %v", err)
		}
		return active == 0 && len(requestsTo(readRecords(t, host.Record), "/Embed")) > 0
	})
	if got := len(requestsTo(readRecords(t, host.Record), "/Embed")); got != 1 {
		t.Errorf("handler invoked %d times, want 1 (lock renewed while running)", got)
	}
}
