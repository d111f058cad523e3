// Package httpretry holds the retry timing the platform's HTTP API clients
// share: exponential backoff with jitter, the server's requested wait, and
// a context-aware sleep.
package httpretry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Backoff returns the wait before retry number attempt (1 for the first
// retry): initial doubled per earlier retry, capped at max, then scaled by
// a random factor in [0.5, 1) so parallel workers spread out.
func Backoff(initial, max time.Duration, attempt int) time.Duration {
	wait := initial
	for range attempt - 1 {
		wait *= 2
		if wait >= max {
			wait = max
			break
		}
	}
	return time.Duration(float64(wait) * (0.5 + rand.Float64()/2))
}

// RetryAfter returns the wait that a 429 or 503 response requests, from
// retry-after-ms (which Azure OpenAI may send) or from Retry-After in
// seconds or as an HTTP date. It returns 0 when neither header is usable.
func RetryAfter(header http.Header) time.Duration {
	if ms, err := strconv.ParseFloat(header.Get("retry-after-ms"), 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	value := header.Get("Retry-After")
	if value == "" {
		return 0
	}
	if seconds, err := strconv.ParseFloat(value, 64); err == nil && seconds > 0 {
		return time.Duration(seconds * float64(time.Second))
	}
	if at, err := http.ParseTime(value); err == nil {
		if wait := time.Until(at); wait > 0 {
			return wait
		}
	}
	return 0
}

// Sleep waits for d, or returns the context's error if ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
