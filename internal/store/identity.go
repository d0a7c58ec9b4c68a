package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// identityMigrations create the tables of IAM users, access keys, groups, roles, policies and
// STS sessions.
var identityMigrations = []Migration{
	{Domain: "identity", Version: 1, SQL: `
CREATE TABLE iam_users (
	name       TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	id         TEXT NOT NULL UNIQUE,
	path       TEXT NOT NULL,
	arn        TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);
CREATE TABLE iam_access_keys (
	access_key_id TEXT NOT NULL PRIMARY KEY,
	user_name     TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
	secret        TEXT NOT NULL,
	status        TEXT NOT NULL,
	created_ms    INTEGER NOT NULL
);
CREATE INDEX iam_access_keys_user ON iam_access_keys(user_name);
CREATE TABLE iam_groups (
	name       TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	id         TEXT NOT NULL UNIQUE,
	path       TEXT NOT NULL,
	arn        TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);
CREATE TABLE iam_group_members (
	group_name TEXT NOT NULL REFERENCES iam_groups(name) ON DELETE CASCADE,
	user_name  TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
	PRIMARY KEY (group_name, user_name)
);
CREATE INDEX iam_group_members_user ON iam_group_members(user_name);
CREATE TABLE iam_roles (
	name                 TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	id                   TEXT NOT NULL UNIQUE,
	path                 TEXT NOT NULL,
	arn                  TEXT NOT NULL,
	trust_policy         TEXT NOT NULL,
	description          TEXT NOT NULL DEFAULT '',
	max_session_duration INTEGER NOT NULL DEFAULT 3600,
	created_ms           INTEGER NOT NULL
);
CREATE TABLE iam_policies (
	arn         TEXT NOT NULL PRIMARY KEY,
	name        TEXT NOT NULL,
	id          TEXT NOT NULL UNIQUE,
	path        TEXT NOT NULL,
	document    TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_ms  INTEGER NOT NULL,
	updated_ms  INTEGER NOT NULL
);
CREATE TABLE iam_inline_policies (
	owner_kind  TEXT NOT NULL,
	owner_name  TEXT NOT NULL COLLATE NOCASE,
	policy_name TEXT NOT NULL COLLATE NOCASE,
	document    TEXT NOT NULL,
	PRIMARY KEY (owner_kind, owner_name, policy_name)
);
CREATE TABLE iam_attachments (
	owner_kind TEXT NOT NULL,
	owner_name TEXT NOT NULL COLLATE NOCASE,
	policy_arn TEXT NOT NULL REFERENCES iam_policies(arn),
	PRIMARY KEY (owner_kind, owner_name, policy_arn)
);
CREATE INDEX iam_attachments_policy ON iam_attachments(policy_arn);
CREATE TABLE sts_sessions (
	access_key_id TEXT NOT NULL PRIMARY KEY,
	secret        TEXT NOT NULL,
	token         TEXT NOT NULL,
	role_name     TEXT NOT NULL,
	role_id       TEXT NOT NULL,
	role_arn      TEXT NOT NULL,
	session_name  TEXT NOT NULL,
	source_arn    TEXT NOT NULL,
	expires_ms    INTEGER NOT NULL,
	created_ms    INTEGER NOT NULL
);
CREATE INDEX sts_sessions_expires ON sts_sessions(expires_ms);
`},
	{Domain: "identity", Version: 2, SQL: awsManagedPoliciesSQL()},
	{Domain: "identity", Version: 3, SQL: `
CREATE TABLE iam_tags (
	owner_kind TEXT NOT NULL,
	owner_name TEXT NOT NULL COLLATE NOCASE,
	key        TEXT NOT NULL COLLATE NOCASE,
	value      TEXT NOT NULL,
	PRIMARY KEY (owner_kind, owner_name, key)
);
`},
	{Domain: "identity", Version: 4, SQL: `
CREATE TABLE iam_policy_versions (
	policy_arn TEXT NOT NULL REFERENCES iam_policies(arn) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	document   TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (policy_arn, version)
);
ALTER TABLE iam_policies ADD COLUMN default_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE iam_policies ADD COLUMN next_version INTEGER NOT NULL DEFAULT 2;
INSERT INTO iam_policy_versions (policy_arn, version, document, created_ms)
	SELECT arn, 1, document, created_ms FROM iam_policies;
`},
}

