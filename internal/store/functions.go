package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/furl/furl/internal/lambda"
)

// functionMigrations create the tables of functions, versions, aliases, URL configs, policies,
// tags, concurrency and the async invocation queue.
var functionMigrations = []Migration{
	{Domain: "functions", Version: 1, SQL: `
CREATE TABLE functions (
	name          TEXT PRIMARY KEY,
	created_ms    INTEGER NOT NULL,
	last_version  INTEGER NOT NULL DEFAULT 0,
	reserved      INTEGER,
	tags          TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE function_versions (
	name        TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
	version     TEXT NOT NULL,
	code_hex    TEXT NOT NULL,
	revision_id TEXT NOT NULL,
	config      TEXT NOT NULL,
	PRIMARY KEY (name, version)
);
CREATE INDEX function_versions_code ON function_versions(code_hex);
CREATE TABLE function_aliases (
	name        TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
	alias       TEXT NOT NULL,
	version     TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	weights     TEXT NOT NULL DEFAULT '{}',
	revision_id TEXT NOT NULL,
	PRIMARY KEY (name, alias)
);
CREATE TABLE function_urls (
	url_id      TEXT PRIMARY KEY,
	name        TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
	qualifier   TEXT NOT NULL DEFAULT '',
	config      TEXT NOT NULL,
	UNIQUE (name, qualifier)
);
CREATE TABLE function_policies (
	name        TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
	qualifier   TEXT NOT NULL DEFAULT '',
	doc         TEXT NOT NULL,
	revision_id TEXT NOT NULL,
	PRIMARY KEY (name, qualifier)
);
CREATE TABLE async_invocations (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
	qualifier      TEXT NOT NULL DEFAULT '',
	payload        BLOB NOT NULL,
	client_context TEXT NOT NULL DEFAULT '',
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_ms        INTEGER NOT NULL,
	created_ms     INTEGER NOT NULL
);
CREATE INDEX async_invocations_next ON async_invocations(next_ms);
`},
	// The ids of URLs whose alias was deleted: the service keeps answering them with its
	// Forbidden body rather than the unknown-URL one. Gone with the function.
	{Domain: "gone_urls", Version: 1, SQL: `
CREATE TABLE gone_urls (
	url_id TEXT PRIMARY KEY,
	name   TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE
);
`},
	// Versions stored before EphemeralStorage existed had a 512 MB /tmp: say so in their
	// configuration, so every stored version names its size.
	{Domain: "functions", Version: 2, SQL: `
UPDATE function_versions SET config = json_set(config, '$.EphemeralStorageMB', 512)
	WHERE json_extract(config, '$.EphemeralStorageMB') IS NULL;
`},
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// FunctionRecord is the per-function (not per-version) row.
type FunctionRecord struct {
	Name                string
	Created             time.Time
	LastVersion         int // highest published version number, 0 when none
	ReservedConcurrency *int
	Tags                map[string]string
}

// PolicyRecord is the resource-based policy of one (function, qualifier).
type PolicyRecord struct {
	FunctionName string
	Qualifier    string
	Doc          []byte
	RevisionID   string
}

// AsyncInvocation is one queued Event invocation.
type AsyncInvocation struct {
	ID            string
	FunctionName  string
	Qualifier     string
	Payload       []byte
	ClientContext string
	Attempts      int
	Next          time.Time
	Created       time.Time
}

// FuncTx is a transaction over the functions domain. Every multi-row change goes through one.
type FuncTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// FunctionsTx runs fn in one immediate (write-locking) transaction and commits when fn returns
// nil.
func (s *DB) FunctionsTx(ctx context.Context, fn func(*FuncTx) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(&FuncTx{ctx: ctx, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// FunctionsReadTx runs fn in a deferred (read) transaction: a consistent snapshot that does not
// take the write lock, so reads run concurrently with each other and with a writer (WAL).
// fn must not write.
func (s *DB) FunctionsReadTx(ctx context.Context, fn func(*FuncTx) error) error {
	tx, err := s.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(&FuncTx{ctx: ctx, tx: tx})
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Function reads the function row.
func (t *FuncTx) Function(name string) (*FunctionRecord, error) {
	var r FunctionRecord
	var created int64
	var reserved sql.NullInt64
	var tags string
	err := t.tx.QueryRowContext(t.ctx, `SELECT name, created_ms, last_version, reserved, tags FROM functions WHERE name = ?`, name).
		Scan(&r.Name, &created, &r.LastVersion, &reserved, &tags)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: function %s: %w", name, err)
	}
	r.Created = time.UnixMilli(created).UTC()
	if reserved.Valid {
		n := int(reserved.Int64)
		r.ReservedConcurrency = &n
	}
	r.Tags = map[string]string{}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return nil, fmt.Errorf("store: function %s tags: %w", name, err)
	}
	return &r, nil
}

// PutFunction inserts or replaces the function row (never cascades to its children).
func (t *FuncTx) PutFunction(r *FunctionRecord) error {
	tags, err := json.Marshal(nonNilMap(r.Tags))
	if err != nil {
		return fmt.Errorf("store: put function: %w", err)
	}
	var reserved any
	if r.ReservedConcurrency != nil {
		reserved = *r.ReservedConcurrency
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO functions (name, created_ms, last_version, reserved, tags) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version, reserved = excluded.reserved, tags = excluded.tags`,
		r.Name, ms(r.Created), r.LastVersion, reserved, string(tags))
	if err != nil {
		return fmt.Errorf("store: put function %s: %w", r.Name, err)
	}
	return nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// DeleteFunction removes the function and, by cascade, its versions, aliases, URLs, policies
// and queued invocations.
func (t *FuncTx) DeleteFunction(name string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM functions WHERE name = ?`, name); err != nil {
		return fmt.Errorf("store: delete function %s: %w", name, err)
	}
	return nil
}

// Version reads one version's configuration.
func (t *FuncTx) Version(name, version string) (*lambda.FunctionConfig, error) {
	var doc string
	err := t.tx.QueryRowContext(t.ctx, `SELECT config FROM function_versions WHERE name = ? AND version = ?`, name, version).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: version %s:%s: %w", name, version, err)
	}
	return decodeConfig(doc)
}

func decodeConfig(doc string) (*lambda.FunctionConfig, error) {
	var c lambda.FunctionConfig
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return nil, fmt.Errorf("store: decode version: %w", err)
	}
	return &c, nil
}

// PutVersion inserts or replaces one version's configuration. codeHex is the hex SHA-256 of
// its package (for code-store garbage collection).
func (t *FuncTx) PutVersion(c *lambda.FunctionConfig, codeHex string) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: put version: %w", err)
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO function_versions (name, version, code_hex, revision_id, config) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(name, version) DO UPDATE SET code_hex = excluded.code_hex, revision_id = excluded.revision_id, config = excluded.config`,
		c.Name, c.Version, codeHex, c.RevisionID, string(doc))
	if err != nil {
		return fmt.Errorf("store: put version %s:%s: %w", c.Name, c.Version, err)
	}
	return nil
}

// DeleteVersion removes one published version.
func (t *FuncTx) DeleteVersion(name, version string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM function_versions WHERE name = ? AND version = ?`, name, version); err != nil {
		return fmt.Errorf("store: delete version %s:%s: %w", name, version, err)
	}
	return nil
}

