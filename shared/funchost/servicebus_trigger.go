package funchost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bondingai/platform/shared/queue/localqueue"
)

// serviceBusListener drains one queue for one serviceBusTrigger function
// with peek-lock, as the Service Bus extension does with autoComplete: it
// completes a message after a successful invocation, abandons it after a
// failure and dead-letters it once its last allowed delivery failed.
type serviceBusListener struct {
	host      *Host
	function  *Function
	queue     *localqueue.Queue
	queueName string
	logger    *slog.Logger
	// slots limits concurrent invocations (maxConcurrentCalls).
	slots chan struct{}
}

func (h *Host) newServiceBusListener(ctx context.Context, function *Function) (*serviceBusListener, error) {
	q, err := h.localQueueFor(ctx, function.Trigger.Connection)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", function.Name, err)
	}
	return &serviceBusListener{
		host:      h,
		function:  function,
		queue:     q,
		queueName: function.Trigger.QueueName,
		logger:    h.logger.With("function", function.Name, "queue", function.Trigger.QueueName),
		slots:     make(chan struct{}, h.app.Host.MaxConcurrentCalls),
	}, nil
}

// run receives until ctx ends. Invocations already started finish on their
// own context, counted in host.invocations.
func (l *serviceBusListener) run(ctx context.Context) error {
	for {
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}

		delivery, err := l.queue.Receive(ctx, l.queueName, l.host.config.LockDuration)
		if err != nil {
			<-l.slots
			if ctx.Err() != nil {
				return nil
			}
			l.logger.Error("receive from local queue failed, retrying", "error", err, "retry_in", l.host.config.QueuePollInterval.String())
			pause(ctx, l.host.config.QueuePollInterval)
			continue
		}
		if delivery == nil {
			<-l.slots
			l.queue.WaitForMessage(ctx, l.queueName, l.host.config.QueuePollInterval)
			continue
		}

		l.host.invocations.Add(1)
		go func() {
			defer l.host.invocations.Done()
			defer func() { <-l.slots }()
			l.process(context.WithoutCancel(ctx), delivery)
		}()
	}
}

// process invokes the function for one delivery and settles the message.
func (l *serviceBusListener) process(ctx context.Context, delivery *localqueue.Delivery) {
	renewCtx, stopRenewing := context.WithCancel(ctx)
	defer stopRenewing()
	go l.renewLock(renewCtx, delivery)

	payload := serviceBusPayload(l.function, &delivery.ReceivedMessage, delivery.LockToken.String(), time.Now())
	invocationID, err := l.host.invoke(ctx, l.function, payload,
		"message_id", delivery.MessageID, "delivery_count", delivery.DeliveryCount)
	stopRenewing()

	logger := l.logger.With("invocation_id", invocationID, "message_id", delivery.MessageID,
		"delivery_count", delivery.DeliveryCount)
	if err == nil {
		if err := l.queue.Complete(ctx, delivery); err != nil {
			logger.Error("complete message failed", "error", err)
		}
		return
	}

	maxDeliveryCount := l.queue.MaxDeliveryCount(l.queueName)
	if delivery.DeliveryCount >= maxDeliveryCount {
		description := localqueue.MaxDeliveryCountDescription(maxDeliveryCount)
		if err := l.queue.DeadLetter(ctx, delivery, localqueue.ReasonMaxDeliveryCountExceeded, description); err != nil {
			logger.Error("dead-letter message failed", "error", err)
			return
		}
		logger.Warn("message dead-lettered", "reason", localqueue.ReasonMaxDeliveryCountExceeded, "max_delivery_count", maxDeliveryCount)
		return
	}
	if err := l.queue.Abandon(ctx, delivery); err != nil {
		logger.Error("abandon message failed", "error", err)
		return
	}
	logger.Info("message abandoned for retry", "max_delivery_count", maxDeliveryCount)
}

// renewLock keeps the message locked while the invocation runs, renewing
// at half the lock duration up to maxAutoLockRenewalDuration (a negative
// value renews without limit).
func (l *serviceBusListener) renewLock(ctx context.Context, delivery *localqueue.Delivery) {
	lockDuration := l.host.config.LockDuration
	limit := l.host.app.Host.MaxAutoLockRenewalDuration
	started := time.Now()
	ticker := time.NewTicker(lockDuration / 2)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if limit >= 0 && time.Since(started) >= limit {
			return
		}
		if err := l.queue.RenewLock(ctx, delivery, lockDuration); err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				l.logger.Warn("renew message lock failed", "message_id", delivery.MessageID, "error", err)
			}
			return
		}
	}
}

// pause waits for duration or until ctx ends.
func pause(ctx context.Context, duration time.Duration) {
	timer := time.NewTimer(duration)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
