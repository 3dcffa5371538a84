#include "storage/repository.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"

namespace sd {
namespace {

using json = nlohmann::json;
using sqlite::Statement;

// --- The "<db>.lock" advisory lock -----------------------------------------

// An exclusive flock held for the lifetime of the object; the file holds the
// holder's pid so the second daemon can say who is in the way. The lock is
// released by the kernel if the process dies, so a crash never leaves it stale.
class LockFile {
 public:
  LockFile() = default;
  ~LockFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  Result<void> acquire(const std::string& db_path) {
    std::string lock_path = db_path + ".lock";
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return Fail(Error::Io("state DB " + db_path + ": cannot open lock file " + lock_path + " (" +
                            std::strerror(errno) + "); make its directory writable by seedanced"));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      if (err == EWOULDBLOCK) {
        char buf[32] = {};
        ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        if (pid.empty()) pid = "unknown";
        return Fail(Error::Conflict("another seedanced is using " + db_path + " (pid " + pid +
                                    "); stop it first, or give this one its own state_db"));
      }
      return Fail(Error::Io("state DB " + db_path + ": cannot lock " + lock_path + " (" +
                            std::strerror(err) + ")"));
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return Fail(Error::Io("state DB " + db_path + ": cannot write pid to " + lock_path + " (" +
                            std::strerror(errno) + ")"));
    }
    return Ok();
  }

 private:
  int fd_ = -1;
};

// --- TaskSpec <-> JSON ----------------------------------------------------

std::string task_spec_json(const TaskSpec& s) {
  json j = {{"name", s.name},
            {"task_type", s.task_type},
            {"prompt", s.prompt},
            {"image_urls", s.image_urls},
            {"video_urls", s.video_urls},
            {"audio_urls", s.audio_urls},
            {"source_file", s.source.file},
            {"source_line", s.source.line}};
  if (s.duration) j["duration"] = *s.duration;
  if (s.aspect_ratio) j["aspect_ratio"] = *s.aspect_ratio;
  if (s.resolution) j["resolution"] = *s.resolution;
  if (s.mode) j["mode"] = *s.mode;
  if (s.audio) j["audio"] = *s.audio;
  if (s.auto_upload_assets) j["auto_upload_assets"] = *s.auto_upload_assets;
  return j.dump();
}

template <class T>
void read_opt(const json& j, const char* key, std::optional<T>& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) out = it->get<T>();
}

Result<TaskSpec> parse_task_spec(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Fail(Error::Corruption("spec_json is not a JSON object"));
  try {
    TaskSpec s;
    s.name = j.value("name", "");
    s.task_type = j.value("task_type", "");
    s.prompt = j.value("prompt", "");
    s.image_urls = j.value("image_urls", std::vector<std::string>{});
    s.video_urls = j.value("video_urls", std::vector<std::string>{});
    s.audio_urls = j.value("audio_urls", std::vector<std::string>{});
    s.source.file = j.value("source_file", "");
    s.source.line = j.value("source_line", 0);
    read_opt(j, "duration", s.duration);
    read_opt(j, "aspect_ratio", s.aspect_ratio);
    read_opt(j, "resolution", s.resolution);
    read_opt(j, "mode", s.mode);
    read_opt(j, "audio", s.audio);
    read_opt(j, "auto_upload_assets", s.auto_upload_assets);
    return s;
  } catch (const json::exception& e) {
    return Fail(
        Error::Corruption(std::string("spec_json has a field of the wrong type: ") + e.what()));
  }
}

std::optional<int64_t> opt_ms(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return to_millis(*t);
}

std::optional<TimePoint> opt_time(const Statement& st, int col) {
  auto v = st.optional_int64(col);
  if (!v) return std::nullopt;
  return from_millis(*v);
}

// --- SQL -------------------------------------------------------------------

constexpr const char* kUpsertAsset = R"sql(
INSERT INTO assets(name, url, media_type, source_file, source_line, state, remote_id, last_error,
                   created_at_ms, state_since_ms, expires_at_ms, next_at_ms, poll_count,
                   error_count, first_error_at_ms, retired)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
