package workosstandin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// StateFileName is the name of the state file inside Config.StateDir.
const StateFileName = "workos-standin.json"

// stateVersion is the layout version written into the state file, so a later
// layout can migrate or reject an older file.
const stateVersion = 1

// state is everything the stand-in persists. Slices keep creation order.
type state struct {
	Version       int                       `json:"version"`
	SigningKeys   []*signingKey             `json:"signing_keys"`
	Organizations []*Organization           `json:"organizations"`
	Users         []*User                   `json:"users"`
	Memberships   []*OrganizationMembership `json:"organization_memberships"`
	// IdempotencyKeys maps the Idempotency-Key of an organization create
	// request to the organization it created.
	IdempotencyKeys map[string]string `json:"idempotency_keys"`

	Sessions         []*Session         `json:"sessions,omitempty"`
	RefreshTokens    []*refreshToken    `json:"refresh_tokens,omitempty"`
	Directories      []*Directory       `json:"directories,omitempty"`
	DirectoryUsers   []*directoryUser   `json:"directory_users,omitempty"`
	DirectoryGroups  []*DirectoryGroup  `json:"directory_groups,omitempty"`
	Events           []*storedEvent     `json:"events,omitempty"`
	WebhookEndpoints []*WebhookEndpoint `json:"webhook_endpoints,omitempty"`
}

// store guards the state and writes it to disk after each change. An empty
// path keeps the state in memory only.
type store struct {
	mu    sync.Mutex
	path  string
	state state
}

// openStore loads the state file at path, or starts an empty state when the
// file does not exist yet.
func openStore(path string) (*store, error) {
	s := &store{path: path, state: state{Version: stateVersion, IdempotencyKeys: map[string]string{}}}
	if path == "" {
		return s, nil
	}

	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file %s: %w", path, err)
	}

	if err := json.Unmarshal(data, &s.state); err != nil {
		return nil, fmt.Errorf("decode state file %s: %w", path, err)
	}
	if s.state.Version != stateVersion {
		return nil, fmt.Errorf("state file %s has version %d, want %d: move it away to start with a fresh state", path, s.state.Version, stateVersion)
	}
	if s.state.IdempotencyKeys == nil {
		s.state.IdempotencyKeys = map[string]string{}
	}
	for _, key := range s.state.SigningKeys {
		if err := key.decode(); err != nil {
			return nil, fmt.Errorf("decode state file %s: %w", path, err)
		}
	}
	return s, nil
}

// saveLocked writes the state to a temporary file and renames it over the
// state file, so a crash never leaves a half-written file. The caller holds
// s.mu. The file holds private keys, so only the owner may read it.
func (s *store) saveLocked() error {
	if s.path == "" {
		return nil
	}

	data, err := json.MarshalIndent(&s.state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}

	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state dir %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, StateFileName+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary state file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename

	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replace state file %s: %w", s.path, err)
	}
	return nil
}

// update runs change under the lock and saves the state when change succeeds.
// A failed save leaves the change in memory and returns the error, so the
// client sees the failure while the stand-in keeps serving.
func (s *store) update(change func(st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if err := change(&s.state); err != nil {
		return err
	}
	return s.saveLocked()
}

// read runs view under the lock without saving.
func (s *store) read(view func(st *state)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	view(&s.state)
}
