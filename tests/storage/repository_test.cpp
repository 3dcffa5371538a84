#include "storage/repository.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/sqlite.hpp"

namespace sd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Mode = Repository::Mode;

// A fresh directory under /tmp, removed with its contents at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sd-storage-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
    ::chmod(path_.c_str(), 0755);  // so a test can drop privileges and still traverse it
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TimePoint at(int64_t ms) {
  return from_millis(ms);
}

AssetRecord full_asset(const std::string& name) {
  AssetRecord a;
  a.spec.name = name;
  a.spec.url = "https://cdn.example.com/" + name + ".png?x=1&y='2'";
  a.spec.type = MediaType::kVideo;
  a.spec.source = {"/etc/seedanced/jobs.d/a.json", 17};
  a.state = AssetState::kActive;
  a.remote_id = "asset-20261127080102-ab3cd";
  a.last_error = "quota \"exceeded\"\nsecond line";
  a.created_at = at(1'800'000'000'123);
  a.state_since = at(1'800'000'100'456);
  a.expires_at = at(1'800'900'000'789);
  a.schedule.next_at = at(1'800'000'200'001);
  a.schedule.poll_count = 7;
  a.schedule.error_count = 3;
  a.schedule.first_error_at = at(1'800'000'150'002);
  a.retired = true;
  return a;
}

AssetRecord bare_asset(const std::string& name) {
  AssetRecord a;
  a.spec.name = name;
  a.spec.url = "https://cdn.example.com/" + name + ".png";
  a.created_at = at(1'800'000'000'000);
  a.state_since = at(1'800'000'000'000);
  return a;
}

TaskRecord full_task(const std::string& name) {
  TaskRecord t;
  t.spec.name = name;
  t.spec.task_type = "seedance-2-fast-less-restriction";
  t.spec.prompt = "Image 1 is the hero. Image 2 is the street. Ünïcode ✓ \"quotes\"";
  t.spec.image_urls = {"asset://hero", "https://cdn.example.com/street.jpg", "asset://hero",
                       "asset://asset-20261127080102-zz9yy"};
  t.spec.video_urls = {"asset://clip"};
  t.spec.audio_urls = {"https://cdn.example.com/a.mp3"};
  t.spec.duration = 8;
  t.spec.aspect_ratio = "16:9";
  t.spec.resolution = "720p";
  t.spec.mode = "omni_reference";
  t.spec.audio = false;
  t.spec.auto_upload_assets = true;
  t.spec.source = {"/etc/seedanced/jobs.d/b.json", 42};
  t.state = TaskState::kFailed;
  t.remote_id = "7c1e0a9e-0000-4000-8000-000000000001";
  t.request_body = R"({"model":"seedance","input":{"prompt":"x"}})";
  t.video_url = "https://cdn.piapi.ai/out/1.mp4";
  t.output_path = "/var/lib/seedanced/videos/" + name + ".mp4";
  t.error_code = 10003;
  t.last_error = "content rejected: the prompt violates policy";
  t.created_at = at(1'800'000'000'001);
  t.state_since = at(1'800'000'000'002);
  t.submitted_at = at(1'800'000'000'003);
  t.schedule.next_at = at(1'800'000'000'004);
  t.schedule.poll_count = 11;
  t.schedule.error_count = 2;
  t.schedule.first_error_at = at(1'800'000'000'005);
  t.retired = true;
  return t;
}

TaskRecord bare_task(const std::string& name) {
  TaskRecord t;
  t.spec.name = name;
  t.spec.task_type = "seedance-2";
  t.spec.prompt = "a cat";
  t.created_at = at(1'800'000'000'000);
  t.state_since = at(1'800'000'000'000);
  return t;
}

EventRecord event(const std::string& kind, const std::string& name, const std::string& from,
                  const std::string& to, int64_t ms, const std::string& detail = "") {
  EventRecord e;
  e.entity_kind = kind;
  e.name = name;
  e.from = from;
  e.to = to;
  e.detail = detail;
  e.at = at(ms);
  return e;
}