// Versions lists a function's versions: $LATEST first, then published ones in numeric order.
func (t *FuncTx) Versions(name string) ([]*lambda.FunctionConfig, error) {
	return t.queryConfigs(`SELECT config FROM function_versions WHERE name = ?
		ORDER BY CASE WHEN version = '$LATEST' THEN 0 ELSE 1 END, CAST(version AS INTEGER)`, name)
}

// LatestVersions lists the $LATEST configuration of every function with a name after marker,
// ordered by name, at most limit rows.
func (t *FuncTx) LatestVersions(after string, limit int) ([]*lambda.FunctionConfig, error) {
	return t.queryConfigs(`SELECT config FROM function_versions WHERE version = '$LATEST' AND name > ? ORDER BY name LIMIT ?`, after, limit)
}

// AllVersions lists every version of every function after the version (afterName,
// afterVersion), ordered by name, then version ($LATEST first, then numerically), at most limit
// rows; an empty afterName starts at the beginning. The marker need not exist any more.
func (t *FuncTx) AllVersions(afterName, afterVersion string, limit int) ([]*lambda.FunctionConfig, error) {
	rank, num := -1, -1
	if afterName != "" {
		rank, num = 0, 0
		if afterVersion != lambda.LatestVersion {
			rank = 1
			if n, err := strconv.Atoi(afterVersion); err == nil {
				num = n
			}
		}
	}
	return t.queryConfigs(`SELECT config FROM function_versions
		WHERE (name, CASE WHEN version = '$LATEST' THEN 0 ELSE 1 END, CAST(version AS INTEGER)) > (?, ?, ?)
		ORDER BY name, CASE WHEN version = '$LATEST' THEN 0 ELSE 1 END, CAST(version AS INTEGER) LIMIT ?`, afterName, rank, num, limit)
}

