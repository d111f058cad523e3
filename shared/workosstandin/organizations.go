package workosstandin

import (
	"net/http"
	"slices"
	"strings"
)

// Organization is a WorkOS organization as the Organizations API returns it.
type Organization struct {
	Object                           string               `json:"object"`
	ID                               string               `json:"id"`
	Name                             string               `json:"name"`
	AllowProfilesOutsideOrganization bool                 `json:"allow_profiles_outside_organization"`
	Domains                          []OrganizationDomain `json:"domains"`
	ExternalID                       *string              `json:"external_id"`
	Metadata                         map[string]string    `json:"metadata"`
	CreatedAt                        string               `json:"created_at"`
	UpdatedAt                        string               `json:"updated_at"`
}

// OrganizationDomain is one email domain of an organization.
type OrganizationDomain struct {
	Object               string `json:"object"`
	ID                   string `json:"id"`
	OrganizationID       string `json:"organization_id"`
	Domain               string `json:"domain"`
	State                string `json:"state"`
	VerificationStrategy string `json:"verification_strategy"`
}

// createOrganizationRequest is the body workos-go v4 sends from
// organizations.CreateOrganizationOpts.
type createOrganizationRequest struct {
	Name                             string            `json:"name"`
	AllowProfilesOutsideOrganization bool              `json:"allow_profiles_outside_organization"`
	Domains                          []string          `json:"domains"`
	DomainData                       []domainData      `json:"domain_data"`
	ExternalID                       string            `json:"external_id"`
	Metadata                         map[string]string `json:"metadata"`
}

type domainData struct {
	Domain string `json:"domain"`
	State  string `json:"state"`
}

func (s *Server) handleCreateOrganization(w http.ResponseWriter, r *http.Request) {
	var req createOrganizationRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		writeValidationFailed(w, fieldError{Field: "name", Code: "name_required"})
		return
	}
	domains := req.DomainData
	for _, domain := range req.Domains {
		domains = append(domains, domainData{Domain: domain, State: "pending"})
	}
	for _, domain := range domains {
		if domain.State != "pending" && domain.State != "verified" {
			writeValidationFailed(w, fieldError{Field: "domain_data", Code: "state_invalid"})
			return
		}
	}

	// The SDK sends Idempotency-Key on every create, empty when unset.
	idempotencyKey := r.Header.Get("Idempotency-Key")
	now := formatTimestamp(s.now())
	var created *Organization
	err := s.store.update(func(st *state) error {
		if id, ok := st.IdempotencyKeys[idempotencyKey]; ok && idempotencyKey != "" {
			created, _ = findByID(st.Organizations, id, organizationID)
			return nil
		}

		org := &Organization{
			Object:                           "organization",
			ID:                               newID("org"),
			Name:                             req.Name,
			AllowProfilesOutsideOrganization: req.AllowProfilesOutsideOrganization,
			Domains:                          []OrganizationDomain{},
			Metadata:                         req.Metadata,
			CreatedAt:                        now,
			UpdatedAt:                        now,
		}
		if org.Metadata == nil {
			org.Metadata = map[string]string{}
		}
		if req.ExternalID != "" {
			org.ExternalID = &req.ExternalID
		}
		for _, domain := range domains {
			org.Domains = append(org.Domains, OrganizationDomain{
				Object:               "organization_domain",
				ID:                   newID("org_domain"),
				OrganizationID:       org.ID,
				Domain:               strings.ToLower(domain.Domain),
				State:                domain.State,
				VerificationStrategy: "manual",
			})
		}
		s.addOrganizationLocked(st, org)
		if idempotencyKey != "" {
			st.IdempotencyKeys[idempotencyKey] = org.ID
		}
		created = org
		return nil
	})
	if err != nil {
		s.logger.Error("workos stand-in failed to create organization", "error", err)
		writeInternalError(w)
		return
	}

	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) handleGetOrganization(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var org Organization
	var found bool
	s.store.read(func(st *state) {
		if o, ok := findByID(st.Organizations, id, organizationID); ok {
			org, found = *o, true
		}
	})
	if !found {
		writeNotFound(w, "Organization", id)
		return
	}
	writeJSON(w, http.StatusOK, org)
}

