package analytics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
)

func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 20, 0, 0, time.UTC)
	cases := []struct {
		name, query      string
		from, to         string
		granularity      analytics.Granularity
		invalidParameter string
	}{
		{name: "defaults", query: "", from: "2026-11-04T00:00:00Z", to: "2026-12-05T00:00:00Z", granularity: "day"},
		{name: "dates include the to day", query: "from=2026-11-01&to=2026-11-30", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z", granularity: "day"},
		{name: "hours aligned", query: "from=2026-12-01T10:30:00Z&to=2026-12-01T12:10:00Z&granularity=hour", from: "2026-12-01T10:00:00Z", to: "2026-12-01T13:00:00Z", granularity: "hour"},
		{name: "offset converted to UTC", query: "from=2026-12-01T10:00:00%2B02:00&to=2026-12-01T12:00:00%2B02:00&granularity=hour", from: "2026-12-01T08:00:00Z", to: "2026-12-01T10:00:00Z", granularity: "hour"},
		{name: "weeks start on Monday", query: "from=2026-12-02&to=2026-12-09&granularity=week", from: "2026-11-30T00:00:00Z", to: "2026-12-14T00:00:00Z", granularity: "week"},
		{name: "unknown granularity", query: "granularity=month", invalidParameter: "granularity"},
		{name: "malformed from", query: "from=yesterday", invalidParameter: "from"},
		{name: "malformed to", query: "to=2026-13-01", invalidParameter: "to"},
		{name: "from after to", query: "from=2026-12-03&to=2026-12-01", invalidParameter: "from"},
		{name: "hour range too long", query: "from=2026-11-01&to=2026-11-30&granularity=hour", invalidParameter: "from"},
		{name: "day range too long", query: "from=2024-01-01&to=2026-01-01", invalidParameter: "from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			values, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := analytics.ParseQuery(values, now)
			if c.invalidParameter != "" {
				queryErr, ok := err.(*analytics.QueryError)
				if !ok || queryErr.Parameter != c.invalidParameter {
					t.Fatalf("error = %v, want a QueryError on %s", err, c.invalidParameter)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := q.From.Format(time.RFC3339); got != c.from {
				t.Errorf("From = %s, want %s", got, c.from)
			}
			if got := q.To.Format(time.RFC3339); got != c.to {
				t.Errorf("To = %s, want %s", got, c.to)
			}
			if q.Granularity != c.granularity {
				t.Errorf("Granularity = %s, want %s", q.Granularity, c.granularity)
			}
		})
	}
}

func TestLatencyQuantileInterpolates(t *testing.T) {
	// 10 answers under 100 ms and 10 from 100 to 200 ms: the median is the
	// boundary, p95 lies at 90% of the second bucket.
	buckets := map[string]int64{"100": 10, "200": 10}
	if p50 := analytics.LatencyQuantile(buckets, 0.5); p50 == nil || *p50 != 100 {
		t.Errorf("p50 = %v, want 100", p50)
	}
	if p95 := analytics.LatencyQuantile(buckets, 0.95); p95 == nil || *p95 != 190 {
		t.Errorf("p95 = %v, want 190", p95)
	}
	if slow := analytics.LatencyQuantile(map[string]int64{"+Inf": 3}, 0.5); slow == nil || *slow != 60000 {
		t.Errorf("p50 of answers over a minute = %v, want the 60000 ms lower bound", slow)
	}
	if empty := analytics.LatencyQuantile(nil, 0.5); empty != nil {
		t.Errorf("p50 of no answers = %v, want nil", *empty)
	}
}

// kpiServer serves the KPI handler behind the same permission check as
// the AnalyticsKPIs function; the caller's claims and organization come
// from the test's request headers in place of a token.
func kpiServer(t *testing.T, kpis *analytics.KPIs, now time.Time) *httptest.Server {
	t.Helper()
	handler := httpapi.RequirePermission(identity.PermissionAnalyticsRead)(kpis.Handler(func() time.Time { return now }))
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orgID, err := uuid.Parse(r.Header.Get("Test-Org"))
		if err != nil {
			t.Errorf("test request without Test-Org: %v", err)
			return
		}
		claims := &identity.Claims{UserID: "user_test", OrganizationID: "org_test"}
		if permissions := r.Header.Get("Test-Permissions"); permissions != "" {
			claims.Permissions = strings.Split(permissions, ",")
		}
		ctx := identity.ContextWithClaims(r.Context(), claims)
		ctx = httpapi.ContextWithPrincipal(ctx, &httpapi.Principal{OrgID: orgID, UserID: uuid.New(), Claims: claims})
		handler.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(server.Close)
	return server
}

func getKPIs(t *testing.T, server *httptest.Server, orgID uuid.UUID, permissions, query string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, server.URL+"/api/analytics/kpis?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Test-Org", orgID.String())
	req.Header.Set("Test-Permissions", permissions)
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestKPIHandlerValidationAndPermission(t *testing.T) {
	now := day.Add(30 * time.Hour)
	f := newFixture(t, now)
	f.kpis.Prices = map[string]config.ModelPrice{"gpt-4o": {PromptPer1K: 0.0025, CompletionPer1K: 0.01}}
	orgID := f.organization("org_contoso")
	f.record(
		analytics.Event{OrgID: orgID, UserID: uuid.New(), Type: analytics.EventMessageAnswered, OccurredAt: day.Add(9 * time.Hour),
			Model: "gpt-4o", PromptTokens: 2000, CompletionTokens: 1000, LatencyMS: 1200},
		analytics.Event{OrgID: orgID, UserID: uuid.New(), Type: analytics.EventMessageAnswered, OccurredAt: day.Add(10 * time.Hour),
			Model: "llama-local", PromptTokens: 500, CompletionTokens: 100, LatencyMS: 800},
	)
	f.scheduleAndRun()
	server := kpiServer(t, f.kpis, now)

	resp, body := getKPIs(t, server, orgID, "documents:read", "")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("without analytics:read: status %d, want 403: %s", resp.StatusCode, body)
	}

	for _, query := range []string{"granularity=minute", "from=tomorrow", "from=2026-11-10&to=2026-11-01", "from=2026-01-01&to=2026-12-01&granularity=hour"} {
		resp, body := getKPIs(t, server, orgID, identity.PermissionAnalyticsRead, query)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", query, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
			t.Errorf("%s: Content-Type %q, want application/problem+json", query, got)
		}
	}

	resp, body = getKPIs(t, server, orgID, identity.PermissionAnalyticsRead, "from=2026-11-10&to=2026-11-10&granularity=hour")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var report analytics.Report
	if err := json.Unmarshal(body, &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Series) != 24 || report.Series[9].Messages != 1 || report.Series[10].Messages != 1 {
		t.Errorf("hourly series has %d points, want 24 with one message at 09:00 and 10:00", len(report.Series))
	}
	if report.Totals.EstimatedCost != 0.015 {
		t.Errorf("estimated cost = %v, want 2000/1000*0.0025 + 1000/1000*0.01 = 0.015", report.Totals.EstimatedCost)
	}
	if usage := report.TokensByModel["llama-local"]; usage == nil || usage.Priced || usage.PromptTokens != 500 {
		t.Errorf("llama-local usage = %+v, want 500 unpriced prompt tokens", usage)
	}
	if *report.Totals.ActiveUsers != 2 {
		t.Errorf("active users = %d, want 2", *report.Totals.ActiveUsers)
	}

	// Another organization sees none of these numbers.
	other := f.organization("org_fabrikam")
	_, body = getKPIs(t, server, other, identity.PermissionAnalyticsRead, "from=2026-11-10&to=2026-11-10")
	if err := json.Unmarshal(body, &report); err != nil {
		t.Fatal(err)
	}
	if report.Totals.Messages != 0 || *report.Totals.ActiveUsers != 0 {
		t.Errorf("another organization sees %d messages and %d users", report.Totals.Messages, *report.Totals.ActiveUsers)
	}
}

