package workosstandin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config configures a stand-in.
type Config struct {
	// ClientID is the WorkOS client ID whose JWKS the stand-in serves and
	// whose issuer it writes into tokens. Required.
	ClientID string
	// APIKey is the secret key clients send as "Authorization: Bearer <key>".
	// Required.
	APIKey string
	// BaseURL is the URL clients use to reach the stand-in, without a
	// trailing slash, such as http://127.0.0.1:7072. Tokens carry the issuer
	// {BaseURL}/user_management/{ClientID}, the issuer format of WorkOS
	// environments created since mid-2025. Required.
	BaseURL string
	// StateDir is the folder of the state file. Empty keeps all state in
	// memory, so it is lost when the process ends.
	StateDir string
	// Now returns the current time for timestamps and token lifetimes.
	// Defaults to time.Now.
	Now func() time.Time
	// Logger receives start-up, key rotation and request logs. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// RedirectURIs are the redirect URIs the hosted login may send a code
	// to, compared exactly. Empty allows any http URI on a loopback host.
	// Logout return_to URLs must have the origin of one of them.
	RedirectURIs []string
	// AccessTokenTTL is the lifetime of access tokens issued by the
	// authenticate endpoint. Defaults to AccessTokenTTLDefault.
	AccessTokenTTL time.Duration
	// WebhookEndpoints receive every event as a signed POST. URLs must be on
	// a loopback host. Endpoints registered through the development
	// endpoint are added to these.
	WebhookEndpoints []WebhookEndpoint
	// WebhookAttempts is how many times one delivery is tried. Defaults to
	// WebhookAttemptsDefault.
	WebhookAttempts int
	// WebhookRetryDelay is the wait before the first retry of a delivery,
	// doubled for each later retry. Defaults to WebhookRetryDelayDefault.
	WebhookRetryDelay time.Duration
}

// Server is a WorkOS stand-in. It is an http.Handler and is safe for
// concurrent use.
type Server struct {
	clientID string
	apiKey   string
	baseURL  string
	now      func() time.Time
	logger   *slog.Logger
	store    *store
	handler  http.Handler

	redirectURIs   []string
	accessTokenTTL time.Duration
	webhooks       *webhookSender
	// codes and portalLinks are short-lived and stay in memory.
	codes       *codeStore
	portalLinks *portalLinkStore
}

