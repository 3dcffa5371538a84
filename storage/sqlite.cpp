#include "storage/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace sd::sqlite {

static_assert(kOpenReadOnly == SQLITE_OPEN_READONLY);
static_assert(kOpenReadWrite == SQLITE_OPEN_READWRITE);
static_assert(kOpenCreate == SQLITE_OPEN_CREATE);

Error to_error(int rc, std::string_view what, std::string_view message) {
  std::string m = std::string(what) + ": " + std::string(message) + " (" + sqlite3_errstr(rc) +
                  ", code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Error::Corruption(std::move(m));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Conflict(std::move(m));
    default:
      return Error::Io(std::move(m));
  }
}

// --- Statement ---------------------------------------------------------------

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e =
      to_error(rc, std::string("executing \"") + sqlite3_sql(stmt_) + "\"", sqlite3_errmsg(db_));
  sqlite3_reset(stmt_);
  return Fail(std::move(e));
}

Result<void> Statement::run() {
  while (true) {
    auto r = step();
    if (!r) {
      reset();
      return Fail(r.error());
    }
    if (!*r) break;
  }
  reset();
  return Ok();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::int64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

bool Statement::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::optional<int64_t> Statement::optional_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

// --- Db ----------------------------------------------------------------------

Db::~Db() {
  sqlite3_close_v2(db_);
}

Db::Db(Db&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<Db> Db::open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Fail(to_error(rc, "opening", msg));
  }
  sqlite3_extended_result_codes(db, 1);
  return Db(db);
}

Result<void> Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    std::string what = "executing \"" + s.substr(0, 60) + (s.size() > 60 ? "...\"" : "\"");
    return Fail(to_error(rc, what, msg));
  }
  return Ok();
}

Result<Statement> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return Fail(to_error(rc, "preparing \"" + std::string(sql) + "\"", sqlite3_errmsg(db_)));
  }
  return Statement(db_, stmt);
}

Result<int64_t> Db::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return Fail(st.error());
  auto row = st->step();
  if (!row) return Fail(row.error());
  if (!*row) return Fail(Error::Internal("\"" + std::string(sql) + "\" returned no row"));
  return st->int64(0);
}

Result<std::string> Db::query_text(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return Fail(st.error());
  auto row = st->step();
  if (!row) return Fail(row.error());
  if (!*row) return Fail(Error::Internal("\"" + std::string(sql) + "\" returned no row"));
  return st->text(0);
}

void Db::set_busy_timeout(int ms) {
  sqlite3_busy_timeout(db_, ms);
}

bool Db::read_only() const {
  return sqlite3_db_readonly(db_, "main") == 1;
}

std::string Db::last_error() const {
  return std::string(sqlite3_errmsg(db_)) + " (" + sqlite3_errstr(sqlite3_extended_errcode(db_)) +
         ")";
}

int Db::last_code() const {
  return sqlite3_extended_errcode(db_);
}

}  // namespace sd::sqlite
