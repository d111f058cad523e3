package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/chunking"
	"github.com/bondingai/platform/shared/ingest"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/store"
)

type ingestionResult struct {
	file        string
	pages       int
	chunks      int
	extraction  time.Duration
	chunkingDur time.Duration
	ingestStep  time.Duration
	embedStep   time.Duration
	total       time.Duration
}

// benchIngestion ingests one PDF through the IngestDocument and EmbedChunks
// code paths, timing each stage, and checks the document ends ready.
func benchIngestion(ctx context.Context, env *environment, opts options) (*ingestionResult, error) {
	content, err := os.ReadFile(opts.pdf)
	if err != nil {
		return nil, fmt.Errorf("read %s (install Debian's gnuplot-doc or pass -pdf): %w", opts.pdf, err)
	}
	result := &ingestionResult{file: filepath.Base(opts.pdf)}

	// Stage timings of extraction and chunking alone, for the table.
	started := time.Now()
	doc, err := env.extractor.Extract(ctx, result.file, content)
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", opts.pdf, err)
	}
	result.extraction = time.Since(started)
	result.pages = len(doc.Pages)
	started = time.Now()
	chunks := chunking.Split(doc, env.encoder, chunking.DefaultOptions())
	result.chunkingDur = time.Since(started)
	result.chunks = len(chunks)

	orgID, err := env.store.EnsureOrganization(ctx, "org_bench_ingest")
	if err != nil {
		return nil, err
	}
	docID := uuid.New()
	sum := sha256.Sum256(content)
	err = env.store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.CreateDocument(ctx, tx, &store.Document{
			ID: docID, OrgID: orgID, Filename: result.file, ContentType: "application/pdf",
			SizeBytes: int64(len(content)), SHA256: sum[:], BlobName: "bench/" + result.file,
		})
	})
	if err != nil {
		return nil, err
	}
	svc := &ingest.Service{
		Store: env.store, Extractor: env.extractor, Embedder: env.encoder, Queue: env.queue,
		QueueName: ingest.EmbeddingQueue, BatchSize: 16, MaxDeliveryCount: 10,
	}

	allStarted := time.Now()
	if err := svc.IngestDocument(ctx, orgID, docID, content); err != nil {
		return nil, err
	}
	result.ingestStep = time.Since(allStarted)

	started = time.Now()
	if err := drainEmbeddingJobs(ctx, env, svc, opts.workers); err != nil {
		return nil, err
	}
	result.embedStep = time.Since(started)
	result.total = time.Since(allStarted)

	var status string
	err = env.store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		d, err := store.GetDocument(ctx, tx, docID)
		if err == nil {
			status = d.Status
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if status != store.StatusReady {
		return nil, fmt.Errorf("document ended %s, want ready", status)
	}
	return result, nil
}

// drainEmbeddingJobs runs workers that receive and run embedding jobs, as
// the host does, until the queue is empty.
func drainEmbeddingJobs(ctx context.Context, env *environment, svc *ingest.Service, workers int) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				delivery, err := env.queue.Receive(ctx, ingest.EmbeddingQueue, localqueue.LockDurationDefault)
				if err != nil {
					errs <- err
					return
				}
				if delivery == nil {
					return
				}
				job, err := ingest.DecodeJob(delivery.Body)
				if err == nil {
					err = svc.EmbedJob(ctx, job, delivery.DeliveryCount)
				}
				if err != nil {
					errs <- err
					return
				}
				if err := env.queue.Complete(ctx, delivery); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (r *ingestionResult) print() {
	perSecond := func(n int, d time.Duration) string { return fmt.Sprintf("%.1f", float64(n)/d.Seconds()) }
	fmt.Printf("## Ingestion of %s (%d pages, %d chunks)\n\n", r.file, r.pages, r.chunks)
	fmt.Println("| stage | time | throughput |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| extraction (PDFium) | %s | %s pages/s |\n", r.extraction.Round(time.Millisecond), perSecond(r.pages, r.extraction))
	fmt.Printf("| chunking | %s | %s chunks/s |\n", r.chunkingDur.Round(time.Millisecond), perSecond(r.chunks, r.chunkingDur))
	fmt.Printf("| IngestDocument (extract, chunk, store, queue) | %s | %s chunks/s |\n", r.ingestStep.Round(time.Millisecond), perSecond(r.chunks, r.ingestStep))
	fmt.Printf("| EmbedChunks (embed, store vectors) | %s | %s embeddings/s |\n", r.embedStep.Round(time.Millisecond), perSecond(r.chunks, r.embedStep))
	fmt.Printf("| upload to ready, end to end | %s | %s pages/s |\n", r.total.Round(time.Millisecond), perSecond(r.pages, r.total))
}
