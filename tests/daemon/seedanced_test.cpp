// The real seedanced binary against an in-process simulator: a full --once
// run, the log formats, no secret in any line, sd_notify and the watchdog,
// --check and the start-up exit codes.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/daemon/harness.hpp"
#include "tests/daemon/notify_listener.hpp"

namespace sd::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Two shared assets and four tasks, one of them with a raw URL only.
void write_small_job(Harness& h) {
  h.write_jobs("10-shots.json", json::array({asset_json("hero"), asset_json("street")}),
               json::array({task_json("intro", {"hero", "street"}), task_json("walk", {"hero"}),
                            task_json("alley", {"street"}), task_json("skyline", {})}));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

TEST(Seedanced, OnceRunDownloadsEveryVideoAndPaysForEachOnce) {
  Harness h;
  h.write_config();
  write_small_job(h);
  auto d = h.start({"--once"});
  ASSERT_EQ(d->wait(60s), 0) << d->output();

  for (const char* name : {"intro", "walk", "alley", "skyline"}) {
    const std::string file = h.output_dir() + "/" + name + ".mp4";
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(std::filesystem::file_size(file), 4096u) << file;
    auto t = h.task(name);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->state, TaskState::kDownloaded) << name;
  }
  const json s = h.stats();
  EXPECT_EQ(s["uploads"], 2) << s.dump();
  for (const auto& [name, n] : s["uploads_by_name"].items()) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(s["task_creates"], 4);
  EXPECT_EQ(s["duplicate_creates"], 0);
  EXPECT_EQ(s["creates_with_inactive_asset"], 0);
  EXPECT_EQ(s["downloads"], 4);
  // No leftover partial download.
  for (const auto& e : std::filesystem::directory_iterator(h.output_dir())) {
    EXPECT_EQ(e.path().extension(), ".mp4") << e.path();
  }
  // One line per transition, e.g. "task walk: Completed -> Downloaded (...)".
  EXPECT_NE(d->output().find("task walk: Completed -> Downloaded"), std::string::npos)
      << d->output();

  // A second --once run has nothing left to do and pays for nothing.
  auto again = h.start({"--once"}, {}, "again.log");
  ASSERT_EQ(again->wait(30s), 0) << again->output();
  EXPECT_EQ(h.stats()["task_creates"], 4);
  EXPECT_EQ(h.stats()["uploads"], 2);
}

TEST(Seedanced, OnceExitsOneWhenATaskFails) {
  Harness h;
  h.write_config();
  h.write_jobs("10-bad.json", json::array({asset_json("hero")}),
               json::array({task_json("good", {"hero"}),
                            task_json("banned", {"hero"}, "does something forbidden.")}));
  auto d = h.start({"--once"});
  ASSERT_EQ(d->wait(60s), 1) << d->output();
  EXPECT_EQ(h.task("good")->state, TaskState::kDownloaded);
  auto banned = h.task("banned");
  EXPECT_EQ(banned->state, TaskState::kFailed);
  EXPECT_EQ(banned->error_code, 10003);
}

TEST(Seedanced, PicksUpARetryCommandWhileRunning) {
  Harness h;
  h.write_config();
  h.write_jobs("10-bad.json", json::array(),
               json::array({task_json("banned", {}, "does something forbidden.")}));
  auto d = h.start({});
  ASSERT_TRUE(eventually(
      [&] {
        auto t = h.task("banned");
        return t && t->state == TaskState::kFailed;
      },
      30s))
      << d->output();
  const std::string prompt = task_json("banned", {}, "does something forbidden.")["prompt"];
  EXPECT_EQ(h.stats()["creates_by_prompt"][prompt], 1);
  {  // What `seedancectl retry banned` does.
    auto repo = Repository::open(h.state_db(), Repository::Mode::kOperator);
    ASSERT_TRUE(repo) << repo.error().message();
    ASSERT_TRUE((*repo)->push_command("retry", "banned", SystemClock().now()));
  }
  ASSERT_TRUE(eventually([&] { return h.stats()["creates_by_prompt"][prompt] == 2; }, 15s))
      << d->output();
  EXPECT_NE(d->output().find("seedancectl: retry banned"), std::string::npos);
  d->signal(SIGTERM);
  EXPECT_EQ(d->wait(10s), 0) << d->output();
}

