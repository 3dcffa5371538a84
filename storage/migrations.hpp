// The state DB schema and its ordered migrations, keyed by PRAGMA user_version.
// Internal to storage/: Repository::open() calls these.
//
// Each migration is a block of SQL that moves the schema from version N-1 to
// N; an older DB is upgraded in one BEGIN IMMEDIATE transaction, a DB written
// by a newer seedanced is refused. Released migrations are FROZEN: never edit
// one, append a new version instead.
//
// Thread contract: free functions over a caller-owned Db.
#pragma once

#include <string>

#include "core/result.hpp"
#include "storage/sqlite.hpp"

namespace sd::storage {

// The schema version this build writes.
int latest_schema_version();

// Upgrades `db` to latest_schema_version() inside one write transaction.
// Creates the schema in an empty DB; refuses a newer schema or a non-empty DB
// that has no seedanced schema. `path` is for messages.
// REQUIRES: db is open read-write with a busy timeout set.
Result<void> migrate(sqlite::Db& db, const std::string& path);

// For connections that must not change the schema (seedancectl): succeeds iff
// the DB has exactly latest_schema_version(); otherwise the Error says which
// program to upgrade or start.
Result<void> check_schema(sqlite::Db& db, const std::string& path);

}  // namespace sd::storage
