package localqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
)

// BenchmarkQueueRoundTrip measures one Send, Receive and Complete of a 1 KiB
// message, the path every embedding job takes in local runs.
func BenchmarkQueueRoundTrip(b *testing.B) {
	ctx := context.Background()
	q, err := localqueue.Open(ctx, localqueuetest.NewDatabase(b), localqueue.Options{})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer q.Close(ctx)
	body := make([]byte, 1024)

	b.ResetTimer()
	for b.Loop() {
		if err := q.Send(ctx, "bench", queue.Message{Body: body}); err != nil {
			b.Fatalf("Send: %v", err)
		}
		delivery, err := q.Receive(ctx, "bench", time.Minute)
		if err != nil || delivery == nil {
			b.Fatalf("Receive = %v, %v", delivery, err)
		}
		if err := q.Complete(ctx, delivery); err != nil {
			b.Fatalf("Complete: %v", err)
		}
	}
}