TEST(Seedanced, NoLogLineOrStateContainsTheApiKey) {
  sim::SimOptions o = fast_sim();
  o.faults.http_5xx = 0.1;  // error paths log bodies and messages too
  o.faults.html_body = 0.05;
  o.faults.http_429 = 0.05;
  o.faults.retry_after_s = 1;
  Harness h(o);
  h.write_config();
  write_small_job(h);
  auto d = h.start({"--once", "--verbose"});
  ASSERT_EQ(d->wait(90s), 0) << d->output();
  const std::string log = d->output();
  const auto lines = lines_of(log);
  ASSERT_GT(lines.size(), 20u);
  EXPECT_NE(log.find("[debug]"), std::string::npos);  // debug lines were written and checked
  for (const auto& line : lines) EXPECT_EQ(line.find(kApiKey), std::string::npos) << line;
  // Nor in the state DB or its WAL.
  for (const auto& e : std::filesystem::directory_iterator(h.dir().path())) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(read_file(e.path()).find(kApiKey), std::string::npos) << e.path();
  }
  EXPECT_EQ(read_file(h.config_path()).find(kApiKey), std::string::npos);
}

TEST(Seedanced, JournalStreamGivesPriorityPrefixedLinesWithoutTimestamps) {
  Harness h;
  h.write_config();
  h.write_jobs("10-one.json", json::array(), json::array({task_json("solo", {})}));
  auto d = h.start({"--once", "--verbose"}, {{"JOURNAL_STREAM", "8:123456"}});
  ASSERT_EQ(d->wait(60s), 0) << d->output();
  const auto lines = lines_of(d->output());
  ASSERT_FALSE(lines.empty());
  const std::regex journal(R"(<[3467]>[^<\d].*)");
  for (const auto& line : lines) EXPECT_TRUE(std::regex_match(line, journal)) << line;
  EXPECT_NE(d->output().find("<6>task solo: Completed -> Downloaded"), std::string::npos)
      << d->output();
  EXPECT_NE(d->output().find("<7>"), std::string::npos);
}

TEST(Seedanced, PlainLinesCarryTimestampAndLevel) {
  Harness h;
  h.write_config();
  h.write_jobs("10-one.json", json::array(), json::array({task_json("solo", {})}));
  auto d = h.start({"--once"}, {{"JOURNAL_STREAM", ""}});
  ASSERT_EQ(d->wait(60s), 0) << d->output();
  const std::regex plain(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[(info|warn|error)\] .*)");
  for (const auto& line : lines_of(d->output())) {
    EXPECT_TRUE(std::regex_match(line, plain)) << line;
  }
}

