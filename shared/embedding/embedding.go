// Package embedding turns chunk text into vectors. Every implementation sits
// behind Embedder, so ingestion and search never know which model runs.
package embedding

import "context"

// Embedder computes sentence embeddings for one model.
type Embedder interface {
	// Model is the name recorded with every vector, such as "use-lite-512"
	// or "azure-openai/text-embedding-3-small".
	Model() string
	// Dimensions is the length of every vector Embed returns.
	Dimensions() int
	// MaxInputTokens is the longest input, in the model's own tokens, that
	// the model reads without truncating.
	MaxInputTokens() int
	// CountTokens returns how many of the model's tokens text uses. The
	// chunker calls it to keep every chunk within MaxInputTokens.
	CountTokens(text string) int
	// Embed returns one vector per text, in order. Vectors are L2-normalised.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}