ON CONFLICT(name) DO UPDATE SET
  url = excluded.url, media_type = excluded.media_type, source_file = excluded.source_file,
  source_line = excluded.source_line, state = excluded.state, remote_id = excluded.remote_id,
  last_error = excluded.last_error, created_at_ms = excluded.created_at_ms,
  state_since_ms = excluded.state_since_ms, expires_at_ms = excluded.expires_at_ms,
  next_at_ms = excluded.next_at_ms, poll_count = excluded.poll_count,
  error_count = excluded.error_count, first_error_at_ms = excluded.first_error_at_ms,
  retired = excluded.retired
)sql";

constexpr const char* kSelectAssets = R"sql(
SELECT name, url, media_type, source_file, source_line, state, remote_id, last_error,
       created_at_ms, state_since_ms, expires_at_ms, next_at_ms, poll_count, error_count,
       first_error_at_ms, retired
FROM assets ORDER BY name
)sql";

constexpr const char* kUpsertTask = R"sql(
INSERT INTO tasks(name, spec_json, state, remote_id, request_body, video_url, output_path,
                  error_code, last_error, created_at_ms, state_since_ms, submitted_at_ms,
                  next_at_ms, poll_count, error_count, first_error_at_ms, retired)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT(name) DO UPDATE SET
  spec_json = excluded.spec_json, state = excluded.state, remote_id = excluded.remote_id,
  request_body = excluded.request_body, video_url = excluded.video_url,
  output_path = excluded.output_path, error_code = excluded.error_code,
  last_error = excluded.last_error, created_at_ms = excluded.created_at_ms,
  state_since_ms = excluded.state_since_ms, submitted_at_ms = excluded.submitted_at_ms,
  next_at_ms = excluded.next_at_ms, poll_count = excluded.poll_count,
  error_count = excluded.error_count, first_error_at_ms = excluded.first_error_at_ms,
  retired = excluded.retired
)sql";

constexpr const char* kSelectTasks = R"sql(
SELECT name, spec_json, state, remote_id, request_body, video_url, output_path, error_code,
       last_error, created_at_ms, state_since_ms, submitted_at_ms, next_at_ms, poll_count,
       error_count, first_error_at_ms, retired
FROM tasks ORDER BY name
)sql";

constexpr const char* kSelectEdges = "SELECT asset FROM task_assets WHERE task = ?1 ORDER BY asset";
constexpr const char* kDeleteEdges = "DELETE FROM task_assets WHERE task = ?1";
constexpr const char* kInsertEdge = "INSERT OR IGNORE INTO task_assets(task, asset) VALUES(?1, ?2)";
constexpr const char* kInsertEvent =
    "INSERT INTO events(entity_kind, name, from_state, to_state, detail, at_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)";

// events(): one statement per filter combination, so each can use its index.
constexpr std::array<const char*, 4> kSelectEvents{{
    "SELECT id, entity_kind, name, from_state, to_state, detail, at_ms FROM events "
    "WHERE id > ?1 ORDER BY id LIMIT ?2",
    "SELECT id, entity_kind, name, from_state, to_state, detail, at_ms FROM events "
    "WHERE id > ?1 AND name = ?3 ORDER BY id LIMIT ?2",
    "SELECT id, entity_kind, name, from_state, to_state, detail, at_ms FROM events "
    "WHERE id > ?1 AND at_ms >= ?4 ORDER BY id LIMIT ?2",
    "SELECT id, entity_kind, name, from_state, to_state, detail, at_ms FROM events "
    "WHERE id > ?1 AND name = ?3 AND at_ms >= ?4 ORDER BY id LIMIT ?2",
}};

constexpr const char* kInsertCommand = "INSERT INTO commands(verb, name, at_ms) VALUES(?1, ?2, ?3)";
constexpr const char* kSelectCommands = "SELECT id, verb, name, at_ms FROM commands ORDER BY id";
constexpr const char* kDeleteCommands = "DELETE FROM commands WHERE id <= ?1";
constexpr const char* kSetMeta =
    "INSERT INTO meta(key, value) VALUES(?1, ?2) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
