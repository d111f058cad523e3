package main

import (
	"slices"
	"testing"
	"time"
)

func TestRequireLoopbackAddrAcceptsLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:7072", "localhost:7072", "[::1]:7072", "127.0.0.2:0"} {
		if err := requireLoopbackAddr(addr); err != nil {
			t.Errorf("requireLoopbackAddr(%q) = %v, want nil", addr, err)
		}
	}
}

func TestRequireLoopbackAddrRejectsOthers(t *testing.T) {
	for _, addr := range []string{":7072", "0.0.0.0:7072", "[::]:7072", "192.0.2.10:7072", "example.com:7072", "7072"} {
		if err := requireLoopbackAddr(addr); err == nil {
			t.Errorf("requireLoopbackAddr(%q) = nil, want an error", addr)
		}
	}
}

func TestStandinConfigParsesFlags(t *testing.T) {
	cfg, err := standinConfig(" http://localhost:7071/api/auth/callback, http://127.0.0.1:3000/cb ,", "http://127.0.0.1:7071/api/webhooks/workos", "whsec_local", 2*time.Minute)
	if err != nil {
		t.Fatalf("standinConfig: %v", err)
	}
	want := []string{"http://localhost:7071/api/auth/callback", "http://127.0.0.1:3000/cb"}
	if !slices.Equal(cfg.RedirectURIs, want) {
		t.Errorf("redirect URIs = %v, want %v", cfg.RedirectURIs, want)
	}
	if len(cfg.WebhookEndpoints) != 1 || cfg.WebhookEndpoints[0].Secret != "whsec_local" {
		t.Errorf("webhook endpoints = %+v, want one with the secret", cfg.WebhookEndpoints)
	}
	if cfg.AccessTokenTTL != 2*time.Minute {
		t.Errorf("access token TTL = %s, want 2m", cfg.AccessTokenTTL)
	}

	empty, err := standinConfig("", "", "", 5*time.Minute)
	if err != nil || empty.RedirectURIs != nil || empty.WebhookEndpoints != nil {
		t.Errorf("empty flags = %+v, %v; want no redirect URIs or webhooks", empty, err)
	}
}

func TestStandinConfigRejectsInvalidFlags(t *testing.T) {
	cases := map[string]struct {
		url, secret string
		ttl         time.Duration
	}{
		"secret without URL": {"", "whsec", time.Minute},
		"URL without secret": {"http://127.0.0.1:7071/hooks", "", time.Minute},
		"zero TTL":           {"", "", 0},
	}
	for name, tc := range cases {
		if _, err := standinConfig("", tc.url, tc.secret, tc.ttl); err == nil {
			t.Errorf("%s: standinConfig = nil error, want one", name)
		}
	}
}