// awsManagedPolicies are the AWS-managed policies furl knows (documents simplified where AWS's
// are long lists of other services' actions): arn:aws:iam::aws:policy/<path><name>.
var awsManagedPolicies = []struct{ path, name, id, doc string }{
	{"/", "AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	{"/", "PowerUserAccess", "ANPAJYRXTHIB4FOVS3ZXS",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}`},
	{"/", "ReadOnlyAccess", "ANPAILL3HVNFSB6DCOWYQ",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*","iam:Get*","iam:List*","sts:GetCallerIdentity","logs:Describe*","logs:Get*","logs:FilterLogEvents"],"Resource":"*"}]}`},
	{"/", "IAMFullAccess", "ANPAI7XKCFMBPM3QQRRVQ",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}`},
	{"/", "IAMReadOnlyAccess", "ANPAJKSO7NDY4T57MWDSQ",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}`},
	{"/", "AWSLambda_FullAccess", "ANPAZKAPJZG4B7RB5DXNQ",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:*","iam:GetRole","iam:GetPolicy","iam:GetPolicyVersion","iam:GetRolePolicy","iam:ListAttachedRolePolicies","iam:ListRolePolicies","iam:ListRoles","logs:DescribeLogGroups","logs:FilterLogEvents","logs:GetLogEvents","logs:StartLiveTail","logs:StopLiveTail"],"Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}`},
	{"/", "AWSLambda_ReadOnlyAccess", "ANPAZKAPJZG4M2WGGLF4H",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*","iam:GetRole","iam:GetPolicy","iam:GetPolicyVersion","iam:GetRolePolicy","iam:ListAttachedRolePolicies","iam:ListRolePolicies","iam:ListRoles","logs:DescribeLogGroups","logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"*"}]}`},
	{"/service-role/", "AWSLambdaBasicExecutionRole", "ANPAJNCQGXC42545SKXIK",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	{"/service-role/", "AWSLambdaRole", "ANPAJX4DPCRGTC4NFDUXI",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:InvokeFunction"],"Resource":["*"]}]}`},
}

func awsManagedPoliciesSQL() string {
	const created = 1423180800000 // 2015-02-06T00:00:00Z
	var b strings.Builder
	for _, p := range awsManagedPolicies {
		fmt.Fprintf(&b, "INSERT INTO iam_policies (arn, name, id, path, document, description, created_ms, updated_ms) VALUES ('arn:aws:iam::aws:policy%s%s', '%s', '%s', '%s', '%s', '', %d, %d);\n",
			p.path, p.name, p.name, p.id, p.path, strings.ReplaceAll(p.doc, "'", "''"), created, created)
	}
	return b.String()
}

// Owner kinds of inline policies and attachments.
const (
	OwnerUser  = "user"
	OwnerGroup = "group"
	OwnerRole  = "role"
)

// Identity store errors. Callers map them to IAM error codes.
var (
	// ErrNoSuchEntity: the named user, key, group, role, policy or session does not exist.
	ErrNoSuchEntity = errors.New("store: no such entity")
	// ErrEntityExists: an entity with that name already exists.
	ErrEntityExists = errors.New("store: entity already exists")
)

// IAMUser is an IAM user.
type IAMUser struct {
	Name, ID, Path, ARN string
	Created             time.Time
}

// IAMAccessKey is a long-term access key of a user. Status is "Active" or "Inactive".
type IAMAccessKey struct {
	AccessKeyID, UserName, Secret, Status string
	Created                               time.Time
}

// IAMGroup is an IAM group.
type IAMGroup struct {
	Name, ID, Path, ARN string
	Created             time.Time
}

// IAMRole is an IAM role with its trust policy (AssumeRolePolicyDocument).
type IAMRole struct {
	Name, ID, Path, ARN string
	TrustPolicy         string
	Description         string
	MaxSessionDuration  int
	Created             time.Time
}

// IAMPolicy is a managed policy; Document is its default version's.
type IAMPolicy struct {
	ARN, Name, ID, Path string
	Document            string
	// DefaultVersion is the number of the default version (v<N>).
	DefaultVersion   int
	Description      string
	AttachmentCount  int
	Created, Updated time.Time
}

// IAMInlinePolicy is a policy embedded in a user, group or role.
type IAMInlinePolicy struct {
	OwnerKind, OwnerName, Name, Document string
}

// STSSession is a set of temporary credentials from AssumeRole.
type STSSession struct {
	AccessKeyID, Secret, Token string
	RoleName, RoleID, RoleARN  string
	SessionName                string
	// SourceARN is the ARN of the caller that assumed the role.
	SourceARN        string
	Expires, Created time.Time
}

func idFromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs the query and scans every row with scan; op names it in errors.
func queryAll[T any](ctx context.Context, db querier, op string, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
func idIsUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint")
}
func idIsForeign(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint")
}
func idNotFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoSuchEntity
	}
	return err
}