TEST(Seedanced, NotifiesReadyStatusWatchdogAndStopping) {
  Harness h;
  h.write_config();
  write_small_job(h);
  NotifyListener systemd;
  auto d = h.start({}, {{"NOTIFY_SOCKET", systemd.name()}, {"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(systemd.wait_for("READY=1", 20s)) << d->output();
  // STATUS= follows progress until every video is downloaded.
  auto done = [&] {
    auto m = systemd.wait_for("STATUS=", 2s);
    return m && m->find("4 downloaded") != std::string::npos;
  };
  ASSERT_TRUE(eventually(done, 60s)) << d->output();
  // Watchdog pings every 100 ms (half of WATCHDOG_USEC) from the loop.
  const auto before =
      std::count(systemd.received().begin(), systemd.received().end(), std::string("WATCHDOG=1"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(systemd.wait_for("WATCHDOG=1", 2s));
  EXPECT_GE(
      std::count(systemd.received().begin(), systemd.received().end(), std::string("WATCHDOG=1")),
      before + 3);
  // SIGHUP (systemctl reload): RELOADING=1, then READY=1 once the jobs are re-read.
  d->signal(SIGHUP);
  ASSERT_TRUE(systemd.wait_for("RELOADING=1", 5s)) << d->output();
  ASSERT_TRUE(systemd.wait_for("READY=1", 5s)) << d->output();
  d->signal(SIGTERM);
  EXPECT_TRUE(systemd.wait_for("STOPPING=1", 10s));
  EXPECT_EQ(d->wait(10s), 0) << d->output();
}

TEST(Seedanced, FailedStateDbWriteStopsTheDaemonAndARestartLosesNothing) {
  if (!std::filesystem::exists("/usr/bin/sqlite3")) GTEST_SKIP() << "sqlite3 is not installed";
  sim::SimOptions o = fast_sim();
  o.speed = 30;  // renders take 5 s: the lock below lands between transitions
  Harness h(o);
  h.write_config();
  write_small_job(h);
  auto d = h.start({});
  ASSERT_TRUE(eventually([&] { return h.count_tasks(TaskState::kSubmitted) >= 1; }, 30s))
      << d->output();
  // Another process holds the write lock for 30 s: the daemon's next commit fails
  // after its busy timeout, and it must stop without sending anything more.
  ChildProcess locker({"/usr/bin/sqlite3", h.state_db(), "BEGIN EXCLUSIVE;", ".shell sleep 30"}, {},
                      h.dir().file("locker.log"));
  ASSERT_EQ(d->wait(30s), 5) << d->output();
  EXPECT_NE(d->output().find("state DB write failed"), std::string::npos) << d->output();
  locker.signal(SIGKILL);
  ASSERT_TRUE(locker.wait(5s));

  auto again = h.start({"--once"}, {}, "again.log");
  ASSERT_EQ(again->wait(60s), 0) << again->output();
  const json s = h.stats();
  EXPECT_EQ(s["task_creates"], 4) << s.dump();
  EXPECT_EQ(s["duplicate_creates"], 0);
  EXPECT_EQ(s["uploads"], 2);
}

TEST(Seedanced, CheckExitsZeroForValidAndOneForInvalidJobs) {
  Harness h;
  h.write_config();
  write_small_job(h);
  {
    ChildProcess check({kBinary, "--check", "--config", h.config_path()}, {},
                       h.dir().file("check-ok.log"));
    EXPECT_EQ(check.wait(30s), 0) << check.output();
  }
  h.write_jobs("20-broken.json", json::array(),
               json::array({task_json("bad", {"nobody"})}));  // an undeclared asset
  ChildProcess check({kBinary, "--check", "--config", h.config_path()}, {},
                     h.dir().file("check-bad.log"));
  EXPECT_EQ(check.wait(30s), 1) << check.output();
  EXPECT_NE(check.output().find("20-broken.json"), std::string::npos) << check.output();
}

TEST(Seedanced, StartupFailuresHaveTheirExitCodes) {
  Harness h;
  {  // an unknown config key: 3
    write_file(h.config_path(), R"({"jobs_dri": "/tmp"})");
    auto d = h.start({"--once"}, {}, "bad-config.log");
    EXPECT_EQ(d->wait(30s), 3) << d->output();
    EXPECT_NE(d->output().find("jobs_dri"), std::string::npos) << d->output();
  }
  h.write_config();
  {  // no API key anywhere: 3, and the message names the sources
    ChildProcess d({kBinary, "--config", h.config_path(), "--once"},
                   {{"PIAPI_API_KEY", ""}, {"CREDENTIALS_DIRECTORY", ""}},
                   h.dir().file("no-key.log"));
    EXPECT_EQ(d.wait(30s), 3) << d.output();
    EXPECT_NE(d.output().find("PIAPI_API_KEY"), std::string::npos) << d.output();
  }
  {  // the state DB's directory does not exist: 4
    h.write_config({{"state_db", h.dir().file("missing/dir/state.db")}});
    auto d = h.start({"--once"}, {}, "no-db.log");
    EXPECT_EQ(d->wait(30s), 4) << d->output();
  }
  {  // a bad command line: 2
    ChildProcess d({kBinary, "--no-such-flag"}, {}, h.dir().file("usage.log"));
    EXPECT_EQ(d.wait(30s), 2) << d.output();
  }
}

TEST(Seedanced, DemoRunsTheExamplesAndPrintsASummary) {
  TempDir dir;
  ChildProcess d({kBinary, "--demo"}, {{"TMPDIR", dir.path()}}, dir.file("demo.log"));
  ASSERT_EQ(d.wait(60s), 0) << d.output();
  EXPECT_NE(d.output().find("video file"), std::string::npos) << d.output();
  EXPECT_NE(d.output().find(" downloaded, "), std::string::npos) << d.output();
  EXPECT_NE(d.output().find("(0 duplicates)"), std::string::npos) << d.output();
}

}  // namespace
}  // namespace sd::test
