package workosstandin

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the list endpoints. The default is workos-go v4's
// ResponseLimit, which the SDK always sends.
// NOTE: the maximum of 100 is the limit WorkOS documents for the Events API;
// it is assumed, not verified, for the other list endpoints.
const (
	listLimitDefault = 10
	listLimitMax     = 100
)

// maxRequestBodyBytes bounds a request body. Every request the stand-in
// accepts is a small JSON object.
const maxRequestBodyBytes = 1 << 20

// timestampLayout is the format of WorkOS created_at and updated_at fields
// (RFC 3339 with milliseconds, in UTC).
const timestampLayout = "2006-01-02T15:04:05.000Z"

func formatTimestamp(t time.Time) string {
	return t.UTC().Format(timestampLayout)
}

// nextUpdatedAt returns the current time as an updated_at value that is
// later than previous, adding a millisecond when the clock has not moved on.
// Consumers order changes of one object by updated_at and skip values that
// are not newer, so two changes within a millisecond must still differ.
func (s *Server) nextUpdatedAt(previous string) string {
	now := s.now().UTC().Truncate(time.Millisecond)
	if last, err := time.Parse(timestampLayout, previous); err == nil && !now.After(last) {
		now = last.Add(time.Millisecond)
	}
	return formatTimestamp(now)
}

// apiError is a WorkOS error body. The SDK reads message and code, and for
// 422 responses the field errors in errors.
// NOTE: the code values follow WorkOS error responses seen in SDK fixtures
// and docs; the stand-in does not reproduce every code the real API sends.
type apiError struct {
	Message  string       `json:"message"`
	Code     string       `json:"code,omitempty"`
	EntityID string       `json:"entity_id,omitempty"`
	Errors   []fieldError `json:"errors,omitempty"`
}

// fieldError is one invalid request field of a 422 response.
type fieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, body apiError) {
	writeJSON(w, status, body)
}

func writeNotFound(w http.ResponseWriter, entity, id string) {
	writeError(w, http.StatusNotFound, apiError{
		Message:  fmt.Sprintf("%s not found: '%s'.", entity, id),
		Code:     "entity_not_found",
		EntityID: id,
	})
}

func writeValidationFailed(w http.ResponseWriter, fields ...fieldError) {
	writeError(w, http.StatusUnprocessableEntity, apiError{
		Message: "Validation failed",
		Code:    "invalid_request_parameters",
		Errors:  fields,
	})
}

func writeInternalError(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, apiError{Message: "Internal server error", Code: "server_error"})
}

// decodeJSONBody decodes a bounded JSON request body into dst.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body := http.MaxBytesReader(w, r.Body, maxRequestBodyBytes)
	if err := json.NewDecoder(body).Decode(dst); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	return nil
}

// requireLoopback rejects clients that are not on a loopback address. The
// stand-in signs tokens for anyone holding its well-known development API
// key, so it must never be reachable from another host.
func requireLoopback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			writeError(w, http.StatusForbidden, apiError{Message: "The WorkOS stand-in accepts loopback clients only.", Code: "forbidden"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAPIKey rejects requests without "Authorization: Bearer <API key>"
// with 401, as the WorkOS API responds to a missing or wrong key.
func (s *Server) requireAPIKey(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		scheme, key, found := strings.Cut(header, " ")
		valid := found && strings.EqualFold(scheme, "Bearer") &&
			subtle.ConstantTimeCompare([]byte(key), []byte(s.apiKey)) == 1
		if !valid {
			writeError(w, http.StatusUnauthorized, apiError{
				Message: "Could not authorize the request. Check the API key in the Authorization header.",
				Code:    "unauthorized",
			})
			return
		}
		next(w, r)
	}
}

// listQuery is the cursor pagination of every WorkOS list endpoint.
type listQuery struct {
	Limit  int
	Order  string
	Before string
	After  string
}

// parseListQuery reads limit, order, before and after. WorkOS lists are
// ordered by creation time, newest first unless order is "asc".
func parseListQuery(values url.Values) (listQuery, []fieldError) {
	q := listQuery{Limit: listLimitDefault, Order: "desc", Before: values.Get("before"), After: values.Get("after")}
	var invalid []fieldError

	if raw := values.Get("limit"); raw != "" {
		limit, err := strconv.Atoi(raw)
		if err != nil || limit < 1 || limit > listLimitMax {
			invalid = append(invalid, fieldError{Field: "limit", Code: "limit_invalid"})
		} else {
			q.Limit = limit
		}
	}
	if raw := values.Get("order"); raw != "" {
		if raw != "asc" && raw != "desc" {
			invalid = append(invalid, fieldError{Field: "order", Code: "order_invalid"})
		} else {
			q.Order = raw
		}
	}
	if q.Before != "" && q.After != "" {
		invalid = append(invalid, fieldError{Field: "before", Code: "before_and_after_both_set"})
	}
	return q, invalid
}

// listMetadata is the WorkOS list cursor: before is set when items precede
// the page, after when items follow it. JSON null means no more items.
type listMetadata struct {
	Before *string `json:"before"`
	After  *string `json:"after"`
}

// listResponse is the WorkOS list envelope.
type listResponse[T any] struct {
	Object       string       `json:"object"`
	Data         []T          `json:"data"`
	ListMetadata listMetadata `json:"list_metadata"`
}

// paginate returns one page of items, which are in creation order. Object IDs
// grow with creation time (see newID), so a cursor is an object ID and
// "after X" means the items that follow X in the requested order.
func paginate[T any](items []T, id func(T) string, q listQuery) listResponse[T] {
	ordered := slices.Clone(items)
	if q.Order == "desc" {
		slices.Reverse(ordered)
	}
	follows := func(a, b string) bool {
		if q.Order == "desc" {
			return a < b
		}
		return a > b
	}

	start, end := 0, len(ordered)
	switch {
	case q.After != "":
		start = len(ordered)
		for i, item := range ordered {
			if follows(id(item), q.After) {
				start = i
				break
			}
		}
		end = min(start+q.Limit, len(ordered))
	case q.Before != "":
		end = 0
		for i, item := range ordered {
			if follows(id(item), q.Before) {
				break
			}
			if id(item) != q.Before {
				end = i + 1
			}
		}
		start = max(end-q.Limit, 0)
	default:
		end = min(q.Limit, len(ordered))
	}

	page := listResponse[T]{Object: "list", Data: ordered[start:end]}
	if page.Data == nil {
		page.Data = []T{}
	}
	if start > 0 && end > start {
		before := id(ordered[start])
		page.ListMetadata.Before = &before
	}
	if end < len(ordered) && end > start {
		after := id(ordered[end-1])
		page.ListMetadata.After = &after
	}
	return page
}