func TestDashboardHandlerServesAssets(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /api/admin/dashboard", analytics.DashboardHandler())
	mux.Handle("GET /api/admin/dashboard/{asset}", analytics.DashboardHandler())
	server := httptest.NewServer(mux)
	defer server.Close()

	cases := []struct {
		path, contentType string
		status            int
	}{
		{"/api/admin/dashboard", "text/html; charset=utf-8", http.StatusOK},
		{"/api/admin/dashboard/dashboard.js", "text/javascript; charset=utf-8", http.StatusOK},
		{"/api/admin/dashboard/dashboard.css", "text/css; charset=utf-8", http.StatusOK},
		{"/api/admin/dashboard/index.html", "application/problem+json", http.StatusNotFound},
		{"/api/admin/dashboard/..%2fdashboard.go", "application/problem+json", http.StatusNotFound},
	}
	for _, c := range cases {
		resp, err := server.Client().Get(server.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.contentType {
			t.Errorf("%s: %d %s, want %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.contentType)
		}
		if c.status != http.StatusOK {
			continue
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q does not restrict requests to this origin", c.path, csp)
		}
		// The assets name no other origin, apart from the SVG namespace,
		// which is an identifier and never fetched.
		text := strings.ReplaceAll(string(body), "http://www.w3.org/2000/svg", "")
		if strings.Contains(text, "http://") || strings.Contains(text, "https://") || strings.Contains(text, "//cdn") {
			t.Errorf("%s refers to another origin", c.path)
		}
	}
}

func TestReportEmptyOrganization(t *testing.T) {
	f := newFixture(t, day)
	orgID := f.organization("org_empty")
	report, err := f.kpis.Report(context.Background(), orgID, analytics.Query{From: day, To: day.AddDate(0, 0, 7), Granularity: analytics.GranularityDay})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Series) != 7 || report.Totals.LatencyP50MS != nil || report.Totals.FeedbackScore != nil {
		t.Errorf("empty report: %d points, p50 %v, feedback %v; want 7 empty points", len(report.Series), report.Totals.LatencyP50MS, report.Totals.FeedbackScore)
	}
}
