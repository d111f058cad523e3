package customhandler

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeInvocation feeds arbitrary envelopes, as the Functions host
// would post them, through each trigger decoder. None may panic, and a
// decoded Service Bus message always has its MessageId.
func FuzzDecodeInvocation(f *testing.F) {
	seeds := []string{
		serviceBusEnvelope,
		`{"Data":{"message":"eyJqb2JfaWQiOiJiMiJ9"},"Metadata":{"MessageId":"\"m2\"","DeliveryCount":"1"}}`,
		`{"Data":{"message":"e30="},"Metadata":{"MessageId":"\"m\"","DeliveryCount":"three"}}`,
		`{"Data":{"blob":"JVBERi0xLjQK"},"Metadata":{"Uri":"\"http://127.0.0.1/documents/o/d/a.pdf\"","orgId":"\"o\"","documentId":"\"d\"","name":"\"a.pdf\"","Properties":{"ContentLength":9}}}`,
		`{"Data":{"blob":"AA=="},"Metadata":{"name":"\"a.pdf\""}}`,
		`{"Data":{"timer":{"ScheduleStatus":{"Last":"2024-01-01T00:00:00Z","Next":"2024-01-01T00:05:00Z"},"IsPastDue":true}}}`,
		`{"Data":{"timer":"{\"IsPastDue\":false}"}}`,
		`{"Data":{"timer":null},"Metadata":null}`,
		`{"Data":{"message":"\"\\\"\\\"\""},"Metadata":{"MessageId":1e999}}`,
		`{}`,
		`[]`,
		`null`,
	}
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, envelope []byte) {
		var inv Invocation
		if err := json.Unmarshal(envelope, &inv); err != nil {
			return
		}
		if msg, err := DecodeServiceBusMessage(&inv, "message"); err == nil && msg.MessageID == "" {
			t.Errorf("DecodeServiceBusMessage accepted a message without MessageId")
		}
		if blob, err := DecodeBlobTrigger(&inv, "blob", "orgId", "documentId", "name"); err == nil && blob.PathParams == nil {
			t.Errorf("DecodeBlobTrigger returned no path parameters")
		}
		_, _ = DecodeTimer(&inv, "timer")
	})
}
