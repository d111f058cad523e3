package workosstandin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Webhook delivery defaults.
const (
	// WebhookAttemptsDefault is how many times the stand-in tries to deliver
	// one event to one endpoint before it gives up.
	WebhookAttemptsDefault = 6
	// WebhookRetryDelayDefault is the wait before the first retry; each
	// later retry waits twice as long as the one before.
	WebhookRetryDelayDefault = time.Second
	// webhookTimeout bounds one delivery request.
	webhookTimeout = 10 * time.Second
)

// WebhookSignatureHeader is the header that carries the signature of a
// webhook delivery.
const WebhookSignatureHeader = "WorkOS-Signature"

// WebhookEndpoint is a URL that receives every event, signed with Secret.
type WebhookEndpoint struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// validateWebhookEndpoint accepts http(s) URLs on a loopback host only, so the
// stand-in never sends events off the machine.
func validateWebhookEndpoint(endpoint WebhookEndpoint) error {
	if endpoint.Secret == "" {
		return errors.New("webhook secret is missing")
	}
	if !isLoopbackURL(endpoint.URL) {
		return fmt.Errorf("webhook URL %q is invalid: want an http or https URL on a loopback host", endpoint.URL)
	}
	return nil
}

// isLoopbackURL reports whether raw is an absolute http(s) URL whose host is
// localhost or a loopback IP address.
func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SignWebhook returns the WorkOS-Signature header value for body at time t:
// "t=<unix milliseconds>, v1=<hex HMAC-SHA256 of "<t>.<body>">". The comma
// is followed by one space and the timestamp is in milliseconds, the format
// that workos-go v4.46.1's webhooks.ValidatePayload parses.
func SignWebhook(secret string, t time.Time, body []byte) string {
	timestamp := strconv.FormatInt(t.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + timestamp + ", v1=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookSender delivers events asynchronously, one goroutine per event and
// endpoint, retrying with exponential backoff. WorkOS does not order
// deliveries either.
type webhookSender struct {
	configured []WebhookEndpoint
	attempts   int
	retryDelay time.Duration
	client     *http.Client
	now        func() time.Time
	logger     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWebhookSender(configured []WebhookEndpoint, attempts int, retryDelay time.Duration, now func() time.Time, logger *slog.Logger) *webhookSender {
	ctx, cancel := context.WithCancel(context.Background())
	return &webhookSender{
		configured: configured,
		attempts:   attempts,
		retryDelay: retryDelay,
		// Redirects are not followed, so a response cannot steer a delivery
		// to a host that is not loopback.
		client: &http.Client{
			Timeout:       webhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now:    now,
		logger: logger,
		ctx:    ctx,
		cancel: cancel,
	}
}

// send starts delivering event to the configured endpoints and to the
// endpoints registered at run time. It does not block.
func (w *webhookSender) send(event Event, registered []*WebhookEndpoint) {
	if w.ctx.Err() != nil {
		return
	}
	body, err := json.Marshal(event)
	if err != nil {
		panic(fmt.Sprintf("encode event %s: %v", event.ID, err))
	}
	endpoints := append([]WebhookEndpoint(nil), w.configured...)
	for _, endpoint := range registered {
		endpoints = append(endpoints, *endpoint)
	}
	for _, endpoint := range endpoints {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.deliver(event, endpoint, body)
		}()
	}
}

// deliver posts body until the endpoint answers 2xx, the attempts run out
// or the sender closes.
func (w *webhookSender) deliver(event Event, endpoint WebhookEndpoint, body []byte) {
	delay := w.retryDelay
	for attempt := 1; attempt <= w.attempts; attempt++ {
		status, err := w.post(endpoint, body)
		if err == nil && status >= 200 && status < 300 {
			w.logger.Info("workos stand-in delivered webhook",
				"event_id", event.ID, "event", event.Event, "url", endpoint.URL, "attempt", attempt, "status", status)
			return
		}
		if err == nil {
			err = fmt.Errorf("endpoint returned status %d", status)
		}
		if attempt == w.attempts {
			w.logger.Error("workos stand-in gave up delivering webhook",
				"event_id", event.ID, "event", event.Event, "url", endpoint.URL, "attempts", attempt, "error", err)
			return
		}
		w.logger.Warn("workos stand-in webhook delivery failed, retrying",
			"event_id", event.ID, "event", event.Event, "url", endpoint.URL, "attempt", attempt, "retry_in", delay.String(), "error", err)

		timer := time.NewTimer(delay)
		select {
		case <-w.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		delay *= 2
	}
}

func (w *webhookSender) post(endpoint WebhookEndpoint, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "WorkOS stand-in")
	req.Header.Set(WebhookSignatureHeader, SignWebhook(endpoint.Secret, w.now(), body))

	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post webhook to %s: %w", endpoint.URL, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// close stops retries and waits for deliveries in flight.
func (w *webhookSender) close() {
	w.cancel()
	w.wg.Wait()
}

// registerWebhookRequest is the body of POST /_standin/webhook-endpoints.
type registerWebhookRequest struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// RegisterWebhookEndpoint adds an endpoint that receives every later event.
// Registered endpoints persist in the state file.
func (s *Server) RegisterWebhookEndpoint(endpoint WebhookEndpoint) error {
	if err := validateWebhookEndpoint(endpoint); err != nil {
		return err
	}
	err := s.store.update(func(st *state) error {
		for _, existing := range st.WebhookEndpoints {
			if existing.URL == endpoint.URL {
				existing.Secret = endpoint.Secret
				return nil
			}
		}
		st.WebhookEndpoints = append(st.WebhookEndpoints, &endpoint)
		return nil
	})
	if err != nil {
		return fmt.Errorf("register webhook endpoint %s: %w", endpoint.URL, err)
	}
	s.logger.Info("workos stand-in registered webhook endpoint", "url", endpoint.URL)
	return nil
}

func (s *Server) handleRegisterWebhook(w http.ResponseWriter, r *http.Request) {
	var req registerWebhookRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	endpoint := WebhookEndpoint(req)
	if err := validateWebhookEndpoint(endpoint); err != nil {
		field := "url"
		if endpoint.Secret == "" {
			field = "secret"
		}
		writeError(w, http.StatusUnprocessableEntity, apiError{
			Message: err.Error(),
			Code:    "invalid_request_parameters",
			Errors:  []fieldError{{Field: field, Code: field + "_invalid"}},
		})
		return
	}
	if err := s.RegisterWebhookEndpoint(endpoint); err != nil {
		s.logger.Error("workos stand-in failed to register webhook endpoint", "url", req.URL, "error", err)
		writeInternalError(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"url": endpoint.URL})
}