constexpr const char* kGetMeta = "SELECT value FROM meta WHERE key = ?1";

// Percent-encodes what a SQLite URI filename treats specially.
std::string uri_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string parent_dir(const std::string& path) {
  std::filesystem::path p(path);
  auto parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// The one message for "someone else holds the write lock for too long".
Error locked_error(const std::string& path, Duration busy_timeout, const Error& cause) {
  return Error::Conflict("state DB " + path + " is locked by another process for more than " +
                         std::to_string(busy_timeout.count()) + " ms (" + cause.message() +
                         "); find the holder with `fuser " + path + "` and stop it");
}

}  // namespace

// --- Impl --------------------------------------------------------------------

struct Repository::Impl {
  // Constant after open().
  std::string path;
  Mode mode = Mode::kReadOnly;
  Duration busy_timeout = kDefaultBusyTimeout;
  // Declared before db so that it is released after the connection is closed.
  LockFile lock;
  sqlite::Db db;

  // Cached prepared statements (destroyed before db: declared after it).
  Statement begin, commit, rollback;
  Statement upsert_asset, select_assets, upsert_task, select_tasks;
  Statement select_edges, delete_edges, insert_edge, insert_event;
  std::array<Statement, 4> select_events;
  Statement insert_command, select_commands, delete_commands;
  Statement set_meta, get_meta;

  // The synchronous level currently set on the connection (0 = unknown).
  int synchronous = 0;

