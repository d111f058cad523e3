package uselite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchmarkChunks returns count chunk-sized texts of about 100 words, each
// different so no cache could help.
func benchmarkChunks(count int) []string {
	sentence := "Employees who travel for work book economy flights, keep every receipt, " +
		"and submit the expense report within thirty days of returning to the office."
	chunks := make([]string, count)
	for i := range chunks {
		var b strings.Builder
		for s := 0; b.Len() < 560; s++ {
			fmt.Fprintf(&b, "Rule %d.%d: %s ", i, s, sentence)
		}
		chunks[i] = b.String()
	}
	return chunks
}

// BenchmarkEmbed measures throughput on chunks of about 100 words, which the
// model clips to 128 tokens, with Embed's default of GOMAXPROCS workers.
func BenchmarkEmbed(b *testing.B) {
	encoder := loadEncoder(b)
	chunks := benchmarkChunks(32)
	tokens := 0
	for _, c := range chunks {
		tokens += min(encoder.CountTokens(c), MaxInputTokens)
	}
	cpuStart, cpuKnown := processCPUTime()

	embedded := 0
	for b.Loop() {
		if _, err := encoder.Embed(context.Background(), chunks); err != nil {
			b.Fatalf("Embed: %v", err)
		}
		embedded += len(chunks)
	}

	b.ReportMetric(float64(embedded)/b.Elapsed().Seconds(), "embeddings/s")
	b.ReportMetric(float64(tokens)/float64(len(chunks)), "tokens/chunk")
	// CPU time per embedding stays meaningful when other processes share
	// the cores, which wall-clock throughput does not.
	if cpuEnd, ok := processCPUTime(); ok && cpuKnown {
		b.ReportMetric(float64(cpuEnd-cpuStart)/float64(time.Millisecond)/float64(embedded), "cpu-ms/embedding")
	}
}

// BenchmarkLoad measures reading the weights and vocabulary from disk, the
// start-up cost of every process that embeds.
func BenchmarkLoad(b *testing.B) {
	dir := modelDir(b)
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatalf("Load: %v", err)
		}
	}
}
