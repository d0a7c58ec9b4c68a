// Package store persists furl's state in an embedded SQLite database (pure Go, no cgo) in WAL
// mode, with versioned schema migrations per domain. Each domain (functions, identity, ...)
// keeps its tables, migrations and queries in its own file.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Migration is one schema step of one domain. Versions start at 1 and only ever grow; a
// released migration is never edited.
type Migration struct {
	Domain  string
	Version int
	SQL     string
}

// DB is the open database.
type DB struct {
	sql *sql.DB
}

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &DB{sql: db}
	if err := s.migrate(ctx, allMigrations()); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.sql.Close() }

// SQL exposes the handle to this package's domain files and tests.
func (s *DB) SQL() *sql.DB { return s.sql }

// allMigrations lists every domain's migrations; each domain file owns its slice.
func allMigrations() []Migration {
	var all []Migration
	all = append(all, functionMigrations...)
	all = append(all, identityMigrations...)
	all = append(all, layerMigrations...)
	return all
}

func (s *DB) migrate(ctx context.Context, ms []Migration) error {
	if _, err := s.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		domain TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (domain, version))`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Domain != ms[j].Domain {
			return ms[i].Domain < ms[j].Domain
		}
		return ms[i].Version < ms[j].Version
	})
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("store: migrate %s v%d: %w", m.Domain, m.Version, err)
		}
	}
	return nil
}

func (s *DB) apply(ctx context.Context, m Migration) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE domain = ? AND version = ?`, m.Domain, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (domain, version) VALUES (?, ?)`, m.Domain, m.Version); err != nil {
		return err
	}
	return tx.Commit()
}
