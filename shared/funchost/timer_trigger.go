package funchost

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// pastDueTolerance is how late a timer may fire before its invocation
// reports IsPastDue.
const pastDueTolerance = time.Second

// timerTrigger fires one timerTrigger function on its schedule, in UTC.
// Invocations of one timer never overlap, as in the real host, and a
// failure waits for the next occurrence.
type timerTrigger struct {
	host     *Host
	function *Function
	schedule *Schedule
	logger   *slog.Logger
}

func (h *Host) newTimerTrigger(function *Function) (*timerTrigger, error) {
	schedule, err := ParseSchedule(function.Trigger.Schedule)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", function.Name, err)
	}
	return &timerTrigger{
		host:     h,
		function: function,
		schedule: schedule,
		logger:   h.logger.With("function", function.Name, "schedule", schedule.String()),
	}, nil
}

func (t *timerTrigger) run(ctx context.Context) error {
	now := time.Now().UTC()
	next := t.schedule.Next(now)
	t.logger.Info("timer scheduled", "next", next.Format(time.RFC3339))

	// The previous occurrence is unknown without the real host's schedule
	// monitor, so Last starts as the time the host started.
	last := now
	if t.function.Trigger.RunOnStartup {
		t.fire(ctx, timerStatus{Last: last, Next: next, LastUpdated: now})
	}

	for {
		wait := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C:
		}

		firedAt := time.Now().UTC()
		scheduled := next
		next = t.schedule.Next(firedAt)
		t.fire(ctx, timerStatus{
			Last:        last,
			Next:        next,
			LastUpdated: firedAt,
			IsPastDue:   firedAt.Sub(scheduled) > pastDueTolerance,
		})
		last = scheduled

		if time.Now().After(next) {
			// The invocation outlasted the next occurrence: skip to the
			// one after now, as the real host does.
			next = t.schedule.Next(time.Now())
		}
	}
}

func (t *timerTrigger) fire(ctx context.Context, status timerStatus) {
	t.host.invocations.Add(1)
	defer t.host.invocations.Done()
	payload := timerPayload(t.function, status, time.Now())
	// A failure is logged by invoke; timers have no retry.
	_, _ = t.host.invoke(context.WithoutCancel(ctx), t.function, payload, "is_past_due", status.IsPastDue)
}
