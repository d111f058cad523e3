package customhandler

import (
	"encoding/json"
	"fmt"
	"time"
)

// BlobTrigger is a decoded blobTrigger invocation.
type BlobTrigger struct {
	// Content is the whole blob; the host always sends it inline as base64.
	Content []byte
	// URI is the blob's URL.
	URI string
	// PathParams holds the values of the binding path's {placeholders}.
	// The host drops the "BlobTrigger" key itself, so the path is rebuilt
	// from these.
	PathParams map[string]string
	// Properties are the blob's system properties, when the host sends them.
	Properties BlobProperties
	// UserMetadata is the blob's user-defined metadata.
	UserMetadata map[string]string
}

// BlobProperties is the subset of the blob properties object the platform reads.
type BlobProperties struct {
	ContentType   string `json:"ContentType"`
	ContentLength int64  `json:"ContentLength"`
	ETag          string `json:"ETag"`
}

// DecodeBlobTrigger decodes the blob trigger bound to binding, reading the
// named path parameters from Metadata.
func DecodeBlobTrigger(inv *Invocation, binding string, pathParams ...string) (*BlobTrigger, error) {
	content, err := decodeBytes(inv.Data[binding])
	if err != nil {
		return nil, fmt.Errorf("invocation %s: decode blob content %q: %w", inv.ID, binding, err)
	}
	trigger := &BlobTrigger{Content: content, PathParams: make(map[string]string, len(pathParams))}
	if trigger.URI, err = inv.MetadataString("Uri"); err != nil {
		return nil, err
	}
	for _, name := range pathParams {
		value, err := inv.MetadataString(name)
		if err != nil {
			return nil, err
		}
		if value == "" {
			return nil, fmt.Errorf("invocation %s: blob path parameter %q is missing from Metadata", inv.ID, name)
		}
		trigger.PathParams[name] = value
	}
	if _, err := inv.DecodeMetadata("Properties", &trigger.Properties); err != nil {
		return nil, err
	}
	if _, err := inv.DecodeMetadata("Metadata", &trigger.UserMetadata); err != nil {
		return nil, err
	}
	return trigger, nil
}

// ServiceBusMessage is a decoded serviceBusTrigger invocation (Service Bus
// extension v5 metadata names).
type ServiceBusMessage struct {
	Body           []byte
	MessageID      string
	DeliveryCount  int
	SequenceNumber int64
	// EnqueuedTime is in UTC; the host sends EnqueuedTimeUtc without a zone.
	EnqueuedTime          time.Time
	ContentType           string
	CorrelationID         string
	Subject               string
	ApplicationProperties map[string]any
}

// DecodeServiceBusMessage decodes the Service Bus trigger bound to binding.
// The body may arrive as base64 (dataType "binary") or as JSON text; a JSON
// body is returned as its JSON bytes either way.
func DecodeServiceBusMessage(inv *Invocation, binding string) (*ServiceBusMessage, error) {
	body, err := decodeBytes(inv.Data[binding])
	if err != nil {
		return nil, fmt.Errorf("invocation %s: decode message body %q: %w", inv.ID, binding, err)
	}
	msg := &ServiceBusMessage{Body: body}
	scalars := []struct {
		key    string
		target any
	}{
		{"MessageId", &msg.MessageID},
		{"DeliveryCount", &msg.DeliveryCount},
		{"SequenceNumber", &msg.SequenceNumber},
		{"EnqueuedTimeUtc", &msg.EnqueuedTime},
		{"ContentType", &msg.ContentType},
		{"CorrelationId", &msg.CorrelationID},
		{"Subject", &msg.Subject},
		{"ApplicationProperties", &msg.ApplicationProperties},
	}
	for _, s := range scalars {
		if _, err := inv.DecodeMetadata(s.key, s.target); err != nil {
			return nil, err
		}
	}
	if msg.EnqueuedTime.IsZero() {
		if _, err := inv.DecodeMetadata("EnqueuedTime", &msg.EnqueuedTime); err != nil {
			return nil, err
		}
	}
	if msg.MessageID == "" {
		return nil, fmt.Errorf("invocation %s: Service Bus Metadata has no MessageId", inv.ID)
	}
	return msg, nil
}

// TimerInfo is a decoded timerTrigger invocation.
type TimerInfo struct {
	// IsPastDue is true when the host fires the timer late, for example
	// after a restart.
	IsPastDue bool
	Last      time.Time
	Next      time.Time
}

type timerPayload struct {
	ScheduleStatus *struct {
		Last        json.RawMessage `json:"Last"`
		Next        json.RawMessage `json:"Next"`
		LastUpdated json.RawMessage `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue bool `json:"IsPastDue"`
}

// DecodeTimer decodes the timer trigger bound to binding. A manual run
// through the admin endpoint may send no schedule status; the times are then
// zero.
func DecodeTimer(inv *Invocation, binding string) (*TimerInfo, error) {
	var payload timerPayload
	if raw, ok := inv.Data[binding]; ok && !isNull(raw) {
		if err := decodeValue(raw, &payload); err != nil {
			return nil, fmt.Errorf("invocation %s: decode timer %q: %w", inv.ID, binding, err)
		}
	}
	info := &TimerInfo{IsPastDue: payload.IsPastDue}
	if payload.ScheduleStatus != nil {
		for _, field := range []struct {
			raw    json.RawMessage
			target *time.Time
		}{{payload.ScheduleStatus.Last, &info.Last}, {payload.ScheduleStatus.Next, &info.Next}} {
			if len(field.raw) == 0 || isNull(field.raw) {
				continue
			}
			if err := decodeValue(field.raw, field.target); err != nil {
				return nil, fmt.Errorf("invocation %s: decode timer schedule status: %w", inv.ID, err)
			}
		}
	}
	return info, nil
}
