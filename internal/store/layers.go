package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// layerMigrations create the tables of Lambda layers: one row per layer name (its highest
// version number ever published: numbers are never reused) and one per layer version, with
// its resource-based policy.
var layerMigrations = []Migration{
	{Domain: "layers", Version: 1, SQL: `
CREATE TABLE layers (
	name         TEXT PRIMARY KEY,
	last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE layer_versions (
	name            TEXT NOT NULL REFERENCES layers(name),
	version         INTEGER NOT NULL,
	code_hex        TEXT NOT NULL,
	doc             TEXT NOT NULL,
	policy          TEXT NOT NULL DEFAULT '',
	policy_revision TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (name, version)
);
CREATE INDEX layer_versions_code ON layer_versions(code_hex);
`},
}

// LayerVersionRecord is one published layer version.
type LayerVersionRecord struct {
	Name                    string
	Version                 int64
	Description             string
	Created                 time.Time
	CompatibleRuntimes      []string
	CompatibleArchitectures []string
	LicenseInfo             string
	CodeSha256              string // base64, as AWS reports it
	CodeSize                int64
	Unzipped                int64
	CodeHex                 string
}

type layerDoc struct {
	Description             string
	CreatedMs               int64
	CompatibleRuntimes      []string `json:",omitempty"`
	CompatibleArchitectures []string `json:",omitempty"`
	LicenseInfo             string   `json:",omitempty"`
	CodeSha256              string
	CodeSize                int64
	Unzipped                int64
}

// NextLayerVersion reserves the next version number of a layer (1 for a new one).
func (t *FuncTx) NextLayerVersion(name string) (int64, error) {
	var v int64
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO layers (name, last_version) VALUES (?, 1)
		ON CONFLICT(name) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: next layer version %s: %w", name, err)
	}
	return v, nil
}

// PutLayerVersion inserts a layer version.
func (t *FuncTx) PutLayerVersion(r *LayerVersionRecord) error {
	doc, err := json.Marshal(layerDoc{Description: r.Description, CreatedMs: r.Created.UnixMilli(), CompatibleRuntimes: r.CompatibleRuntimes,
		CompatibleArchitectures: r.CompatibleArchitectures, LicenseInfo: r.LicenseInfo, CodeSha256: r.CodeSha256, CodeSize: r.CodeSize, Unzipped: r.Unzipped})
	if err != nil {
		return fmt.Errorf("store: put layer version: %w", err)
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO layer_versions (name, version, code_hex, doc) VALUES (?, ?, ?, ?)`,
		r.Name, r.Version, r.CodeHex, string(doc)); err != nil {
		return fmt.Errorf("store: put layer version %s:%d: %w", r.Name, r.Version, err)
	}
	return nil
}

const layerCols = `name, version, code_hex, doc`

func scanLayerVersion(sc rowScanner) (*LayerVersionRecord, error) {
	var r LayerVersionRecord
	var doc string
	if err := sc.Scan(&r.Name, &r.Version, &r.CodeHex, &doc); err != nil {
		return nil, err
	}
	var d layerDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("store: layer version %s:%d: %w", r.Name, r.Version, err)
	}
	r.Description, r.Created, r.LicenseInfo = d.Description, time.UnixMilli(d.CreatedMs).UTC(), d.LicenseInfo
	r.CompatibleRuntimes, r.CompatibleArchitectures = d.CompatibleRuntimes, d.CompatibleArchitectures
	r.CodeSha256, r.CodeSize, r.Unzipped = d.CodeSha256, d.CodeSize, d.Unzipped
	return &r, nil
}

// LayerVersion reads one layer version.
func (t *FuncTx) LayerVersion(name string, version int64) (*LayerVersionRecord, error) {
	r, err := scanLayerVersion(t.tx.QueryRowContext(t.ctx, `SELECT `+layerCols+` FROM layer_versions WHERE name = ? AND version = ?`, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: layer version %s:%d: %w", name, version, err)
	}
	return r, nil
}

// DeleteLayerVersion removes a layer version (functions that use it keep its package).
func (t *FuncTx) DeleteLayerVersion(name string, version int64) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM layer_versions WHERE name = ? AND version = ?`, name, version); err != nil {
		return fmt.Errorf("store: delete layer version %s:%d: %w", name, version, err)
	}
	return nil
}

// layerFilter matches a version compatible with runtime and architecture ("" matches any).
const layerFilter = `(? = '' OR EXISTS (SELECT 1 FROM json_each(doc, '$.CompatibleRuntimes') WHERE value = ?))
	AND (? = '' OR EXISTS (SELECT 1 FROM json_each(doc, '$.CompatibleArchitectures') WHERE value = ?))`

// LayerVersions lists a layer's versions older than before (0: from the newest), newest
// first, compatible with runtime and arch ("" for any), at most limit rows.
func (t *FuncTx) LayerVersions(name string, before int64, runtime, arch string, limit int) ([]*LayerVersionRecord, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return queryAll(t.ctx, t.tx, "layer versions", scanLayerVersion, `SELECT `+layerCols+` FROM layer_versions
		WHERE name = ? AND version < ? AND `+layerFilter+` ORDER BY version DESC LIMIT ?`,
		name, before, runtime, runtime, arch, arch, limit)
}

// LatestLayerVersions lists, for each layer named after after, its newest version compatible
// with runtime and arch ("" for any), ordered by layer name, at most limit rows.
func (t *FuncTx) LatestLayerVersions(after, runtime, arch string, limit int) ([]*LayerVersionRecord, error) {
	return queryAll(t.ctx, t.tx, "layers", scanLayerVersion, `SELECT `+layerCols+` FROM (
		SELECT `+layerCols+`, ROW_NUMBER() OVER (PARTITION BY name ORDER BY version DESC) AS rn
		FROM layer_versions WHERE name > ? AND `+layerFilter+`) WHERE rn = 1 ORDER BY name LIMIT ?`,
		after, runtime, runtime, arch, arch, limit)
}

// LayerPolicy reads a layer version's policy document ("" when none) and its revision.
func (t *FuncTx) LayerPolicy(name string, version int64) (doc, revision string, err error) {
	err = t.tx.QueryRowContext(t.ctx, `SELECT policy, policy_revision FROM layer_versions WHERE name = ? AND version = ?`, name, version).Scan(&doc, &revision)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("store: layer policy %s:%d: %w", name, version, err)
	}
	return doc, revision, nil
}

// PutLayerPolicy replaces a layer version's policy document ("" removes it).
func (t *FuncTx) PutLayerPolicy(name string, version int64, doc, revision string) error {
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE layer_versions SET policy = ?, policy_revision = ? WHERE name = ? AND version = ?`,
		doc, revision, name, version); err != nil {
		return fmt.Errorf("store: put layer policy %s:%d: %w", name, version, err)
	}
	return nil
}

// LayerCodeUsage sums the package sizes of every layer version.
func (t *FuncTx) LayerCodeUsage() (int64, error) {
	var n int64
	if err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(SUM(json_extract(doc, '$.CodeSize')), 0) FROM layer_versions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: layer code usage: %w", err)
	}
	return n, nil
}
