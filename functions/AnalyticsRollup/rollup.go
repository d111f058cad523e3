// Package analyticsrollup is the AnalyticsRollup function. Its Service
// Bus trigger receives one rollup job per message, one organization's
// hour, and computes that hour's and day's rollups.
package analyticsrollup

import (
	"context"
	"log/slog"
	"time"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AnalyticsRollup"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleTrigger(Name, func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		msg, err := customhandler.DecodeServiceBusMessage(inv, "message")
		if err != nil {
			return nil, err
		}

		// An invalid body fails every delivery and ends in the dead-letter
		// queue, where an operator can inspect it.
		job, err := analytics.DecodeJob(msg.Body)
		if err != nil {
			return nil, err
		}
		ctx = customhandler.WithLogAttrs(ctx, slog.String("org_id", job.OrgID.String()))

		result, err := p.Rollups.Run(ctx, job)
		if err != nil {
			return nil, err
		}

		customhandler.Logger(ctx).Info("analytics rollup computed",
			slog.String("window_start", job.WindowStart.Format(time.RFC3339)), slog.Bool("skipped", result.Skipped),
			slog.Bool("final", result.Final), slog.String("watermark", result.Watermark.Format(time.RFC3339)),
			slog.Int64("deleted_events", result.DeletedEvents))
		return &customhandler.Result{}, nil
	})
}
