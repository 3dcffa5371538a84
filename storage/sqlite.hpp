// Thin RAII wrappers over the SQLite C API, used only inside storage/.
//
// Db owns one sqlite3 connection; Statement owns one prepared statement of a
// Db and must not outlive it. Every failing call returns an Error whose
// message carries sqlite3_errmsg() and the SQLite result code name, prefixed
// by what was being done; callers add the DB path with Error::With().
//
// Thread contract: a Db and its Statements belong to one thread at a time
// (SQLite is built in serialized mode, but a Statement's bindings are state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sd::sqlite {

// sqlite3_open_v2 flags, so that users of this header need not include sqlite3.h.
inline constexpr int kOpenReadOnly = 0x01;   // SQLITE_OPEN_READONLY
inline constexpr int kOpenReadWrite = 0x02;  // SQLITE_OPEN_READWRITE
inline constexpr int kOpenCreate = 0x04;     // SQLITE_OPEN_CREATE

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool valid() const { return stmt_ != nullptr; }

  // Bind by 1-based index. Bound text is copied (SQLITE_TRANSIENT).
  // Errors surface at step(): a bind can only fail on a bad index (a bug).
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<int64_t>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Advances: true when a row is available, false when done.
  Result<bool> step();
  // Steps until done, then resets; for statements that return no rows.
  Result<void> run();
  // Resets the statement and clears its bindings, ready to be reused.
  void reset();

  // Column accessors for the current row (0-based).
  int64_t int64(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;
  std::optional<int64_t> optional_int64(int col) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_*). Opening is
  // lazy in SQLite: a file that is not a database fails at the first query.
  static Result<Db> open(const std::string& path, int flags);

  // Runs one or more SQL statements that return no rows of interest.
  Result<void> exec(std::string_view sql);
  // Prepares one statement (SQLITE_PREPARE_PERSISTENT: it is meant to be cached).
  Result<Statement> prepare(std::string_view sql);
  // Runs a query returning one integer (e.g. a PRAGMA); an empty result is an error.
  Result<int64_t> query_int(std::string_view sql);
  // Runs a query returning one text value; an empty result is an error.
  Result<std::string> query_text(std::string_view sql);

  void set_busy_timeout(int ms);
  // True when the connection cannot write (opened read-only or the file is read-only).
  bool read_only() const;
  sqlite3* handle() const { return db_; }
  // The last error of this connection: "<errmsg> (<code name>)".
  std::string last_error() const;
  // The extended result code of the last failing call.
  int last_code() const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// Maps a SQLite result code and message to an Error with a fitting Code:
// SQLITE_NOTADB/SQLITE_CORRUPT -> kCorruption, BUSY/LOCKED -> kConflict,
// everything else -> kIo. `what` says what was being done.
Error to_error(int rc, std::string_view what, std::string_view message);

}  // namespace sd::sqlite
