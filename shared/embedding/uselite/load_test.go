package uselite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyModel copies the model files from the real weights folder into a new
// temporary folder that a test may damage.
func copyModel(t *testing.T) string {
	t.Helper()
	source := modelDir(t)
	target := t.TempDir()
	entries, err := os.ReadDir(source)
	if err != nil {
		t.Fatalf("list %s: %v", source, err)
	}
	for _, entry := range entries {
		if entry.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(source, entry.Name()))
		if err != nil {
			t.Fatalf("read %s: %v", entry.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(target, entry.Name()), data, 0o600); err != nil {
			t.Fatalf("write %s: %v", entry.Name(), err)
		}
	}
	return target
}

func TestLoadMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load of a missing folder succeeded, expected an error")
	}
	if !strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("Load error %q does not name vocab.json", err)
	}
}

func TestLoadTruncatedShard(t *testing.T) {
	dir := copyModel(t)
	shard := filepath.Join(dir, "group1-shard7of7")
	if err := os.Truncate(shard, 1000); err != nil {
		t.Fatalf("truncate shard: %v", err)
	}

	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load with a truncated shard succeeded, expected an error")
	}
	if !strings.Contains(err.Error(), "shards end at byte") {
		t.Errorf("Load error %q does not report the short shards", err)
	}
}

func TestLoadMissingWeight(t *testing.T) {
	dir := copyModel(t)
	manifestPath := filepath.Join(dir, "model.json")
	raw, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatalf("read model.json: %v", err)
	}
	// Renaming the weight in the manifest keeps the byte layout valid but
	// hides the tensor. The graph nodes earlier in the file use the name too,
	// so only the part after "weightsManifest" changes.
	const name = "module/Encoder_en/hidden_layers/tanh_layer_0/bias"
	text := string(raw)
	start := strings.Index(text, `"weightsManifest"`)
	if start < 0 {
		t.Fatal("model.json has no weightsManifest")
	}
	weights := strings.Replace(text[start:], `"`+name+`"`, `"`+name+`_renamed"`, 1)
	if weights == text[start:] {
		t.Fatalf("weightsManifest does not list %s", name)
	}
	damaged := text[:start] + weights
	if err := os.WriteFile(manifestPath, []byte(damaged), 0o600); err != nil {
		t.Fatalf("write model.json: %v", err)
	}

	_, err = Load(dir)
	if err == nil {
		t.Fatal("Load without the head bias succeeded, expected an error")
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("Load error %q does not name the missing weight %s", err, name)
	}
}

func TestLoadInvalidVocabulary(t *testing.T) {
	dir := copyModel(t)
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"not": "a list"}`), 0o600); err != nil {
		t.Fatalf("write vocab.json: %v", err)
	}

	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load with an invalid vocabulary succeeded, expected an error")
	}
	if !strings.Contains(err.Error(), "parse vocabulary") {
		t.Errorf("Load error %q does not report the vocabulary", err)
	}
}
