// Package analyticsschedule is the AnalyticsSchedule function. Its timer
// runs every 5 minutes and enqueues one rollup job per organization and
// hour that still needs computing: hours that late events may change, and
// after downtime every hour missed since the organization's watermark.
package analyticsschedule

import (
	"context"
	"log/slog"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AnalyticsSchedule"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleTrigger(Name, func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		timer, err := customhandler.DecodeTimer(inv, "timer")
		if err != nil {
			return nil, err
		}

		// An error for one organization still lets the others be
		// scheduled; the run then fails so the error is visible.
		sent, err := p.Rollups.Schedule(ctx)
		customhandler.Logger(ctx).Info("analytics rollup jobs enqueued",
			slog.Bool("past_due", timer.IsPastDue), slog.Int("jobs", sent))
		if err != nil {
			return nil, err
		}
		return &customhandler.Result{}, nil
	})
}
