// Command handler is the Azure Functions custom handler: one binary that
// serves every function in functions/. The Functions host starts it with
// FUNCTIONS_CUSTOMHANDLER_PORT set and stops it with SIGTERM.
//
//	handler           serve the functions (what the host runs)
//	handler migrate   apply database migrations as DATABASE_MIGRATION_URL's role
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bondingai/platform/functions"
	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/store"
)

func main() {
	logger := customhandler.NewLogger(os.Stdout, slog.LevelInfo)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	var err error
	switch command := commandName(os.Args); command {
	case "serve":
		err = serve(ctx, logger)
	case "migrate":
		err = migrate(ctx, logger)
	default:
		err = fmt.Errorf("unknown command %q: use no command to serve, or \"migrate\"", command)
	}
	if err != nil {
		logger.Error("handler stopped with an error", slog.Any("error", err))
		os.Exit(1)
	}
}

func commandName(args []string) string {
	if len(args) < 2 {
		return "serve"
	}
	return args[1]
}

func serve(ctx context.Context, logger *slog.Logger) error {
	addr, err := customhandler.ListenAddress()
	if err != nil {
		return err
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	p, err := platform.New(ctx, cfg, logger)
	if err != nil {
		return fmt.Errorf("start platform: %w", err)
	}
	defer p.Close()

	app := customhandler.NewApp(logger)
	functions.Register(app, p)
	logger.Info("custom handler starting", slog.Any("functions", functions.Names()))
	return app.Serve(ctx, addr)
}

func migrate(ctx context.Context, logger *slog.Logger) error {
	url := os.Getenv("DATABASE_MIGRATION_URL")
	if url == "" {
		return errors.New("setting DATABASE_MIGRATION_URL: missing: set the URL of the role that owns the schema")
	}
	return store.Migrate(ctx, url, logger)
}
