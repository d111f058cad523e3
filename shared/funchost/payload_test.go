package funchost

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/queue/localqueue"
)

// encodeEnvelope marshals a request as it goes over the wire and decodes
// it back into raw JSON values, so tests compare the exact encoding.
func encodeEnvelope(t *testing.T, request invocationRequest) map[string]map[string]json.RawMessage {
	t.Helper()
	body, err := json.Marshal(request)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var envelope map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &envelope); err != nil {
		t.Fatalf("unmarshal %s: %v", body, err)
	}
	return envelope
}

func TestServiceBusPayloadEncoding(t *testing.T) {
	function := &Function{Name: "helloQueue", Trigger: Binding{Type: "serviceBusTrigger", Name: "queue"}}
	enqueued := time.Date(2023, 10, 12, 20, 13, 49, 640002000, time.UTC)
	message := &localqueue.ReceivedMessage{
		MessageID:             "4e773554-f6b7-4ea2-b07d-4c5fd5aba741",
		SequenceNumber:        1,
		EnqueuedTime:          enqueued,
		DeliveryCount:         1,
		ContentType:           "application/json",
		ApplicationProperties: map[string]any{"org_id": "o1"},
		Body:                  []byte(`{"message":"hello","number":2}`),
	}
	envelope := encodeEnvelope(t, serviceBusPayload(function, message, "4e773554-f6b7-4ea2-b07d-4c5fd5aba741", enqueued))

	// Expected values are the wire shapes of a real host payload: strings
	// serialized twice, numbers as strings, *Utc times without a zone.
	want := map[string]string{
		"MessageId":       `"\"4e773554-f6b7-4ea2-b07d-4c5fd5aba741\""`,
		"LockToken":       `"\"4e773554-f6b7-4ea2-b07d-4c5fd5aba741\""`,
		"ContentType":     `"\"application/json\""`,
		"DeliveryCount":   `"1"`,
		"SequenceNumber":  `"1"`,
		"EnqueuedTimeUtc": `"2023-10-12T20:13:49"`,
		"EnqueuedTime":    `"2023-10-12T20:13:49+00:00"`,
		"ExpiresAtUtc":    `"9999-12-31T23:59:59"`,
		"MessageActions":  `{}`,
		"message":         `"\"hello\""`,
		"number":          `"2"`,
	}
	metadata := envelope["Metadata"]
	for key, value := range want {
		if got := string(metadata[key]); got != value {
			t.Errorf("Metadata.%s = %s, want %s", key, got, value)
		}
	}
	if got := string(envelope["Data"]["queue"]); got != `"{\"message\":\"hello\",\"number\":2}"` {
		t.Errorf("Data.queue = %s, want the JSON body as one string", got)
	}
	if got := string(metadata["ApplicationProperties"]); got != `{"org_id":"o1"}` {
		t.Errorf("ApplicationProperties = %s", got)
	}

	var sys map[string]string
	if err := json.Unmarshal(metadata["sys"], &sys); err != nil {
		t.Fatalf("decode sys: %v", err)
	}
	if sys["MethodName"] != "helloQueue" {
		t.Errorf("sys.MethodName = %q", sys["MethodName"])
	}
	if sys["UtcNow"] != "2023-10-12T20:13:49.640002Z" {
		t.Errorf("sys.UtcNow = %q, want 2023-10-12T20:13:49.640002Z", sys["UtcNow"])
	}
	if len(sys["RandGuid"]) != 36 {
		t.Errorf("sys.RandGuid = %q", sys["RandGuid"])
	}
	var client map[string]any
	if err := json.Unmarshal(metadata["Client"], &client); err != nil {
		t.Fatalf("decode Client: %v", err)
	}
	for _, key := range []string{"FullyQualifiedNamespace", "IsClosed", "TransportType", "Identifier"} {
		if _, ok := client[key]; !ok {
			t.Errorf("Client.%s missing", key)
		}
	}
}

func TestServiceBusPayloadBodyKinds(t *testing.T) {
	cases := []struct {
		name     string
		dataType string
		body     string
		want     string
	}{
		{"text", "", "hello", `"\"hello\""`},
		{"JSON array", "", `[1,2]`, `"[1,2]"`},
		{"binary", "binary", "hello", `"aGVsbG8="`},
		{"broken JSON", "", `{"a":`, `"\"{\\\"a\\\":\""`},
	}
	for _, c := range cases {
		function := &Function{Name: "F", Trigger: Binding{Name: "msg", DataType: c.dataType}}
		message := &localqueue.ReceivedMessage{MessageID: "m", Body: []byte(c.body)}
		envelope := encodeEnvelope(t, serviceBusPayload(function, message, "lock", time.Now()))
		if got := string(envelope["Data"]["msg"]); got != c.want {
			t.Errorf("%s: Data.msg = %s, want %s", c.name, got, c.want)
		}
		if _, ok := envelope["Metadata"]["ContentType"]; ok {
			t.Errorf("%s: ContentType present for a message without one; the real host omits null values", c.name)
		}
	}
}

