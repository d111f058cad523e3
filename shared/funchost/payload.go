package funchost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/queue/localqueue"
)

// The envelope exchanged with the handler for non-HTTP invocations. The
// encoding rules below follow Azure Functions host 4.x
// (ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue):
//   - a string becomes JsonConvert.SerializeObject(value), so "abc" arrives as
//     the JSON string "\"abc\"" and 5 as "5";
//   - byte[] becomes base64;
//   - objects and dictionaries stay JSON objects;
//   - DateTime and DateTimeOffset lose sub-second precision, and *Utc
//     DateTime fields carry no zone ("2023-10-12T20:13:49").
// Metadata carries every binding-data value except the trigger itself, plus
// "sys". Values that are null in the real host are left out.

// invocationRequest is the body of POST /<FunctionName>.
type invocationRequest struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

// invocationResult is the handler's reply to a non-HTTP invocation.
type invocationResult struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// serializedString encodes s as Json.NET's SerializeObject does, so the
// envelope carries a JSON string that itself contains a JSON string literal.
func serializedString(s string) string {
	encoded, _ := json.Marshal(s) // json.Marshal returns no error for a string
	return string(encoded)
}

// serializedNumber encodes n as SerializeObject does: its digits, sent as a
// JSON string.
func serializedNumber(n int64) string {
	return strconv.FormatInt(n, 10)
}

// utcDateTime formats a *Utc DateTime field: no zone, whole seconds.
func utcDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05")
}

// dateTimeOffset formats a DateTimeOffset field after the host's
// Parse(ToString()) round trip: whole seconds with the offset.
func dateTimeOffset(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05+00:00")
}

