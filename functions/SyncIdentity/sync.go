// Package syncidentity is the SyncIdentity function. Its timer runs every
// minute and applies the WorkOS events that arrived since the last run to
// the identity mirror, which denies deprovisioned users and revokes their
// sessions. A WorkOS webhook makes a run happen sooner.
package syncidentity

import (
	"context"
	"log/slog"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "SyncIdentity"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleTrigger(Name, func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		timer, err := customhandler.DecodeTimer(inv, "timer")
		if err != nil {
			return nil, err
		}

		result, err := p.Directory.Run(ctx)
		if err != nil {
			return nil, err
		}

		customhandler.Logger(ctx).Info("identity sync finished",
			slog.Bool("past_due", timer.IsPastDue), slog.Bool("locked", result.Locked),
			slog.Int("events_read", result.Read), slog.Int("events_applied", result.Applied),
			slog.String("cursor", result.Cursor), slog.Int("sessions_revoked", result.SessionsRevoked))
		return &customhandler.Result{}, nil
	})
}
