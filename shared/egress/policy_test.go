package egress

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bondingai/platform/shared/customhandler"
)

type memoryAuditor struct {
	mu      sync.Mutex
	records []Record
}

func (m *memoryAuditor) Audit(r Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records = append(m.records, r)
}

func (m *memoryAuditor) all() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.records...)
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestPolicyAllowsAndAuditsListedHost(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("twelve bytes"))
	}))
	defer server.Close()
	auditor := &memoryAuditor{}
	policy, err := NewPolicy([]Destination{{Name: "workos", Host: hostOf(t, server.URL), Class: ClassIdentity, OutsideCustomerCloud: true}}, auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := policy.Client(nil, 0)

	ctx := customhandler.WithFunctionName(context.Background(), "SyncIdentity")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, server.URL+"/user_management/users/user_01HXYZABCDEFGHJKMNPQRSTVWX?secret=1", strings.NewReader("0123456789"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	records := auditor.all()
	if len(records) != 1 {
		t.Fatalf("got %d audit records, want 1", len(records))
	}
	r := records[0]
	if r.PathTemplate != "/user_management/users/{id}" {
		t.Errorf("PathTemplate = %q", r.PathTemplate)
	}
	if r.BytesSent != 10 || r.BytesReceived != 12 || r.Status != 200 {
		t.Errorf("sent %d received %d status %d, want 10, 12, 200", r.BytesSent, r.BytesReceived, r.Status)
	}
	if r.Function != "SyncIdentity" || r.Class != ClassIdentity || !r.OutsideCustomerCloud || r.Method != "POST" {
		t.Errorf("record = %+v", r)
	}
}

func TestPolicyRefusesUnlistedHostWithoutConnecting(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	defer listener.Close()

	var logs bytes.Buffer
	policy, err := NewPolicy([]Destination{{Name: "blob", Host: "contoso.blob.core.windows.net", Class: ClassBusiness}}, nil,
		slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	client := policy.Client(nil, 0)
	for range 2 {
		_, err := client.Post("http://"+listener.Addr().String()+"/v1/embeddings", "application/json", strings.NewReader("canary"))
		if !errors.Is(err, ErrDestinationNotAllowed) {
			t.Fatalf("err = %v, want ErrDestinationNotAllowed", err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the refused host accepted %d connections, want 0", n)
	}
	if got := policy.Refusals()[listener.Addr().String()]; got != 2 {
		t.Errorf("refusals = %d, want 2", got)
	}
	if !strings.Contains(logs.String(), listener.Addr().String()) {
		t.Errorf("log does not name the refused host: %s", logs.String())
	}
}

func TestPolicyRefusesRedirectToUnlistedHost(t *testing.T) {
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect target was contacted")
	}))
	defer outside.Close()
	listed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, outside.URL+"/collect", http.StatusFound)
	}))
	defer listed.Close()
	policy, err := NewPolicy([]Destination{{Name: "model", Host: hostOf(t, listed.URL), Class: ClassBusiness}}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = policy.Client(nil, 0).Get(listed.URL)
	if !errors.Is(err, ErrDestinationNotAllowed) {
		t.Errorf("err = %v, want ErrDestinationNotAllowed", err)
	}
}

func TestPolicyPortSpecificEntry(t *testing.T) {
	policy, err := NewPolicy([]Destination{{Name: "a", Host: "127.0.0.1:7072", Class: ClassIdentity}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rawURL, want := range map[string]bool{
		"http://127.0.0.1:7072/sso/jwks/c": true,
		"http://127.0.0.1:7073/sso/jwks/c": false,
		"http://127.0.0.1/":                false,
	} {
		u, _ := url.Parse(rawURL)
		if _, ok := policy.Lookup(u); ok != want {
			t.Errorf("Lookup(%s) = %v, want %v", rawURL, ok, want)
		}
	}
}

func TestNewPolicyRejectsInvalidDestinations(t *testing.T) {
	cases := [][]Destination{
		{{Name: "x", Host: "", Class: ClassBusiness}},
		{{Name: "x", Host: "h", Class: "secret"}},
		{{Name: "a", Host: "h", Class: ClassBusiness}, {Name: "b", Host: "h", Class: ClassIdentity}},
	}
	for _, c := range cases {
		if _, err := NewPolicy(c, nil, nil); err == nil {
			t.Errorf("NewPolicy(%+v) succeeded", c)
		}
	}
}

func TestPathTemplate(t *testing.T) {
	cases := []struct {
		path string
		keep int
		want string
	}{
		{"/user_management/organization_memberships/om_01HABCDEFGHJKMNPQRSTVWXYZ0", 0, "/user_management/organization_memberships/{id}"},
		{"/sso/jwks/client_01HABCDEFGHJKMNPQRSTVWXYZ0", 0, "/sso/jwks/{id}"},
		{"/events", 0, "/events"},
		{"/openai/deployments/gpt4o/chat/completions", 0, "/openai/deployments/gpt4o/chat/completions"},
		{"/devstoreaccount1/documents/0b9e2f1c-3c5e-4d9a-9e7f-3f1c2d4b5a6e/secret-plan.pdf", 2, "/devstoreaccount1/documents/{name}/{name}"},
		{"/items/12345", 0, "/items/{id}"},
	}
	for _, c := range cases {
		if got := PathTemplate(c.path, c.keep); got != c.want {
			t.Errorf("PathTemplate(%q, %d) = %q, want %q", c.path, c.keep, got, c.want)
		}
	}
}

func TestBatchAuditorFlushWritesEverything(t *testing.T) {
	var mu sync.Mutex
	var written []Record
	auditor := NewBatchAuditor(func(_ context.Context, batch []Record) error {
		mu.Lock()
		defer mu.Unlock()
		written = append(written, batch...)
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer auditor.Close()
	for i := range 1200 {
		auditor.Audit(Record{Host: "h", Status: i})
	}
	auditor.Flush()
	mu.Lock()
	n := len(written)
	mu.Unlock()
	if n+int(auditor.Dropped()) != 1200 || n == 0 {
		t.Errorf("written %d + dropped %d, want 1200 in all", n, auditor.Dropped())
	}
}

func TestBatchAuditorNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	auditor := NewBatchAuditor(func(context.Context, []Record) error {
		<-release
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range AuditBufferDefault + 2*auditBatchMax + 10 {
		auditor.Audit(Record{Host: "h"})
	}
	if auditor.Dropped() == 0 {
		t.Error("a full buffer dropped nothing; Audit must drop rather than block")
	}
	close(release)
	auditor.Close()
}
