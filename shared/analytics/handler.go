package analytics

import (
	"errors"
	"net/http"
	"time"

	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/problem"
)

// Handler serves the KPI API for the caller's organization: GET with the
// query parameters ParseQuery reads. It expects authentication and the
// analytics:read permission check to run before it. now returns the
// current time; nil means time.Now.
func (k *KPIs) Handler(now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, ok := httpapi.PrincipalFromContext(r.Context())
		if !ok {
			problem.Write(w, r, http.StatusUnauthorized, "The request is not authenticated.")
			return
		}

		q, err := ParseQuery(r.URL.Query(), now())
		var queryErr *QueryError
		if errors.As(err, &queryErr) {
			problem.Write(w, r, http.StatusBadRequest, "Query "+queryErr.Error()+".")
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "parse KPI query", err)
			return
		}

		report, err := k.Report(r.Context(), principal.OrgID, q)
		if err != nil {
			httpapi.InternalError(w, r, "build KPI report", err)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		httpapi.WriteJSON(w, http.StatusOK, report)
	})
}
