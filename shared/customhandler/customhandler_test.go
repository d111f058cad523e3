package customhandler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Payloads below follow the host's encoding: strings serialised a second
// time by Json.NET, numbers as strings, *Utc times without a zone, byte[] as
// base64 (functions-custom-handlers reference; KarlGW/azfunc trigger tests).

const serviceBusEnvelope = `{
  "Data": {"message": "\"{\\\"job_id\\\":\\\"a1\\\"}\""},
  "Metadata": {
    "MessageId": "\"5a1c0c6e4d9b4a3f\"",
    "DeliveryCount": "3",
    "SequenceNumber": "42",
    "EnqueuedTimeUtc": "2023-10-12T20:13:49",
    "ContentType": "\"application/json\"",
    "ApplicationProperties": {"document_id": "d1"},
    "job_id": "\"a1\"",
    "sys": {"MethodName": "EmbedChunks", "UtcNow": "2023-10-12T20:13:50.1234567Z", "RandGuid": "f0e1"}
  }
}`

func decodeEnvelope(t *testing.T, body string) *Invocation {
	t.Helper()
	inv := &Invocation{ID: "inv-1"}
	if err := json.Unmarshal([]byte(body), inv); err != nil {
		t.Fatalf("unmarshal envelope: %v", err)
	}
	return inv
}

func TestDecodeServiceBusMessageDoubleEncoded(t *testing.T) {
	msg, err := DecodeServiceBusMessage(decodeEnvelope(t, serviceBusEnvelope), "message")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(msg.Body), `{"job_id":"a1"}`; got != want {
		t.Errorf("Body = %s, want %s", got, want)
	}
	if msg.MessageID != "5a1c0c6e4d9b4a3f" {
		t.Errorf("MessageID = %q", msg.MessageID)
	}
	if msg.DeliveryCount != 3 {
		t.Errorf("DeliveryCount = %d, want 3", msg.DeliveryCount)
	}
	if msg.SequenceNumber != 42 {
		t.Errorf("SequenceNumber = %d, want 42", msg.SequenceNumber)
	}
	if want := time.Date(2023, 10, 12, 20, 13, 49, 0, time.UTC); !msg.EnqueuedTime.Equal(want) {
		t.Errorf("EnqueuedTime = %v, want %v", msg.EnqueuedTime, want)
	}
	if msg.ContentType != "application/json" {
		t.Errorf("ContentType = %q", msg.ContentType)
	}
	if msg.ApplicationProperties["document_id"] != "d1" {
		t.Errorf("ApplicationProperties = %v", msg.ApplicationProperties)
	}
}

func TestDecodeServiceBusMessageBinaryBody(t *testing.T) {
	body := `{"Data":{"message":"eyJqb2JfaWQiOiJiMiJ9"},"Metadata":{"MessageId":"\"m2\"","DeliveryCount":"1"}}`
	msg, err := DecodeServiceBusMessage(decodeEnvelope(t, body), "message")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(msg.Body); got != `{"job_id":"b2"}` {
		t.Errorf("Body = %s", got)
	}
	if msg.DeliveryCount != 1 {
		t.Errorf("DeliveryCount = %d", msg.DeliveryCount)
	}
}

func TestDecodeServiceBusMessageMissingMessageID(t *testing.T) {
	body := `{"Data":{"message":"e30="},"Metadata":{"DeliveryCount":"1"}}`
	if _, err := DecodeServiceBusMessage(decodeEnvelope(t, body), "message"); err == nil {
		t.Fatal("expected an error for a message without MessageId")
	}
}

func TestDecodeServiceBusMessageInvalidDeliveryCount(t *testing.T) {
	body := `{"Data":{"message":"e30="},"Metadata":{"MessageId":"\"m\"","DeliveryCount":"three"}}`
	if _, err := DecodeServiceBusMessage(decodeEnvelope(t, body), "message"); err == nil {
		t.Fatal("expected an error for a non-numeric DeliveryCount")
	}
}