// CodeUsage sums the package sizes of every version (and of every layer version) and counts
// the functions.
func (t *FuncTx) CodeUsage() (total int64, functions int, err error) {
	err = t.tx.QueryRowContext(t.ctx, `SELECT
		COALESCE((SELECT SUM(json_extract(config, '$.CodeSize')) FROM function_versions), 0)
		+ COALESCE((SELECT SUM(json_extract(doc, '$.CodeSize')) FROM layer_versions), 0),
		(SELECT COUNT(*) FROM functions)`).Scan(&total, &functions)
	if err != nil {
		return 0, 0, fmt.Errorf("store: code usage: %w", err)
	}
	return total, functions, nil
}

// ReservedSum adds up the reserved concurrency of every function but except.
func (t *FuncTx) ReservedSum(except string) (int, error) {
	var n int
	if err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(SUM(reserved), 0) FROM functions WHERE name <> ?`, except).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: reserved sum: %w", err)
	}
	return n, nil
}

func (t *FuncTx) queryConfigs(q string, args ...any) ([]*lambda.FunctionConfig, error) {
	return queryAll(t.ctx, t.tx, "list versions", func(sc rowScanner) (*lambda.FunctionConfig, error) {
		var doc string
		if err := sc.Scan(&doc); err != nil {
			return nil, err
		}
		return decodeConfig(doc)
	}, q, args...)
}

const aliasCols = `name, alias, version, description, weights, revision_id`

func scanAlias(sc rowScanner) (*lambda.Alias, error) {
	var a lambda.Alias
	var weights string
	if err := sc.Scan(&a.FunctionName, &a.Name, &a.FunctionVersion, &a.Description, &weights, &a.RevisionID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(weights), &a.AdditionalVersionWeights); err != nil {
		return nil, err
	}
	return &a, nil
}

// Alias reads one alias.
func (t *FuncTx) Alias(name, alias string) (*lambda.Alias, error) {
	a, err := scanAlias(t.tx.QueryRowContext(t.ctx, `SELECT `+aliasCols+` FROM function_aliases WHERE name = ? AND alias = ?`, name, alias))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: alias %s:%s: %w", name, alias, err)
	}
	return a, nil
}

// PutAlias inserts or replaces an alias.
func (t *FuncTx) PutAlias(a *lambda.Alias) error {
	w := a.AdditionalVersionWeights
	if w == nil {
		w = map[string]float64{}
	}
	weights, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("store: put alias: %w", err)
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO function_aliases (name, alias, version, description, weights, revision_id) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(name, alias) DO UPDATE SET version = excluded.version, description = excluded.description, weights = excluded.weights, revision_id = excluded.revision_id`,
		a.FunctionName, a.Name, a.FunctionVersion, a.Description, string(weights), a.RevisionID)
	if err != nil {
		return fmt.Errorf("store: put alias %s:%s: %w", a.FunctionName, a.Name, err)
	}
	return nil
}

// DeleteAlias removes an alias with its URL config and policy; the URL's id is remembered as
// gone (URLGone).
func (t *FuncTx) DeleteAlias(name, alias string) error {
	for _, q := range []string{
		`INSERT OR IGNORE INTO gone_urls (url_id, name) SELECT url_id, name FROM function_urls WHERE name = ? AND qualifier = ?`,
		`DELETE FROM function_aliases WHERE name = ? AND alias = ?`,
		`DELETE FROM function_urls WHERE name = ? AND qualifier = ?`,
		`DELETE FROM function_policies WHERE name = ? AND qualifier = ?`,
	} {
		if _, err := t.tx.ExecContext(t.ctx, q, name, alias); err != nil {
			return fmt.Errorf("store: delete alias %s:%s: %w", name, alias, err)
		}
	}
	return nil
}