// New loads the state in cfg.StateDir, creates a first signing key when there
// is none, and returns the stand-in.
func New(cfg Config) (*Server, error) {
	var problems []error
	if cfg.ClientID == "" {
		problems = append(problems, errors.New("client ID is missing"))
	}
	if cfg.APIKey == "" {
		problems = append(problems, errors.New("API key is missing"))
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		problems = append(problems, fmt.Errorf("base URL %q is invalid: want an absolute http or https URL", cfg.BaseURL))
	}
	for _, uri := range cfg.RedirectURIs {
		if u, err := url.Parse(uri); err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
			problems = append(problems, fmt.Errorf("redirect URI %q is invalid: want an absolute URL without a fragment", uri))
		}
	}
	for _, endpoint := range cfg.WebhookEndpoints {
		if err := validateWebhookEndpoint(endpoint); err != nil {
			problems = append(problems, err)
		}
	}
	maxTTL := AccessTokenTTLMax
	if cfg.AccessTokenTTL < 0 || cfg.AccessTokenTTL > maxTTL {
		problems = append(problems, fmt.Errorf("access token TTL %s is invalid: want 1s..%s", cfg.AccessTokenTTL, maxTTL))
	}
	if cfg.WebhookAttempts < 0 || cfg.WebhookRetryDelay < 0 {
		problems = append(problems, errors.New("webhook attempts and retry delay must not be negative"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configure WorkOS stand-in: %w", errors.Join(problems...))
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = AccessTokenTTLDefault
	}
	if cfg.WebhookAttempts == 0 {
		cfg.WebhookAttempts = WebhookAttemptsDefault
	}
	if cfg.WebhookRetryDelay == 0 {
		cfg.WebhookRetryDelay = WebhookRetryDelayDefault
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	statePath := ""
	if cfg.StateDir != "" {
		statePath = filepath.Join(cfg.StateDir, StateFileName)
	}
	st, err := openStore(statePath)
	if err != nil {
		return nil, err
	}

	s := &Server{
		clientID: cfg.ClientID,
		apiKey:   cfg.APIKey,
		baseURL:  strings.TrimRight(cfg.BaseURL, "/"),
		now:      cfg.Now,
		logger:   cfg.Logger,
		store:    st,

		redirectURIs:   cfg.RedirectURIs,
		accessTokenTTL: cfg.AccessTokenTTL,
		webhooks:       newWebhookSender(cfg.WebhookEndpoints, cfg.WebhookAttempts, cfg.WebhookRetryDelay, cfg.Now, cfg.Logger),
		codes:          newCodeStore(),
		portalLinks:    newPortalLinkStore(),
	}

	var keyCount int
	st.read(func(st *state) {
		if _, err := currentSigningKeyLocked(st); err == nil {
			keyCount = len(st.SigningKeys)
		}
	})
	if keyCount == 0 {
		if _, err := s.RotateKeys(); err != nil {
			return nil, err
		}
	}

	s.handler = requireLoopback(s.logRequests(s.routes()))
	return s, nil
}

// NewHTTPTestServer starts a stand-in on a loopback httptest server and sets
// cfg.BaseURL to the server's URL. The caller closes the returned server.
func NewHTTPTestServer(cfg Config) (*Server, *httptest.Server, error) {
	ts := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + ts.Listener.Addr().String()
	s, err := New(cfg)
	if err != nil {
		ts.Listener.Close()
		return nil, nil, err
	}
	ts.Config.Handler = s
	ts.Start()
	return s, ts, nil
}

// Close stops webhook retries and waits for deliveries in flight. The
// stand-in keeps serving requests, but emits no more webhooks.
func (s *Server) Close() {
	s.webhooks.close()
}

// routes maps the WorkOS REST paths that workos-go v4.46.1 calls (see
// pkg/organizations/client.go and pkg/usermanagement/client.go at that tag)
// and the development endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// The JWKS is public: AuthKit clients fetch it without an API key.
	mux.HandleFunc("GET /sso/jwks/{client_id}", s.handleJWKS)

	mux.HandleFunc("POST /organizations", s.requireAPIKey(s.handleCreateOrganization))
	mux.HandleFunc("GET /organizations", s.requireAPIKey(s.handleListOrganizations))
	mux.HandleFunc("GET /organizations/{id}", s.requireAPIKey(s.handleGetOrganization))
	mux.HandleFunc("GET /organizations/external_id/{external_id}", s.requireAPIKey(s.handleGetOrganizationByExternalID))

	mux.HandleFunc("POST /user_management/users", s.requireAPIKey(s.handleCreateUser))
	mux.HandleFunc("GET /user_management/users", s.requireAPIKey(s.handleListUsers))
	mux.HandleFunc("GET /user_management/users/{id}", s.requireAPIKey(s.handleGetUser))

	mux.HandleFunc("POST /user_management/organization_memberships", s.requireAPIKey(s.handleCreateMembership))
	mux.HandleFunc("GET /user_management/organization_memberships", s.requireAPIKey(s.handleListMemberships))
	mux.HandleFunc("GET /user_management/organization_memberships/{id}", s.requireAPIKey(s.handleGetMembership))
	mux.HandleFunc("PUT /user_management/organization_memberships/{id}", s.requireAPIKey(s.handleUpdateMembership))

	// AuthKit: the hosted login page is a browser page, and authenticate
	// carries the API key as client_secret in its body, as in WorkOS.
	mux.HandleFunc("GET /user_management/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /user_management/authorize", s.handleAuthorizeSubmit)
	mux.HandleFunc("POST /user_management/authenticate", s.handleAuthenticate)
	mux.HandleFunc("POST /user_management/sessions/revoke", s.requireAPIKey(s.handleRevokeSession))
	mux.HandleFunc("GET /user_management/sessions/logout", s.handleLogout)

	mux.HandleFunc("DELETE /organizations/{id}", s.requireAPIKey(s.handleDeleteOrganization))
	mux.HandleFunc("DELETE /Organizations/{id}", s.requireAPIKey(s.handleDeleteOrganization))
	mux.HandleFunc("DELETE /user_management/organization_memberships/{id}", s.requireAPIKey(s.handleDeleteMembership))

	mux.HandleFunc("GET /directories", s.requireAPIKey(s.handleListDirectories))
	mux.HandleFunc("GET /directories/{id}", s.requireAPIKey(s.handleGetDirectory))
	mux.HandleFunc("DELETE /directories/{id}", s.requireAPIKey(s.handleDeleteDirectory))
	mux.HandleFunc("GET /directory_users", s.requireAPIKey(s.handleListDirectoryUsers))
	mux.HandleFunc("GET /directory_users/{id}", s.requireAPIKey(s.handleGetDirectoryUser))
	mux.HandleFunc("GET /directory_groups", s.requireAPIKey(s.handleListDirectoryGroups))
	mux.HandleFunc("GET /directory_groups/{id}", s.requireAPIKey(s.handleGetDirectoryGroup))

	mux.HandleFunc("GET /events", s.requireAPIKey(s.handleListEvents))

	mux.HandleFunc("POST /portal/generate_link", s.requireAPIKey(s.handleGeneratePortalLink))
	mux.HandleFunc("GET /portal/launch", s.handlePortalPage)

	mux.HandleFunc("POST /_standin/directories", s.requireAPIKey(s.handleCreateDirectory))
	mux.HandleFunc("POST /_standin/directory-users", s.requireAPIKey(s.handleCreateDirectoryUser))
	mux.HandleFunc("PUT /_standin/directory-users/{id}", s.requireAPIKey(s.handleUpdateDirectoryUser))
	mux.HandleFunc("POST /_standin/directory-users/{id}/deactivate", s.requireAPIKey(s.handleDeactivateDirectoryUser))
	mux.HandleFunc("DELETE /_standin/directory-users/{id}", s.requireAPIKey(s.handleDeleteDirectoryUser))
	mux.HandleFunc("POST /_standin/directory-groups", s.requireAPIKey(s.handleCreateDirectoryGroup))
	mux.HandleFunc("PUT /_standin/directory-groups/{id}", s.requireAPIKey(s.handleUpdateDirectoryGroup))
	mux.HandleFunc("DELETE /_standin/directory-groups/{id}", s.requireAPIKey(s.handleDeleteDirectoryGroup))
	mux.HandleFunc("DELETE /_standin/organization-memberships/{id}", s.requireAPIKey(s.handleDeleteMembership))
	mux.HandleFunc("DELETE /_standin/organizations/{id}", s.requireAPIKey(s.handleDeleteOrganization))
	mux.HandleFunc("POST /_standin/webhook-endpoints", s.requireAPIKey(s.handleRegisterWebhook))

	mux.HandleFunc("POST /_standin/access-tokens", s.requireAPIKey(s.handleMintAccessToken))
	mux.HandleFunc("POST /_standin/rotate-keys", s.requireAPIKey(s.handleRotateKeys))
	mux.HandleFunc("POST /_standin/drop-retired-keys", s.requireAPIKey(s.handleDropRetiredKeys))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{
			Message: fmt.Sprintf("The WorkOS stand-in does not serve %s %s.", r.Method, r.URL.Path),
			Code:    "not_found",
		})
	})
	return mux
}