  Result<void> prepare_all() {
    struct Slot {
      Statement* st;
      const char* sql;
    };
    Slot slots[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&upsert_asset, kUpsertAsset},
        {&select_assets, kSelectAssets},
        {&upsert_task, kUpsertTask},
        {&select_tasks, kSelectTasks},
        {&select_edges, kSelectEdges},
        {&delete_edges, kDeleteEdges},
        {&insert_edge, kInsertEdge},
        {&insert_event, kInsertEvent},
        {&select_events[0], kSelectEvents[0]},
        {&select_events[1], kSelectEvents[1]},
        {&select_events[2], kSelectEvents[2]},
        {&select_events[3], kSelectEvents[3]},
        {&insert_command, kInsertCommand},
        {&select_commands, kSelectCommands},
        {&delete_commands, kDeleteCommands},
        {&set_meta, kSetMeta},
        {&get_meta, kGetMeta},
    };
    for (auto& s : slots) {
      auto st = db.prepare(s.sql);
      if (!st) return Fail(st.error().With("state DB " + path));
      *s.st = std::move(*st);
    }
    return Ok();
  }

  // Adds the path (unless the message already starts with it), and turns
  // SQLITE_BUSY into the "locked" message.
  Error context(const Error& e) const {
    if (e.code() == Error::Code::kConflict) return locked_error(path, busy_timeout, e);
    if (e.message().rfind("state DB " + path, 0) == 0) return e;
    return e.With("state DB " + path);
  }

  Result<void> connect();
  Result<void> prepare_schema();

  Result<void> set_synchronous(int level) {
    if (synchronous == level) return Ok();
    // SQLite: 1 = NORMAL, 2 = FULL. Must be outside a transaction.
    auto r = db.exec(level == 2 ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    if (!r) return Fail(context(r.error()));
    synchronous = level;
    return Ok();
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on any error.
  template <class F>
  Result<void> transaction(F&& body) {
    if (auto r = begin.run(); !r) return Fail(context(r.error()));
    Result<void> r = body();
    if (r) r = commit.run();
    if (!r) {
      (void)rollback.run();
      return Fail(context(r.error()));
    }
    return Ok();
  }

  Result<void> save_asset(const AssetRecord& a) {
    auto& st = upsert_asset;
    st.bind(1, a.spec.name)
        .bind(2, a.spec.url)
        .bind(3, to_string(a.spec.type))
        .bind(4, a.spec.source.file)
        .bind(5, a.spec.source.line)
        .bind(6, static_cast<int>(a.state))
        .bind(7, a.remote_id)
        .bind(8, a.last_error)
        .bind(9, to_millis(a.created_at))
        .bind(10, to_millis(a.state_since))
        .bind(11, opt_ms(a.expires_at))
        .bind(12, opt_ms(a.schedule.next_at))
        .bind(13, a.schedule.poll_count)
        .bind(14, a.schedule.error_count)
        .bind(15, opt_ms(a.schedule.first_error_at))
        .bind(16, a.retired);
    return st.run();
  }

  Result<void> save_task(const TaskRecord& t) {
    auto& st = upsert_task;
    st.bind(1, t.spec.name)
        .bind(2, task_spec_json(t.spec))
        .bind(3, static_cast<int>(t.state))
        .bind(4, t.remote_id)
        .bind(5, t.request_body)
        .bind(6, t.video_url)
        .bind(7, t.output_path)
        .bind(8, t.error_code)
        .bind(9, t.last_error)
        .bind(10, to_millis(t.created_at))
        .bind(11, to_millis(t.state_since))
        .bind(12, opt_ms(t.submitted_at))
        .bind(13, opt_ms(t.schedule.next_at))
        .bind(14, t.schedule.poll_count)
        .bind(15, t.schedule.error_count)
        .bind(16, opt_ms(t.schedule.first_error_at))
        .bind(17, t.retired);
    if (auto r = st.run(); !r) return r;
    return save_edges(t);
  }

  // Rewrites the task's edges only when they changed: most steps are state
  // changes of a task whose asset list is the same.
  Result<void> save_edges(const TaskRecord& t) {
    std::vector<std::string> wanted = t.spec.asset_names();
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    std::vector<std::string> stored;
    select_edges.bind(1, t.spec.name);
    while (true) {
      auto row = select_edges.step();
      if (!row) {
        select_edges.reset();
        return Fail(row.error());
      }
      if (!*row) break;
      stored.push_back(select_edges.text(0));
    }
    select_edges.reset();
    if (stored == wanted) return Ok();
    if (auto r = delete_edges.bind(1, t.spec.name).run(); !r) return r;
    for (const auto& asset : wanted) {
      if (auto r = insert_edge.bind(1, t.spec.name).bind(2, asset).run(); !r) return r;
    }
    return Ok();
  }

  Result<void> save_event(const EventRecord& e) {
    return insert_event.bind(1, e.entity_kind)
        .bind(2, e.name)
        .bind(3, e.from)
        .bind(4, e.to)
        .bind(5, e.detail)
        .bind(6, to_millis(e.at))
        .run();
  }
};

// --- open --------------------------------------------------------------------

Result<std::unique_ptr<Repository>> Repository::open(const std::string& path, Mode mode) {
  return open(path, mode, kDefaultBusyTimeout);
}

namespace {

// Every check that needs no SQLite: each failure names the path and the fix.
Result<void> check_filesystem(const std::string& path, Repository::Mode mode) {
  using Mode = Repository::Mode;
  if (path.empty()) {
    return Fail(Error::InvalidArgument("state DB path is empty; set state_db in the config"));
  }
  const std::string dir = parent_dir(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(Error::NotFound("state DB " + path + ": directory " + dir +
                                " does not exist; create it (mkdir -p " + dir +
                                ", writable by seedanced) or set state_db to another path"));
  }
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    return Fail(Error::InvalidArgument("state DB " + path +
                                       " is a directory; set state_db to a file path"));
  }
  if (!exists && mode != Mode::kReadWrite) {
    return Fail(Error::NotFound("state DB " + path +
                                " does not exist; check --db/--config, or start seedanced "
                                "once to create it"));
  }
  if (mode == Mode::kReadWrite && ::access(dir.c_str(), W_OK) != 0) {
    return Fail(Error::Io("state DB " + path + ": directory " + dir + " is not writable (" +
                          std::strerror(errno) + "); SQLite creates " + path + "-wal and " + path +
                          "-shm there: give the seedanced user write access to it"));
  }
  if (mode != Mode::kReadOnly && exists && ::access(path.c_str(), W_OK) != 0) {
    return Fail(Error::Io("state DB " + path + " is read-only (" + std::strerror(errno) +
                          "); run as the user that owns it or make it writable (chown/chmod)"));
  }
  return Ok();
}

}  // namespace