func idAffected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoSuchEntity
	}
	return nil
}

func idWrapInsert(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case idIsUnique(err):
		return fmt.Errorf("store: %s: %w", op, ErrEntityExists)
	case idIsForeign(err):
		return fmt.Errorf("store: %s: %w", op, ErrNoSuchEntity)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// --- users ---

// CreateIAMUser inserts u; ErrEntityExists when the name is taken.
func (s *DB) CreateIAMUser(ctx context.Context, u IAMUser) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO iam_users (name, id, path, arn, created_ms) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.ID, u.Path, u.ARN, ms(u.Created))
	return idWrapInsert("create user", err)
}

const userCols = `name, id, path, arn, created_ms`

func idScanUser(sc rowScanner) (IAMUser, error) {
	var u IAMUser
	var c int64
	err := sc.Scan(&u.Name, &u.ID, &u.Path, &u.ARN, &c)
	u.Created = idFromMS(c)
	return u, err
}

// GetIAMUser returns the user called name (case-insensitive).
func (s *DB) GetIAMUser(ctx context.Context, name string) (IAMUser, error) {
	u, err := idScanUser(s.sql.QueryRowContext(ctx, `SELECT `+userCols+` FROM iam_users WHERE name = ?`, name))
	if err != nil {
		return IAMUser{}, fmt.Errorf("store: get user %s: %w", name, idNotFound(err))
	}
	return u, nil
}

// ListIAMUsers returns the users whose path starts with pathPrefix, by name.
func (s *DB) ListIAMUsers(ctx context.Context, pathPrefix string) ([]IAMUser, error) {
	return queryAll(ctx, s.sql, "list users", idScanUser,
		`SELECT `+userCols+` FROM iam_users WHERE substr(path, 1, length(?)) = ? ORDER BY name`, pathPrefix, pathPrefix)
}

// DeleteIAMUser deletes the user and, by cascade, its keys and group memberships. Callers check
// for dependants first (AWS's DeleteConflict).
func (s *DB) DeleteIAMUser(ctx context.Context, name string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_users WHERE name = ?`, name)); err != nil {
		return fmt.Errorf("store: delete user %s: %w", name, err)
	}
	return nil
}

// --- access keys ---

// CreateAccessKey inserts k; ErrNoSuchEntity when the user does not exist.
func (s *DB) CreateAccessKey(ctx context.Context, k IAMAccessKey) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO iam_access_keys (access_key_id, user_name, secret, status, created_ms)
		VALUES (?, (SELECT name FROM iam_users WHERE name = ?), ?, ?, ?)`, k.AccessKeyID, k.UserName, k.Secret, k.Status, ms(k.Created))
	if err != nil && strings.Contains(err.Error(), "NOT NULL constraint") {
		return fmt.Errorf("store: create access key: %w", ErrNoSuchEntity)
	}
	return idWrapInsert("create access key", err)
}

const keyCols = `access_key_id, user_name, secret, status, created_ms`

func idScanKey(sc rowScanner) (IAMAccessKey, error) {
	var k IAMAccessKey
	var c int64
	err := sc.Scan(&k.AccessKeyID, &k.UserName, &k.Secret, &k.Status, &c)
	k.Created = idFromMS(c)
	return k, err
}

// GetAccessKey returns the key with id akid.
func (s *DB) GetAccessKey(ctx context.Context, akid string) (IAMAccessKey, error) {
	k, err := idScanKey(s.sql.QueryRowContext(ctx, `SELECT `+keyCols+` FROM iam_access_keys WHERE access_key_id = ?`, akid))
	if err != nil {
		return IAMAccessKey{}, fmt.Errorf("store: get access key: %w", idNotFound(err))
	}
	return k, nil
}

// ListAccessKeys returns the user's keys, oldest first.
func (s *DB) ListAccessKeys(ctx context.Context, userName string) ([]IAMAccessKey, error) {
	return queryAll(ctx, s.sql, "list access keys", idScanKey,
		`SELECT `+keyCols+` FROM iam_access_keys WHERE user_name = ? ORDER BY created_ms, access_key_id`, userName)
}