// ServeHTTP serves the WorkOS API subset and the development endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// IssuerURL returns the iss claim of the tokens the stand-in mints.
func (s *Server) IssuerURL() string {
	return s.baseURL + "/user_management/" + s.clientID
}

// JWKSURL returns the URL of the stand-in's JWKS, the URL that workos-go's
// usermanagement.GetJWKSURL builds for the same base URL and client ID.
func (s *Server) JWKSURL() string {
	return s.baseURL + "/sso/jwks/" + s.clientID
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	clientID := r.PathValue("client_id")
	if clientID != s.clientID {
		writeNotFound(w, "Client", clientID)
		return
	}
	body, err := s.jwksJSON(r.Context())
	if err != nil {
		s.logger.Error("workos stand-in failed to build JWKS", "error", err)
		writeInternalError(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *Server) handleRotateKeys(w http.ResponseWriter, r *http.Request) {
	kid, err := s.RotateKeys()
	if err != nil {
		s.logger.Error("workos stand-in failed to rotate signing keys", "error", err)
		writeInternalError(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"kid": kid})
}

func (s *Server) handleDropRetiredKeys(w http.ResponseWriter, r *http.Request) {
	dropped, err := s.DropRetiredKeys()
	if err != nil {
		s.logger.Error("workos stand-in failed to drop retired signing keys", "error", err)
		writeInternalError(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"dropped_kids": dropped})
}

// statusRecorder keeps the response status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// logRequests gives each response an X-Request-ID, as WorkOS does (the SDK
// copies it into its errors), and logs method, path and status. It never
// logs headers or bodies, which carry the API key and tokens.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := newID("req")
		w.Header().Set("X-Request-ID", requestID)
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		s.logger.Info("workos stand-in request",
			"request_id", requestID, "method", r.Method, "path", r.URL.Path, "status", recorder.status)
	})
}
