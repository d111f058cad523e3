package boundarytest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bondingai/platform/shared/egress"
)

type countingAuditor struct {
	mu    sync.Mutex
	count int
}

func (c *countingAuditor) Audit(egress.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count++
}

func (c *countingAuditor) audited() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// outsideService stands for WorkOS behind a recording proxy, with a policy
// that allows the proxy, as the platform's configuration would.
func outsideService(t *testing.T) (*RecordingProxy, *egress.Policy, *countingAuditor) {
	t.Helper()
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(service.Close)
	proxy := NewRecordingProxy(t, strings.TrimPrefix(service.URL, "http://"))
	auditor := &countingAuditor{}
	policy, err := egress.NewPolicy([]egress.Destination{{Name: "workos", Host: proxy.Addr(), Class: egress.ClassIdentity, OutsideCustomerCloud: true}}, auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	return proxy, policy, auditor
}

func send(t *testing.T, client *http.Client, method, url, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestCheckPassesPolicyTrafficToIdentityEndpoints(t *testing.T) {
	proxy, policy, auditor := outsideService(t)
	client := policy.Client(nil, 0)
	send(t, client, http.MethodGet, "http://"+proxy.Addr()+"/sso/jwks/client_123", "")
	send(t, client, http.MethodPost, "http://"+proxy.Addr()+"/user_management/authenticate", `{"grant_type":"refresh_token"}`)

	if seen := proxy.Requests(); len(seen) != 2 {
		t.Fatalf("proxy saw %d requests, want 2", len(seen))
	}
	if v := Check(proxy.Requests(), proxy.Sent(), auditor.audited(), []string{"CANARY-7f3a"}); len(v) != 0 {
		t.Errorf("violations = %v, want none", v)
	}
}

// A client built without the egress policy is caught: the proxy sees its
// request on the wire but the audit does not.
func TestCheckCatchesClientWithoutPolicy(t *testing.T) {
	proxy, policy, auditor := outsideService(t)
	send(t, policy.Client(nil, 0), http.MethodGet, "http://"+proxy.Addr()+"/sso/jwks/client_123", "")
	send(t, &http.Client{}, http.MethodGet, "http://"+proxy.Addr()+"/sso/jwks/client_123", "")

	violations := Check(proxy.Requests(), proxy.Sent(), auditor.audited(), nil)
	if len(violations) != 1 || violations[0].Kind != "unaudited requests" {
		t.Errorf("violations = %v, want one for unaudited requests", violations)
	}
}

func TestCheckCatchesCanaryAndBusinessPath(t *testing.T) {
	proxy, policy, auditor := outsideService(t)
	send(t, policy.Client(nil, 0), http.MethodPost, "http://"+proxy.Addr()+"/v1/chat/completions", `{"content":"CANARY-7f3a quarterly plan"}`)

	violations := Check(proxy.Requests(), proxy.Sent(), auditor.audited(), []string{"CANARY-7f3a"})
	kinds := map[string]bool{}
	for _, v := range violations {
		kinds[v.Kind] = true
	}
	if !kinds["canary sent"] || !kinds["non-identity request"] {
		t.Errorf("violations = %v, want a canary and a non-identity request", violations)
	}
}