// Opens the connection and reads sqlite_master once. SQLite opens lazily: the
// first read is what finds a file that is not a database (reading
// sqlite_master is cheap even for a big DB; quick_check is not).
Result<void> Repository::Impl::connect() {
  int flags = mode == Mode::kReadOnly   ? SQLITE_OPEN_READONLY
              : mode == Mode::kOperator ? SQLITE_OPEN_READWRITE
                                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  auto opened = sqlite::Db::open(path, flags);
  if (!opened) return Fail(opened.error().With("state DB " + path));
  db = std::move(*opened);
  db.set_busy_timeout(static_cast<int>(busy_timeout.count()));

  auto probe = db.query_int("SELECT count(*) FROM sqlite_master");
  if (!probe && mode == Mode::kReadOnly && (db.last_code() & 0xff) == SQLITE_READONLY &&
      ::access((path + "-wal").c_str(), F_OK) != 0) {
    // A reader that may not create "<db>-shm" cannot open a WAL DB whose
    // daemon closed it cleanly (no -wal, no -shm). Then the file alone holds
    // everything and no writer is active: read it as an immutable snapshot.
    auto snapshot = sqlite::Db::open("file:" + uri_escape(path) + "?immutable=1",
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    if (snapshot) {
      db = std::move(*snapshot);
      db.set_busy_timeout(static_cast<int>(busy_timeout.count()));
      probe = db.query_int("SELECT count(*) FROM sqlite_master");
    }
  }
  if (probe) return Ok();

  const Error& e = probe.error();
  int rc = db.last_code() & 0xff;
  if (mode == Mode::kReadOnly &&
      (rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN || rc == SQLITE_PERM)) {
    return Fail(Error::Io("state DB " + path + " cannot be read by this user (" + e.message() +
                          "); run as the seedanced user (sudo -u seedanced ...) or as root"));
  }
  if (e.code() == Error::Code::kCorruption) {
    return Fail(Error::Corruption("state DB " + path + " is not a SQLite database or is damaged (" +
                                  e.message() + "); move it aside (mv " + path + " " + path +
                                  ".bad) to start afresh, or restore it from a backup"));
  }
  return Fail(context(e));
}

// The daemon's connection: WAL, foreign keys, NORMAL sync, schema migrated.
// Other modes only check that the schema is the one this build reads.
Result<void> Repository::Impl::prepare_schema() {
  if (mode != Mode::kReadWrite) {
    if (auto r = storage::check_schema(db, path); !r) return Fail(context(r.error()));
    if (mode == Mode::kOperator) {
      if (auto r = db.exec("PRAGMA foreign_keys = ON"); !r) return Fail(context(r.error()));
    }
    return Ok();
  }
  if (db.read_only()) {
    return Fail(Error::Io("state DB " + path +
                          " can only be opened read-only; run as the user that owns it or "
                          "make it and its directory writable"));
  }
  // WAL: readers (seedancectl) never block the daemon and vice versa.
  auto jm = db.query_text("PRAGMA journal_mode = WAL");
  if (!jm) return Fail(context(jm.error()));
  if (*jm != "wal") {
    return Fail(Error::Io("state DB " + path + " refused WAL mode (journal_mode is " + *jm +
                          "); put it on a local file system"));
  }
  if (auto r = db.exec("PRAGMA foreign_keys = ON"); !r) return Fail(context(r.error()));
  if (auto r = set_synchronous(1); !r) return r;
  if (auto r = storage::migrate(db, path); !r) return Fail(context(r.error()));
  return Ok();
}

Result<std::unique_ptr<Repository>> Repository::open(const std::string& path, Mode mode,
                                                     Duration busy_timeout) {
  if (auto r = check_filesystem(path, mode); !r) return Fail(r.error());
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->mode = mode;
  impl->busy_timeout = busy_timeout;
  if (mode == Mode::kReadWrite) {
    if (auto r = impl->lock.acquire(path); !r) return Fail(r.error());
  }
  if (auto r = impl->connect(); !r) return Fail(r.error());
  if (auto r = impl->prepare_schema(); !r) return Fail(r.error());
  if (auto r = impl->prepare_all(); !r) return Fail(r.error());
  return std::unique_ptr<Repository>(new Repository(std::move(impl)));
}

Repository::Repository(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Repository::~Repository() = default;

int Repository::schema_version() {
  return storage::latest_schema_version();
}

// --- load --------------------------------------------------------------------

Result<Snapshot> Repository::load() const {
  Impl& d = *impl_;
  Snapshot snap;
  // One read transaction, so assets and tasks are from the same moment even
  // while the daemon writes.
  if (auto r = d.db.exec("BEGIN"); !r) return Fail(d.context(r.error()));
  auto finish = [&](Result<Snapshot> r) -> Result<Snapshot> {
    d.select_assets.reset();
    d.select_tasks.reset();
    (void)d.db.exec("COMMIT");
    if (!r) return Fail(d.context(r.error()));
    return r;
  };

  auto& sa = d.select_assets;
  while (true) {
    auto row = sa.step();
    if (!row) return finish(Fail(row.error()));
    if (!*row) break;
    AssetRecord a;
    a.spec.name = sa.text(0);
    a.spec.url = sa.text(1);
    auto type = media_type_from_string(sa.text(2));
    if (!type) {
      return finish(Fail(Error::Corruption("asset " + a.spec.name + " has unknown media_type '" +
                                           sa.text(2) + "'")));
    }
    a.spec.type = *type;
    a.spec.source.file = sa.text(3);
    a.spec.source.line = static_cast<int>(sa.int64(4));
    a.state = static_cast<AssetState>(sa.int64(5));
    a.remote_id = sa.text(6);
    a.last_error = sa.text(7);
    a.created_at = from_millis(sa.int64(8));
    a.state_since = from_millis(sa.int64(9));
    a.expires_at = opt_time(sa, 10);
    a.schedule.next_at = opt_time(sa, 11);
    a.schedule.poll_count = static_cast<int>(sa.int64(12));
    a.schedule.error_count = static_cast<int>(sa.int64(13));
    a.schedule.first_error_at = opt_time(sa, 14);
    a.retired = sa.int64(15) != 0;
    snap.assets.push_back(std::move(a));
  }

  auto& st = d.select_tasks;
  while (true) {
    auto row = st.step();
    if (!row) return finish(Fail(row.error()));
    if (!*row) break;
    std::string name = st.text(0);
    auto spec = parse_task_spec(st.text(1));
    if (!spec) return finish(Fail(spec.error().With("task " + name)));
    TaskRecord t;
    t.spec = std::move(*spec);
    t.spec.name = name;
    t.state = static_cast<TaskState>(st.int64(2));
    t.remote_id = st.text(3);
    t.request_body = st.text(4);
    t.video_url = st.text(5);
    t.output_path = st.text(6);
    t.error_code = static_cast<int>(st.int64(7));
    t.last_error = st.text(8);
    t.created_at = from_millis(st.int64(9));
    t.state_since = from_millis(st.int64(10));
    t.submitted_at = opt_time(st, 11);
    t.schedule.next_at = opt_time(st, 12);
    t.schedule.poll_count = static_cast<int>(st.int64(13));
    t.schedule.error_count = static_cast<int>(st.int64(14));
    t.schedule.first_error_at = opt_time(st, 15);
    t.retired = st.int64(16) != 0;
    snap.tasks.push_back(std::move(t));
  }
  return finish(std::move(snap));
}

// --- apply -------------------------------------------------------------------

Result<void> Repository::apply(const Ready& ready) {
  Impl& d = *impl_;
  if (ready.assets.empty() && ready.tasks.empty() && ready.events.empty()) return Ok();

  // Durability per step. In WAL mode synchronous=NORMAL fsyncs only at
  // checkpoints: a commit survives a process crash but the last ones can be
  // lost on power loss. That is harmless for polls and transitions the engine
  // can redo, but not for an intent: an Uploading/Submitting row is committed
  // just before a request that costs money, and if a power loss forgot it the
  // restarted daemon would not know the request may have reached PiAPI and
  // would pay again. FULL fsyncs the WAL at commit (~5k commits/s here vs
  // ~35k), so it is reserved for those steps.
  bool intent = false;
  for (const auto& a : ready.assets) intent = intent || a.state == AssetState::kUploading;
  for (const auto& t : ready.tasks) intent = intent || t.state == TaskState::kSubmitting;
  if (auto r = d.set_synchronous(intent ? 2 : 1); !r) return r;

  return d.transaction([&]() -> Result<void> {
    for (const auto& a : ready.assets) {
      if (auto r = d.save_asset(a); !r) return Fail(r.error().With("saving asset " + a.spec.name));
    }
    for (const auto& t : ready.tasks) {
      if (auto r = d.save_task(t); !r) return Fail(r.error().With("saving task " + t.spec.name));
    }
    for (const auto& e : ready.events) {
      if (auto r = d.save_event(e); !r) return Fail(r.error().With("saving event of " + e.name));
    }
    return Ok();
  });
}

// --- events ------------------------------------------------------------------

Result<std::vector<EventRecord>> Repository::events(int64_t after_id, int limit,
                                                    std::optional<std::string> name,
                                                    std::optional<TimePoint> since) const {
  Impl& d = *impl_;
  auto& st = d.select_events[(name ? 1 : 0) + (since ? 2 : 0)];
  st.bind(1, after_id).bind(2, static_cast<int64_t>(limit));
  if (name) st.bind(3, *name);
  if (since) st.bind(4, to_millis(*since));
  std::vector<EventRecord> out;
  while (true) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return Fail(d.context(row.error()));
    }
    if (!*row) break;
    EventRecord e;
    e.id = st.int64(0);
    e.entity_kind = st.text(1);
    e.name = st.text(2);
    e.from = st.text(3);
    e.to = st.text(4);
    e.detail = st.text(5);
    e.at = from_millis(st.int64(6));
    out.push_back(std::move(e));
  }
  st.reset();
  return out;
}

