package funchost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/queue"
)

// HostVersion is the Functions host version the local host reports in
// X-Azure-Functions-HostVersion and User-Agent.
const HostVersion = "4.1037.0"

// maxLoggedErrorBody bounds how much of a failed reply is logged, so a
// handler that echoes document text does not flood the log.
const maxLoggedErrorBody = 256

// invocationError is a failed invocation; the trigger decides what a
// failure means (abandon, retry, poison).
type invocationError struct {
	function     string
	invocationID string
	err          error
}

func (e *invocationError) Error() string {
	return fmt.Sprintf("invoke function %s (invocation %s): %v", e.function, e.invocationID, e.err)
}

func (e *invocationError) Unwrap() error { return e.err }

// setInvocationHeaders adds the headers the real host sends with every call.
func setInvocationHeaders(header http.Header, invocationID string) {
	header.Set("X-Azure-Functions-InvocationId", invocationID)
	header.Set("X-Azure-Functions-HostVersion", HostVersion)
	header.Set("User-Agent", "Azure-Functions-Host/"+HostVersion)
}

// invoke sends a non-HTTP invocation to the handler, logs its Logs, writes
// its outputs and logs the outcome. attributes are added to each log line.
func (h *Host) invoke(ctx context.Context, function *Function, request invocationRequest, attributes ...any) (string, error) {
	invocationID := uuid.NewString()
	logger := h.logger.With(append([]any{"invocation_id", invocationID, "function", function.Name}, attributes...)...)
	start := time.Now()

	err := h.invokeAndWriteOutputs(ctx, function, invocationID, request, logger)

	duration := time.Since(start)
	if err != nil {
		logger.Error("function invocation failed",
			"trigger", function.Trigger.Type, "duration_ms", duration.Milliseconds(), "outcome", "failed", "error", err)
		return invocationID, &invocationError{function: function.Name, invocationID: invocationID, err: err}
	}
	logger.Info("function invocation succeeded",
		"trigger", function.Trigger.Type, "duration_ms", duration.Milliseconds(), "outcome", "succeeded")
	return invocationID, nil
}

func (h *Host) invokeAndWriteOutputs(ctx context.Context, function *Function, invocationID string, request invocationRequest, logger *slog.Logger) error {
	if h.app.Host.FunctionTimeout > 0 {
		// The real host allows functionTimeout plus one minute for the call.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.app.Host.FunctionTimeout+time.Minute)
		defer cancel()
	}

	baseURL, err := h.worker.endpoint(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("encode invocation request: %w", err)
	}
	httpRequest, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+function.Name, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build invocation request: %w", err)
	}
	httpRequest.Header.Set("Content-Type", "application/json")
	setInvocationHeaders(httpRequest.Header, invocationID)

	response, err := h.client.Do(httpRequest)
	if err != nil {
		return fmt.Errorf("call custom handler: %w", err)
	}
	defer response.Body.Close()
	reply, err := io.ReadAll(response.Body)
	if err != nil {
		return fmt.Errorf("read custom handler reply: %w", err)
	}

	if response.StatusCode < 200 || response.StatusCode > 299 {
		return fmt.Errorf("custom handler returned status %d: %s", response.StatusCode, truncate(reply, maxLoggedErrorBody))
	}
	var result invocationResult
	if err := json.Unmarshal(reply, &result); err != nil {
		return fmt.Errorf("invalid custom handler reply (want JSON with Outputs, Logs and ReturnValue): %w", err)
	}
	for _, line := range result.Logs {
		logger.Info(line, "category", "Function."+function.Name+".User")
	}
	return h.writeOutputs(ctx, function, &result, logger)
}

// writeOutputs sends each serviceBus output value to its queue. Outputs of
// other types were reported at start-up and are skipped.
func (h *Host) writeOutputs(ctx context.Context, function *Function, result *invocationResult, logger *slog.Logger) error {
	for _, binding := range function.Outputs {
		if !strings.EqualFold(binding.Type, bindingServiceBus) {
			continue
		}
		value := result.Outputs[binding.Name]
		if binding.Name == "$return" {
			value = result.ReturnValue
		}
		messages, err := outputMessages(value, binding.DataType)
		if err != nil {
			return fmt.Errorf("output binding %s: %w", binding.Name, err)
		}
		if len(messages) == 0 {
			continue
		}

		sender, err := h.localQueueFor(ctx, binding.Connection)
		if err != nil {
			return fmt.Errorf("output binding %s: %w", binding.Name, err)
		}
		queueName := binding.QueueName
		if queueName == "" {
			queueName = binding.TopicName
		}
		if err := sender.Send(ctx, queueName, messages...); err != nil {
			return fmt.Errorf("output binding %s: %w", binding.Name, err)
		}
		logger.Info("output messages sent", "binding", binding.Name, "queue", queueName, "count", len(messages))
	}
	return nil
}

// outputMessages turns an output value into messages: an array writes one
// message per element. A string is tried as base64 first, unless the
// binding's dataType is "binary", because the real host decodes any string
// that is valid base64 (Convert.FromBase64String) and sends the bytes.
// Objects and numbers are sent as their JSON text.
func outputMessages(value json.RawMessage, dataType string) ([]queue.Message, error) {
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}

	var elements []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &elements); err != nil {
			return nil, fmt.Errorf("invalid output array: %w", err)
		}
	} else {
		elements = []json.RawMessage{trimmed}
	}

	messages := make([]queue.Message, 0, len(elements))
	for _, element := range elements {
		body := []byte(element)
		var text string
		if json.Unmarshal(element, &text) == nil {
			body = []byte(text)
			if dataType != "binary" {
				if decoded, err := base64.StdEncoding.DecodeString(text); err == nil {
					body = decoded
				}
			}
		}
		messages = append(messages, queue.Message{ID: uuid.NewString(), Body: body})
	}
	return messages, nil
}

func truncate(text []byte, limit int) string {
	if len(text) <= limit {
		return string(text)
	}
	return string(text[:limit]) + "..."
}

// errNotLocalQueue is returned for a Service Bus connection the local host
// cannot serve.
var errNotLocalQueue = errors.New("the local host supports only a postgres:// URL as Service Bus connection")
