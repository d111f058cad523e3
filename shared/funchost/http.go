package funchost

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// httpRoute is an HTTP function with its compiled route.
type httpRoute struct {
	function *Function
	route    *Route
	// methods are upper-case; empty allows every method.
	methods []string
}

// newHTTPRoute compiles the route of an HTTP function. It returns nil, nil
// (after a warning) for a function the local host cannot forward.
func (h *Host) newHTTPRoute(function *Function) (*httpRoute, error) {
	if !function.isHTTPInAndOut() || !h.app.Host.ForwardHTTPRequests {
		// TODO: the envelope mode (Data.req and Outputs.res) is not
		// implemented because the app forwards every HTTP function.
		h.logger.Warn("HTTP function without request forwarding is not supported by the local host, function not loaded",
			"function", function.Name,
			"reason", "needs exactly one httpTrigger and one http output, and customHandler.enableForwardingHttpRequest")
		return nil, nil
	}

	template := function.Trigger.Route
	if template == "" {
		template = function.Name
	}
	route, err := ParseRoute(template)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", function.Name, err)
	}
	methods := make([]string, 0, len(function.Trigger.Methods))
	for _, method := range function.Trigger.Methods {
		methods = append(methods, strings.ToUpper(method))
	}
	return &httpRoute{function: function, route: route, methods: methods}, nil
}

func sortRoutes(routes []*httpRoute) {
	sort.SliceStable(routes, func(i, j int) bool {
		return lessSpecific(routes[j].route, routes[i].route)
	})
}

// httpHandler serves the admin API and the HTTP functions.
func (h *Host) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/functions/{name}", h.serveAdminInvoke)
	mux.HandleFunc("/", h.serveFunction)
	return mux
}

// requestBodyLimit is FUNCTIONS_REQUEST_BODY_SIZE_LIMIT in bytes, or the
// host's default of 100 MiB.
func (h *Host) requestBodyLimit() int64 {
	if value, ok := lookupSetting(h.settings, "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"); ok {
		if limit, err := strconv.ParseInt(value, 10, 64); err == nil && limit > 0 {
			return limit
		}
		h.logger.Warn("invalid FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, using the default", "value", value, "default", RequestBodySizeLimitDefault)
	}
	return RequestBodySizeLimitDefault
}

// matchRoute finds the function for a request path. It returns the route
// whose path matched even if the method did not, so the caller can tell a
// wrong method from an unknown path.
func (h *Host) matchRoute(r *http.Request) (*httpRoute, bool) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	prefix := h.app.Host.RoutePrefix
	if prefix != "" {
		if !strings.EqualFold(path, prefix) && !strings.HasPrefix(strings.ToLower(path), strings.ToLower(prefix)+"/") {
			return nil, false
		}
		path = path[len(prefix):]
	}

	var pathMatch *httpRoute
	for _, candidate := range h.routes {
		if _, ok := candidate.route.Match(path); !ok {
			continue
		}
		if len(candidate.methods) == 0 || slices.Contains(candidate.methods, r.Method) {
			return candidate, true
		}
		if pathMatch == nil {
			pathMatch = candidate
		}
	}
	return pathMatch, false
}

// serveFunction forwards a request to the handler at the same path and
// relays the handler's response unchanged, as the real host does with
// enableForwardingHttpRequest.
func (h *Host) serveFunction(w http.ResponseWriter, r *http.Request) {
	route, methodAllowed := h.matchRoute(r)
	if route == nil {
		http.NotFound(w, r)
		return
	}
	if !methodAllowed {
		// ASP.NET routing in the real host treats a method mismatch as no
		// match at all, so it responds 404 too.
		http.NotFound(w, r)
		return
	}

	limit := h.requestBodyLimit()
	if r.ContentLength > limit {
		http.Error(w, fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)

	invocationID := uuid.NewString()
	logger := h.logger.With("invocation_id", invocationID, "function", route.function.Name)
	baseURL, err := h.worker.endpoint(r.Context())
	if err != nil {
		logger.Error("function invocation failed", "trigger", route.function.Trigger.Type, "outcome", "failed", "error", err)
		http.Error(w, "custom handler unavailable", http.StatusServiceUnavailable)
		return
	}
	target, err := url.Parse(baseURL)
	if err != nil {
		logger.Error("invalid custom handler URL", "url", baseURL, "error", err)
		http.Error(w, "invalid custom handler URL", http.StatusInternalServerError)
		return
	}

	start := time.Now()
	recorder := &statusRecorder{ResponseWriter: w}
	outcome := "succeeded"
	proxy := &httputil.ReverseProxy{
		Rewrite: func(proxied *httputil.ProxyRequest) {
			proxied.SetURL(target)
			proxied.Out.URL.Path = r.URL.Path
			proxied.Out.URL.RawPath = r.URL.RawPath
			proxied.Out.Host = r.Host
			proxied.SetXForwarded()
			setInvocationHeaders(proxied.Out.Header, invocationID)
		},
		// A negative interval flushes after every write, so streamed
		// responses (server-sent events) reach the client at once.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			outcome = "failed"
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, fmt.Sprintf("request body exceeds the limit of %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
				return
			}
			logger.Error("forward request to custom handler failed", "error", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	proxy.ServeHTTP(recorder, r)

	// As in the real host's forwarding mode, any status from the handler
	// counts as a completed invocation; only a failed relay is a failure.
	logger.Info("function invocation completed", "trigger", route.function.Trigger.Type,
		"method", r.Method, "status", recorder.status, "duration_ms", time.Since(start).Milliseconds(),
		"outcome", outcome)
}

// statusRecorder records the status code relayed to the client.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(body []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(body)
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter {
	return s.ResponseWriter
}
