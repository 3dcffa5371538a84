// The state DB: SQLite in WAL mode holding every asset and task record, the
// task->asset edges, the append-only events log, operator commands and
// metadata. The daemon opens it read-write; seedancectl opens it read-only
// (or in kOperator mode for `retry`) while the daemon runs.
//
// Durability: WAL with synchronous=NORMAL, except steps that record an intent
// (see apply()). Only one daemon may use a DB: kReadWrite holds an exclusive
// flock on "<db>.lock" (which holds its pid) for the Repository's lifetime.
//
// Thread contract: one Repository per thread (it caches prepared statements);
// any number of processes may read while one writes (WAL, busy_timeout 5 s).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/engine.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace sd {

// Everything the engine needs at start.
struct Snapshot {
  std::vector<AssetRecord> assets;
  std::vector<TaskRecord> tasks;
};

// An operator command queued by seedancectl for the running daemon.
struct Command {
  int64_t id = 0;
  std::string verb;  // "retry"
  std::string name;  // the task
  TimePoint at{};
};

class Repository {
 public:
  enum class Mode {
    kReadWrite,  // the daemon: creates/migrates the DB, takes the "<db>.lock" flock
    kReadOnly,   // seedancectl status/show/events: SQLITE_OPEN_READONLY, no lock
    kOperator,   // seedancectl retry: may write (push_command), no lock, no migration
  };

  // How long a statement waits for another process's write lock.
  static constexpr Duration kDefaultBusyTimeout = std::chrono::seconds(5);

  // Opens (creating it and its schema in kReadWrite mode) the DB at `path`.
  // Applies pending migrations; refuses a DB written by a newer schema, a
  // corrupt file, a missing directory or a read-only file with an Error whose
  // message names the path and the fix.
  static Result<std::unique_ptr<Repository>> open(const std::string& path, Mode mode);
  // The same with another busy timeout (tests use a short one).
  static Result<std::unique_ptr<Repository>> open(const std::string& path, Mode mode,
                                                  Duration busy_timeout);
  ~Repository();
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  // The schema version this build writes (PRAGMA user_version).
  static int schema_version();

  Result<Snapshot> load() const;

  // Saves one engine step atomically: upserts every record in ready.assets and
  // ready.tasks (with their task->asset edges) and appends ready.events.
  // A step that records an intent (Uploading or Submitting) is committed with
  // synchronous=FULL so that a power loss cannot forget it.
  Result<void> apply(const Ready& ready);

  // Events with id > after_id, oldest first, at most `limit`; optionally only
  // those of one entity name or not older than `since`.
  Result<std::vector<EventRecord>> events(int64_t after_id, int limit,
                                          std::optional<std::string> name = std::nullopt,
                                          std::optional<TimePoint> since = std::nullopt) const;

  // Operator commands (seedancectl retry -> daemon).
  Result<void> push_command(std::string_view verb, std::string_view name, TimePoint at);
  // Returns and deletes every queued command, oldest first.
  Result<std::vector<Command>> take_commands();

  // Free-form metadata (e.g. "daemon_pid", "daemon_status").
  Result<void> set_meta(std::string_view key, std::string_view value);
  Result<std::optional<std::string>> meta(std::string_view key) const;

  // Test hook: the PRAGMA synchronous level the connection has now, as SQLite
  // reports it (1 = NORMAL, 2 = FULL).
  int TEST_synchronous() const;

 private:
  struct Impl;
  explicit Repository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sd