std::unique_ptr<Repository> open_rw(const std::string& path) {
  auto r = Repository::open(path, Mode::kReadWrite);
  EXPECT_TRUE(r) << r.error().message();
  return r ? std::move(*r) : nullptr;
}

// Runs `body` in a child process, as user nobody when `drop` and running as
// root (root ignores file modes); returns the child's exit status.
int run_in_child(const std::function<int()>& body, bool drop) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (drop && ::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(99);
    int rc = body();
    std::cout.flush();
    ::_exit(rc);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int64_t query_int(const std::string& path, const std::string& sql) {
  auto db = sqlite::Db::open(path, sqlite::kOpenReadOnly);
  EXPECT_TRUE(db);
  auto v = db->query_int(sql);
  EXPECT_TRUE(v) << v.error().message();
  return v ? *v : -1;
}

// --- Round trip ---------------------------------------------------------------

TEST(Repository, RoundTripsEveryField) {
  TempDir dir;
  std::string path = dir.file("state.db");
  Ready step;
  step.assets = {full_asset("hero"), bare_asset("street")};
  step.tasks = {full_task("hero-intro"), bare_task("plain")};
  {
    auto repo = open_rw(path);
    ASSERT_TRUE(repo);
    auto r = repo->apply(step);
    ASSERT_TRUE(r) << r.error().message();
    auto snap = repo->load();
    ASSERT_TRUE(snap) << snap.error().message();
    // load() orders by name.
    EXPECT_EQ(snap->assets, (std::vector<AssetRecord>{step.assets[0], step.assets[1]}));
    EXPECT_EQ(snap->tasks, (std::vector<TaskRecord>{step.tasks[0], step.tasks[1]}));
  }
  // And after reopening.
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  auto snap = repo->load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->assets.size(), 2u);
  EXPECT_EQ(snap->assets[0], step.assets[0]);
  EXPECT_EQ(snap->assets[1], step.assets[1]);
  ASSERT_EQ(snap->tasks.size(), 2u);
  EXPECT_EQ(snap->tasks[0], step.tasks[0]);
  EXPECT_EQ(snap->tasks[1], step.tasks[1]);
}

TEST(Repository, UpsertReplacesEveryFieldIncludingClearedOptionals) {
  TempDir dir;
  auto repo = open_rw(dir.file("state.db"));
  ASSERT_TRUE(repo);
  Ready first;
  first.assets = {full_asset("hero")};
  first.tasks = {full_task("t")};
  ASSERT_TRUE(repo->apply(first));

  AssetRecord a = bare_asset("hero");  // every optional back to nullopt
  a.state = AssetState::kExpired;
  TaskRecord t = bare_task("t");
  t.state = TaskState::kSubmitting;
  Ready second;
  second.assets = {a};
  second.tasks = {t};
  ASSERT_TRUE(repo->apply(second));

  auto snap = repo->load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->assets.size(), 1u);
  EXPECT_EQ(snap->assets[0], a);
  ASSERT_EQ(snap->tasks.size(), 1u);
  EXPECT_EQ(snap->tasks[0], t);
}

TEST(Repository, StoresTaskAssetEdgesFromTheSpec) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  Ready step;
  step.tasks = {full_task("t")};  // hero (twice), clip; a remote id is not an edge
  ASSERT_TRUE(repo->apply(step));
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM task_assets WHERE task = 't'"), 2);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM task_assets WHERE asset IN ('hero', 'clip')"), 2);

  TaskRecord changed = full_task("t");
  changed.spec.image_urls = {"asset://other"};
  changed.spec.video_urls.clear();
  step.tasks = {changed};
  ASSERT_TRUE(repo->apply(step));
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM task_assets WHERE task = 't'"), 1);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM task_assets WHERE asset = 'other'"), 1);
}

TEST(Repository, UsesWalModeAndTheCurrentSchema) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  auto db = sqlite::Db::open(path, sqlite::kOpenReadOnly);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->query_text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*db->query_int("PRAGMA user_version"), Repository::schema_version());
  EXPECT_EQ(*db->query_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                           "name IN ('events_by_name', 'events_by_time')"),
            2);
}

