package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
	pgxvector "github.com/pgvector/pgvector-go/pgx"

	"github.com/bondingai/platform/shared/chunking"
	"github.com/bondingai/platform/shared/embedding/uselite"
	"github.com/bondingai/platform/shared/retrieval"
	"github.com/bondingai/platform/shared/store"
)

// Corpus generation parameters.
const (
	// baseSentences is how many real chunks the model embeds; every
	// generated chunk derives from one of them.
	baseSentences = 200
	// vectorNoise is the standard deviation of the per-dimension noise
	// added to a base vector, small enough that variants stay near their
	// base and far enough that the index holds distinct points.
	vectorNoise = 0.02
	// chunksPerDocument groups generated chunks into documents.
	chunksPerDocument = 100
)

type latencies struct {
	name    string
	samples []time.Duration
}

func (l *latencies) percentile(p float64) time.Duration {
	sorted := append([]time.Duration(nil), l.samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	index := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(index, 0)]
}

type searchResult struct {
	corpusChunks, otherChunks, queries int
	usesHNSW                           bool
	plan                               string
	series                             []*latencies
}

// benchSearch builds the generated corpus and times the searches.
func benchSearch(ctx context.Context, env *environment, opts options) (*searchResult, error) {
	bases, err := baseChunks(ctx, env, opts.pdf)
	if err != nil {
		return nil, err
	}
	searched, err := env.store.EnsureOrganization(ctx, "org_bench_search")
	if err != nil {
		return nil, err
	}
	other, err := env.store.EnsureOrganization(ctx, "org_bench_other")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if err := loadCorpus(ctx, env, searched, bases, opts.corpusChunks, rng); err != nil {
		return nil, err
	}
	if err := loadCorpus(ctx, env, other, bases, opts.otherChunks, rng); err != nil {
		return nil, err
	}

	result := &searchResult{corpusChunks: opts.corpusChunks, otherChunks: opts.otherChunks, queries: opts.queries}
	if result.plan, err = vectorPlan(ctx, env, searched, bases[0].vector); err != nil {
		return nil, err
	}
	result.usesHNSW = strings.Contains(result.plan, "chunks_embedding_512")

	searcher := &retrieval.Searcher{Store: env.store, Embedder: env.encoder}
	hybrid := &latencies{name: "hybrid search (embed query, vector + full text, fusion)"}
	embedOnly := &latencies{name: "query embedding alone"}
	vectorOnly := &latencies{name: "vector search alone (HNSW)"}
	textOnly := &latencies{name: "full-text search alone"}
	for i := range opts.queries {
		query := queryFrom(bases[rng.IntN(len(bases))].text, rng)

		started := time.Now()
		vectors, err := env.encoder.Embed(ctx, []string{query})
		if err != nil {
			return nil, err
		}
		embedOnly.samples = append(embedOnly.samples, time.Since(started))

		started = time.Now()
		err = env.store.InOrg(ctx, searched, func(tx pgx.Tx) error {
			_, err := store.SearchByVector(ctx, tx, vectors[0], uselite.ModelName, retrieval.CandidatesDefault)
			return err
		})
		if err != nil {
			return nil, err
		}
		vectorOnly.samples = append(vectorOnly.samples, time.Since(started))

		started = time.Now()
		err = env.store.InOrg(ctx, searched, func(tx pgx.Tx) error {
			_, err := store.SearchByText(ctx, tx, query, retrieval.CandidatesDefault)
			return err
		})
		if err != nil {
			return nil, err
		}
		textOnly.samples = append(textOnly.samples, time.Since(started))

		started = time.Now()
		results, err := searcher.Search(ctx, searched, query, 5)
		if err != nil {
			return nil, err
		}
		hybrid.samples = append(hybrid.samples, time.Since(started))
		if i == 0 && len(results) == 0 {
			return nil, fmt.Errorf("search for %q found nothing in the generated corpus", query)
		}
	}
	result.series = []*latencies{hybrid, embedOnly, vectorOnly, textOnly}
	return result, nil
}

type baseChunk struct {
	text   string
	vector []float32
}

// baseChunks embeds the first baseSentences chunks of the PDF.
func baseChunks(ctx context.Context, env *environment, pdf string) ([]baseChunk, error) {
	content, err := os.ReadFile(pdf)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", pdf, err)
	}
	doc, err := env.extractor.Extract(ctx, filepath.Base(pdf), content)
	if err != nil {
		return nil, err
	}
	chunks := chunking.Split(doc, env.encoder, chunking.DefaultOptions())
	chunks = chunks[:min(baseSentences, len(chunks))]
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text
	}
	vectors, err := env.encoder.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	bases := make([]baseChunk, len(chunks))
	for i := range chunks {
		bases[i] = baseChunk{text: texts[i], vector: vectors[i]}
	}
	return bases, nil
}

