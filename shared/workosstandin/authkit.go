package workosstandin

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// authorizationCodeTTL is how long an authorization code can be redeemed,
// the maximum lifetime RFC 6749 section 4.1.2 recommends.
const authorizationCodeTTL = 10 * time.Minute

// authorizationCode is an issued code, bound to the client, the redirect URI
// and the PKCE challenge of the authorization request.
type authorizationCode struct {
	ClientID       string
	RedirectURI    string
	CodeChallenge  string
	UserID         string
	OrganizationID string
	ExpiresAt      time.Time
}

// codeStore keeps authorization codes in memory; a restart invalidates them,
// like any short-lived login state.
type codeStore struct {
	mu    sync.Mutex
	codes map[string]*authorizationCode
}

func newCodeStore() *codeStore {
	return &codeStore{codes: map[string]*authorizationCode{}}
}

// add stores code under a new random value and drops expired codes.
func (c *codeStore) add(code *authorizationCode, now time.Time) (string, error) {
	value, err := randomToken()
	if err != nil {
		return "", fmt.Errorf("generate authorization code: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, existing := range c.codes {
		if !now.Before(existing.ExpiresAt) {
			delete(c.codes, key)
		}
	}
	c.codes[value] = code
	return value, nil
}

// take removes the code and returns it when it has not expired. A code can
// be taken once.
func (c *codeStore) take(value string, now time.Time) (*authorizationCode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	code, ok := c.codes[value]
	if !ok {
		return nil, false
	}
	delete(c.codes, value)
	if !now.Before(code.ExpiresAt) {
		return nil, false
	}
	return code, true
}

func randomToken() (string, error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// authorizeParams are the query parameters of the authorization URL that
// workos-go v4's usermanagement.GetAuthorizationURL builds. The login form
// sends them back as hidden fields.
type authorizeParams struct {
	ClientID            string
	RedirectURI         string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	OrganizationID      string
	LoginHint           string
	ScreenHint          string
}

// parseAuthorizeParams validates the request. Its errors are shown on a page
// and never sent to redirect_uri, because that URI is not trusted until it
// is checked.
func (s *Server) parseAuthorizeParams(values url.Values, initial bool) (authorizeParams, error) {
	p := authorizeParams{
		ClientID:            values.Get("client_id"),
		RedirectURI:         values.Get("redirect_uri"),
		State:               values.Get("state"),
		CodeChallenge:       values.Get("code_challenge"),
		CodeChallengeMethod: values.Get("code_challenge_method"),
		OrganizationID:      values.Get("organization_id"),
		LoginHint:           values.Get("login_hint"),
		ScreenHint:          values.Get("screen_hint"),
	}
	if p.ClientID != s.clientID {
		return p, fmt.Errorf("client_id %q is invalid: the stand-in serves client %q", p.ClientID, s.clientID)
	}
	if !s.allowedRedirectURI(p.RedirectURI) {
		return p, fmt.Errorf("redirect_uri %q is not an allowed redirect URI", p.RedirectURI)
	}
	if p.CodeChallenge != "" && p.CodeChallengeMethod != "S256" {
		return p, fmt.Errorf("code_challenge_method %q is not supported: use S256", p.CodeChallengeMethod)
	}
	if p.CodeChallenge == "" && p.CodeChallengeMethod != "" {
		return p, fmt.Errorf("code_challenge is missing for code_challenge_method %q", p.CodeChallengeMethod)
	}
	if !initial {
		return p, nil
	}

	if values.Get("response_type") != "code" {
		return p, fmt.Errorf("response_type %q is not supported: use code", values.Get("response_type"))
	}
	provider := values.Get("provider")
	if provider != "" && provider != "authkit" {
		return p, fmt.Errorf("provider %q is not supported: the stand-in serves authkit only", provider)
	}
	if values.Get("connection_id") != "" {
		return p, fmt.Errorf("connection_id %q was not found: the stand-in has no SSO connections", values.Get("connection_id"))
	}
	if provider == "" && p.OrganizationID == "" {
		return p, fmt.Errorf("a connection selector is missing: set provider, connection_id or organization_id")
	}
	return p, nil
}

// allowedRedirectURI reports whether a code may be sent to raw: an exact
// match of a configured redirect URI, or, without configured URIs, any http
// URI on a loopback host.
func (s *Server) allowedRedirectURI(raw string) bool {
	if raw == "" {
		return false
	}
	if len(s.redirectURIs) == 0 {
		u, err := url.Parse(raw)
		return err == nil && u.Scheme == "http" && u.Fragment == "" && isLoopbackURL(raw)
	}
	for _, allowed := range s.redirectURIs {
		if raw == allowed {
			return true
		}
	}
	return false
}

// loginPage is the data of the hosted login page.
type loginPage struct {
	Params        authorizeParams
	Heading       string
	Error         string
	Email         string
	Organization  string
	FixedOrg      *Organization
	Users         []User
	Organizations []Organization
	Roles         []string
	Role          string
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	params, err := s.parseAuthorizeParams(r.URL.Query(), true)
	if err != nil {
		writePage(w, http.StatusBadRequest, "Sign-in failed", err.Error())
		return
	}
	page, ok := s.buildLoginPage(params)
	if !ok {
		writePage(w, http.StatusBadRequest, "Sign-in failed", fmt.Sprintf("organization_id %q was not found.", params.OrganizationID))
		return
	}
	page.Email = params.LoginHint
	s.renderLoginPage(w, http.StatusOK, page)
}

// buildLoginPage lists the users and organizations to pick from. It reports
// false when the request names an organization that does not exist.
func (s *Server) buildLoginPage(params authorizeParams) (loginPage, bool) {
	page := loginPage{Params: params, Heading: "Sign in", Roles: []string{RoleMember, RoleAdmin}, Role: RoleDefault}
	if params.ScreenHint == "sign-up" {
		page.Heading = "Sign up"
	}
	found := true
	s.store.read(func(st *state) {
		for _, user := range st.Users {
			page.Users = append(page.Users, *user)
		}
		for _, org := range st.Organizations {
			page.Organizations = append(page.Organizations, *org)
		}
		if params.OrganizationID != "" {
			org, ok := findByID(st.Organizations, params.OrganizationID, organizationID)
			if ok {
				page.FixedOrg = org
			}
			found = ok
		}
	})
	return page, found
}

func (s *Server) renderLoginPage(w http.ResponseWriter, status int, page loginPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := loginTemplate.Execute(w, page); err != nil {
		s.logger.Error("workos stand-in failed to render login page", "error", err)
	}
}

// loginError is a form input the person can correct on the login page.
type loginError struct{ message string }

func (e *loginError) Error() string { return e.message }

// handleAuthorizeSubmit signs the person in with the email address and
// organization of the form, creating the user, organization and membership
// on first use, and redirects to redirect_uri with a code and the unchanged
// state.
func (s *Server) handleAuthorizeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBodyBytes)
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "Sign-in failed", "The form could not be read: "+err.Error())
		return
	}
	params, err := s.parseAuthorizeParams(r.PostForm, false)
	if err != nil {
		writePage(w, http.StatusBadRequest, "Sign-in failed", err.Error())
		return
	}
	email := r.PostForm.Get("email")
	organization := strings.TrimSpace(r.PostForm.Get("organization"))
	role := r.PostForm.Get("role")

	user, org, err := s.signIn(email, params.OrganizationID, organization, role)
	if err != nil {
		page, _ := s.buildLoginPage(params)
		page.Email, page.Organization, page.Role = email, organization, role
		if loginErr, ok := err.(*loginError); ok {
			page.Error = loginErr.message
			s.renderLoginPage(w, http.StatusUnprocessableEntity, page)
			return
		}
		s.logger.Error("workos stand-in failed to sign in", "error", err)
		writePage(w, http.StatusInternalServerError, "Sign-in failed", "The stand-in could not sign you in. See its log.")
		return
	}

	code, err := s.codes.add(&authorizationCode{
		ClientID:       params.ClientID,
		RedirectURI:    params.RedirectURI,
		CodeChallenge:  params.CodeChallenge,
		UserID:         user,
		OrganizationID: org,
		ExpiresAt:      s.now().Add(authorizationCodeTTL),
	}, s.now())
	if err != nil {
		s.logger.Error("workos stand-in failed to issue code", "user_id", user, "error", err)
		writePage(w, http.StatusInternalServerError, "Sign-in failed", "The stand-in could not issue a code. See its log.")
		return
	}

	target, _ := url.Parse(params.RedirectURI)
	query := target.Query()
	query.Set("code", code)
	if params.State != "" {
		query.Set("state", params.State)
	}
	target.RawQuery = query.Encode()
	s.logger.Info("workos stand-in signed in user", "user_id", user, "org_id", org)
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// signIn finds or creates the user, the organization and the membership. An
// organization field names an organization by ID or name, or creates one
// with that name. Without an organization, the user signs in to the
// organization of their newest active membership, or to none.
func (s *Server) signIn(rawEmail, fixedOrganization, organization, role string) (string, string, error) {
	email, ok := normalizeEmail(rawEmail)
	if !ok {
		return "", "", &loginError{fmt.Sprintf("%q is not a valid email address.", rawEmail)}
	}
	if role == "" {
		role = RoleDefault
	}
	if _, ok := rolePermissions[role]; !ok {
		return "", "", &loginError{fmt.Sprintf("Role %q does not exist.", role)}
	}

	var user, org string
	err := s.store.update(func(st *state) error {
		// Validate everything first: a change function that fails must leave
		// the state as it was.
		var account *User
		for _, existing := range st.Users {
			if existing.Email == email {
				account = existing
			}
		}
		var target *Organization
		switch {
		case fixedOrganization != "":
			found, ok := findByID(st.Organizations, fixedOrganization, organizationID)
			if !ok {
				return &loginError{fmt.Sprintf("Organization %q was not found.", fixedOrganization)}
			}
			target = found
		case organization != "":
			for _, existing := range st.Organizations {
				if existing.ID == organization || strings.EqualFold(existing.Name, organization) {
					target = existing
				}
			}
		}
		if account != nil && target != nil {
			for _, m := range st.Memberships {
				if m.UserID == account.ID && m.OrganizationID == target.ID && m.Status != MembershipActive {
					return &loginError{fmt.Sprintf("The membership of %s in %s is %s.", email, target.Name, m.Status)}
				}
			}
		}

		now := formatTimestamp(s.now())
		if account == nil {
			account = newUser(email, now)
			s.addUserLocked(st, account)
		}
		user = account.ID
		if target == nil && organization != "" {
			target = newOrganization(organization, now)
			s.addOrganizationLocked(st, target)
		}
		if target == nil {
			for _, m := range st.Memberships {
				if m.UserID == user && m.Status == MembershipActive {
					org = m.OrganizationID
				}
			}
			return nil
		}

		org = target.ID
		if activeMembershipLocked(st, user, org) == nil {
			s.addMembershipLocked(st, newMembership(user, target, role, now))
		}
		return nil
	})
	return user, org, err
}