TEST(Repository, IntentStepsAreCommittedWithSynchronousFull) {
  TempDir dir;
  auto repo = open_rw(dir.file("state.db"));
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->TEST_synchronous(), 1);  // NORMAL

  Ready poll;
  AssetRecord processing = bare_asset("a");
  processing.state = AssetState::kProcessing;
  poll.assets = {processing};
  ASSERT_TRUE(repo->apply(poll));
  EXPECT_EQ(repo->TEST_synchronous(), 1);

  Ready upload;
  AssetRecord uploading = bare_asset("a");
  uploading.state = AssetState::kUploading;
  upload.assets = {uploading};
  ASSERT_TRUE(repo->apply(upload));
  EXPECT_EQ(repo->TEST_synchronous(), 2);  // FULL

  ASSERT_TRUE(repo->apply(poll));
  EXPECT_EQ(repo->TEST_synchronous(), 1);

  Ready submit;
  TaskRecord submitting = bare_task("t");
  submitting.state = TaskState::kSubmitting;
  submit.assets = {processing};
  submit.tasks = {submitting};
  ASSERT_TRUE(repo->apply(submit));
  EXPECT_EQ(repo->TEST_synchronous(), 2);
}

TEST(Repository, ApplyIsOneTransaction) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  {
    // Break the events table behind the repository's back: the step's
    // asset upsert must be rolled back with the failing event insert.
    auto db = sqlite::Db::open(path, sqlite::kOpenReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("DROP TABLE events"));
  }
  Ready step;
  step.assets = {bare_asset("a")};
  step.events = {event("asset", "a", "", "Declared", 1)};
  auto r = repo->apply(step);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("events"));
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM assets"), 0);
}

// --- Events -------------------------------------------------------------------

TEST(Repository, EventsComeBackInOrderWithFilters) {
  TempDir dir;
  auto repo = open_rw(dir.file("state.db"));
  ASSERT_TRUE(repo);
  Ready s1;
  s1.events = {event("asset", "hero", "", "Declared", 1000),
               event("task", "intro", "", "Waiting", 1000, "new"),
               event("asset", "hero", "Declared", "Uploading", 2000)};
  Ready s2;
  // Out-of-order timestamps still come back in insertion (id) order.
  s2.events = {event("task", "intro", "Waiting", "Ready", 1500),
               event("task", "intro", "Ready", "Submitting", 3000, "body 12 bytes")};
  ASSERT_TRUE(repo->apply(s1));
  ASSERT_TRUE(repo->apply(s2));

  auto all = repo->events(0, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].id, (*all)[i].id);
  EXPECT_EQ((*all)[0].to, "Declared");
  EXPECT_EQ((*all)[3].from, "Waiting");
  EXPECT_EQ((*all)[4].detail, "body 12 bytes");
  EventRecord expect = s2.events[1];
  expect.id = (*all)[4].id;
  EXPECT_EQ((*all)[4], expect);

  auto page = repo->events((*all)[1].id, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, (*all)[2].id);

  auto intro = repo->events(0, 100, std::string("intro"));
  ASSERT_TRUE(intro);
  ASSERT_EQ(intro->size(), 3u);
  for (const auto& e : *intro) EXPECT_EQ(e.name, "intro");

  auto recent = repo->events(0, 100, std::nullopt, at(1500));
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].to, "Uploading");

  auto both = repo->events(0, 100, std::string("intro"), at(1500));
  ASSERT_TRUE(both);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].to, "Ready");
  EXPECT_EQ((*both)[1].to, "Submitting");

  auto none = repo->events((*all)[4].id, 100);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// --- Commands and meta ---------------------------------------------------------

