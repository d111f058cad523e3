package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of a cookie key in bytes (XChaCha20-Poly1305).
const KeySize = chacha20poly1305.KeySize

// sealVersion is the first byte of every sealed value, so that a later
// format can be recognized.
const sealVersion = 1

// ErrInvalidSeal means a sealed value is malformed, was tampered with, or
// was sealed with a key the Sealer does not have.
var ErrInvalidSeal = errors.New("sealed value invalid")

// Sealer encrypts and authenticates cookie values with XChaCha20-Poly1305.
// It seals with the current key and opens with the current or the previous
// key, so a key can be rotated without signing everyone out. To rotate,
// deploy the new key as current and the old one as previous. Drop the
// previous key once the longest session has ended.
type Sealer struct {
	current  cipherAEAD
	previous cipherAEAD
}

type cipherAEAD interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	NonceSize() int
	Overhead() int
}

// NewSealer returns a Sealer for the 32-byte key current and, when previous
// is not nil, the 32-byte key it replaced.
func NewSealer(current, previous []byte) (*Sealer, error) {
	s := &Sealer{}
	var err error
	if s.current, err = chacha20poly1305.NewX(current); err != nil {
		return nil, fmt.Errorf("create cookie cipher with the current key: %w", err)
	}
	if previous != nil {
		if s.previous, err = chacha20poly1305.NewX(previous); err != nil {
			return nil, fmt.Errorf("create cookie cipher with the previous key: %w", err)
		}
	}
	return s, nil
}

// Seal encodes v as JSON and encrypts it with the current key. purpose is
// authenticated with the value, so a value sealed for one purpose (one
// cookie name) does not open for another.
func (s *Sealer) Seal(purpose string, v any) (string, error) {
	plaintext, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s value: %w", purpose, err)
	}
	nonce := make([]byte, s.current.NonceSize(), 1+s.current.NonceSize()+len(plaintext)+s.current.Overhead())
	_, _ = rand.Read(nonce)
	sealed := append([]byte{sealVersion}, nonce...)
	sealed = s.current.Seal(sealed, nonce, plaintext, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts value sealed for purpose into v. It returns an error
// matching ErrInvalidSeal for anything but a value Seal produced for purpose
// with the current or the previous key.
func (s *Sealer) Open(purpose, value string, v any) error {
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	nonceSize := s.current.NonceSize()
	if err != nil || len(sealed) < 1+nonceSize+s.current.Overhead() || sealed[0] != sealVersion {
		return fmt.Errorf("%w: malformed %s value", ErrInvalidSeal, purpose)
	}
	nonce, ciphertext := sealed[1:1+nonceSize], sealed[1+nonceSize:]

	plaintext, err := s.current.Open(nil, nonce, ciphertext, []byte(purpose))
	if err != nil && s.previous != nil {
		plaintext, err = s.previous.Open(nil, nonce, ciphertext, []byte(purpose))
	}
	if err != nil {
		return fmt.Errorf("%w: %s value fails authentication", ErrInvalidSeal, purpose)
	}
	if err := json.Unmarshal(plaintext, v); err != nil {
		return fmt.Errorf("%w: decode %s value: %v", ErrInvalidSeal, purpose, err)
	}
	return nil
}
