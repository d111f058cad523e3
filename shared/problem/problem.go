// Package problem writes HTTP errors as RFC 9457 problem details
// (application/problem+json), the one error shape every API route returns.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of every error response.
const ContentType = "application/problem+json"

// Details is an RFC 9457 problem details object.
type Details struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists field-level validation failures, when there are any.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid request field and why it is invalid.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Write sends a problem with the standard title for status. Detail must be
// safe to show to the caller: never a secret, a stack trace or a file path.
func Write(w http.ResponseWriter, r *http.Request, status int, detail string) {
	WriteDetails(w, r, Details{Status: status, Detail: detail})
}

// WriteDetails sends p, filling in the title and instance when they are empty.
func WriteDetails(w http.ResponseWriter, r *http.Request, p Details) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