TEST(Repository, CommandsQueueIsTakenOnceOldestFirst) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto daemon = open_rw(path);
  ASSERT_TRUE(daemon);
  auto ctl = Repository::open(path, Mode::kOperator);
  ASSERT_TRUE(ctl) << ctl.error().message();
  ASSERT_TRUE((*ctl)->push_command("retry", "a", at(5)));
  ASSERT_TRUE((*ctl)->push_command("retry", "b", at(6)));

  auto cmds = daemon->take_commands();
  ASSERT_TRUE(cmds) << cmds.error().message();
  ASSERT_EQ(cmds->size(), 2u);
  EXPECT_EQ((*cmds)[0].verb, "retry");
  EXPECT_EQ((*cmds)[0].name, "a");
  EXPECT_EQ((*cmds)[0].at, at(5));
  EXPECT_EQ((*cmds)[1].name, "b");
  EXPECT_LT((*cmds)[0].id, (*cmds)[1].id);

  auto again = daemon->take_commands();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());

  ASSERT_TRUE((*ctl)->push_command("retry", "c", at(7)));
  auto third = daemon->take_commands();
  ASSERT_TRUE(third);
  ASSERT_EQ(third->size(), 1u);
  EXPECT_EQ((*third)[0].name, "c");
}

TEST(Repository, MetaRoundTrips) {
  TempDir dir;
  auto repo = open_rw(dir.file("state.db"));
  ASSERT_TRUE(repo);
  auto missing = repo->meta("daemon_pid");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(repo->set_meta("daemon_pid", "123"));
  ASSERT_TRUE(repo->set_meta("daemon_pid", "456"));
  auto v = repo->meta("daemon_pid");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value_or(""), "456");
}

// --- Migrations -----------------------------------------------------------------

// Schema version 1 as the first release wrote it (frozen copy).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE assets (
  name TEXT PRIMARY KEY, url TEXT NOT NULL, media_type TEXT NOT NULL,
  source_file TEXT NOT NULL DEFAULT '', source_line INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL, remote_id TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL, state_since_ms INTEGER NOT NULL, expires_at_ms INTEGER,
  next_at_ms INTEGER, poll_count INTEGER NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0,
  first_error_at_ms INTEGER, retired INTEGER NOT NULL DEFAULT 0);
CREATE TABLE tasks (
  name TEXT PRIMARY KEY, spec_json TEXT NOT NULL, state INTEGER NOT NULL,
  remote_id TEXT NOT NULL DEFAULT '', request_body TEXT NOT NULL DEFAULT '',
  video_url TEXT NOT NULL DEFAULT '', output_path TEXT NOT NULL DEFAULT '',
  error_code INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL, state_since_ms INTEGER NOT NULL, submitted_at_ms INTEGER,
  next_at_ms INTEGER, poll_count INTEGER NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0,
  first_error_at_ms INTEGER, retired INTEGER NOT NULL DEFAULT 0);
CREATE TABLE task_assets (task TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
  asset TEXT NOT NULL, PRIMARY KEY (task, asset)) WITHOUT ROWID;
CREATE INDEX task_assets_by_asset ON task_assets(asset);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, entity_kind TEXT NOT NULL,
  name TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '', at_ms INTEGER NOT NULL);
PRAGMA application_id = 1396985411;
PRAGMA user_version = 1;
INSERT INTO assets(name, url, media_type, state, remote_id, created_at_ms, state_since_ms,
                   expires_at_ms)
  VALUES('hero', 'https://cdn.example.com/hero.png', 'image', 3, 'asset-20261127080102-ab3cd',
         1000, 2000, 3000);
INSERT INTO tasks(name, spec_json, state, remote_id, created_at_ms, state_since_ms,
                  submitted_at_ms)
  VALUES('intro', '{"name":"intro","task_type":"seedance-2","prompt":"p","duration":5}', 3,
         'task-1', 1000, 2500, 2400);
INSERT INTO events(entity_kind, name, from_state, to_state, at_ms)
  VALUES('task', 'intro', 'Submitting', 'Submitted', 2500);
)sql";