// writePage writes a small HTML page with a heading and a message.
func writePage(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = messageTemplate.Execute(w, struct{ Title, Message string }{title, message})
}

// The pages use no scripts and no external assets, so they work offline
// and in any browser, and every input has a label.
var messageTemplate = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} · WorkOS stand-in</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
<p role="status">{{.Message}}</p>
</main>
</body>
</html>
`))

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Heading}} · WorkOS stand-in</title></head>
<body>
<main>
<h1>{{.Heading}}</h1>
<p>Local WorkOS stand-in. Pick a user and an organization or type new ones; they are created on first use.</p>
{{if .Error}}<p role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/user_management/authorize">
<input type="hidden" name="client_id" value="{{.Params.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Params.RedirectURI}}">
<input type="hidden" name="state" value="{{.Params.State}}">
<input type="hidden" name="code_challenge" value="{{.Params.CodeChallenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Params.CodeChallengeMethod}}">
<input type="hidden" name="organization_id" value="{{.Params.OrganizationID}}">
<p>
<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="email" list="known-users" value="{{.Email}}"{{if .Error}} aria-describedby="login-error"{{end}}>
<datalist id="known-users">{{range .Users}}<option value="{{.Email}}">{{end}}</datalist>
</p>
{{if .FixedOrg}}<p>Organization: <strong>{{.FixedOrg.Name}}</strong></p>{{else}}
<p>
<label for="organization">Organization (name or ID, empty for none)</label>
<input id="organization" name="organization" type="text" list="known-organizations" value="{{.Organization}}">
<datalist id="known-organizations">{{range .Organizations}}<option value="{{.Name}}">{{.ID}}</option>{{end}}</datalist>
</p>{{end}}
<p>
<label for="role">Role for a new membership</label>
<select id="role" name="role">{{$role := .Role}}{{range .Roles}}<option value="{{.}}"{{if eq . $role}} selected{{end}}>{{.}}</option>{{end}}</select>
</p>
<p><button type="submit">Continue</button></p>
</form>
</main>
</body>
</html>
`))