// --- commands ----------------------------------------------------------------

Result<void> Repository::push_command(std::string_view verb, std::string_view name, TimePoint at) {
  Impl& d = *impl_;
  auto r = d.insert_command.bind(1, verb).bind(2, name).bind(3, to_millis(at)).run();
  if (!r) return Fail(d.context(r.error()));
  return Ok();
}

Result<std::vector<Command>> Repository::take_commands() {
  Impl& d = *impl_;
  std::vector<Command> out;
  auto r = d.transaction([&]() -> Result<void> {
    auto& st = d.select_commands;
    while (true) {
      auto row = st.step();
      if (!row) {
        st.reset();
        return Fail(row.error());
      }
      if (!*row) break;
      out.push_back(Command{st.int64(0), st.text(1), st.text(2), from_millis(st.int64(3))});
    }
    st.reset();
    if (out.empty()) return Ok();
    return d.delete_commands.bind(1, out.back().id).run();
  });
  if (!r) return Fail(r.error());
  return out;
}

int Repository::TEST_synchronous() const {
  auto v = impl_->db.query_int("PRAGMA synchronous");
  return v ? static_cast<int>(*v) : -1;
}

// --- meta --------------------------------------------------------------------

Result<void> Repository::set_meta(std::string_view key, std::string_view value) {
  Impl& d = *impl_;
  auto r = d.set_meta.bind(1, key).bind(2, value).run();
  if (!r) return Fail(d.context(r.error()));
  return Ok();
}

Result<std::optional<std::string>> Repository::meta(std::string_view key) const {
  Impl& d = *impl_;
  auto& st = d.get_meta;
  st.bind(1, key);
  auto row = st.step();
  if (!row) {
    st.reset();
    return Fail(d.context(row.error()));
  }
  std::optional<std::string> out;
  if (*row) out = st.text(0);
  st.reset();
  return out;
}

}  // namespace sd
