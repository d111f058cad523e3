// Package health is the Health function: GET /api/health reports whether
// PostgreSQL, Blob Storage and the queue respond. It needs no token, so
// load balancers and monitors can call it.
package health

import (
	"context"
	"net/http"
	"time"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "Health"

// checkTimeout bounds each dependency check.
const checkTimeout = 3 * time.Second

type check struct {
	Status    string `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

type report struct {
	Status string           `json:"status"`
	Checks map[string]check `json:"checks"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "GET /api/health", p.Public(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checks := map[string]func(context.Context) error{
			"postgres":     p.Store.Ping,
			"blob_storage": p.Blobs.Ping,
		}
		if p.QueueCheck != nil {
			checks["queue"] = p.QueueCheck
		}

		result := report{Status: "ok", Checks: map[string]check{}}
		for name, run := range checks {
			c := runCheck(r.Context(), run)
			if c.Status != "ok" {
				result.Status = "unavailable"
				customhandler.Logger(r.Context()).Warn("health check failed", "dependency", name, "error", c.Error)
			}
			result.Checks[name] = c
		}
		if p.QueueCheck == nil {
			result.Checks["queue"] = check{Status: "not_checked"}
		}

		status := http.StatusOK
		if result.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		httpapi.WriteJSON(w, status, result)
	})))
}

// runCheck runs one check with a timeout. The error text is a dependency's
// own message, such as "connection refused"; it names no secret.
func runCheck(ctx context.Context, run func(context.Context) error) check {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	started := time.Now()
	err := run(ctx)
	c := check{Status: "ok", LatencyMS: time.Since(started).Milliseconds()}
	if err != nil {
		c.Status = "unavailable"
		c.Error = "the dependency did not respond"
		if ctx.Err() != nil {
			c.Error = "the check timed out"
		}
	}
	return c
}
