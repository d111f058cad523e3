package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/problem"
)

// MaxJSONBodyBytes caps a JSON request body.
const MaxJSONBodyBytes = 1 << 20

// WriteJSON sends v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads the request body into v. It rejects another content
// type, a body over MaxJSONBodyBytes, unknown fields and trailing data, and
// writes the problem response itself; callers return when it is false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		problem.Write(w, r, http.StatusUnsupportedMediaType, "The request body must be JSON with Content-Type: application/json.")
		return false
	}
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBodyBytes))
	decoder.DisallowUnknownFields()
	err := decoder.Decode(v)
	if err == nil && decoder.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		if _, extra := decoder.Token(); extra != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			problem.Write(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", MaxJSONBodyBytes))
			return false
		}
		problem.Write(w, r, http.StatusBadRequest, "The request body is not valid JSON for this operation: "+err.Error())
		return false
	}
	return true
}

// InternalError logs err and sends a 500 problem that reveals nothing of it.
func InternalError(w http.ResponseWriter, r *http.Request, operation string, err error) {
	customhandler.Logger(r.Context()).Error(operation+" failed", slog.Any("error", err))
	problem.Write(w, r, http.StatusInternalServerError, "The operation failed because of an internal error. Retry later or contact your administrator.")
}