func (s *Server) handleGetOrganizationByExternalID(w http.ResponseWriter, r *http.Request) {
	externalID := r.PathValue("external_id")
	var org Organization
	var found bool
	s.store.read(func(st *state) {
		for _, o := range st.Organizations {
			if o.ExternalID != nil && *o.ExternalID == externalID {
				org, found = *o, true
				return
			}
		}
	})
	if !found {
		writeNotFound(w, "Organization", externalID)
		return
	}
	writeJSON(w, http.StatusOK, org)
}

// handleListOrganizations serves GET /organizations. workos-go v4 sends
// domains as repeated domains[] parameters.
func (s *Server) handleListOrganizations(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, invalid := parseListQuery(values)
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}
	domains := append(values["domains[]"], values["domains"]...)

	var matched []Organization
	s.store.read(func(st *state) {
		for _, org := range st.Organizations {
			if len(domains) == 0 || organizationHasDomain(org, domains) {
				matched = append(matched, *org)
			}
		}
	})

	writeJSON(w, http.StatusOK, paginate(matched, func(o Organization) string { return o.ID }, q))
}

func organizationHasDomain(org *Organization, domains []string) bool {
	for _, domain := range org.Domains {
		if slices.ContainsFunc(domains, func(d string) bool { return strings.EqualFold(d, domain.Domain) }) {
			return true
		}
	}
	return false
}

func organizationID(o *Organization) string { return o.ID }

// newOrganization returns an organization without domains.
func newOrganization(name, now string) *Organization {
	return &Organization{
		Object:    "organization",
		ID:        newID("org"),
		Name:      name,
		Domains:   []OrganizationDomain{},
		Metadata:  map[string]string{},
		CreatedAt: now,
		UpdatedAt: now,
	}
}

// addOrganizationLocked stores a new organization and emits
// organization.created, then organization_domain.created for each domain
// and organization_domain.verified for each verified one.
func (s *Server) addOrganizationLocked(st *state, org *Organization) {
	st.Organizations = append(st.Organizations, org)
	s.emitLocked(st, EventOrganizationCreated, org.ID, org)
	for _, domain := range org.Domains {
		s.emitLocked(st, EventOrganizationDomainCreated, org.ID, domain)
		if domain.State == "verified" {
			s.emitLocked(st, EventOrganizationDomainVerified, org.ID, domain)
		}
	}
}

// findByID returns the item whose ID is id.
func findByID[T any](items []*T, id string, idOf func(*T) string) (*T, bool) {
	for _, item := range items {
		if idOf(item) == id {
			return item, true
		}
	}
	return nil, false
}

// handleDeleteOrganization serves DELETE /organizations/{id} (workos-go v4
// sends /Organizations/{id}) and the development endpoint that deletes an
// organization. It deletes the organization's directories (dsync.deleted)
// and memberships (organization_membership.deleted, which revokes the
// sessions in the organization), then emits organization.deleted.
func (s *Server) handleDeleteOrganization(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var found bool
	err := s.store.update(func(st *state) error {
		org, ok := findByID(st.Organizations, id, organizationID)
		if !ok {
			return nil
		}
		found = true

		for _, directory := range slices.Clone(st.Directories) {
			if directory.OrganizationID == id {
				s.deleteDirectoryLocked(st, directory)
			}
		}
		for _, membership := range slices.Clone(st.Memberships) {
			if membership.OrganizationID == id {
				s.deleteMembershipLocked(st, membership)
			}
		}
		s.revokeSessionsLocked(st, func(session *Session) bool { return session.OrganizationID == id })
		st.Organizations = slices.DeleteFunc(st.Organizations, func(o *Organization) bool { return o.ID == id })
		org.UpdatedAt = s.nextUpdatedAt(org.UpdatedAt)
		s.emitLocked(st, EventOrganizationDeleted, id, org)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to delete organization", "org_id", id, "error", err)
		writeInternalError(w)
	case !found:
		writeNotFound(w, "Organization", id)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}
