package workosstandin

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/MicahParks/jwkset"
)

// signingKeyBits is the RSA modulus size of generated signing keys, the
// common size for RS256 keys.
const signingKeyBits = 2048

// signingKey is one RS256 key pair. The newest key that is not retired signs
// new tokens. Retired keys stay in the JWKS until they are dropped, so tokens
// they signed keep validating during a rotation.
type signingKey struct {
	ID            string     `json:"id"`
	PrivateKeyPEM string     `json:"private_key_pem"`
	CreatedAt     time.Time  `json:"created_at"`
	RetiredAt     *time.Time `json:"retired_at,omitempty"`

	private *rsa.PrivateKey
}

func newSigningKey(now time.Time) (*signingKey, error) {
	private, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("encode RSA signing key: %w", err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return &signingKey{
		ID:            newID("sso_oidc_key_pair"),
		PrivateKeyPEM: string(block),
		CreatedAt:     now.UTC(),
		private:       private,
	}, nil
}

// decode parses PrivateKeyPEM after the key was loaded from the state file.
func (k *signingKey) decode() error {
	block, _ := pem.Decode([]byte(k.PrivateKeyPEM))
	if block == nil {
		return fmt.Errorf("signing key %s: no PEM block in private_key_pem", k.ID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("signing key %s: parse private key: %w", k.ID, err)
	}
	private, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("signing key %s: private key is %T, want RSA", k.ID, parsed)
	}
	k.private = private
	return nil
}

// currentSigningKeyLocked returns the newest key that is not retired.
func currentSigningKeyLocked(st *state) (*signingKey, error) {
	for i := len(st.SigningKeys) - 1; i >= 0; i-- {
		if st.SigningKeys[i].RetiredAt == nil {
			return st.SigningKeys[i], nil
		}
	}
	return nil, errors.New("no active signing key: rotate keys to create one")
}

// RotateKeys creates a new signing key and retires the current one. The
// retired key stays published in the JWKS until DropRetiredKeys removes it.
// It returns the ID (kid) of the new key.
func (s *Server) RotateKeys() (string, error) {
	key, err := newSigningKey(s.now())
	if err != nil {
		return "", err
	}

	err = s.store.update(func(st *state) error {
		retiredAt := key.CreatedAt
		for _, old := range st.SigningKeys {
			if old.RetiredAt == nil {
				old.RetiredAt = &retiredAt
			}
		}
		st.SigningKeys = append(st.SigningKeys, key)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing keys: %w", err)
	}

	s.logger.Info("workos stand-in rotated signing keys", "kid", key.ID)
	return key.ID, nil
}

// DropRetiredKeys removes retired keys from the JWKS, after which tokens they
// signed no longer validate. It returns the IDs of the removed keys.
func (s *Server) DropRetiredKeys() ([]string, error) {
	dropped := []string{}
	err := s.store.update(func(st *state) error {
		kept := st.SigningKeys[:0]
		for _, key := range st.SigningKeys {
			if key.RetiredAt != nil {
				dropped = append(dropped, key.ID)
				continue
			}
			kept = append(kept, key)
		}
		st.SigningKeys = kept
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("drop retired signing keys: %w", err)
	}

	s.logger.Info("workos stand-in dropped retired signing keys", "kids", dropped)
	return dropped, nil
}

// jwksJSON returns the public JWKS: every key, active or retired, with kid,
// use "sig" and alg "RS256", as WorkOS publishes them.
func (s *Server) jwksJSON(ctx context.Context) (json.RawMessage, error) {
	set := jwkset.NewMemoryStorage()
	var err error
	s.store.read(func(st *state) {
		for _, key := range st.SigningKeys {
			var jwk jwkset.JWK
			jwk, err = jwkset.NewJWKFromKey(&key.private.PublicKey, jwkset.JWKOptions{
				Metadata: jwkset.JWKMetadataOptions{
					ALG: jwkset.AlgRS256,
					KID: key.ID,
					USE: jwkset.UseSig,
				},
			})
			if err != nil {
				err = fmt.Errorf("build JWK for signing key %s: %w", key.ID, err)
				return
			}
			if err = set.KeyWrite(ctx, jwk); err != nil {
				err = fmt.Errorf("add signing key %s to JWKS: %w", key.ID, err)
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return set.JSONPublic(ctx)
}