// UpdateAccessKeyStatus sets the status of the user's key.
func (s *DB) UpdateAccessKeyStatus(ctx context.Context, userName, akid, status string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `UPDATE iam_access_keys SET status = ? WHERE access_key_id = ? AND user_name = ?`, status, akid, userName)); err != nil {
		return fmt.Errorf("store: update access key: %w", err)
	}
	return nil
}

// DeleteAccessKey deletes the user's key.
func (s *DB) DeleteAccessKey(ctx context.Context, userName, akid string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_access_keys WHERE access_key_id = ? AND user_name = ?`, akid, userName)); err != nil {
		return fmt.Errorf("store: delete access key: %w", err)
	}
	return nil
}

// --- groups ---

// CreateIAMGroup inserts g.
func (s *DB) CreateIAMGroup(ctx context.Context, g IAMGroup) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO iam_groups (name, id, path, arn, created_ms) VALUES (?, ?, ?, ?, ?)`,
		g.Name, g.ID, g.Path, g.ARN, ms(g.Created))
	return idWrapInsert("create group", err)
}

const groupCols = `name, id, path, arn, created_ms`

func idScanGroup(sc rowScanner) (IAMGroup, error) {
	var g IAMGroup
	var c int64
	err := sc.Scan(&g.Name, &g.ID, &g.Path, &g.ARN, &c)
	g.Created = idFromMS(c)
	return g, err
}

// GetIAMGroup returns the group called name.
func (s *DB) GetIAMGroup(ctx context.Context, name string) (IAMGroup, error) {
	g, err := idScanGroup(s.sql.QueryRowContext(ctx, `SELECT `+groupCols+` FROM iam_groups WHERE name = ?`, name))
	if err != nil {
		return IAMGroup{}, fmt.Errorf("store: get group %s: %w", name, idNotFound(err))
	}
	return g, nil
}

// ListIAMGroups returns the groups whose path starts with pathPrefix; with userName set, only
// that user's groups.
func (s *DB) ListIAMGroups(ctx context.Context, pathPrefix, userName string) ([]IAMGroup, error) {
	q := `SELECT ` + groupCols + ` FROM iam_groups WHERE substr(path, 1, length(?)) = ?`
	args := []any{pathPrefix, pathPrefix}
	if userName != "" {
		q += ` AND name IN (SELECT group_name FROM iam_group_members WHERE user_name = ?)`
		args = append(args, userName)
	}
	return queryAll(ctx, s.sql, "list groups", idScanGroup, q+` ORDER BY name`, args...)
}

// GroupMembers returns the users in the group, by name.
func (s *DB) GroupMembers(ctx context.Context, groupName string) ([]IAMUser, error) {
	return queryAll(ctx, s.sql, "group members", idScanUser,
		`SELECT `+userCols+` FROM iam_users WHERE name IN (SELECT user_name FROM iam_group_members WHERE group_name = ?) ORDER BY name`, groupName)
}

// DeleteIAMGroup deletes the group (members are released by cascade).
func (s *DB) DeleteIAMGroup(ctx context.Context, name string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_groups WHERE name = ?`, name)); err != nil {
		return fmt.Errorf("store: delete group %s: %w", name, err)
	}
	return nil
}

// AddUserToGroup adds the user to the group (idempotent).
func (s *DB) AddUserToGroup(ctx context.Context, groupName, userName string) error {
	_, err := s.sql.ExecContext(ctx, `INSERT OR IGNORE INTO iam_group_members (group_name, user_name)
		VALUES ((SELECT name FROM iam_groups WHERE name = ?), (SELECT name FROM iam_users WHERE name = ?))`, groupName, userName)
	if err != nil && strings.Contains(err.Error(), "NOT NULL constraint") {
		return fmt.Errorf("store: add user to group: %w", ErrNoSuchEntity)
	}
	return idWrapInsert("add user to group", err)
}

// RemoveUserFromGroup removes the user from the group.
func (s *DB) RemoveUserFromGroup(ctx context.Context, groupName, userName string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_group_members WHERE group_name = ? AND user_name = ?`, groupName, userName)); err != nil {
		return fmt.Errorf("store: remove user from group: %w", err)
	}
	return nil
}

// --- roles ---

// CreateIAMRole inserts r.
func (s *DB) CreateIAMRole(ctx context.Context, r IAMRole) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO iam_roles (name, id, path, arn, trust_policy, description, max_session_duration, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.Name, r.ID, r.Path, r.ARN, r.TrustPolicy, r.Description, r.MaxSessionDuration, ms(r.Created))
	return idWrapInsert("create role", err)
}

const roleCols = `name, id, path, arn, trust_policy, description, max_session_duration, created_ms`

