package store

// functionMigrations create the tables of functions, versions, aliases, URL configs, policies,
// tags, concurrency and the async invocation queue.
var functionMigrations = []Migration{}
