package workosstandin

import (
	"net/http"
	"net/mail"
	"strings"
)

// User is an AuthKit user as the User Management API returns it.
type User struct {
	Object            string            `json:"object"`
	ID                string            `json:"id"`
	Email             string            `json:"email"`
	FirstName         string            `json:"first_name"`
	LastName          string            `json:"last_name"`
	EmailVerified     bool              `json:"email_verified"`
	ProfilePictureURL *string           `json:"profile_picture_url"`
	LastSignInAt      *string           `json:"last_sign_in_at"`
	ExternalID        *string           `json:"external_id"`
	Metadata          map[string]string `json:"metadata"`
	CreatedAt         string            `json:"created_at"`
	UpdatedAt         string            `json:"updated_at"`
}

// createUserRequest is the body workos-go v4 sends from
// usermanagement.CreateUserOpts. Passwords are accepted and discarded,
// because the stand-in mints tokens without a sign-in.
type createUserRequest struct {
	Email         string            `json:"email"`
	FirstName     string            `json:"first_name"`
	LastName      string            `json:"last_name"`
	EmailVerified bool              `json:"email_verified"`
	ExternalID    string            `json:"external_id"`
	Metadata      map[string]string `json:"metadata"`
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	email, ok := normalizeEmail(req.Email)
	if !ok {
		writeValidationFailed(w, fieldError{Field: "email", Code: "email_invalid"})
		return
	}

	now := formatTimestamp(s.now())
	var created *User
	var emailTaken bool
	err := s.store.update(func(st *state) error {
		for _, user := range st.Users {
			if user.Email == email {
				emailTaken = true
				return nil
			}
		}
		user := &User{
			Object:        "user",
			ID:            newID("user"),
			Email:         email,
			FirstName:     req.FirstName,
			LastName:      req.LastName,
			EmailVerified: req.EmailVerified,
			Metadata:      req.Metadata,
			CreatedAt:     now,
			UpdatedAt:     now,
		}
		if user.Metadata == nil {
			user.Metadata = map[string]string{}
		}
		if req.ExternalID != "" {
			user.ExternalID = &req.ExternalID
		}
		s.addUserLocked(st, user)
		created = user
		return nil
	})
	if err != nil {
		s.logger.Error("workos stand-in failed to create user", "error", err)
		writeInternalError(w)
		return
	}
	if emailTaken {
		writeError(w, http.StatusUnprocessableEntity, apiError{
			Message: "Could not create user.",
			Code:    "user_creation_error",
			Errors:  []fieldError{{Field: "email", Code: "email_not_available"}},
		})
		return
	}

	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var user User
	var found bool
	s.store.read(func(st *state) {
		if u, ok := findByID(st.Users, id, userID); ok {
			user, found = *u, true
		}
	})
	if !found {
		writeNotFound(w, "User", id)
		return
	}
	writeJSON(w, http.StatusOK, user)
}

// handleListUsers serves GET /user_management/users with the email and
// organization_id filters of usermanagement.ListUsersOpts.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, invalid := parseListQuery(values)
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}
	email := strings.ToLower(strings.TrimSpace(values.Get("email")))
	organization := values.Get("organization_id")

	var matched []User
	s.store.read(func(st *state) {
		for _, user := range st.Users {
			if email != "" && user.Email != email {
				continue
			}
			if organization != "" && !hasMembershipLocked(st, user.ID, organization) {
				continue
			}
			matched = append(matched, *user)
		}
	})

	writeJSON(w, http.StatusOK, paginate(matched, func(u User) string { return u.ID }, q))
}

// normalizeEmail returns the lower-cased address when raw is one plain email
// address, without a display name.
func normalizeEmail(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	address, err := mail.ParseAddress(raw)
	if err != nil || address.Address != raw || address.Name != "" {
		return "", false
	}
	return strings.ToLower(raw), true
}

func userID(u *User) string { return u.ID }

// newUser returns a user with an email address only, as the hosted login
// creates one on first sign-in.
func newUser(email, now string) *User {
	return &User{
		Object:        "user",
		ID:            newID("user"),
		Email:         email,
		EmailVerified: true,
		Metadata:      map[string]string{},
		CreatedAt:     now,
		UpdatedAt:     now,
	}
}

// addUserLocked stores a new user and emits user.created.
func (s *Server) addUserLocked(st *state, user *User) {
	st.Users = append(st.Users, user)
	s.emitLocked(st, EventUserCreated, "", user)
}