func TestDecodeBlobTrigger(t *testing.T) {
	body := `{
	  "Data": {"blob": "JVBERi0xLjQK"},
	  "Metadata": {
	    "Uri": "\"http://127.0.0.1:10000/devstoreaccount1/documents/o1/d1/handbook.pdf\"",
	    "orgId": "\"o1\"",
	    "documentId": "\"d1\"",
	    "name": "\"handbook.pdf\"",
	    "Properties": {"ContentType": "application/pdf", "ContentLength": 9, "ETag": "\"0x8DB\""},
	    "Metadata": {"uploaded_by": "u1"},
	    "sys": {"MethodName": "IngestDocument", "UtcNow": "2024-01-01T00:00:00Z", "RandGuid": "g"}
	  }
	}`
	blob, err := DecodeBlobTrigger(decodeEnvelope(t, body), "blob", "orgId", "documentId", "name")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(blob.Content); got != "%PDF-1.4\n" {
		t.Errorf("Content = %q", got)
	}
	if blob.PathParams["documentId"] != "d1" || blob.PathParams["name"] != "handbook.pdf" {
		t.Errorf("PathParams = %v", blob.PathParams)
	}
	if !strings.HasSuffix(blob.URI, "/documents/o1/d1/handbook.pdf") {
		t.Errorf("URI = %q", blob.URI)
	}
	if blob.Properties.ContentLength != 9 || blob.Properties.ContentType != "application/pdf" {
		t.Errorf("Properties = %+v", blob.Properties)
	}
	if blob.UserMetadata["uploaded_by"] != "u1" {
		t.Errorf("UserMetadata = %v", blob.UserMetadata)
	}
}

func TestDecodeBlobTriggerMissingPathParam(t *testing.T) {
	body := `{"Data":{"blob":"AA=="},"Metadata":{"name":"\"a.pdf\""}}`
	if _, err := DecodeBlobTrigger(decodeEnvelope(t, body), "blob", "documentId"); err == nil {
		t.Fatal("expected an error for a missing path parameter")
	}
}

func TestDecodeBlobTriggerInvalidBase64(t *testing.T) {
	body := `{"Data":{"blob":"not base64!"},"Metadata":{}}`
	if _, err := DecodeBlobTrigger(decodeEnvelope(t, body), "blob"); err == nil {
		t.Fatal("expected an error for content that is not base64")
	}
}

func TestDecodeTimer(t *testing.T) {
	body := `{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-03-01T10:00:00+00:00","Next":"2024-03-01T10:05:00.0000000","LastUpdated":"2024-03-01T10:00:00"},"IsPastDue":true}},"Metadata":{"sys":{}}}`
	info, err := DecodeTimer(decodeEnvelope(t, body), "timer")
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsPastDue {
		t.Error("IsPastDue = false, want true")
	}
	if want := time.Date(2024, 3, 1, 10, 5, 0, 0, time.UTC); !info.Next.Equal(want) {
		t.Errorf("Next = %v, want %v", info.Next, want)
	}
	if want := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC); !info.Last.Equal(want) {
		t.Errorf("Last = %v, want %v", info.Last, want)
	}
}

func TestDecodeTimerManualRun(t *testing.T) {
	info, err := DecodeTimer(decodeEnvelope(t, `{"Data":{},"Metadata":{}}`), "timer")
	if err != nil {
		t.Fatal(err)
	}
	if info.IsPastDue || !info.Next.IsZero() {
		t.Errorf("info = %+v, want zero", info)
	}
}

func TestParseHostTimeForms(t *testing.T) {
	want := time.Date(2023, 10, 12, 20, 13, 49, 0, time.UTC)
	for _, s := range []string{"2023-10-12T20:13:49", "2023-10-12T20:13:49Z", "2023-10-12T22:13:49+02:00", "2023-10-12T20:13:49.0000000"} {
		got, err := ParseHostTime(s)
		if err != nil {
			t.Errorf("ParseHostTime(%q): %v", s, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("ParseHostTime(%q) = %v, want %v", s, got, want)
		}
	}
	if _, err := ParseHostTime("yesterday"); err == nil {
		t.Error("ParseHostTime(yesterday) succeeded")
	}
}

func newTestApp(buf *bytes.Buffer) *App {
	return NewApp(NewLogger(buf, slog.LevelInfo))
}

func postEnvelope(t *testing.T, app *App, function, body string) (*http.Response, Result) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(body))
	req.Header.Set(InvocationIDHeader, "inv-7")
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, req)
	var result Result
	if err := json.Unmarshal(rec.Body.Bytes(), &result); err != nil {
		t.Fatalf("reply is not a JSON envelope: %v: %s", err, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (the host rejects others)", ct)
	}
	return rec.Result(), result
}