// loadCorpus writes n generated chunks of ready documents for orgID with
// COPY, connected as the schema owner, because COPY FROM does not run on
// tables with row-level security.
func loadCorpus(ctx context.Context, env *environment, orgID uuid.UUID, bases []baseChunk, n int, rng *rand.Rand) error {
	conn, err := pgx.Connect(ctx, env.db.OwnerURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := pgxvector.RegisterTypes(ctx, conn); err != nil {
		return err
	}

	var docRows, chunkRows [][]any
	var docID uuid.UUID
	for i := range n {
		if i%chunksPerDocument == 0 {
			docID = uuid.New()
			docRows = append(docRows, []any{docID, orgID, fmt.Sprintf("generated-%d.pdf", len(docRows)), "application/pdf",
				int64(1000), append([]byte(nil), docID[:]...), "bench/" + docID.String(), store.StatusReady})
		}
		base := bases[rng.IntN(len(bases))]
		page := i%chunksPerDocument/4 + 1
		chunkRows = append(chunkRows, []any{orgID, docID, i % chunksPerDocument, page, shuffleWords(base.text, rng), 100,
			pgvector.NewVector(perturb(base.vector, rng)), uselite.ModelName, uselite.Dimensions})
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"documents"},
		[]string{"id", "org_id", "filename", "content_type", "size_bytes", "sha256", "blob_name", "status"}, pgx.CopyFromRows(docRows))
	if err != nil {
		return fmt.Errorf("load documents: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"chunks"},
		[]string{"org_id", "document_id", "chunk_index", "page", "text", "token_count", "embedding", "embedding_model", "embedding_dimensions"},
		pgx.CopyFromRows(chunkRows))
	if err != nil {
		return fmt.Errorf("load chunks: %w", err)
	}
	_, err = conn.Exec(ctx, "ANALYZE documents; ANALYZE chunks")
	return err
}

// vectorPlan returns the query plan of the vector search, which shows
// whether the planner uses the HNSW index rather than scanning every chunk.
func vectorPlan(ctx context.Context, env *environment, orgID uuid.UUID, vector []float32) (string, error) {
	var plan strings.Builder
	err := env.store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `EXPLAIN SELECT c.id FROM chunks c
			WHERE c.embedding_dimensions = 512 AND c.embedding_model = $2
			ORDER BY c.embedding::vector(512) <=> $1 LIMIT 50`, pgvector.NewVector(vector), uselite.ModelName)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			if len(line) > 160 {
				line = line[:160] + "..."
			}
			plan.WriteString(line + "\n")
		}
		return rows.Err()
	})
	return plan.String(), err
}

func perturb(v []float32, rng *rand.Rand) []float32 {
	out := make([]float32, len(v))
	var norm float64
	for i, x := range v {
		y := float64(x) + rng.NormFloat64()*vectorNoise
		out[i] = float32(y)
		norm += y * y
	}
	norm = math.Sqrt(norm)
	for i := range out {
		out[i] = float32(float64(out[i]) / norm)
	}
	return out
}

func shuffleWords(text string, rng *rand.Rand) string {
	words := strings.Fields(text)
	rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	return strings.Join(words, " ")
}

// queryFrom makes a short query of up to eight words of text.
func queryFrom(text string, rng *rand.Rand) string {
	words := strings.Fields(text)
	if len(words) <= 8 {
		return strings.Join(words, " ")
	}
	start := rng.IntN(len(words) - 8)
	return strings.Join(words[start:start+8], " ")
}

func (r *searchResult) print() {
	fmt.Printf("## Search over %d chunks (plus %d of another organization in the same index), %d queries\n\n",
		r.corpusChunks, r.otherChunks, r.queries)
	fmt.Printf("Vector query plan uses the HNSW index: %v\n\n", r.usesHNSW)
	if !r.usesHNSW {
		fmt.Printf("```\n%s```\n\n", r.plan)
	}
	fmt.Println("| operation | p50 | p95 | p99 |")
	fmt.Println("|---|---|---|---|")
	for _, s := range r.series {
		fmt.Printf("| %s | %s | %s | %s |\n", s.name, ms(s.percentile(50)), ms(s.percentile(95)), ms(s.percentile(99)))
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
