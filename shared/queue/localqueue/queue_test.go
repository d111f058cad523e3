package localqueue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
)

func openQueue(t *testing.T, opts localqueue.Options) *localqueue.Queue {
	t.Helper()
	ctx := context.Background()
	q, err := localqueue.Open(ctx, localqueuetest.NewDatabase(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

func receiveOne(t *testing.T, q *localqueue.Queue, queueName string, lock time.Duration) *localqueue.Delivery {
	t.Helper()
	delivery, err := q.Receive(context.Background(), queueName, lock)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if delivery == nil {
		t.Fatalf("Receive returned no message, want one")
	}
	return delivery
}

func TestQueueSendReceiveComplete(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})

	err := q.Send(ctx, "ingest", queue.Message{
		ID:                    "m1",
		Body:                  []byte(`{"documentId":"d1"}`),
		ContentType:           "application/json",
		ApplicationProperties: map[string]any{"org_id": "o1", "attempt": float64(2)},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	delivery := receiveOne(t, q, "ingest", time.Minute)
	if delivery.MessageID != "m1" {
		t.Errorf("MessageID = %q, want m1", delivery.MessageID)
	}
	if string(delivery.Body) != `{"documentId":"d1"}` {
		t.Errorf("Body = %q", delivery.Body)
	}
	if delivery.ContentType != "application/json" {
		t.Errorf("ContentType = %q", delivery.ContentType)
	}
	if delivery.ApplicationProperties["org_id"] != "o1" || delivery.ApplicationProperties["attempt"] != float64(2) {
		t.Errorf("ApplicationProperties = %v", delivery.ApplicationProperties)
	}
	if delivery.DeliveryCount != 1 {
		t.Errorf("DeliveryCount = %d, want 1", delivery.DeliveryCount)
	}
	if delivery.SequenceNumber <= 0 {
		t.Errorf("SequenceNumber = %d, want positive", delivery.SequenceNumber)
	}
	if time.Since(delivery.EnqueuedTime) > time.Minute || delivery.EnqueuedTime.Location() != time.UTC {
		t.Errorf("EnqueuedTime = %v, want recent UTC", delivery.EnqueuedTime)
	}

	again, err := q.Receive(ctx, "ingest", time.Minute)
	if err != nil {
		t.Fatalf("second Receive: %v", err)
	}
	if again != nil {
		t.Fatalf("second Receive returned locked message %s", again.MessageID)
	}

	if err := q.Complete(ctx, delivery); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	count, err := q.ActiveMessageCount(ctx, "ingest")
	if err != nil {
		t.Fatalf("ActiveMessageCount: %v", err)
	}
	if count != 0 {
		t.Errorf("ActiveMessageCount = %d after Complete, want 0", count)
	}
	if err := q.Complete(ctx, delivery); !errors.Is(err, localqueue.ErrLockLost) {
		t.Errorf("second Complete error = %v, want ErrLockLost", err)
	}
}

func TestQueueReceiveEmpty(t *testing.T) {
	q := openQueue(t, localqueue.Options{})
	delivery, err := q.Receive(context.Background(), "empty", time.Minute)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if delivery != nil {
		t.Fatalf("Receive on empty queue returned %s", delivery.MessageID)
	}
}

func TestQueueOrderAndIsolation(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	if err := q.Send(ctx, "a", queue.Message{ID: "a1"}, queue.Message{ID: "a2"}); err != nil {
		t.Fatalf("Send a: %v", err)
	}
	if err := q.Send(ctx, "b", queue.Message{ID: "b1"}); err != nil {
		t.Fatalf("Send b: %v", err)
	}

	first := receiveOne(t, q, "a", time.Minute)
	second := receiveOne(t, q, "a", time.Minute)
	if first.MessageID != "a1" || second.MessageID != "a2" {
		t.Errorf("order = %s, %s; want a1, a2", first.MessageID, second.MessageID)
	}
	if third, _ := q.Receive(ctx, "a", time.Minute); third != nil {
		t.Errorf("queue a returned %s from another queue", third.MessageID)
	}
	other := receiveOne(t, q, "b", time.Minute)
	if other.MessageID != "b1" {
		t.Errorf("queue b returned %s", other.MessageID)
	}
}

func TestQueueDuplicateDetection(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	for range 2 {
		if err := q.Send(ctx, "ingest", queue.Message{ID: "same", Body: []byte("x")}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if err := q.Send(ctx, "other", queue.Message{ID: "same"}); err != nil {
		t.Fatalf("Send other: %v", err)
	}
	count, err := q.ActiveMessageCount(ctx, "ingest")
	if err != nil {
		t.Fatalf("ActiveMessageCount: %v", err)
	}
	if count != 1 {
		t.Errorf("ActiveMessageCount = %d after duplicate send, want 1", count)
	}
	otherCount, err := q.ActiveMessageCount(ctx, "other")
	if err != nil {
		t.Fatalf("ActiveMessageCount other: %v", err)
	}
	if otherCount != 1 {
		t.Errorf("same id on another queue: count = %d, want 1", otherCount)
	}
}

func TestQueueDuplicateDetectionWindowExpires(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{DuplicateDetectionWindow: 200 * time.Millisecond})
	if err := q.Send(ctx, "ingest", queue.Message{ID: "same"}); err != nil {
		t.Fatalf("Send: %v", err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := q.Send(ctx, "ingest", queue.Message{ID: "same"}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		count, err := q.ActiveMessageCount(ctx, "ingest")
		if err != nil {
			t.Fatalf("ActiveMessageCount: %v", err)
		}
		if count == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("resend after the window was still dropped: count = %d", count)
		}
		q.WaitForMessage(ctx, "never", 50*time.Millisecond)
	}
}

func TestQueueMessageWithoutIDGetsOne(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	if err := q.Send(ctx, "ingest", queue.Message{Body: []byte("a")}, queue.Message{Body: []byte("b")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	first := receiveOne(t, q, "ingest", time.Minute)
	second := receiveOne(t, q, "ingest", time.Minute)
	if first.MessageID == "" || first.MessageID == second.MessageID {
		t.Errorf("message ids = %q, %q; want two distinct ids", first.MessageID, second.MessageID)
	}
}

func TestQueueAbandonRedelivers(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	if err := q.Send(ctx, "ingest", queue.Message{ID: "m1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	first := receiveOne(t, q, "ingest", time.Minute)
	if err := q.Abandon(ctx, first); err != nil {
		t.Fatalf("Abandon: %v", err)
	}
	second := receiveOne(t, q, "ingest", time.Minute)
	if second.DeliveryCount != 2 {
		t.Errorf("DeliveryCount after abandon = %d, want 2", second.DeliveryCount)
	}
	if err := q.Complete(ctx, first); !errors.Is(err, localqueue.ErrLockLost) {
		t.Errorf("Complete with the old lock: error = %v, want ErrLockLost", err)
	}
	if err := q.Complete(ctx, second); err != nil {
		t.Errorf("Complete with the new lock: %v", err)
	}
}

func TestQueueExpiredLockRedelivers(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	if err := q.Send(ctx, "ingest", queue.Message{ID: "m1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	first := receiveOne(t, q, "ingest", 100*time.Millisecond)

	deadline := time.Now().Add(10 * time.Second)
	for {
		second, err := q.Receive(ctx, "ingest", time.Minute)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if second != nil {
			if second.DeliveryCount != 2 {
				t.Errorf("DeliveryCount after lock expiry = %d, want 2", second.DeliveryCount)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("message was not redelivered after its lock expired")
		}
		q.WaitForMessage(ctx, "ingest", 50*time.Millisecond)
	}
	if err := q.Complete(ctx, first); !errors.Is(err, localqueue.ErrLockLost) {
		t.Errorf("Complete after lock expiry: error = %v, want ErrLockLost", err)
	}
}

func TestQueueRenewLock(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	if err := q.Send(ctx, "ingest", queue.Message{ID: "m1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	delivery := receiveOne(t, q, "ingest", time.Second)
	before := delivery.LockedUntil
	if err := q.RenewLock(ctx, delivery, time.Hour); err != nil {
		t.Fatalf("RenewLock: %v", err)
	}
	if !delivery.LockedUntil.After(before.Add(30 * time.Minute)) {
		t.Errorf("LockedUntil = %v, want about an hour after %v", delivery.LockedUntil, before)
	}
}

func TestQueueDeadLetter(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	if err := q.Send(ctx, "ingest", queue.Message{ID: "m1", Body: []byte("payload")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	delivery := receiveOne(t, q, "ingest", time.Minute)
	if err := q.DeadLetter(ctx, delivery, "BadDocument", "unsupported format"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}

	if again, _ := q.Receive(ctx, "ingest", time.Minute); again != nil {
		t.Fatalf("dead-lettered message %s was delivered again", again.MessageID)
	}
	deadLetters, err := q.PeekDeadLetters(ctx, "ingest", 10)
	if err != nil {
		t.Fatalf("PeekDeadLetters: %v", err)
	}
	if len(deadLetters) != 1 {
		t.Fatalf("PeekDeadLetters returned %d messages, want 1", len(deadLetters))
	}
	if deadLetters[0].DeadLetterReason != "BadDocument" || deadLetters[0].DeadLetterDescription != "unsupported format" {
		t.Errorf("dead-letter reason = %q, description = %q", deadLetters[0].DeadLetterReason, deadLetters[0].DeadLetterDescription)
	}
	if string(deadLetters[0].Body) != "payload" {
		t.Errorf("dead-letter body = %q, want payload", deadLetters[0].Body)
	}
	count, err := q.DeadLetterMessageCount(ctx, "ingest")
	if err != nil {
		t.Fatalf("DeadLetterMessageCount: %v", err)
	}
	if count != 1 {
		t.Errorf("DeadLetterMessageCount = %d, want 1", count)
	}
	active, err := q.ActiveMessageCount(ctx, "ingest")
	if err != nil {
		t.Fatalf("ActiveMessageCount: %v", err)
	}
	if active != 0 {
		t.Errorf("ActiveMessageCount = %d, want 0", active)
	}
}

func TestQueueExpiredLockAfterMaxDeliveriesDeadLetters(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{QueueMaxDeliveryCount: map[string]int{"ingest": 1}})
	if q.MaxDeliveryCount("ingest") != 1 || q.MaxDeliveryCount("other") != localqueue.MaxDeliveryCountDefault {
		t.Fatalf("MaxDeliveryCount = %d, %d", q.MaxDeliveryCount("ingest"), q.MaxDeliveryCount("other"))
	}
	if err := q.Send(ctx, "ingest", queue.Message{ID: "m1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	receiveOne(t, q, "ingest", 50*time.Millisecond)

	deadline := time.Now().Add(10 * time.Second)
	for {
		if delivery, err := q.Receive(ctx, "ingest", time.Minute); err != nil || delivery != nil {
			t.Fatalf("Receive after the last delivery = %v, %v; want no message", delivery, err)
		}
		deadLetters, err := q.PeekDeadLetters(ctx, "ingest", 10)
		if err != nil {
			t.Fatalf("PeekDeadLetters: %v", err)
		}
		if len(deadLetters) == 1 {
			if deadLetters[0].DeadLetterReason != localqueue.ReasonMaxDeliveryCountExceeded {
				t.Errorf("reason = %q, want %q", deadLetters[0].DeadLetterReason, localqueue.ReasonMaxDeliveryCountExceeded)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("message was not dead-lettered after its last lock expired")
		}
		q.WaitForMessage(ctx, "ingest", 50*time.Millisecond)
	}
}

func TestQueueConcurrentReceiversGetDistinctMessages(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})
	const total = 40
	messages := make([]queue.Message, total)
	for i := range messages {
		messages[i] = queue.Message{Body: []byte{byte(i)}}
	}
	if err := q.Send(ctx, "ingest", messages...); err != nil {
		t.Fatalf("Send: %v", err)
	}

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				delivery, err := q.Receive(ctx, "ingest", time.Minute)
				if err != nil {
					t.Errorf("Receive: %v", err)
					return
				}
				if delivery == nil {
					return
				}
				mu.Lock()
				seen[delivery.SequenceNumber]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if len(seen) != total {
		t.Errorf("received %d distinct messages, want %d", len(seen), total)
	}
	for sequenceNumber, times := range seen {
		if times != 1 {
			t.Errorf("message %d received %d times", sequenceNumber, times)
		}
	}
}

func TestQueueWaitForMessageWakesOnSend(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, localqueue.Options{})

	woke := make(chan time.Duration, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		begin := time.Now()
		q.WaitForMessage(ctx, "ingest", 30*time.Second)
		woke <- time.Since(begin)
	}()
	<-started

	// The waiter may register after the first notification, so keep sending
	// until it wakes.
	deadline := time.After(20 * time.Second)
	for {
		if err := q.Send(ctx, "ingest", queue.Message{}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		select {
		case elapsed := <-woke:
			if elapsed >= 30*time.Second {
				t.Errorf("WaitForMessage returned on timeout, not on the notification")
			}
			return
		case <-deadline:
			t.Fatal("WaitForMessage did not wake after Send")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestOpenInvalidOptions(t *testing.T) {
	_, err := localqueue.Open(context.Background(), "postgres://127.0.0.1:1/x", localqueue.Options{MaxDeliveryCount: -1})
	if err == nil {
		t.Fatal("Open with MaxDeliveryCount -1 succeeded")
	}
}