func idScanRole(sc rowScanner) (IAMRole, error) {
	var r IAMRole
	var c int64
	err := sc.Scan(&r.Name, &r.ID, &r.Path, &r.ARN, &r.TrustPolicy, &r.Description, &r.MaxSessionDuration, &c)
	r.Created = idFromMS(c)
	return r, err
}

// GetIAMRole returns the role called name.
func (s *DB) GetIAMRole(ctx context.Context, name string) (IAMRole, error) {
	r, err := idScanRole(s.sql.QueryRowContext(ctx, `SELECT `+roleCols+` FROM iam_roles WHERE name = ?`, name))
	if err != nil {
		return IAMRole{}, fmt.Errorf("store: get role %s: %w", name, idNotFound(err))
	}
	return r, nil
}

// ListIAMRoles returns the roles whose path starts with pathPrefix, by name.
func (s *DB) ListIAMRoles(ctx context.Context, pathPrefix string) ([]IAMRole, error) {
	return queryAll(ctx, s.sql, "list roles", idScanRole,
		`SELECT `+roleCols+` FROM iam_roles WHERE substr(path, 1, length(?)) = ? ORDER BY name`, pathPrefix, pathPrefix)
}

// UpdateRoleTrustPolicy replaces the role's trust policy.
func (s *DB) UpdateRoleTrustPolicy(ctx context.Context, name, doc string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `UPDATE iam_roles SET trust_policy = ? WHERE name = ?`, doc, name)); err != nil {
		return fmt.Errorf("store: update role %s: %w", name, err)
	}
	return nil
}

// DeleteIAMRole deletes the role.
func (s *DB) DeleteIAMRole(ctx context.Context, name string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_roles WHERE name = ?`, name)); err != nil {
		return fmt.Errorf("store: delete role %s: %w", name, err)
	}
	return nil
}

// --- managed policies ---

// CreateIAMPolicy inserts p.
func (s *DB) CreateIAMPolicy(ctx context.Context, p IAMPolicy) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: create policy: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO iam_policies (arn, name, id, path, document, description, created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.ARN, p.Name, p.ID, p.Path, p.Document, p.Description, ms(p.Created), ms(p.Updated)); err != nil {
		return idWrapInsert("create policy", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO iam_policy_versions (policy_arn, version, document, created_ms) VALUES (?, 1, ?, ?)`,
		p.ARN, p.Document, ms(p.Created)); err != nil {
		return idWrapInsert("create policy", err)
	}
	return idWrapInsert("create policy", tx.Commit())
}

const policyCols = `arn, name, id, path, document, description, created_ms, updated_ms,
	(SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_arn = iam_policies.arn), default_version`

func idScanPolicy(sc rowScanner) (IAMPolicy, error) {
	var p IAMPolicy
	var c, u int64
	err := sc.Scan(&p.ARN, &p.Name, &p.ID, &p.Path, &p.Document, &p.Description, &c, &u, &p.AttachmentCount, &p.DefaultVersion)
	p.Created, p.Updated = idFromMS(c), idFromMS(u)
	return p, err
}

// GetIAMPolicy returns the managed policy with the ARN.
func (s *DB) GetIAMPolicy(ctx context.Context, arn string) (IAMPolicy, error) {
	p, err := idScanPolicy(s.sql.QueryRowContext(ctx, `SELECT `+policyCols+` FROM iam_policies WHERE arn = ?`, arn))
	if err != nil {
		return IAMPolicy{}, fmt.Errorf("store: get policy %s: %w", arn, idNotFound(err))
	}
	return p, nil
}

// ListIAMPolicies returns managed policies whose ARN starts with arnPrefix (use
// "arn:aws:iam::<acct>:" for local ones, "arn:aws:iam::aws:" for AWS-managed, "" for all) and
// whose path starts with pathPrefix; onlyAttached keeps those with attachments.
func (s *DB) ListIAMPolicies(ctx context.Context, arnPrefix, pathPrefix string, onlyAttached bool) ([]IAMPolicy, error) {
	q := `SELECT ` + policyCols + ` FROM iam_policies WHERE substr(arn, 1, length(?)) = ? AND substr(path, 1, length(?)) = ?`
	if onlyAttached {
		q += ` AND EXISTS (SELECT 1 FROM iam_attachments a WHERE a.policy_arn = iam_policies.arn)`
	}
	return queryAll(ctx, s.sql, "list policies", idScanPolicy, q+` ORDER BY name, arn`, arnPrefix, arnPrefix, pathPrefix, pathPrefix)
}