// Aliases lists a function's aliases by name.
func (t *FuncTx) Aliases(name string) ([]*lambda.Alias, error) {
	out, err := queryAll(t.ctx, t.tx, "aliases "+name, scanAlias, `SELECT `+aliasCols+` FROM function_aliases WHERE name = ? ORDER BY alias`, name)
	if out == nil && err == nil {
		out = []*lambda.Alias{}
	}
	return out, err
}

type urlDoc struct {
	AuthType           string
	Cors               *lambda.CORS
	InvokeMode         string
	InvokeModeExplicit bool
	CreatedMs          int64
	ModifiedMs         int64
	RateLimit          float64
	Burst              int
}

// URLRecord is a stored URL config plus whether its InvokeMode was ever set explicitly (AWS
// echoes it from Update only then).
type URLRecord struct {
	lambda.URLConfig
	InvokeModeExplicit bool
}

func scanURL(row rowScanner) (*URLRecord, error) {
	var r URLRecord
	var doc string
	err := row.Scan(&r.URLID, &r.FunctionName, &r.Qualifier, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: url: %w", err)
	}
	var d urlDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("store: url: %w", err)
	}
	r.AuthType, r.Cors, r.InvokeMode, r.InvokeModeExplicit = d.AuthType, d.Cors, d.InvokeMode, d.InvokeModeExplicit
	r.Created, r.LastModified = time.UnixMicro(d.CreatedMs).UTC(), time.UnixMicro(d.ModifiedMs).UTC()
	r.RateLimit, r.Burst = d.RateLimit, d.Burst
	return &r, nil
}

const urlCols = `url_id, name, qualifier, config`

// URL reads the URL config of (function, qualifier).
func (t *FuncTx) URL(name, qualifier string) (*URLRecord, error) {
	return scanURL(t.tx.QueryRowContext(t.ctx, `SELECT `+urlCols+` FROM function_urls WHERE name = ? AND qualifier = ?`, name, qualifier))
}

// URLByID reads a URL config by its id.
func (t *FuncTx) URLByID(id string) (*URLRecord, error) {
	return scanURL(t.tx.QueryRowContext(t.ctx, `SELECT `+urlCols+` FROM function_urls WHERE url_id = ?`, id))
}

// URLGone reports whether id was the URL of an alias that has since been deleted.
func (t *FuncTx) URLGone(id string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM gone_urls WHERE url_id = ?`, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: gone url %s: %w", id, err)
	}
	return n > 0, nil
}

// PutURL inserts or replaces a URL config.
func (t *FuncTx) PutURL(r *URLRecord) error {
	doc, err := json.Marshal(urlDoc{AuthType: r.AuthType, Cors: r.Cors, InvokeMode: r.InvokeMode, InvokeModeExplicit: r.InvokeModeExplicit,
		CreatedMs: r.Created.UnixMicro(), ModifiedMs: r.LastModified.UnixMicro(), RateLimit: r.RateLimit, Burst: r.Burst})
	if err != nil {
		return fmt.Errorf("store: put url: %w", err)
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO function_urls (url_id, name, qualifier, config) VALUES (?, ?, ?, ?)
		ON CONFLICT(url_id) DO UPDATE SET config = excluded.config`, r.URLID, r.FunctionName, r.Qualifier, string(doc))
	if err != nil {
		return fmt.Errorf("store: put url %s: %w", r.URLID, err)
	}
	return nil
}