// jsonNetUTC formats a UTC DateTime as Json.NET does inside objects: up to
// seven fractional digits and a Z.
func jsonNetUTC(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

// sysMetadata is the "sys" entry every invocation carries.
func sysMetadata(functionName string, now time.Time) map[string]any {
	return map[string]any{
		"MethodName": functionName,
		"UtcNow":     jsonNetUTC(now),
		"RandGuid":   uuid.NewString(),
	}
}

// maxExpiresAt is DateTimeOffset.MaxValue after the host's round trip; it is
// ExpiresAt for messages sent without a time to live, as ours are.
var maxExpiresAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// serviceBusPayload builds the envelope of a serviceBusTrigger invocation.
// Metadata keys follow the Service Bus extension 5.x binding contract.
func serviceBusPayload(function *Function, message *localqueue.ReceivedMessage, lockToken string, now time.Time) invocationRequest {
	metadata := map[string]any{}

	// A JSON object body has its top-level properties promoted to binding
	// data, the way the real host lets a function bind to them.
	// NOTE: whether a body property or a system key wins when both have the
	// same name is unverified here; system keys win.
	var bodyObject map[string]json.RawMessage
	if json.Unmarshal(message.Body, &bodyObject) == nil {
		for name, value := range bodyObject {
			metadata[name] = bindingDataValue(value)
		}
	}

	applicationProperties := message.ApplicationProperties
	if applicationProperties == nil {
		applicationProperties = map[string]any{}
	}
	system := map[string]any{
		"MessageId":             serializedString(message.MessageID),
		"DeliveryCount":         serializedNumber(int64(message.DeliveryCount)),
		"SequenceNumber":        serializedNumber(message.SequenceNumber),
		"LockToken":             serializedString(lockToken),
		"EnqueuedTime":          dateTimeOffset(message.EnqueuedTime),
		"EnqueuedTimeUtc":       utcDateTime(message.EnqueuedTime),
		"ExpiresAt":             dateTimeOffset(maxExpiresAt),
		"ExpiresAtUtc":          utcDateTime(maxExpiresAt),
		"ApplicationProperties": applicationProperties,
		"UserProperties":        applicationProperties,
		"MessageReceiver":       map[string]any{},
		"MessageSession":        map[string]any{},
		"MessageActions":        map[string]any{},
		"SessionActions":        map[string]any{},
		"ReceiveActions":        map[string]any{},
		"Client": map[string]any{
			"FullyQualifiedNamespace": localNamespace,
			"IsClosed":                false,
			"TransportType":           0,
			"Identifier":              localNamespace + "-" + lockToken,
		},
		"sys": sysMetadata(function.Name, now),
	}
	if message.ContentType != "" {
		system["ContentType"] = serializedString(message.ContentType)
	}
	for name, value := range system {
		metadata[name] = value
	}

	return invocationRequest{
		Data:     map[string]any{function.Trigger.Name: serviceBusBody(message.Body, function.Trigger.DataType)},
		Metadata: metadata,
	}
}

// localNamespace is the Service Bus namespace name reported for the
// PostgreSQL stand-in.
const localNamespace = "localqueue"

// serviceBusBody encodes a message body for Data. With dataType "binary"
// it is base64. Otherwise the body is text: a JSON object or array arrives as
// a JSON string with the body's text, as recorded from the real host, and
// other text is serialized once more like any string.
// NOTE: the recorded payloads come from the KarlGW/azfunc test fixtures; a
// run against the real host should confirm the plain-text case.
func serviceBusBody(body []byte, dataType string) any {
	if dataType == "binary" {
		return base64.StdEncoding.EncodeToString(body)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid(trimmed) {
		return string(body)
	}
	return serializedString(string(body))
}

// bindingDataValue encodes one promoted JSON property: strings and scalars
// are serialized as text, objects stay objects.
func bindingDataValue(value json.RawMessage) any {
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return value
	}
	return string(trimmed)
}

// blobInput is a blob read for a blobTrigger invocation.
type blobInput struct {
	Container          string
	Name               string
	URL                string
	Content            []byte
	ETag               string
	LastModified       time.Time
	CreatedOn          time.Time
	ContentType        string
	ContentEncoding    string
	ContentLanguage    string
	ContentDisposition string
	CacheControl       string
	ContentMD5         []byte
	Metadata           map[string]string
}

// blobPayload builds the envelope of a blobTrigger invocation. The whole
// blob travels base64-encoded in Data, and the path parameters, Uri,
// Properties and Metadata in Metadata. The BlobTrigger path itself is left
// out because the host drops keys that end in "trigger".
func blobPayload(function *Function, blob *blobInput, parameters map[string]string, now time.Time) invocationRequest {
	metadata := map[string]any{}
	for name, value := range parameters {
		metadata[name] = serializedString(value)
	}

	userMetadata := blob.Metadata
	if userMetadata == nil {
		userMetadata = map[string]string{}
	}
	// NOTE: Properties mirrors the main fields of the .NET BlobProperties
	// class as Json.NET writes them; the full real shape has more fields.
	properties := map[string]any{
		"LastModified":       dateTimeOffset(blob.LastModified),
		"CreatedOn":          dateTimeOffset(blob.CreatedOn),
		"Metadata":           userMetadata,
		"BlobType":           0,
		"ContentLength":      len(blob.Content),
		"ContentType":        blob.ContentType,
		"ETag":               blob.ETag,
		"ContentHash":        base64.StdEncoding.EncodeToString(blob.ContentMD5),
		"ContentEncoding":    blob.ContentEncoding,
		"ContentDisposition": blob.ContentDisposition,
		"ContentLanguage":    blob.ContentLanguage,
		"CacheControl":       blob.CacheControl,
	}
	metadata["Uri"] = serializedString(blob.URL)
	metadata["Properties"] = properties
	metadata["Metadata"] = userMetadata
	metadata["sys"] = sysMetadata(function.Name, now)

	return invocationRequest{
		Data:     map[string]any{function.Trigger.Name: base64.StdEncoding.EncodeToString(blob.Content)},
		Metadata: metadata,
	}
}

// timerStatus is the ScheduleStatus of a timer invocation.
type timerStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
	IsPastDue   bool
}

// timerPayload builds the envelope of a timerTrigger invocation.
func timerPayload(function *Function, status timerStatus, now time.Time) invocationRequest {
	timer := map[string]any{
		"Schedule": map[string]any{"AdjustForDST": true},
		"ScheduleStatus": map[string]any{
			"Last":        jsonNetUTC(status.Last),
			"Next":        jsonNetUTC(status.Next),
			"LastUpdated": jsonNetUTC(status.LastUpdated),
		},
		"IsPastDue": status.IsPastDue,
	}
	return invocationRequest{
		Data:     map[string]any{function.Trigger.Name: timer},
		Metadata: map[string]any{"sys": sysMetadata(function.Name, now)},
	}
}