func TestAppTriggerSuccessReplyShape(t *testing.T) {
	var logs bytes.Buffer
	app := newTestApp(&logs)
	app.HandleTrigger("EmbedChunks", func(ctx context.Context, inv *Invocation) (*Result, error) {
		if inv.ID != "inv-7" || inv.FunctionName != "EmbedChunks" {
			t.Errorf("invocation = %+v", inv)
		}
		Logger(ctx).Info("working")
		return &Result{Outputs: map[string]any{"out": map[string]string{"k": "v"}}, Logs: []string{"done"}}, nil
	})
	resp, result := postEnvelope(t, app, "EmbedChunks", serviceBusEnvelope)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if len(result.Logs) != 1 || result.Logs[0] != "done" {
		t.Errorf("Logs = %v", result.Logs)
	}
	if _, ok := result.Outputs["out"]; !ok {
		t.Errorf("Outputs = %v", result.Outputs)
	}
	if !strings.Contains(logs.String(), `"invocation_id":"inv-7"`) || !strings.Contains(logs.String(), `"function":"EmbedChunks"`) {
		t.Errorf("log lines lack invocation_id and function: %s", logs.String())
	}
}

func TestAppTriggerErrorAsksForRetry(t *testing.T) {
	app := newTestApp(&bytes.Buffer{})
	app.HandleTrigger("Fn", func(context.Context, *Invocation) (*Result, error) {
		return nil, errors.New("database unavailable")
	})
	resp, result := postEnvelope(t, app, "Fn", `{"Data":{},"Metadata":{}}`)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
	if len(result.Logs) != 1 || !strings.Contains(result.Logs[0], "database unavailable") {
		t.Errorf("Logs = %v", result.Logs)
	}
}

func TestAppTriggerPanicBecomesFailure(t *testing.T) {
	app := newTestApp(&bytes.Buffer{})
	app.HandleTrigger("Fn", func(context.Context, *Invocation) (*Result, error) {
		panic("boom")
	})
	resp, _ := postEnvelope(t, app, "Fn", `{"Data":{},"Metadata":{}}`)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
}

func TestAppTriggerMalformedEnvelope(t *testing.T) {
	app := newTestApp(&bytes.Buffer{})
	called := false
	app.HandleTrigger("Fn", func(context.Context, *Invocation) (*Result, error) {
		called = true
		return nil, nil
	})
	resp, _ := postEnvelope(t, app, "Fn", `{"Data": [`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if called {
		t.Error("function ran on a malformed envelope")
	}
}

func TestAppReadinessProbe(t *testing.T) {
	app := newTestApp(&bytes.Buffer{})
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET / = %d, want 200", rec.Code)
	}
}

func TestAppHTTPFunctionLogsInvocation(t *testing.T) {
	var logs bytes.Buffer
	app := newTestApp(&logs)
	app.HandleHTTP("Documents", "GET /api/documents/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Logger(r.Context()).Info("read", slog.String("document_id", r.PathValue("id")))
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/api/documents/d9", nil)
	req.Header.Set(InvocationIDHeader, "inv-http")
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status = %d", rec.Code)
	}
	line := logs.String()
	for _, want := range []string{`"invocation_id":"inv-http"`, `"function":"Documents"`, `"document_id":"d9"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log %s lacks %s", line, want)
		}
	}
}

func TestServeWaitsForInFlightInvocation(t *testing.T) {
	app := newTestApp(&bytes.Buffer{})
	started := make(chan struct{})
	release := make(chan struct{})
	app.HandleTrigger("Slow", func(context.Context, *Invocation) (*Result, error) {
		close(started)
		<-release
		return &Result{Logs: []string{"finished"}}, nil
	})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.ServeListener(ctx, listener) }()

	replied := make(chan string, 1)
	go func() {
		resp, err := http.Post("http://"+listener.Addr().String()+"/Slow", "application/json", strings.NewReader(`{"Data":{},"Metadata":{}}`))
		if err != nil {
			replied <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		replied <- string(body)
	}()
	<-started
	cancel()
	close(release)

	if got := <-replied; !strings.Contains(got, "finished") {
		t.Errorf("in-flight reply = %q, want the finished result", got)
	}
	if err := <-served; err != nil {
		t.Errorf("ServeListener returned %v, want nil after a graceful shutdown", err)
	}
}

func TestListenAddressRequiresPort(t *testing.T) {
	t.Setenv(PortVariable, "")
	t.Setenv(legacyPortVariable, "")
	if _, err := ListenAddress(); err == nil {
		t.Error("ListenAddress succeeded without a port")
	}
	t.Setenv(PortVariable, "41234")
	addr, err := ListenAddress()
	if err != nil || addr != "127.0.0.1:41234" {
		t.Errorf("ListenAddress = %q, %v", addr, err)
	}
}
