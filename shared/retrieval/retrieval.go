// Package retrieval finds the chunks that answer a query. It runs a vector
// search (pgvector HNSW) and a full-text search (PostgreSQL tsvector) inside
// the caller's organization and fuses the two rankings with reciprocal rank
// fusion, which needs no score calibration between the methods.
package retrieval

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/embedding"
	"github.com/bondingai/platform/shared/store"
)

// Defaults.
const (
	// CandidatesDefault is how many chunks each method ranks before fusion.
	CandidatesDefault = 50
	// RRFConstantDefault is k in score = sum of 1/(k + rank); 60 is the
	// value of the original RRF paper (Cormack et al., SIGIR 2009).
	RRFConstantDefault = 60
	// TopKDefault and TopKMax bound the number of results a caller gets.
	TopKDefault = 5
	TopKMax     = 50
	// QueryMaxRunes caps the query length.
	QueryMaxRunes = 2000
)

// ErrInvalidQuery marks a query the caller must fix.
var ErrInvalidQuery = errors.New("invalid query")

// Searcher runs hybrid searches.
type Searcher struct {
	Store    *store.Store
	Embedder embedding.Embedder
	// Candidates is how many chunks each method ranks; 0 means CandidatesDefault.
	Candidates int
	// RRFConstant is k of reciprocal rank fusion; 0 means RRFConstantDefault.
	RRFConstant int
}

// Result is one chunk in fused rank order.
type Result struct {
	ChunkID     uuid.UUID
	DocumentID  uuid.UUID
	Filename    string
	Page        *int
	HeadingPath []string
	Text        string
	// Score is the fused reciprocal-rank score; higher is better. It ranks
	// results within one search and is not comparable across searches.
	Score float64
}

// Search returns the topK chunks of orgID's ready documents that best match
// query.
func (s *Searcher) Search(ctx context.Context, orgID uuid.UUID, query string, topK int) ([]Result, error) {
	query = strings.TrimSpace(query)
	switch {
	case query == "":
		return nil, fmt.Errorf("%w: the query is empty", ErrInvalidQuery)
	case len([]rune(query)) > QueryMaxRunes:
		return nil, fmt.Errorf("%w: the query is longer than %d characters", ErrInvalidQuery, QueryMaxRunes)
	case topK < 1 || topK > TopKMax:
		return nil, fmt.Errorf("%w: top_k must be between 1 and %d", ErrInvalidQuery, TopKMax)
	}
	candidates := s.Candidates
	if candidates <= 0 {
		candidates = CandidatesDefault
	}

	vectors, err := s.Embedder.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	if len(vectors) != 1 {
		return nil, fmt.Errorf("embed query: model returned %d vectors for one query", len(vectors))
	}

	var byVector, byText []store.SearchHit
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		if byVector, err = store.SearchByVector(ctx, tx, vectors[0], s.Embedder.Model(), candidates); err != nil {
			return err
		}
		byText, err = store.SearchByText(ctx, tx, query, candidates)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("search organization %s: %w", orgID, err)
	}
	return Fuse(topK, s.rrfConstant(), byVector, byText), nil
}

func (s *Searcher) rrfConstant() int {
	if s.RRFConstant > 0 {
		return s.RRFConstant
	}
	return RRFConstantDefault
}

// Fuse merges rankings by reciprocal rank fusion and returns the topK best.
// A chunk found by several rankings sums its reciprocal ranks; ties keep
// the order of the first ranking.
func Fuse(topK, k int, rankings ...[]store.SearchHit) []Result {
	type fused struct {
		result    Result
		firstSeen int
	}
	byChunk := map[uuid.UUID]*fused{}
	seen := 0
	for _, ranking := range rankings {
		for rank, hit := range ranking {
			f, ok := byChunk[hit.ChunkID]
			if !ok {
				f = &fused{firstSeen: seen, result: Result{
					ChunkID: hit.ChunkID, DocumentID: hit.DocumentID, Filename: hit.Filename,
					Page: hit.Page, HeadingPath: hit.HeadingPath, Text: hit.Text,
				}}
				byChunk[hit.ChunkID] = f
				seen++
			}
			f.result.Score += 1 / float64(k+rank+1)
		}
	}
	all := make([]*fused, 0, len(byChunk))
	for _, f := range byChunk {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].result.Score != all[j].result.Score {
			return all[i].result.Score > all[j].result.Score
		}
		return all[i].firstSeen < all[j].firstSeen
	})
	results := make([]Result, 0, min(topK, len(all)))
	for _, f := range all[:min(topK, len(all))] {
		results = append(results, f.result)
	}
	return results
}
