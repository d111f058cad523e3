// Package embedchunks is the EmbedChunks function. Its Service Bus trigger
// receives one embedding job per message; it embeds the job's chunks and
// writes the vectors to PostgreSQL.
package embedchunks

import (
	"context"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/ingest"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "EmbedChunks"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleTrigger(Name, func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		msg, err := customhandler.DecodeServiceBusMessage(inv, "message")
		if err != nil {
			return nil, err
		}

		// An invalid body fails every delivery, so the message ends in the
		// dead-letter queue where an operator can inspect it; it is never
		// dropped.
		job, err := ingest.DecodeJob(msg.Body)
		if err != nil {
			return nil, err
		}

		if err := p.Ingest.EmbedJob(ctx, job, msg.DeliveryCount); err != nil {
			return nil, err
		}
		return &customhandler.Result{}, nil
	})
}
