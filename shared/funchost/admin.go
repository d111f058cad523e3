package funchost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/queue/localqueue"
)

// maxAdminRequestBody bounds the {"input": ...} body of an admin invoke.
const maxAdminRequestBody = 1 << 20

// serveAdminInvoke runs a non-HTTP function on demand, as
// POST /admin/functions/<Name> with {"input":"..."} does in Core Tools. It
// responds 202 at once and invokes in the background:
//   - blob trigger: input is "container/blob/path", read from the trigger's
//     storage account, without receipts or retries;
//   - Service Bus trigger: input is the message body, with fresh message
//     metadata and no queue involved;
//   - timer trigger: input is ignored.
func (h *Host) serveAdminInvoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	function := h.functionByName(name)
	if function == nil {
		http.Error(w, fmt.Sprintf("function %s not found", name), http.StatusNotFound)
		return
	}

	var body struct {
		Input string `json:"input"`
	}
	content, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminRequestBody))
	if err != nil {
		http.Error(w, fmt.Sprintf("read request body: %v", err), http.StatusBadRequest)
		return
	}
	if len(strings.TrimSpace(string(content))) > 0 {
		if err := json.Unmarshal(content, &body); err != nil {
			http.Error(w, fmt.Sprintf(`invalid request body: want {"input":"..."}: %v`, err), http.StatusBadRequest)
			return
		}
	}

	var invoke func(ctx context.Context) error
	switch function.triggerType() {
	case bindingBlobTrigger:
		trigger, err := h.newBlobTrigger(function)
		if err == nil {
			err = trigger.connect(r.Context())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		container, blobName, ok := strings.Cut(strings.TrimPrefix(body.Input, "/"), "/")
		if !ok || container == "" || blobName == "" {
			http.Error(w, fmt.Sprintf("invalid input %q: want container/blob/path", body.Input), http.StatusBadRequest)
			return
		}
		invoke = func(ctx context.Context) error { return trigger.invokeOnDemand(ctx, container, blobName) }
	case bindingServiceBusTrigger:
		message := &localqueue.ReceivedMessage{
			QueueName:             function.Trigger.QueueName,
			MessageID:             uuid.NewString(),
			EnqueuedTime:          time.Now().UTC(),
			DeliveryCount:         1,
			ApplicationProperties: map[string]any{},
			Body:                  []byte(body.Input),
		}
		invoke = func(ctx context.Context) error {
			_, err := h.invoke(ctx, function, serviceBusPayload(function, message, uuid.NewString(), time.Now()), "admin", true)
			return err
		}
	case bindingTimerTrigger:
		invoke = func(ctx context.Context) error {
			now := time.Now().UTC()
			status := timerStatus{Last: now, Next: now, LastUpdated: now}
			if schedule, err := ParseSchedule(function.Trigger.Schedule); err == nil {
				status.Next = schedule.Next(now)
			}
			_, err := h.invoke(ctx, function, timerPayload(function, status, now), "admin", true)
			return err
		}
	default:
		http.Error(w, fmt.Sprintf("function %s has trigger %s: call its HTTP route instead", function.Name, function.Trigger.Type), http.StatusBadRequest)
		return
	}

	h.invocations.Add(1)
	go func() {
		defer h.invocations.Done()
		// invoke logs the outcome; blob read errors are logged here.
		if err := invoke(context.WithoutCancel(r.Context())); err != nil {
			h.logger.Debug("admin invocation failed", "function", function.Name, "error", err)
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}
