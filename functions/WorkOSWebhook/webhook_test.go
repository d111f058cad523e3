package workoswebhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store/storetest"
	"github.com/bondingai/platform/shared/webhook"
)

const testSecret = "whsec_test"

type webhookFixture struct {
	handler  *Handler
	requests int
	count    func() int
}

func newWebhookFixture(t *testing.T) *webhookFixture {
	t.Helper()
	s, _ := storetest.Open(t)
	f := &webhookFixture{}
	f.handler = &Handler{
		Verifier:    &webhook.Verifier{Secrets: []string{testSecret}},
		Events:      s,
		RequestSync: func() { f.requests++ },
	}
	f.count = func() int {
		n, err := s.UnsyncedWebhookEvents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return f
}

func (f *webhookFixture) post(t *testing.T, header string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/webhooks/workos", bytes.NewReader(body))
	if header != "" {
		req.Header.Set(webhook.SignatureHeader, header)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

var eventBody = []byte(`{"object":"event","id":"event_01","event":"dsync.user.updated","data":{"id":"directory_user_01","state":"inactive"},"created_at":"2026-01-01T00:00:00.000Z"}`)

func TestWebhookRecordsAndRequestsSync(t *testing.T) {
	f := newWebhookFixture(t)
	rec := f.post(t, webhook.Sign(testSecret, time.Now(), eventBody), eventBody)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out response
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Duplicate {
		t.Errorf("response %s, want duplicate false", rec.Body)
	}
	if f.requests != 1 {
		t.Errorf("sync requested %d times, want 1", f.requests)
	}
	if n := f.count(); n != 1 {
		t.Errorf("unsynced webhook events = %d, want 1", n)
	}
}

func TestWebhookReplayIsAcceptedOnce(t *testing.T) {
	f := newWebhookFixture(t)
	header := webhook.Sign(testSecret, time.Now(), eventBody)
	f.post(t, header, eventBody)

	// The same delivery again within the tolerance window, as a WorkOS
	// retry or a replaying attacker would send it.
	rec := f.post(t, header, eventBody)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out response
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || !out.Duplicate {
		t.Errorf("response %s, want duplicate true", rec.Body)
	}
	if f.requests != 1 {
		t.Errorf("sync requested %d times, want 1", f.requests)
	}
	if n := f.count(); n != 1 {
		t.Errorf("unsynced webhook events = %d, want 1", n)
	}
}

func TestWebhookRejects(t *testing.T) {
	now := time.Now()
	cases := map[string]struct {
		header string
		body   []byte
		want   int
	}{
		"missing signature":   {header: "", body: eventBody, want: http.StatusUnauthorized},
		"malformed header":    {header: "a,b", body: eventBody, want: http.StatusUnauthorized},
		"wrong secret":        {header: webhook.Sign("whsec_wrong", now, eventBody), body: eventBody, want: http.StatusUnauthorized},
		"stale timestamp":     {header: webhook.Sign(testSecret, now.Add(-10*time.Minute), eventBody), body: eventBody, want: http.StatusUnauthorized},
		"future timestamp":    {header: webhook.Sign(testSecret, now.Add(10*time.Minute), eventBody), body: eventBody, want: http.StatusUnauthorized},
		"tampered body":       {header: webhook.Sign(testSecret, now, eventBody), body: bytes.Replace(eventBody, []byte("inactive"), []byte("active"), 1), want: http.StatusUnauthorized},
		"signed non-event":    {header: webhook.Sign(testSecret, now, []byte(`{"hello":1}`)), body: []byte(`{"hello":1}`), want: http.StatusBadRequest},
		"signed invalid JSON": {header: webhook.Sign(testSecret, now, []byte(`{`)), body: []byte(`{`), want: http.StatusBadRequest},
		"body too large":      {header: "t=1, v1=00", body: []byte(`{"id":"` + strings.Repeat("a", maxBodyBytes) + `"}`), want: http.StatusRequestEntityTooLarge},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newWebhookFixture(t)
			rec := f.post(t, c.header, c.body)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type = %q, want %q", ct, problem.ContentType)
			}
			if f.requests != 0 {
				t.Errorf("sync requested %d times, want 0", f.requests)
			}
			if n := f.count(); n != 0 {
				t.Errorf("unsynced webhook events = %d, want 0", n)
			}
		})
	}
}
