package functions_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/bondingai/platform/shared/session"
)

// chromiumPath returns the browser binary: BONDINGAI_CHROMIUM, which
// scripts/lib/chromium.sh exports, or chromium on PATH. The test fails
// when neither exists, like every test whose real component is missing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("BONDINGAI_CHROMIUM"); path != "" {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("BONDINGAI_CHROMIUM=%s: %v", path, err)
		}
		return path
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run the tests with scripts/test, which installs it (ensure_chromium)")
	}
	return path
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// chromedp context for one tab. The browser starts here on a context
// without a deadline, because a deadline on the first run would stop the
// whole browser. The returned context bounds the test's steps.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	options := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(), options...)
	t.Cleanup(cancelAllocator)
	browser, cancelBrowser := chromedp.NewContext(allocator)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	steps, cancelSteps := context.WithTimeout(browser, 2*time.Minute)
	t.Cleanup(cancelSteps)
	return steps
}

func TestBrowserSignInShowsMe(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startAuthPlatform(t)
	contoso := a.createOrganization(t, "Contoso")
	a.createUser(t, "lin@contoso.example", contoso)
	ctx := newBrowser(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(a.baseURL+"/api/auth/login?return_to=/api/me"),
		// The stand-in's hosted login page.
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "lin@contoso.example"),
		chromedp.SetValue(chromedp.ID("organization"), contoso),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		// The callback redirects to return_to, /api/me, which Chromium
		// shows as text in a <pre>.
		chromedp.WaitReady(chromedp.CSS("pre")),
	)
	if err != nil {
		t.Fatalf("browser sign-in: %v", err)
	}
	pageText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("read /api/me page: %v", err)
	}
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, target *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, target, network.GetCookies, network.GetCookiesParams{URLs: []string{a.baseURL + "/api/me"}})
	})
	if err != nil {
		t.Fatalf("read browser cookies: %v", err)
	}

	var me meView
	if err := json.Unmarshal([]byte(strings.TrimSpace(pageText)), &me); err != nil {
		t.Fatalf("/api/me page is not JSON: %v: %.500q", err, pageText)
	}
	if me.User.Email != "lin@contoso.example" || me.Organization.WorkOSID != contoso || me.Organization.Name != "Contoso" {
		t.Errorf("/api/me in the browser = %+v", me)
	}

	// Chromium treats http://127.0.0.1 as potentially trustworthy, so it
	// keeps and sends the Secure session cookie there.
	var sessionCookie *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == session.SessionCookieName {
			sessionCookie = c
		}
	}
	if sessionCookie == nil {
		t.Fatalf("browser has no %s cookie for %s", session.SessionCookieName, a.baseURL)
	}
	if !sessionCookie.Secure || !sessionCookie.HTTPOnly || sessionCookie.SameSite != network.CookieSameSiteLax || sessionCookie.Path != "/" {
		t.Errorf("browser cookie = Secure %v, HttpOnly %v, SameSite %q, Path %q; want Secure, HttpOnly, Lax, /",
			sessionCookie.Secure, sessionCookie.HTTPOnly, sessionCookie.SameSite, sessionCookie.Path)
	}
}
