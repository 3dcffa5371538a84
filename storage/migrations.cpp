#include "storage/migrations.hpp"

#include <array>
#include <string_view>

namespace sd::storage {
namespace {

// PRAGMA application_id of a seedanced state DB ("SDNC"), set by version 1.
constexpr int64_t kApplicationId = 0x53444e43;

struct Migration {
  int version;            // the user_version after this migration
  std::string_view what;  // one line, for humans reading this file
  std::string_view sql;
};

// FROZEN once released: append, never edit. Times are milliseconds since the
// Unix epoch (NULL = no value); states are the frozen integer enums of
// core/model.hpp; event states are their names.
constexpr std::array<Migration, 2> kMigrations{{
    {1, "entities, edges and the events log",
     R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE assets (
  name              TEXT PRIMARY KEY,
  url               TEXT NOT NULL,
  media_type        TEXT NOT NULL,
  source_file       TEXT NOT NULL DEFAULT '',
  source_line       INTEGER NOT NULL DEFAULT 0,
  state             INTEGER NOT NULL,
  remote_id         TEXT NOT NULL DEFAULT '',
  last_error        TEXT NOT NULL DEFAULT '',
  created_at_ms     INTEGER NOT NULL,
  state_since_ms    INTEGER NOT NULL,
  expires_at_ms     INTEGER,
  next_at_ms        INTEGER,
  poll_count        INTEGER NOT NULL DEFAULT 0,
  error_count       INTEGER NOT NULL DEFAULT 0,
  first_error_at_ms INTEGER,
  retired           INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tasks (
  name              TEXT PRIMARY KEY,
  spec_json         TEXT NOT NULL,
  state             INTEGER NOT NULL,
  remote_id         TEXT NOT NULL DEFAULT '',
  request_body      TEXT NOT NULL DEFAULT '',
  video_url         TEXT NOT NULL DEFAULT '',
  output_path       TEXT NOT NULL DEFAULT '',
  error_code        INTEGER NOT NULL DEFAULT 0,
  last_error        TEXT NOT NULL DEFAULT '',
  created_at_ms     INTEGER NOT NULL,
  state_since_ms    INTEGER NOT NULL,
  submitted_at_ms   INTEGER,
  next_at_ms        INTEGER,
  poll_count        INTEGER NOT NULL DEFAULT 0,
  error_count       INTEGER NOT NULL DEFAULT 0,
  first_error_at_ms INTEGER,
  retired           INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE task_assets (
  task  TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
  asset TEXT NOT NULL,
  PRIMARY KEY (task, asset)
) WITHOUT ROWID;
CREATE INDEX task_assets_by_asset ON task_assets(asset);
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  entity_kind TEXT NOT NULL,
  name        TEXT NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  detail      TEXT NOT NULL DEFAULT '',
  at_ms       INTEGER NOT NULL
);
PRAGMA application_id = 1396985411;
)sql"},
    {2, "operator commands queue; events indexes for seedancectl",
     R"sql(
CREATE TABLE commands (
  id    INTEGER PRIMARY KEY AUTOINCREMENT,
  verb  TEXT NOT NULL,
  name  TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE INDEX events_by_name ON events(name, id);
CREATE INDEX events_by_time ON events(at_ms);
)sql"},
}};

static_assert(kApplicationId == 1396985411, "keep the literal in migration 1 in step");

Error newer_schema(const std::string& path, int64_t found) {
  return Error::Unsupported("state DB " + path + " was written by a newer seedanced (schema " +
                            std::to_string(found) + " > " +
                            std::to_string(latest_schema_version()) + "); upgrade seedanced");
}

}  // namespace

int latest_schema_version() {
  return kMigrations.back().version;
}

Result<void> migrate(sqlite::Db& db, const std::string& path) {
  // Read the version inside the write transaction, so two processes racing to
  // create the schema cannot both do it.
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return Fail(r.error());
  auto fail = [&](Error e) -> Result<void> {
    (void)db.exec("ROLLBACK");
    return Fail(std::move(e));
  };
  auto version = db.query_int("PRAGMA user_version");
  if (!version) return fail(version.error());
  if (*version > latest_schema_version()) return fail(newer_schema(path, *version));
  if (*version == latest_schema_version()) {
    if (auto r = db.exec("COMMIT"); !r) return fail(r.error());
    return Ok();
  }

  if (*version == 0) {
    auto tables = db.query_int("SELECT count(*) FROM sqlite_master");
    if (!tables) return fail(tables.error());
    if (*tables > 0) {
      return fail(Error::InvalidArgument(
          "state DB " + path +
          " is an SQLite database without a seedanced schema (another program's file?); point "
          "state_db at a new path or move the file aside"));
    }
  } else {
    auto app = db.query_int("PRAGMA application_id");
    if (!app) return fail(app.error());
    if (*app != kApplicationId) {
      return fail(Error::InvalidArgument("state DB " + path +
                                         " is not a seedanced state DB (application_id " +
                                         std::to_string(*app) + "); point state_db elsewhere"));
    }
  }

  for (const auto& m : kMigrations) {
    if (m.version <= *version) continue;
    if (auto r = db.exec(m.sql); !r) {
      return fail(r.error().With("state DB " + path + ": migrating to schema " +
                                 std::to_string(m.version)));
    }
  }
  if (auto r = db.exec("PRAGMA user_version = " + std::to_string(latest_schema_version())); !r) {
    return fail(r.error());
  }
  if (*version > 0) {
    auto st = db.prepare(
        "INSERT INTO meta(key, value) VALUES('upgraded_from_schema', ?1) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!st) return fail(st.error());
    if (auto r = st->bind(1, std::to_string(*version)).run(); !r) return fail(r.error());
  }
  if (auto r = db.exec("COMMIT"); !r) return fail(r.error());
  return Ok();
}

Result<void> check_schema(sqlite::Db& db, const std::string& path) {
  auto version = db.query_int("PRAGMA user_version");
  if (!version) return Fail(version.error().With("state DB " + path));
  int latest = latest_schema_version();
  if (*version > latest) return Fail(newer_schema(path, *version));
  if (*version == 0) {
    return Fail(Error::NotFound(
        "state DB " + path + " holds no seedanced schema yet; start seedanced once to create it"));
  }
  if (*version < latest) {
    return Fail(Error::Unsupported("state DB " + path + " has schema " + std::to_string(*version) +
                                   " < " + std::to_string(latest) +
                                   "; start the new seedanced once to upgrade it"));
  }
  return Ok();
}

}  // namespace sd::storage
