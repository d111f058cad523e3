package uselite

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenCase is one sentence from testdata/embedding/golden.json, produced by
// the TensorFlow.js reference (see generate-golden.mjs next to it).
type goldenCase struct {
	Text     string    `json:"text"`
	TokenIDs []int     `json:"token_ids"`
	Vector   []float32 `json:"vector"`
}

func readGolden(t *testing.T) []goldenCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "embedding", "golden.json"))
	if err != nil {
		t.Fatalf("read golden vectors: %v", err)
	}
	var golden struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatalf("parse golden vectors: %v", err)
	}
	if len(golden.Cases) < 10 {
		t.Fatalf("golden.json has %d cases, expected at least 10", len(golden.Cases))
	}
	return golden.Cases
}

func TestTokenizeMatchesReference(t *testing.T) {
	encoder := loadEncoder(t)
	for _, c := range readGolden(t) {
		got := encoder.Tokenize(c.Text)
		if !slices.Equal(got, c.TokenIDs) {
			t.Errorf("Tokenize(%q) = %v, expected %v", c.Text, got, c.TokenIDs)
		}
		if n := encoder.CountTokens(c.Text); n != len(c.TokenIDs) {
			t.Errorf("CountTokens(%q) = %d, expected %d", c.Text, n, len(c.TokenIDs))
		}
	}
}

func TestEmbedMatchesReference(t *testing.T) {
	encoder := loadEncoder(t)
	cases := readGolden(t)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}

	vectors, err := encoder.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vectors) != len(cases) {
		t.Fatalf("Embed returned %d vectors for %d texts", len(vectors), len(cases))
	}
	const tolerance = 1e-5
	var overall float64
	for i, c := range cases {
		if len(vectors[i]) != Dimensions || len(c.Vector) != Dimensions {
			t.Errorf("text %q: vector length %d, golden length %d, expected %d", c.Text, len(vectors[i]), len(c.Vector), Dimensions)
			continue
		}
		var largest float64
		for k := range vectors[i] {
			largest = max(largest, math.Abs(float64(vectors[i][k]-c.Vector[k])))
		}
		overall = max(overall, largest)
		if largest > tolerance {
			t.Errorf("text %q: max |difference| from reference = %g, expected <= %g", c.Text, largest, tolerance)
		}
	}
	t.Logf("max |difference| from reference over %d texts: %g", len(cases), overall)
}

func TestEmbedLongTextClipped(t *testing.T) {
	encoder := loadEncoder(t)
	var long goldenCase
	for _, c := range readGolden(t) {
		if len(c.TokenIDs) > MaxInputTokens {
			long = c
		}
	}
	if long.Text == "" {
		t.Fatalf("golden.json has no text longer than %d tokens", MaxInputTokens)
	}

	// Cutting the text after its first 128 tokens must not change the vector.
	// The prefix is built from whole words, so it ends after token 128 and
	// must share the first 128 tokens with the long text.
	words := strings.Fields(long.Text)
	var prefix string
	for n := 1; n <= len(words); n++ {
		prefix = strings.Join(words[:n], " ")
		if encoder.CountTokens(prefix) > MaxInputTokens {
			break
		}
	}
	prefixIDs := encoder.Tokenize(prefix)
	if !slices.Equal(prefixIDs[:MaxInputTokens], long.TokenIDs[:MaxInputTokens]) {
		t.Fatalf("prefix %q does not share the first %d tokens of the long text", prefix, MaxInputTokens)
	}
	vectors, err := encoder.Embed(context.Background(), []string{long.Text, prefix})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if !slices.Equal(vectors[0], vectors[1]) {
		t.Errorf("vectors of a long text and its %d-token prefix differ", MaxInputTokens)
	}
}

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot
}

func TestEmbedSemanticSimilarity(t *testing.T) {
	encoder := loadEncoder(t)
	texts := []string{
		"The cat sat on the mat.",
		"A kitten was sitting on the rug.",
		"Quarterly revenue grew by twelve percent.",
		"How many vacation days do employees get?",
		"Employees are entitled to 20 days of paid vacation per year.",
		"How do I reset my password?",
	}
	v, err := encoder.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}

	for i, vector := range v {
		var squares float64
		for _, x := range vector {
			squares += float64(x) * float64(x)
		}
		if math.Abs(squares-1) > 1e-5 {
			t.Errorf("text %q: squared norm %g, expected 1", texts[i], squares)
		}
	}

	paraphrase := cosine(v[0], v[1])
	unrelated := cosine(v[0], v[2])
	if paraphrase < 0.6 {
		t.Errorf("cosine(paraphrase) = %.3f, expected >= 0.6", paraphrase)
	}
	if paraphrase-unrelated < 0.4 {
		t.Errorf("cosine(paraphrase) = %.3f, cosine(unrelated) = %.3f, expected a gap of at least 0.4", paraphrase, unrelated)
	}

	answer := cosine(v[3], v[4])
	offTopic := cosine(v[3], v[5])
	t.Logf("cosine: paraphrase %.3f, unrelated %.3f, query-answer %.3f, query-unrelated %.3f", paraphrase, unrelated, answer, offTopic)
	if answer <= offTopic+0.3 {
		t.Errorf("query-answer cosine %.3f, query-unrelated cosine %.3f, expected the answer ahead by more than 0.3", answer, offTopic)
	}
}

func TestEmbedConcurrentCallsAgree(t *testing.T) {
	encoder := loadEncoder(t)
	texts := []string{"Submit receipts within 30 days.", "The office closes at 6 pm.", "Laptops are replaced every three years."}
	want, err := encoder.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}

	const callers = 8
	results := make(chan [][]float32, callers)
	errs := make(chan error, callers)
	for range callers {
		go func() {
			got, err := encoder.Embed(context.Background(), texts)
			errs <- err
			results <- got
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Embed: %v", err)
		}
		got := <-results
		for i := range texts {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("concurrent Embed of %q differs from a single call", texts[i])
			}
		}
	}
}

func TestEmbedCanceledContext(t *testing.T) {
	encoder := loadEncoder(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	vectors, err := encoder.Embed(ctx, []string{"one", "two", "three"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed with a canceled context: error %v, expected context.Canceled", err)
	}
	if vectors != nil {
		t.Errorf("Embed with a canceled context returned %d vectors, expected none", len(vectors))
	}
}

func TestEmbedNoTexts(t *testing.T) {
	encoder := loadEncoder(t)
	vectors, err := encoder.Embed(context.Background(), nil)
	if err != nil {
		t.Fatalf("Embed(nil): %v", err)
	}
	if len(vectors) != 0 {
		t.Errorf("Embed(nil) returned %d vectors, expected 0", len(vectors))
	}
}

func TestEncoderReportsModelFacts(t *testing.T) {
	encoder := loadEncoder(t)
	if got := encoder.Model(); got != "use-lite-512" {
		t.Errorf("Model() = %q, expected use-lite-512", got)
	}
	if got := encoder.Dimensions(); got != 512 {
		t.Errorf("Dimensions() = %d, expected 512", got)
	}
	if got := encoder.MaxInputTokens(); got != 128 {
		t.Errorf("MaxInputTokens() = %d, expected 128", got)
	}
}
