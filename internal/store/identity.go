package store

// identityMigrations create the tables of IAM users, access keys, groups, roles, policies and
// STS sessions.
var identityMigrations = []Migration{}
