package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
)

func TestRequirePermission(t *testing.T) {
	reached := false
	handler := RequirePermission(identity.PermissionAdminSettingsWrite)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusNoContent)
	}))
	cases := map[string]struct {
		claims *identity.Claims
		want   int
	}{
		"admin":         {claims: &identity.Claims{Role: "admin", Permissions: []string{identity.PermissionDocumentsRead, identity.PermissionAdminSettingsWrite}}, want: http.StatusNoContent},
		"member":        {claims: &identity.Claims{Role: "member", Permissions: []string{identity.PermissionDocumentsRead}}, want: http.StatusForbidden},
		"no permission": {claims: &identity.Claims{Role: "admin"}, want: http.StatusForbidden},
		"no claims":     {want: http.StatusUnauthorized},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			reached = false
			req := httptest.NewRequest(http.MethodGet, "/api/admin/settings", nil)
			if c.claims != nil {
				req = req.WithContext(identity.ContextWithClaims(req.Context(), c.claims))
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status = %d, want %d", rec.Code, c.want)
			}
			if reached != (c.want == http.StatusNoContent) {
				t.Errorf("handler reached = %v for status %d", reached, c.want)
			}
			if c.want != http.StatusNoContent && rec.Header().Get("Content-Type") != problem.ContentType {
				t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), problem.ContentType)
			}
		})
	}
}
