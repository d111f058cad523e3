// Command funchost runs the function app locally the way the Azure Functions
// host runs it in Azure: it starts the custom handler binary, forwards HTTP
// requests to it and invokes it for blob, Service Bus and timer triggers.
// Service Bus queues are served by the PostgreSQL stand-in whose URL is the
// value of the Service Bus connection setting; blobs come from Azurite.
//
// Usage:
//
//	funchost -app . -settings local.settings.json [-handler PATH] [-addr 127.0.0.1:7071]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bondingai/platform/shared/funchost"
)

func main() {
	appDir := flag.String("app", ".", "folder with host.json and one folder per function")
	settingsFile := flag.String("settings", "local.settings.json", "local.settings.json file whose Values become app settings")
	handlerPath := flag.String("handler", "", "custom handler executable, overriding customHandler.description.defaultExecutablePath")
	addr := flag.String("addr", funchost.AddrDefault, "HTTP listen address")
	flag.Parse()

	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(*appDir, *settingsFile, *handlerPath, *addr, logger); err != nil {
		logger.Error("functions host failed", "error", err)
		os.Exit(1)
	}
}

func run(appDir, settingsFile, handlerPath, addr string, logger *slog.Logger) error {
	settings, err := funchost.LoadSettings(settingsFile, logger)
	if err != nil {
		return fmt.Errorf("load settings: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	return funchost.Run(ctx, funchost.Config{
		AppDir:      appDir,
		Settings:    settings,
		HandlerPath: handlerPath,
		Addr:        addr,
		Logger:      logger,
	})
}
