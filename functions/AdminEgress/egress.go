// Package adminegress is the AdminEgress function: GET /api/admin/egress
// summarizes the egress audit per destination and class, so administrators
// can see every place the platform sent data to, and how much.
package adminegress

import (
	"fmt"
	"net/http"
	"time"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
)

// Name is the function's folder name.
const Name = "AdminEgress"

// Range limits of a summary.
const (
	rangeDefault = 24 * time.Hour
	rangeMax     = 92 * 24 * time.Hour
)

type endpoint struct {
	Method        string `json:"method"`
	PathTemplate  string `json:"path_template"`
	Requests      int64  `json:"requests"`
	Failures      int64  `json:"failures"`
	BytesSent     int64  `json:"bytes_sent"`
	BytesReceived int64  `json:"bytes_received"`
}

type destination struct {
	Destination          string     `json:"destination"`
	Class                string     `json:"class"`
	Host                 string     `json:"host"`
	OutsideCustomerCloud bool       `json:"outside_customer_cloud"`
	Requests             int64      `json:"requests"`
	BytesSent            int64      `json:"bytes_sent"`
	BytesReceived        int64      `json:"bytes_received"`
	Endpoints            []endpoint `json:"endpoints"`
}

type classTotal struct {
	Requests      int64 `json:"requests"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
}

type response struct {
	From         time.Time             `json:"from"`
	To           time.Time             `json:"to"`
	Destinations []*destination        `json:"destinations"`
	Classes      map[string]classTotal `json:"classes"`
	// Refusals counts requests this instance refused since it started, by
	// host; refusals are also in the logs of every instance.
	Refusals map[string]int64 `json:"refusals_since_start"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	admin := httpapi.RequirePermission(identity.PermissionAdminSettingsWrite)
	app.HandleHTTP(Name, "GET /api/admin/egress", p.Authenticated(admin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, ok := timeRange(w, r)
		if !ok {
			return
		}

		rows, err := p.Store.SummarizeEgress(r.Context(), from, to)
		if err != nil {
			httpapi.InternalError(w, r, "summarize egress audit", err)
			return
		}

		resp := response{From: from, To: to, Destinations: []*destination{}, Classes: map[string]classTotal{}, Refusals: p.Egress.Refusals()}
		byName := map[string]*destination{}
		for _, row := range rows {
			d, ok := byName[row.Destination+"\x00"+row.Host]
			if !ok {
				d = &destination{Destination: row.Destination, Class: row.Class, Host: row.Host, OutsideCustomerCloud: row.OutsideCustomerCloud}
				byName[row.Destination+"\x00"+row.Host] = d
				resp.Destinations = append(resp.Destinations, d)
			}
			d.Requests += row.Requests
			d.BytesSent += row.BytesSent
			d.BytesReceived += row.BytesReceived
			d.Endpoints = append(d.Endpoints, endpoint{
				Method: row.Method, PathTemplate: row.PathTemplate, Requests: row.Requests, Failures: row.Failures,
				BytesSent: row.BytesSent, BytesReceived: row.BytesReceived,
			})
			total := resp.Classes[row.Class]
			total.Requests += row.Requests
			total.BytesSent += row.BytesSent
			total.BytesReceived += row.BytesReceived
			resp.Classes[row.Class] = total
		}
		httpapi.WriteJSON(w, http.StatusOK, resp)
	}))))
}

// timeRange reads from and to (RFC 3339), defaulting to the last day.
func timeRange(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	to := time.Now().UTC()
	from := to.Add(-rangeDefault)
	var err error
	if raw := r.URL.Query().Get("to"); raw != "" {
		if to, err = time.Parse(time.RFC3339, raw); err != nil {
			problem.Write(w, r, http.StatusBadRequest, "to must be an RFC 3339 time such as 2026-12-04T00:00:00Z.")
			return from, to, false
		}
		from = to.Add(-rangeDefault)
	}
	if raw := r.URL.Query().Get("from"); raw != "" {
		if from, err = time.Parse(time.RFC3339, raw); err != nil {
			problem.Write(w, r, http.StatusBadRequest, "from must be an RFC 3339 time such as 2026-12-03T00:00:00Z.")
			return from, to, false
		}
	}
	if !from.Before(to) || to.Sub(from) > rangeMax {
		problem.Write(w, r, http.StatusBadRequest, fmt.Sprintf("from must be before to, at most %d days apart.", int(rangeMax.Hours()/24)))
		return from, to, false
	}
	return from, to, true
}
