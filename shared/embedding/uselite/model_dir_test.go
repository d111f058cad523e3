package uselite

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// defaultModelDir is the folder that scripts/test installs the weights
// into, relative to this package.
const defaultModelDir = "../../../.local/models/use-lite"

var (
	sharedEncoderOnce sync.Once
	sharedEncoder     *Encoder
	sharedEncoderErr  error
)

// modelDir returns the weights folder from BONDINGAI_MODEL_DIR, or the
// default. The test fails, and does not skip, when the weights are missing,
// because a skipped golden test would hide a broken setup.
func modelDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("BONDINGAI_MODEL_DIR")
	if dir == "" {
		dir = defaultModelDir
	}
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil {
		t.Fatalf("USE-lite weights not found in %s (set BONDINGAI_MODEL_DIR, or run scripts/test, which installs them): %v", dir, err)
	}
	return dir
}

// loadEncoder loads the encoder once per test binary.
func loadEncoder(t testing.TB) *Encoder {
	t.Helper()
	dir := modelDir(t)
	sharedEncoderOnce.Do(func() {
		sharedEncoder, sharedEncoderErr = Load(dir)
	})
	if sharedEncoderErr != nil {
		t.Fatalf("Load(%s): %v", dir, sharedEncoderErr)
	}
	return sharedEncoder
}