TEST(Repository, UpgradesAVersion1Db) {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto db = sqlite::Db::open(path, sqlite::kOpenReadWrite | sqlite::kOpenCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec(kSchemaV1));
  }
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), Repository::schema_version());
  EXPECT_EQ(repo->meta("upgraded_from_schema")->value_or(""), "1");

  auto snap = repo->load();
  ASSERT_TRUE(snap) << snap.error().message();
  ASSERT_EQ(snap->assets.size(), 1u);
  EXPECT_EQ(snap->assets[0].state, AssetState::kActive);
  EXPECT_EQ(snap->assets[0].expires_at, at(3000));
  EXPECT_FALSE(snap->assets[0].schedule.next_at.has_value());
  ASSERT_EQ(snap->tasks.size(), 1u);
  EXPECT_EQ(snap->tasks[0].spec.duration, 5);
  EXPECT_EQ(snap->tasks[0].submitted_at, at(2400));
  EXPECT_EQ(snap->tasks[0].state, TaskState::kSubmitted);

  // What version 2 added works on the upgraded file.
  ASSERT_TRUE(repo->push_command("retry", "intro", at(1)));
  EXPECT_EQ(repo->take_commands()->size(), 1u);
  auto ev = repo->events(0, 10, std::string("intro"));
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->size(), 1u);
}

TEST(Repository, CreatesTheSchemaInAnEmptyFile) {
  TempDir dir;
  std::string path = dir.file("state.db");
  std::ofstream(path).close();  // version 0: a zero-byte file is an empty database
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), Repository::schema_version());
  EXPECT_FALSE(repo->meta("upgraded_from_schema")->has_value());
}

TEST(Repository, RefusesANewerSchema) {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto repo = open_rw(path);
    ASSERT_TRUE(repo);
  }
  {
    auto db = sqlite::Db::open(path, sqlite::kOpenReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  std::string expected = "state DB " + path + " was written by a newer seedanced (schema 99 > " +
                         std::to_string(Repository::schema_version()) + "); upgrade seedanced";
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly, Mode::kOperator}) {
    auto r = Repository::open(path, mode);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Error::Code::kUnsupported);
    EXPECT_EQ(r.error().message(), expected);
  }
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), 99);  // untouched
}

TEST(Repository, RefusesAnotherProgramsDatabase) {
  TempDir dir;
  std::string path = dir.file("other.db");
  {
    auto db = sqlite::Db::open(path, sqlite::kOpenReadWrite | sqlite::kOpenCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE photos(id INTEGER)"));
  }
  auto r = Repository::open(path, Mode::kReadWrite);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr(path));
  EXPECT_THAT(r.error().message(), HasSubstr("without a seedanced schema"));
}

TEST(Repository, ReadOnlyModeRefusesAnOlderSchema) {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto db = sqlite::Db::open(path, sqlite::kOpenReadWrite | sqlite::kOpenCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec(kSchemaV1));
  }
  auto r = Repository::open(path, Mode::kReadOnly);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("schema 1 < "));
  EXPECT_THAT(r.error().message(), HasSubstr("start the new seedanced once"));
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), 1);  // a reader never migrates
}

// --- Open errors ------------------------------------------------------------------

TEST(Repository, CorruptFileIsAClearError) {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 8192; ++i) f.put(static_cast<char>((i * 7919) & 0xff));
  }
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    auto r = Repository::open(path, mode);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Error::Code::kCorruption);
    EXPECT_THAT(r.error().message(), HasSubstr("state DB " + path + " is not a SQLite database"));
    EXPECT_THAT(r.error().message(), HasSubstr("move it aside"));
  }
}

TEST(Repository, MissingDirectoryIsAClearError) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/state.db");
  auto r = Repository::open(path, Mode::kReadWrite);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Error::Code::kNotFound);
  EXPECT_THAT(r.error().message(), HasSubstr(path));
  EXPECT_THAT(r.error().message(), HasSubstr("mkdir -p " + dir.file("no/such/dir")));
  EXPECT_FALSE(fs::exists(dir.file("no")));
}

TEST(Repository, ReadOnlyModeNeedsAnExistingFile) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto r = Repository::open(path, Mode::kReadOnly);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Error::Code::kNotFound);
  EXPECT_THAT(r.error().message(), HasSubstr(path + " does not exist"));
  EXPECT_FALSE(fs::exists(path));  // a reader never creates it
}