// DeleteIAMPolicy deletes the managed policy; callers check attachments first.
func (s *DB) DeleteIAMPolicy(ctx context.Context, arn string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_policies WHERE arn = ?`, arn)); err != nil {
		return fmt.Errorf("store: delete policy %s: %w", arn, err)
	}
	return nil
}

// --- inline policies ---

// PutInlinePolicy creates or replaces an inline policy. The owner's existence is the caller's
// check.
func (s *DB) PutInlinePolicy(ctx context.Context, p IAMInlinePolicy) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO iam_inline_policies (owner_kind, owner_name, policy_name, document) VALUES (?, ?, ?, ?)
		ON CONFLICT (owner_kind, owner_name, policy_name) DO UPDATE SET document = excluded.document`, p.OwnerKind, p.OwnerName, p.Name, p.Document)
	if err != nil {
		return fmt.Errorf("store: put inline policy: %w", err)
	}
	return nil
}

// GetInlinePolicy returns one inline policy.
func (s *DB) GetInlinePolicy(ctx context.Context, kind, owner, name string) (IAMInlinePolicy, error) {
	p := IAMInlinePolicy{OwnerKind: kind}
	err := s.sql.QueryRowContext(ctx, `SELECT owner_name, policy_name, document FROM iam_inline_policies WHERE owner_kind = ? AND owner_name = ? AND policy_name = ?`,
		kind, owner, name).Scan(&p.OwnerName, &p.Name, &p.Document)
	if err != nil {
		return IAMInlinePolicy{}, fmt.Errorf("store: get inline policy %s: %w", name, idNotFound(err))
	}
	return p, nil
}

// ListInlinePolicies returns the owner's inline policies, by name.
func (s *DB) ListInlinePolicies(ctx context.Context, kind, owner string) ([]IAMInlinePolicy, error) {
	return queryAll(ctx, s.sql, "list inline policies", func(sc rowScanner) (IAMInlinePolicy, error) {
		p := IAMInlinePolicy{OwnerKind: kind}
		err := sc.Scan(&p.OwnerName, &p.Name, &p.Document)
		return p, err
	}, `SELECT owner_name, policy_name, document FROM iam_inline_policies WHERE owner_kind = ? AND owner_name = ? ORDER BY policy_name`, kind, owner)
}

// DeleteInlinePolicy deletes one inline policy.
func (s *DB) DeleteInlinePolicy(ctx context.Context, kind, owner, name string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_inline_policies WHERE owner_kind = ? AND owner_name = ? AND policy_name = ?`, kind, owner, name)); err != nil {
		return fmt.Errorf("store: delete inline policy %s: %w", name, err)
	}
	return nil
}

// --- attachments ---

// AttachPolicy attaches a managed policy to a user, group or role (idempotent);
// ErrNoSuchEntity when the policy does not exist.
func (s *DB) AttachPolicy(ctx context.Context, kind, owner, policyARN string) error {
	_, err := s.sql.ExecContext(ctx, `INSERT OR IGNORE INTO iam_attachments (owner_kind, owner_name, policy_arn) VALUES (?, ?, ?)`, kind, owner, policyARN)
	return idWrapInsert("attach policy", err)
}

// DetachPolicy detaches a managed policy.
func (s *DB) DetachPolicy(ctx context.Context, kind, owner, policyARN string) error {
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_attachments WHERE owner_kind = ? AND owner_name = ? AND policy_arn = ?`, kind, owner, policyARN)); err != nil {
		return fmt.Errorf("store: detach policy: %w", err)
	}
	return nil
}

// ListAttachedPolicies returns the managed policies attached to the owner, by name.
func (s *DB) ListAttachedPolicies(ctx context.Context, kind, owner string) ([]IAMPolicy, error) {
	return queryAll(ctx, s.sql, "list attached policies", idScanPolicy, `SELECT `+policyCols+` FROM iam_policies WHERE arn IN
		(SELECT policy_arn FROM iam_attachments WHERE owner_kind = ? AND owner_name = ?) ORDER BY name, arn`, kind, owner)
}

// DeleteOwnerPolicies removes every inline policy and attachment of the owner.
func (s *DB) DeleteOwnerPolicies(ctx context.Context, kind, owner string) error {
	for _, q := range []string{`DELETE FROM iam_inline_policies WHERE owner_kind = ? AND owner_name = ?`,
		`DELETE FROM iam_attachments WHERE owner_kind = ? AND owner_name = ?`} {
		if _, err := s.sql.ExecContext(ctx, q, kind, owner); err != nil {
			return fmt.Errorf("store: delete owner policies: %w", err)
		}
	}
	return nil
}

