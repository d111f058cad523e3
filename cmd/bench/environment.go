package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/embedding/uselite"
	"github.com/bondingai/platform/shared/extract"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

// environment holds the components under measurement, on throw-away
// databases that close drops.
type environment struct {
	db        *storetest.Database
	store     *store.Store
	queue     *localqueue.Queue
	queueDB   string
	adminURL  string
	encoder   *uselite.Encoder
	extractor *extract.Extractor
}

func newEnvironment(ctx context.Context, opts options) (env *environment, err error) {
	env = &environment{adminURL: opts.adminURL}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	if env.db, err = storetest.Create(ctx, opts.adminURL); err != nil {
		return env, err
	}
	if env.store, err = store.Open(ctx, env.db.AppURL); err != nil {
		return env, err
	}
	if env.queueDB, err = createDatabase(ctx, opts.adminURL, "bench_queue_"+env.db.Name); err != nil {
		return env, err
	}
	queueURL, err := url.Parse(opts.adminURL)
	if err != nil {
		return env, err
	}
	queueURL.Path = "/" + env.queueDB
	if env.queue, err = localqueue.Open(ctx, queueURL.String(), localqueue.Options{}); err != nil {
		return env, err
	}
	if env.encoder, err = uselite.Load(opts.modelDir); err != nil {
		return env, err
	}
	cacheDir := filepath.Join(os.TempDir(), "bondingai-test-pdfium")
	if env.extractor, err = extract.New(extract.Config{CacheDir: cacheDir}); err != nil {
		return env, err
	}
	return env, nil
}

func (env *environment) close() {
	ctx := context.Background()
	if env.extractor != nil {
		env.extractor.Close()
	}
	if env.queue != nil {
		env.queue.Close(ctx)
	}
	if env.store != nil {
		env.store.Close()
	}
	if env.queueDB != "" {
		if err := dropDatabase(ctx, env.adminURL, env.queueDB); err != nil {
			fmt.Fprintln(os.Stderr, "bench: drop", env.queueDB, err)
		}
	}
	if env.db != nil {
		if err := env.db.Drop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench: drop", env.db.Name, err)
		}
	}
}

func createDatabase(ctx context.Context, adminURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