TEST(Repository, ReadOnlyFileIsAClearError) {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto repo = open_rw(path);
    ASSERT_TRUE(repo);
    Ready step;
    step.assets = {bare_asset("a")};
    ASSERT_TRUE(repo->apply(step));
  }
  ::chmod(path.c_str(), 0444);
  ::chmod(dir.path().c_str(), 0777);  // only the file is read-only
  int rc = run_in_child(
      [&] {
        auto r = Repository::open(path, Mode::kReadWrite);
        if (r) return 1;
        std::cout << r.error().message() << "\n";
        if (r.error().message().find("state DB " + path + " is read-only") == std::string::npos) {
          return 2;
        }
        // Reading still works.
        auto ro = Repository::open(path, Mode::kReadOnly);
        if (!ro) {
          std::cout << ro.error().message() << "\n";
          return 3;
        }
        auto snap = (*ro)->load();
        return snap && snap->assets.size() == 1 ? 0 : 4;
      },
      /*drop=*/true);
  EXPECT_EQ(rc, 0);
}

TEST(Repository, ReadOnlyDirectoryIsAClearError) {
  TempDir dir;
  std::string sub = dir.file("ro");
  fs::create_directory(sub);
  ::chmod(sub.c_str(), 0555);
  std::string path = sub + "/state.db";
  int rc = run_in_child(
      [&] {
        auto r = Repository::open(path, Mode::kReadWrite);
        if (r) return 1;
        std::cout << r.error().message() << "\n";
        return r.error().message().find("directory " + sub + " is not writable") !=
                       std::string::npos
                   ? 0
                   : 2;
      },
      /*drop=*/true);
  EXPECT_EQ(rc, 0);
}

TEST(Repository, ReaderWithoutWriteAccessReadsTheDb) {
  TempDir dir;  // mode 0755: others may read, not create files
  std::string path = dir.file("state.db");
  auto writer = open_rw(path);
  ASSERT_TRUE(writer);
  Ready step;
  step.assets = {bare_asset("a")};
  ASSERT_TRUE(writer->apply(step));
  auto read_as_other_user = [&] {
    auto ro = Repository::open(path, Mode::kReadOnly);
    if (!ro) {
      std::cout << ro.error().message() << "\n";
      return 1;
    }
    auto snap = (*ro)->load();
    if (!snap) std::cout << snap.error().message() << "\n";
    return snap && snap->assets.size() == 1 ? 0 : 2;
  };
  // While the writer runs (-wal and -shm exist, owned by the writer) ...
  EXPECT_EQ(run_in_child(read_as_other_user, /*drop=*/true), 0);
  // ... and after it closed the DB cleanly (no -wal, no -shm, none can be created).
  writer.reset();
  ASSERT_FALSE(fs::exists(path + "-wal"));
  EXPECT_EQ(run_in_child(read_as_other_user, /*drop=*/true), 0);
}

TEST(Repository, SecondWriterIsRefusedWithThePid) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto first = open_rw(path);
  ASSERT_TRUE(first);
  auto second = Repository::open(path, Mode::kReadWrite);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Error::Code::kConflict);
  EXPECT_THAT(second.error().message(), HasSubstr("another seedanced is using " + path + " (pid " +
                                                  std::to_string(::getpid()) + ")"));

  // Another process is refused too, and readers are not affected.
  int rc = run_in_child(
      [&] {
        auto r = Repository::open(path, Mode::kReadWrite);
        return !r && r.error().message().find("another seedanced") != std::string::npos ? 0 : 1;
      },
      /*drop=*/false);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(Repository::open(path, Mode::kReadOnly));

  first.reset();  // the lock goes with the Repository
  EXPECT_TRUE(Repository::open(path, Mode::kReadWrite));
}