// PolicyDocuments returns every identity-policy document that applies to the owner: its inline
// and attached policies and, for a user, those of its groups.
func (s *DB) PolicyDocuments(ctx context.Context, kind, owner string) ([]string, error) {
	owners := `SELECT ?, ?`
	args := []any{kind, owner}
	if kind == OwnerUser {
		owners += ` UNION ALL SELECT 'group', group_name FROM iam_group_members WHERE user_name = ?`
		args = append(args, owner)
	}
	q := `WITH o(kind, name) AS (` + owners + `)
		SELECT i.document FROM iam_inline_policies i JOIN o ON i.owner_kind = o.kind AND i.owner_name = o.name
		UNION ALL
		SELECT p.document FROM iam_attachments a JOIN o ON a.owner_kind = o.kind AND a.owner_name = o.name
			JOIN iam_policies p ON p.arn = a.policy_arn`
	return queryAll(ctx, s.sql, "policy documents", func(sc rowScanner) (string, error) {
		var d string
		err := sc.Scan(&d)
		return d, err
	}, q, args...)
}

// --- STS sessions ---

// CreateSTSSession inserts a session.
func (s *DB) CreateSTSSession(ctx context.Context, t STSSession) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO sts_sessions (access_key_id, secret, token, role_name, role_id, role_arn, session_name, source_arn, expires_ms, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.AccessKeyID, t.Secret, t.Token, t.RoleName, t.RoleID, t.RoleARN, t.SessionName, t.SourceARN, ms(t.Expires), ms(t.Created))
	return idWrapInsert("create session", err)
}

// GetSTSSession returns the session of the temporary access key id.
func (s *DB) GetSTSSession(ctx context.Context, akid string) (STSSession, error) {
	var t STSSession
	var e, c int64
	err := s.sql.QueryRowContext(ctx, `SELECT access_key_id, secret, token, role_name, role_id, role_arn, session_name, source_arn, expires_ms, created_ms
		FROM sts_sessions WHERE access_key_id = ?`, akid).Scan(&t.AccessKeyID, &t.Secret, &t.Token, &t.RoleName, &t.RoleID, &t.RoleARN, &t.SessionName, &t.SourceARN, &e, &c)
	if err != nil {
		return STSSession{}, fmt.Errorf("store: get session: %w", idNotFound(err))
	}
	t.Expires, t.Created = idFromMS(e), idFromMS(c)
	return t, nil
}

