package workosstandin

import (
	"encoding/base32"

	"github.com/google/uuid"
)

// crockford is the Crockford base32 alphabet WorkOS uses for the ULID part of
// its object IDs (org_01H…). The alphabet is in ASCII order, so encoded IDs
// sort like the bytes they encode.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newID returns prefix + "_" + 26 Crockford base32 characters, the shape of
// a WorkOS object ID. The bytes are a UUIDv7, whose timestamp and per-process
// sequence make IDs grow monotonically, so ordering by ID is ordering by
// creation, which the list endpoints rely on.
func newID(prefix string) string {
	// uuid.NewV7 fails only when crypto/rand fails, which Go treats as fatal.
	id := uuid.Must(uuid.NewV7())
	return prefix + "_" + crockford.EncodeToString(id[:])
}
