package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose uses
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies every pending migration. databaseURL must be the schema
// owner's connection, not the application role's.
func Migrate(ctx context.Context, databaseURL string, logger *slog.Logger) error {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return fmt.Errorf("open migration connection: %w", err)
	}
	defer db.Close()

	provider, err := goose.NewProvider(goose.DialectPostgres, db, mustSub(migrations, "migrations"),
		goose.WithLogger(gooseLogger{logger}))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", slog.String("migration", r.Source.Path), slog.Duration("duration", r.Duration))
	}
	return nil
}

// gooseLogger routes goose's printf-style messages into slog.
type gooseLogger struct{ logger *slog.Logger }

func (l gooseLogger) Printf(format string, v ...any) { l.logger.Info(fmt.Sprintf(format, v...)) }
func (l gooseLogger) Fatalf(format string, v ...any) { l.logger.Error(fmt.Sprintf(format, v...)) }

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // only a wrong literal directory name fails here
	}
	return sub
}