// DeleteURL removes the URL config of (function, qualifier).
func (t *FuncTx) DeleteURL(name, qualifier string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM function_urls WHERE name = ? AND qualifier = ?`, name, qualifier); err != nil {
		return fmt.Errorf("store: delete url: %w", err)
	}
	return nil
}

// URLs lists a function's URL configs ordered by qualifier.
func (t *FuncTx) URLs(name string) ([]*URLRecord, error) {
	return queryAll(t.ctx, t.tx, "urls", scanURL, `SELECT `+urlCols+` FROM function_urls WHERE name = ? ORDER BY qualifier`, name)
}

// Policy reads the resource policy of (function, qualifier).
func (t *FuncTx) Policy(name, qualifier string) (*PolicyRecord, error) {
	p := PolicyRecord{FunctionName: name, Qualifier: qualifier}
	var doc string
	err := t.tx.QueryRowContext(t.ctx, `SELECT doc, revision_id FROM function_policies WHERE name = ? AND qualifier = ?`, name, qualifier).Scan(&doc, &p.RevisionID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: policy: %w", err)
	}
	p.Doc = []byte(doc)
	return &p, nil
}

// PutPolicy inserts or replaces a policy.
func (t *FuncTx) PutPolicy(p *PolicyRecord) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO function_policies (name, qualifier, doc, revision_id) VALUES (?, ?, ?, ?)
		ON CONFLICT(name, qualifier) DO UPDATE SET doc = excluded.doc, revision_id = excluded.revision_id`, p.FunctionName, p.Qualifier, string(p.Doc), p.RevisionID)
	if err != nil {
		return fmt.Errorf("store: put policy: %w", err)
	}
	return nil
}

// DeletePolicy removes a policy.
func (t *FuncTx) DeletePolicy(name, qualifier string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM function_policies WHERE name = ? AND qualifier = ?`, name, qualifier); err != nil {
		return fmt.Errorf("store: delete policy: %w", err)
	}
	return nil
}

// EnqueueAsync adds an Event invocation to the queue.
func (t *FuncTx) EnqueueAsync(a *AsyncInvocation) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO async_invocations (id, name, qualifier, payload, client_context, attempts, next_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.FunctionName, a.Qualifier, a.Payload, a.ClientContext, a.Attempts, ms(a.Next), ms(a.Created))
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

// DueAsync returns up to limit queued invocations due at now, oldest first.
func (t *FuncTx) DueAsync(now time.Time, limit int) ([]*AsyncInvocation, error) {
	return queryAll(t.ctx, t.tx, "due", func(sc rowScanner) (*AsyncInvocation, error) {
		var a AsyncInvocation
		var next, created int64
		if err := sc.Scan(&a.ID, &a.FunctionName, &a.Qualifier, &a.Payload, &a.ClientContext, &a.Attempts, &next, &created); err != nil {
			return nil, err
		}
		a.Next, a.Created = time.UnixMilli(next).UTC(), time.UnixMilli(created).UTC()
		return &a, nil
	}, `SELECT id, name, qualifier, payload, client_context, attempts, next_ms, created_ms FROM async_invocations WHERE next_ms <= ? ORDER BY next_ms LIMIT ?`, ms(now), limit)
}

// RescheduleAsync records an attempt and the next time to try.
func (t *FuncTx) RescheduleAsync(id string, attempts int, next time.Time) error {
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE async_invocations SET attempts = ?, next_ms = ? WHERE id = ?`, attempts, ms(next), id); err != nil {
		return fmt.Errorf("store: reschedule: %w", err)
	}
	return nil
}

// ReleaseAsyncLeases moves every queued invocation due after threshold to now: at start, such
// rows can only be leases of a process that died mid-invocation. It returns how many moved.
func (t *FuncTx) ReleaseAsyncLeases(threshold, now time.Time) (int, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE async_invocations SET next_ms = ? WHERE next_ms > ?`, ms(now), ms(threshold))
	if err != nil {
		return 0, fmt.Errorf("store: release leases: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteAsync removes a finished invocation.
func (t *FuncTx) DeleteAsync(id string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM async_invocations WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete async: %w", err)
	}
	return nil
}

// CountAsync returns the queue length.
func (t *FuncTx) CountAsync() (int, error) {
	var n int
	if err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM async_invocations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count async: %w", err)
	}
	return n, nil
}

// CodeHashes returns every package hash some function version or layer version references.
func (t *FuncTx) CodeHashes() (map[string]bool, error) {
	// Function packages, layer versions' packages, and the layer packages versions use (kept
	// after their layer version is deleted).
	rows, err := t.tx.QueryContext(t.ctx, `SELECT code_hex FROM function_versions
		UNION SELECT code_hex FROM layer_versions
		UNION SELECT json_extract(l.value, '$.CodeHex') FROM function_versions AS v, json_each(v.config, '$.Layers') AS l`)
	if err != nil {
		return nil, fmt.Errorf("store: code hashes: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("store: code hashes: %w", err)
		}
		out[h] = true
	}
	return out, rows.Err()
}
