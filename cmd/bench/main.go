// Command bench measures the ingestion pipeline and hybrid search on the
// real components: PostgreSQL with pgvector, the PDF extractor, the offline
// embedding model and the local queue. scripts/bench starts the stack and
// runs it; it prints a Markdown table.
//
// Ingestion runs the same code as the IngestDocument and EmbedChunks
// functions, in process, with one embedding worker per CPU. Search runs
// over a generated corpus. The model embeds a set of real chunks, and each
// generated chunk is one of them with its words shuffled and its vector
// slightly perturbed. The corpus is split across two organizations, so the
// measured searches include row-level security filtering.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"
)

func main() {
	var opts options
	flag.StringVar(&opts.adminURL, "admin-url", os.Getenv("BONDINGAI_TEST_ADMIN_DATABASE_URL"), "superuser URL of the PostgreSQL cluster to create the benchmark databases in")
	flag.StringVar(&opts.modelDir, "model-dir", os.Getenv("BONDINGAI_MODEL_DIR"), "folder of the USE-lite weights")
	flag.StringVar(&opts.pdf, "pdf", "/usr/share/doc/gnuplot/gnuplot.pdf", "PDF to ingest (Debian's gnuplot-doc manual by default)")
	flag.IntVar(&opts.corpusChunks, "corpus-chunks", 10000, "chunks in the searched organization")
	flag.IntVar(&opts.otherChunks, "other-chunks", 10000, "chunks in a second organization that shares the index")
	flag.IntVar(&opts.queries, "queries", 200, "search queries to time")
	flag.IntVar(&opts.workers, "workers", runtime.GOMAXPROCS(0), "embedding workers")
	flag.BoolVar(&opts.skipIngest, "skip-ingest", false, "measure search only")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	if err := run(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	adminURL     string
	modelDir     string
	pdf          string
	corpusChunks int
	otherChunks  int
	queries      int
	workers      int
	skipIngest   bool
}

func run(ctx context.Context, opts options) error {
	if opts.adminURL == "" || opts.modelDir == "" {
		return fmt.Errorf("-admin-url and -model-dir are required (scripts/bench sets both)")
	}
	env, err := newEnvironment(ctx, opts)
	if err != nil {
		return err
	}
	defer env.close()

	fmt.Printf("bondingAI benchmark, %s, %d CPUs, %s\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.Version())
	if !opts.skipIngest {
		result, err := benchIngestion(ctx, env, opts)
		if err != nil {
			return err
		}
		result.print()
		fmt.Println()
	}
	result, err := benchSearch(ctx, env, opts)
	if err != nil {
		return err
	}
	result.print()
	return nil
}