TEST(Repository, LockedBeyondBusyTimeoutIsAClearError) {
  TempDir dir;
  std::string path = dir.file("state.db");
  { ASSERT_TRUE(open_rw(path)); }
  auto other = sqlite::Db::open(path, sqlite::kOpenReadWrite);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->exec("BEGIN IMMEDIATE; INSERT INTO meta VALUES('k', 'v')"));

  auto start = std::chrono::steady_clock::now();
  auto r = Repository::open(path, Mode::kReadWrite, std::chrono::milliseconds(200));
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Error::Code::kConflict);
  EXPECT_THAT(r.error().message(),
              HasSubstr("state DB " + path + " is locked by another process for more than 200 ms"));
  EXPECT_GE(waited, std::chrono::milliseconds(150));

  // A step that cannot get the lock is an error too, and nothing is half-written.
  ASSERT_TRUE(other->exec("ROLLBACK"));
  auto repo = Repository::open(path, Mode::kReadWrite, std::chrono::milliseconds(100));
  ASSERT_TRUE(repo) << repo.error().message();
  ASSERT_TRUE(other->exec("BEGIN IMMEDIATE; INSERT INTO meta VALUES('k', 'v')"));
  Ready step;
  step.assets = {bare_asset("a")};
  auto applied = (*repo)->apply(step);
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message(), HasSubstr("is locked by another process"));
  ASSERT_TRUE(other->exec("COMMIT"));
  ASSERT_TRUE((*repo)->apply(step));
  EXPECT_EQ((*repo)->load()->assets.size(), 1u);
}

TEST(Repository, ReaderWorksWhileAWriterWrites) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto writer = open_rw(path);
  ASSERT_TRUE(writer);
  auto reader = Repository::open(path, Mode::kReadOnly);
  ASSERT_TRUE(reader) << reader.error().message();

  // An open write transaction does not block the reader (WAL).
  auto other = sqlite::Db::open(path, sqlite::kOpenReadWrite);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->exec("BEGIN IMMEDIATE; INSERT INTO meta VALUES('pending', 'x')"));
  auto during = (*reader)->meta("pending");
  ASSERT_TRUE(during) << during.error().message();
  EXPECT_FALSE(during->has_value());
  ASSERT_TRUE(other->exec("ROLLBACK"));

  constexpr int kSteps = 300;
  std::atomic<bool> failed{false};
  std::thread t([&] {
    for (int i = 0; i < kSteps; ++i) {
      Ready step;
      TaskRecord task = bare_task("t" + std::to_string(i % 10));
      task.schedule.poll_count = i;
      step.tasks = {task};
      step.events = {event("task", task.spec.name, "Waiting", "Ready", i)};
      if (!writer->apply(step)) failed = true;
    }
  });
  int reads = 0;
  size_t last_events = 0;
  while (reads < 50 || last_events < kSteps) {
    auto snap = (*reader)->load();
    ASSERT_TRUE(snap) << snap.error().message();
    EXPECT_LE(snap->tasks.size(), 10u);
    auto ev = (*reader)->events(0, kSteps + 1);
    ASSERT_TRUE(ev) << ev.error().message();
    EXPECT_GE(ev->size(), last_events);  // monotonic
    last_events = ev->size();
    ++reads;
    if (reads > 100000) break;
  }
  t.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(last_events, static_cast<size_t>(kSteps));
}

TEST(Repository, ReadOnlyConnectionCannotWrite) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto writer = open_rw(path);
  ASSERT_TRUE(writer);
  auto reader = Repository::open(path, Mode::kReadOnly);
  ASSERT_TRUE(reader);
  auto r = (*reader)->push_command("retry", "x", at(1));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr(path));
  EXPECT_THAT(r.error().message(), HasSubstr("readonly"));
}

TEST(Repository, DamagedSpecJsonIsACorruptionError) {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto repo = open_rw(path);
  ASSERT_TRUE(repo);
  Ready step;
  step.tasks = {bare_task("t")};
  ASSERT_TRUE(repo->apply(step));
  {
    auto db = sqlite::Db::open(path, sqlite::kOpenReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE tasks SET spec_json = '{\"duration\": \"long\"}'"));
  }
  auto snap = repo->load();
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error().code(), Error::Code::kCorruption);
  EXPECT_THAT(snap.error().message(), HasSubstr("task t"));
}

}  // namespace
}  // namespace sd
