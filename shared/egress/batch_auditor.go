package egress

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the BatchAuditor.
const (
	AuditBufferDefault        = 4096
	AuditFlushIntervalDefault = time.Second
	auditBatchMax             = 500
)

// BatchAuditor buffers records and writes them in batches from a
// background goroutine, so auditing never slows a request. When the buffer
// is full a record is dropped and counted rather than blocking.
type BatchAuditor struct {
	write   func(context.Context, []Record) error
	logger  *slog.Logger
	records chan auditItem
	dropped atomic.Int64
	done    chan struct{}
	once    sync.Once
}

// auditItem is a record to write, or, with flushed set, a request to write
// everything queued before it.
type auditItem struct {
	record  Record
	flushed chan struct{}
}

// NewBatchAuditor starts a BatchAuditor that calls write with each batch.
func NewBatchAuditor(write func(context.Context, []Record) error, logger *slog.Logger) *BatchAuditor {
	a := &BatchAuditor{write: write, logger: logger, records: make(chan auditItem, AuditBufferDefault), done: make(chan struct{})}
	go a.run()
	return a
}

// Audit queues r.
func (a *BatchAuditor) Audit(r Record) {
	select {
	case a.records <- auditItem{record: r}:
	default:
		if n := a.dropped.Add(1); n == 1 || n%1000 == 0 {
			a.logger.Warn("egress audit buffer full; records dropped", slog.Int64("dropped_total", n))
		}
	}
}

// Dropped returns how many records were dropped because the buffer was full.
func (a *BatchAuditor) Dropped() int64 {
	return a.dropped.Load()
}

// Close writes what is buffered and stops the goroutine.
func (a *BatchAuditor) Close() {
	a.once.Do(func() {
		close(a.records)
		<-a.done
	})
}

// Flush blocks until every record queued before the call is written. Tests
// and the boundary report use it.
func (a *BatchAuditor) Flush() {
	flushed := make(chan struct{})
	a.records <- auditItem{flushed: flushed}
	<-flushed
}

func (a *BatchAuditor) run() {
	defer close(a.done)
	ticker := time.NewTicker(AuditFlushIntervalDefault)
	defer ticker.Stop()
	batch := make([]Record, 0, auditBatchMax)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.write(ctx, batch); err != nil {
			a.logger.Error("write egress audit", slog.Int("records", len(batch)), slog.Any("error", err))
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case item, ok := <-a.records:
			if !ok {
				flush()
				return
			}
			if item.flushed != nil {
				flush()
				close(item.flushed)
				continue
			}
			batch = append(batch, item.record)
			if len(batch) >= auditBatchMax {
				flush()
			}
		case <-ticker.C:
			flush()
		}
	}
}
