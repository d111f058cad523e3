// Command workos-standin serves a local stand-in for the WorkOS API on a
// loopback address, for development and tests. Point the platform's WorkOS
// API base URL at it; see package shared/workosstandin for what it serves.
//
//	go run ./cmd/workos-standin -addr 127.0.0.1:7072 -state .local/workos \
//		-redirect-uris http://localhost:7071/api/auth/callback \
//		-webhook-url http://127.0.0.1:7071/api/webhooks/workos -webhook-secret whsec_local
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bondingai/platform/shared/workosstandin"
)

// Local defaults, shared with scripts/dev-token.
const (
	addrDefault     = "127.0.0.1:7072"
	stateDefault    = ".local/workos"
	clientIDDefault = "client_local"
	apiKeyDefault   = "sk_test_local"
)

// shutdownTimeout bounds the wait for in-flight requests on exit.
const shutdownTimeout = 5 * time.Second

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("workos stand-in stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	addr := flag.String("addr", addrDefault, "loopback `host:port` to listen on")
	stateDir := flag.String("state", stateDefault, "`folder` of the state file (signing keys, organizations, users, memberships, sessions, directories, events, webhook endpoints); empty keeps state in memory")
	clientID := flag.String("client-id", clientIDDefault, "WorkOS `client ID` whose JWKS is served and whose issuer tokens carry")
	apiKey := flag.String("api-key", apiKeyDefault, "API `key` clients must send as Authorization: Bearer")
	redirectURIs := flag.String("redirect-uris", "", "comma-separated `URIs` the hosted login may redirect to, matched exactly; empty allows any http URI on a loopback host")
	webhookURL := flag.String("webhook-url", "", "loopback `URL` that receives every event as a signed webhook; empty sends none")
	webhookSecret := flag.String("webhook-secret", "", "`secret` that signs webhooks to -webhook-url (HMAC-SHA256); required with -webhook-url")
	tokenTTL := flag.Duration("access-token-ttl", workosstandin.AccessTokenTTLDefault, "lifetime of access tokens from the authenticate endpoint, such as 5m")
	flag.Parse()

	cfg, err := standinConfig(*redirectURIs, *webhookURL, *webhookSecret, *tokenTTL)
	if err != nil {
		return err
	}

	if err := requireLoopbackAddr(*addr); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	baseURL := "http://" + listener.Addr().String()

	cfg.ClientID = *clientID
	cfg.APIKey = *apiKey
	cfg.BaseURL = baseURL
	cfg.StateDir = *stateDir
	cfg.Logger = logger
	standin, err := workosstandin.New(cfg)
	if err != nil {
		listener.Close()
		return err
	}
	defer standin.Close()

	server := &http.Server{Handler: standin, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := server.Shutdown(shutdownCtx); err != nil {
			logger.Error("workos stand-in shutdown failed", "error", err)
		}
	}()

	logger.Info("workos stand-in started",
		"base_url", baseURL, "client_id", *clientID, "issuer", standin.IssuerURL(),
		"jwks_url", standin.JWKSURL(), "state_dir", *stateDir,
		"redirect_uris", cfg.RedirectURIs, "webhook_url", *webhookURL, "access_token_ttl", cfg.AccessTokenTTL.String())
	err = server.Serve(listener)
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", baseURL, err)
	}
	logger.Info("workos stand-in stopped")
	return nil
}

// standinConfig builds the login, token and webhook settings from the flag
// values. workosstandin.New checks them further.
func standinConfig(redirectURIs, webhookURL, webhookSecret string, tokenTTL time.Duration) (workosstandin.Config, error) {
	cfg := workosstandin.Config{AccessTokenTTL: tokenTTL}
	for _, uri := range strings.Split(redirectURIs, ",") {
		if uri = strings.TrimSpace(uri); uri != "" {
			cfg.RedirectURIs = append(cfg.RedirectURIs, uri)
		}
	}
	if tokenTTL <= 0 {
		return cfg, fmt.Errorf("invalid -access-token-ttl %s: want a positive duration, such as 5m", tokenTTL)
	}
	switch {
	case webhookURL == "" && webhookSecret != "":
		return cfg, errors.New("-webhook-secret is set without -webhook-url")
	case webhookURL != "" && webhookSecret == "":
		return cfg, errors.New("-webhook-url is set without -webhook-secret: set the secret the receiver verifies signatures with")
	case webhookURL != "":
		cfg.WebhookEndpoints = []workosstandin.WebhookEndpoint{{URL: webhookURL, Secret: webhookSecret}}
	}
	return cfg, nil
}

// requireLoopbackAddr rejects listen addresses reachable from other hosts,
// because the stand-in mints tokens for anyone with its development API key.
func requireLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid -addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("invalid -addr %q: the stand-in listens on loopback only, such as %s", addr, addrDefault)
}