func TestBlobPayloadEncoding(t *testing.T) {
	function := &Function{Name: "Ingest", Trigger: Binding{Type: "blobTrigger", Name: "document"}}
	modified := time.Date(2024, 5, 1, 8, 30, 0, 0, time.UTC)
	blob := &blobInput{
		Container:    "documents",
		Name:         "o1/d1/a.txt",
		URL:          "http://127.0.0.1:10000/devstoreaccount1/documents/o1/d1/a.txt",
		Content:      []byte("hi"),
		ETag:         `"0x8DC"`,
		LastModified: modified,
		ContentType:  "text/plain",
		Metadata:     map[string]string{"source": "upload"},
	}
	parameters := map[string]string{"orgId": "o1", "documentId": "d1", "name": "a.txt"}
	envelope := encodeEnvelope(t, blobPayload(function, blob, parameters, modified))

	if got := string(envelope["Data"]["document"]); got != `"aGk="` {
		t.Errorf("Data.document = %s, want base64 of the content", got)
	}
	metadata := envelope["Metadata"]
	want := map[string]string{
		"orgId":      `"\"o1\""`,
		"documentId": `"\"d1\""`,
		"name":       `"\"a.txt\""`,
		"Uri":        `"\"http://127.0.0.1:10000/devstoreaccount1/documents/o1/d1/a.txt\""`,
		"Metadata":   `{"source":"upload"}`,
	}
	for key, value := range want {
		if got := string(metadata[key]); got != value {
			t.Errorf("Metadata.%s = %s, want %s", key, got, value)
		}
	}
	for key := range metadata {
		if strings.HasSuffix(strings.ToLower(key), "trigger") {
			t.Errorf("Metadata has %s; the real host drops keys ending in trigger", key)
		}
	}
	var properties map[string]any
	if err := json.Unmarshal(metadata["Properties"], &properties); err != nil {
		t.Fatalf("decode Properties: %v", err)
	}
	if properties["ContentLength"] != float64(2) || properties["ContentType"] != "text/plain" || properties["LastModified"] != "2024-05-01T08:30:00+00:00" {
		t.Errorf("Properties = %v", properties)
	}
}

func TestTimerPayloadEncoding(t *testing.T) {
	function := &Function{Name: "helloTimer", Trigger: Binding{Type: "timerTrigger", Name: "timer"}}
	at := time.Date(2023, 10, 12, 20, 13, 49, 640002000, time.UTC)
	envelope := encodeEnvelope(t, timerPayload(function, timerStatus{Last: at, Next: at, LastUpdated: at}, at))

	want := `{"IsPastDue":false,"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2023-10-12T20:13:49.640002Z","LastUpdated":"2023-10-12T20:13:49.640002Z","Next":"2023-10-12T20:13:49.640002Z"}}`
	if got := string(envelope["Data"]["timer"]); got != want {
		t.Errorf("Data.timer =\n%s\nwant\n%s", got, want)
	}
	if len(envelope["Metadata"]) != 1 || envelope["Metadata"]["sys"] == nil {
		t.Errorf("Metadata = %v, want only sys", envelope["Metadata"])
	}
}

func TestOutputMessages(t *testing.T) {
	cases := []struct {
		name     string
		value    string
		dataType string
		want     []string
	}{
		{"absent", ``, "", nil},
		{"null", `null`, "", nil},
		{"object", `{"a":1}`, "", []string{`{"a":1}`}},
		{"text", `"plain text"`, "", []string{"plain text"}},
		{"base64 text is decoded", `"aGVsbG8="`, "", []string{"hello"}},
		{"base64 kept for binary", `"aGVsbG8="`, "binary", []string{"aGVsbG8="}},
		{"array", `["one",{"b":2},3]`, "", []string{"one", `{"b":2}`, "3"}},
	}
	for _, c := range cases {
		messages, err := outputMessages(json.RawMessage(c.value), c.dataType)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(messages) != len(c.want) {
			t.Errorf("%s: %d messages, want %d", c.name, len(messages), len(c.want))
			continue
		}
		for i, message := range messages {
			if string(message.Body) != c.want[i] {
				t.Errorf("%s: message %d = %q, want %q", c.name, i, message.Body, c.want[i])
			}
			if message.ID == "" {
				t.Errorf("%s: message %d has no ID", c.name, i)
			}
		}
	}
	if _, err := outputMessages(json.RawMessage(`[1,`), ""); err == nil {
		t.Error("invalid array accepted")
	}
}
