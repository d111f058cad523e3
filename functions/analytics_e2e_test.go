package functions_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bondingai/platform/shared/analytics"
)

// kpiTotals reads the KPI API with cookie and returns the period totals.
func (a *authPlatform) kpiTotals(t *testing.T, cookie *http.Cookie, query string) (int, analytics.Metrics) {
	t.Helper()
	resp, body := a.request(t, http.MethodGet, "/api/analytics/kpis?"+query, nil, []*http.Cookie{cookie}, nil)
	var report analytics.Report
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &report); err != nil {
			t.Fatalf("decode KPI report: %v: %s", err, body)
		}
	}
	return resp.StatusCode, report.Totals
}

// invoke runs a non-HTTP function through the local host's admin endpoint.
func (a *authPlatform) invoke(t *testing.T, function, input string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"input": input})
	if err != nil {
		t.Fatal(err)
	}
	resp, data := a.request(t, http.MethodPost, "/admin/functions/"+function, strings.NewReader(string(body)), nil,
		http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("invoke %s: status %d: %s", function, resp.StatusCode, data)
	}
}

func TestBrowserDashboardShowsKPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startAuthPlatform(t)
	contoso := a.createOrganization(t, "Contoso")
	a.createUser(t, "ada@contoso.example", contoso)
	a.createUser(t, "lin@contoso.example", contoso)

	// Lin signs in and starts two conversations: usage events the
	// dashboard must show.
	lin := a.signInThroughStandin(t, "lin@contoso.example", contoso, "/api/me")
	for range 2 {
		resp, body := a.request(t, http.MethodPost, "/api/conversations", strings.NewReader(`{}`), []*http.Cookie{lin},
			http.Header{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"same-origin"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create conversation: status %d: %s", resp.StatusCode, body)
		}
	}
	_, me := a.me(t, lin, nil)

	// The scheduler runs once through the host; then the current hour's
	// rollup job runs on demand until the recorder's flush has reached
	// PostgreSQL. Running it directly, not through the queue, keeps the
	// queue's duplicate detection from dropping the repeated job.
	a.invoke(t, "AnalyticsSchedule", "")
	hour := time.Now().UTC().Truncate(time.Hour)
	job, err := json.Marshal(map[string]string{"org_id": me.Organization.ID, "window_start": hour.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Minute, "the KPI API to count two conversations", func() bool {
		a.invoke(t, "AnalyticsRollup", string(job))
		status, totals := a.kpiTotals(t, lin, "granularity=day")
		if status != http.StatusOK {
			t.Fatalf("KPI API for an admin: status %d", status)
		}
		return totals.Conversations == 2 && totals.SignIns >= 1
	})

	// Ada opens the dashboard without a session: the page's script sends
	// her through the hosted login and back.
	ctx := newBrowser(t)
	err = chromedp.Do(ctx,
		chromedp.Navigate(a.baseURL+"/api/admin/dashboard"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@contoso.example"),
		chromedp.SetValue(chromedp.ID("organization"), contoso),
		chromedp.SetValue(chromedp.ID("role"), "admin"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-loaded="true"]`)),
	)
	if err != nil {
		t.Fatalf("dashboard in the browser: %v", err)
	}
	read := func(action chromedp.Action[string]) string {
		t.Helper()
		text, err := chromedp.Run(ctx, action)
		if err != nil {
			t.Fatalf("read the dashboard: %v", err)
		}
		return strings.TrimSpace(text)
	}
	conversationsTile := read(chromedp.Text(chromedp.CSS("#tile-conversations .value")))
	activeUsersTile := read(chromedp.Text(chromedp.CSS("#tile-active-users .value")))
	status := read(chromedp.Text(chromedp.ID("status")))
	conversationBars, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#chart-messages rect.datum[data-series="conversations"]')].map((bar) => bar.dataset.value)`))
	if err != nil {
		t.Fatalf("read the conversation bars: %v", err)
	}
	foreignRequests, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`performance.getEntriesByType("resource").map((entry) => entry.name).filter((name) => !name.startsWith(location.origin + "/"))`))
	if err != nil {
		t.Fatalf("read the dashboard's requests: %v", err)
	}

	if conversationsTile != "2" {
		t.Errorf("conversations tile = %q, want 2 (status %q)", conversationsTile, status)
	}
	if activeUsersTile == "0" || activeUsersTile == "" {
		t.Errorf("active users tile = %q, want at least 1", activeUsersTile)
	}
	total := 0
	for _, value := range conversationBars {
		if value == "2" {
			total += 2
		} else if value != "0" {
			t.Errorf("conversation bar value %q, want 0 or 2", value)
		}
	}
	if total != 2 {
		t.Errorf("conversation bars %v, want one bar of 2", conversationBars)
	}
	if len(foreignRequests) != 0 {
		t.Errorf("the dashboard requested other origins: %v", foreignRequests)
	}
}