// DeleteExpiredSTSSessions removes sessions that expired before before; it returns how many.
func (s *DB) DeleteExpiredSTSSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.sql.ExecContext(ctx, `DELETE FROM sts_sessions WHERE expires_ms < ?`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// --- tags ---

// IAMTag is a tag on a user or role.
type IAMTag struct{ Key, Value string }

// TagOwner sets the owner's tags (replacing values of existing keys).
func (s *DB) TagOwner(ctx context.Context, kind, owner string, tags []IAMTag) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: tag: %w", err)
	}
	defer tx.Rollback()
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO iam_tags (owner_kind, owner_name, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (owner_kind, owner_name, key) DO UPDATE SET value = excluded.value`, kind, owner, t.Key, t.Value); err != nil {
			return fmt.Errorf("store: tag: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: tag: %w", err)
	}
	return nil
}

// UntagOwner removes the owner's tags with the keys (missing keys are ignored); with no keys
// it removes every tag.
func (s *DB) UntagOwner(ctx context.Context, kind, owner string, keys []string) error {
	if len(keys) == 0 {
		if _, err := s.sql.ExecContext(ctx, `DELETE FROM iam_tags WHERE owner_kind = ? AND owner_name = ?`, kind, owner); err != nil {
			return fmt.Errorf("store: untag: %w", err)
		}
		return nil
	}
	for _, k := range keys {
		if _, err := s.sql.ExecContext(ctx, `DELETE FROM iam_tags WHERE owner_kind = ? AND owner_name = ? AND key = ?`, kind, owner, k); err != nil {
			return fmt.Errorf("store: untag: %w", err)
		}
	}
	return nil
}

// OwnerTags returns the owner's tags, by key.
func (s *DB) OwnerTags(ctx context.Context, kind, owner string) ([]IAMTag, error) {
	return queryAll(ctx, s.sql, "tags", func(sc rowScanner) (IAMTag, error) {
		var t IAMTag
		err := sc.Scan(&t.Key, &t.Value)
		return t, err
	}, `SELECT key, value FROM iam_tags WHERE owner_kind = ? AND owner_name = ? ORDER BY key`, kind, owner)
}

// --- managed policy versions ---

// MaxPolicyVersions is IAM's limit of versions per managed policy.
const MaxPolicyVersions = 5

// ErrLimitExceeded: the policy already has MaxPolicyVersions versions.
var ErrLimitExceeded = errors.New("store: limit exceeded")

// ErrDefaultVersion: the default version cannot be deleted.
var ErrDefaultVersion = errors.New("store: cannot delete the default version")

// IAMPolicyVersion is one version of a managed policy.
type IAMPolicyVersion struct {
	Version   int
	Document  string
	IsDefault bool
	Created   time.Time
}

// CreatePolicyVersion adds a version (made the default when setDefault) and returns its number.
func (s *DB) CreatePolicyVersion(ctx context.Context, arn, doc string, setDefault bool, at time.Time) (int, error) {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: create policy version: %w", err)
	}
	defer tx.Rollback()
	var next, n int
	if err := tx.QueryRowContext(ctx, `SELECT next_version, (SELECT COUNT(*) FROM iam_policy_versions WHERE policy_arn = ?) FROM iam_policies WHERE arn = ?`,
		arn, arn).Scan(&next, &n); err != nil {
		return 0, fmt.Errorf("store: create policy version: %w", idNotFound(err))
	}
	if n >= MaxPolicyVersions {
		return 0, fmt.Errorf("store: create policy version: %w", ErrLimitExceeded)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO iam_policy_versions (policy_arn, version, document, created_ms) VALUES (?, ?, ?, ?)`,
		arn, next, doc, ms(at)); err != nil {
		return 0, fmt.Errorf("store: create policy version: %w", err)
	}
	q := `UPDATE iam_policies SET next_version = next_version + 1 WHERE arn = ?`
	args := []any{arn}
	if setDefault {
		q = `UPDATE iam_policies SET next_version = next_version + 1, default_version = ?, document = ?, updated_ms = ? WHERE arn = ?`
		args = []any{next, doc, ms(at), arn}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return 0, fmt.Errorf("store: create policy version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: create policy version: %w", err)
	}
	return next, nil
}

// PolicyVersions returns the policy's versions, newest first.
func (s *DB) PolicyVersions(ctx context.Context, arn string) ([]IAMPolicyVersion, error) {
	return queryAll(ctx, s.sql, "policy versions", func(sc rowScanner) (IAMPolicyVersion, error) {
		var v IAMPolicyVersion
		var c int64
		err := sc.Scan(&v.Version, &v.Document, &v.IsDefault, &c)
		v.Created = idFromMS(c)
		return v, err
	}, `SELECT v.version, v.document, v.version = p.default_version, v.created_ms
		FROM iam_policy_versions v JOIN iam_policies p ON p.arn = v.policy_arn WHERE v.policy_arn = ? ORDER BY v.version DESC`, arn)
}

// SetDefaultPolicyVersion makes version the default (its document becomes the policy's).
func (s *DB) SetDefaultPolicyVersion(ctx context.Context, arn string, version int, at time.Time) error {
	err := idAffected(s.sql.ExecContext(ctx, `UPDATE iam_policies SET default_version = ?, updated_ms = ?,
		document = (SELECT document FROM iam_policy_versions WHERE policy_arn = ? AND version = ?)
		WHERE arn = ? AND EXISTS (SELECT 1 FROM iam_policy_versions WHERE policy_arn = ? AND version = ?)`,
		version, ms(at), arn, version, arn, arn, version))
	if err != nil {
		return fmt.Errorf("store: set default policy version: %w", err)
	}
	return nil
}

// DeletePolicyVersion deletes a non-default version.
func (s *DB) DeletePolicyVersion(ctx context.Context, arn string, version int) error {
	var def int
	if err := s.sql.QueryRowContext(ctx, `SELECT default_version FROM iam_policies WHERE arn = ?`, arn).Scan(&def); err != nil {
		return fmt.Errorf("store: delete policy version: %w", idNotFound(err))
	}
	if def == version {
		return fmt.Errorf("store: delete policy version: %w", ErrDefaultVersion)
	}
	if err := idAffected(s.sql.ExecContext(ctx, `DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version = ?`, arn, version)); err != nil {
		return fmt.Errorf("store: delete policy version: %w", err)
	}
	return nil
}
