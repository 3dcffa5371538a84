// Runs the real seedancectl binary against a state DB built with
// Repository::apply() and asserts on what it prints.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "storage/repository.hpp"
#include "tests/support/child_process.hpp"

namespace sd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kCtl = SD_BINARY_DIR "/ctl/seedancectl";

struct CtlRun {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs seedancectl with `args`, stdout and stderr captured apart; fails the
// test if it does not exit within 20 s.
CtlRun run_ctl(const std::vector<std::string>& args, const std::string& dir) {
  std::string out_path = dir + "/ctl.out", err_path = dir + "/ctl.err";
  std::vector<std::string> argv{kCtl};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  CtlRun r;
  int status = 0;
  bool done = test::eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 20s);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "seedancectl did not exit within 20 s";
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = test::read_file(out_path);
  r.err = test::read_file(err_path);
  return r;
}

std::string rfc3339(TimePoint t) {
  time_t s = static_cast<time_t>(to_millis(t) / 1000);
  struct tm tm {};
  ::gmtime_r(&s, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

EventRecord ev(const std::string& kind, const std::string& name, const std::string& from,
               const std::string& to, TimePoint at, const std::string& detail = "") {
  EventRecord e;
  e.entity_kind = kind;
  e.name = name;
  e.from = from;
  e.to = to;
  e.at = at;
  e.detail = detail;
  return e;
}

constexpr const char* kLongError =
    "upload failed: the URL https://cdn.example.com/broken.png answered 404 Not Found three "
    "times; check that the file is public";

// A DB with two assets and four tasks in various states, and their events.
// Times are relative to the real clock, as seedancectl reads it.
class SeedancectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.file("state.db");
    auto repo = Repository::open(db_, Repository::Mode::kReadWrite);
    ASSERT_TRUE(repo) << repo.error().message();
    writer_ = std::move(*repo);
    now_ = SystemClock().now();

    AssetRecord hero;
    hero.spec = {"hero",
                 "https://cdn.example.com/hero.png",
                 MediaType::kImage,
                 {"/etc/seedanced/jobs.d/shots.json", 3}};
    hero.state = AssetState::kActive;
    hero.remote_id = "asset-20261127080102-ab3cd";
    hero.created_at = now_ - 20min;
    hero.state_since = now_ - 15min;
    hero.expires_at = now_ + 24h;

    AssetRecord broken;
    broken.spec = {"broken", "https://cdn.example.com/broken.png", MediaType::kImage, {}};
    broken.state = AssetState::kFailed;
    broken.last_error = kLongError;
    broken.created_at = now_ - 20min;
    broken.state_since = now_ - 18min;

    TaskRecord intro;
    intro.spec.name = "hero-intro";
    intro.spec.task_type = "seedance-2-fast-less-restriction";
    intro.spec.prompt = "Image 1 is the hero. Image 2 is the street. Image 1 walks down Image 2.";
    intro.spec.image_urls = {"asset://hero", "https://cdn.example.com/street.jpg"};
    intro.spec.duration = 8;
    intro.spec.aspect_ratio = "16:9";
    intro.state = TaskState::kCompleted;
    intro.remote_id = "7c1e0a9e-2b44-4c3e-9d6f-0123456789ab";
    intro.video_url = "https://cdn.piapi.ai/out/7c1e.mp4";
    intro.output_path = "/var/lib/seedanced/videos/hero-intro.mp4";
    intro.created_at = now_ - 10min;
    intro.state_since = now_ - 161s;  // 2m41s
    intro.submitted_at = now_ - 5min;

    TaskRecord rejected = intro;
    rejected.spec.name = "rejected";
    rejected.state = TaskState::kFailed;
    rejected.remote_id = "task-rejected-1";
    rejected.video_url.clear();
    rejected.output_path.clear();
    rejected.error_code = 10003;
    rejected.last_error = "content rejected by the safety system: the prompt violates policy";
    rejected.state_since = now_ - 3min;

    TaskRecord held = intro;
    held.spec.name = "held";
    held.state = TaskState::kHeld;
    held.remote_id.clear();
    held.video_url.clear();
    held.output_path.clear();
    held.last_error = "submit outcome unknown: connection reset after the request was sent";
    held.state_since = now_ - 1min;

    TaskRecord waiting;
    waiting.spec.name = "waiting";
    waiting.spec.task_type = "seedance-2-fast-less-restriction";
    waiting.spec.prompt = "Image 1 smiles.";
    waiting.spec.image_urls = {"asset://broken"};
    waiting.state = TaskState::kWaiting;
    waiting.created_at = now_ - 10min;
    waiting.state_since = now_ - 10min;
    waiting.schedule.next_at = now_ + 90s;

    Ready step;
    step.assets = {hero, broken};
    step.tasks = {intro, rejected, held, waiting};
    step.events = {
        ev("asset", "hero", "", "Declared", now_ - 20min),
        ev("asset", "hero", "Declared", "Uploading", now_ - 19min),
        ev("asset", "hero", "Uploading", "Processing", now_ - 18min, hero.remote_id),
        ev("asset", "hero", "Processing", "Active", now_ - 15min),
        ev("asset", "broken", "Declared", "Failed", now_ - 18min, kLongError),
        ev("task", "hero-intro", "", "Waiting", now_ - 10min),
        ev("task", "hero-intro", "Waiting", "Ready", now_ - 9min),
        ev("task", "hero-intro", "Ready", "Submitting", now_ - 5min - 1s),
        ev("task", "hero-intro", "Submitting", "Submitted", now_ - 5min, intro.remote_id),
        ev("task", "hero-intro", "Submitted", "Completed", now_ - 161s, "7c1e0a9e, 2m19s"),
        ev("task", "rejected", "Submitted", "Failed", now_ - 3min, "10003 content rejected"),
        ev("task", "held", "Submitting", "Held", now_ - 1min, "outcome unknown"),
    };
    auto r = writer_->apply(step);
    ASSERT_TRUE(r) << r.error().message();
  }

  CtlRun ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", db_});
    return run_ctl(args, dir_.path());
  }

  test::TempDir dir_;
  std::string db_;
  std::unique_ptr<Repository> writer_;  // the "daemon": holds the DB lock
  TimePoint now_;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The line of `text` that contains `needle`, or "".
std::string line_with(const std::string& text, const std::string& needle) {
  for (const auto& l : lines(text)) {
    if (l.find(needle) != std::string::npos) return l;
  }
  return "";
}

// --- status ---------------------------------------------------------------------

TEST_F(SeedancectlTest, StatusPrintsATableAndASummary) {
  CtlRun r = ctl({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto ls = lines(r.out);
  ASSERT_GE(ls.size(), 8u) << r.out;
  EXPECT_THAT(ls[0],
              ::testing::MatchesRegex("KIND +NAME +STATE +AGE +NEXT POLL +REMOTE ID +LAST ERROR"));
  // Assets first, then tasks, each by name.
  EXPECT_THAT(ls[1], ::testing::StartsWith("asset  broken"));
  EXPECT_THAT(ls[2], ::testing::StartsWith("asset  hero "));
  EXPECT_THAT(ls[3], ::testing::StartsWith("task   held "));

  std::string intro = line_with(r.out, "hero-intro");
  EXPECT_THAT(intro, ::testing::ContainsRegex("task +hero-intro +Completed +2m4[1-3]s +- +"
                                              "7c1e0a9e-2b44-4c3e-9d6f-0123456789ab +-$"));
  std::string waiting = line_with(r.out, "waiting");
  EXPECT_THAT(waiting, ::testing::ContainsRegex("Waiting +10m0[0-2]s +in 1m(2[89]|30)s +- +-$"));
  std::string hero = line_with(r.out, "asset  hero");
  EXPECT_THAT(hero, ::testing::ContainsRegex("Active +15m0[0-2]s +- +asset-20261127080102-ab3cd"));
  // A long error is shortened in the table.
  std::string broken = line_with(r.out, "broken");
  EXPECT_THAT(broken, HasSubstr("  upload failed: the URL https://cdn.example.co..."));
  EXPECT_THAT(broken, Not(HasSubstr("public")));
  EXPECT_THAT(line_with(r.out, "rejected"), HasSubstr("[10003] content rejected"));

  EXPECT_EQ(ls.back(),
            "2 assets: 1 Active, 1 Failed; 4 tasks: 1 Waiting, 1 Completed, 1 Failed, 1 Held");
}

TEST_F(SeedancectlTest, StatusJsonHasFullValues) {
  CtlRun r = ctl({"status", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r.out;
  ASSERT_EQ(j.size(), 6u);
  const nlohmann::json* broken = nullptr;
  const nlohmann::json* intro = nullptr;
  const nlohmann::json* waiting = nullptr;
  for (const auto& o : j) {
    if (o["name"] == "broken") broken = &o;
    if (o["name"] == "hero-intro") intro = &o;
    if (o["name"] == "waiting") waiting = &o;
  }
  ASSERT_TRUE(broken && intro && waiting);
  EXPECT_EQ((*broken)["kind"], "asset");
  EXPECT_EQ((*broken)["state"], "Failed");
  EXPECT_EQ((*broken)["last_error"], kLongError);  // not shortened

  EXPECT_EQ((*intro)["kind"], "task");
  EXPECT_EQ((*intro)["state"], "Completed");
  EXPECT_EQ((*intro)["state_since_ms"], to_millis(now_ - 161s));
  EXPECT_EQ((*intro)["state_since"], rfc3339(now_ - 161s));
  EXPECT_GE((*intro)["age_s"].get<int64_t>(), 161);
  EXPECT_LE((*intro)["age_s"].get<int64_t>(), 175);
  EXPECT_EQ((*intro)["remote_id"], "7c1e0a9e-2b44-4c3e-9d6f-0123456789ab");
  EXPECT_TRUE((*intro)["next_poll"].is_null());
  EXPECT_EQ((*intro)["video_path"], "/var/lib/seedanced/videos/hero-intro.mp4");
  EXPECT_EQ((*intro)["assets"], nlohmann::json::array({"hero"}));

  EXPECT_EQ((*waiting)["next_poll_ms"], to_millis(now_ + 90s));
  EXPECT_EQ((*waiting)["next_poll"], rfc3339(now_ + 90s));
}

TEST(Seedancectl, StatusOfAnEmptyDb) {
  test::TempDir dir;
  std::string db = dir.file("state.db");
  { ASSERT_TRUE(Repository::open(db, Repository::Mode::kReadWrite)); }
  CtlRun r = run_ctl({"--db", db, "status"}, dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no assets or tasks yet"));
  EXPECT_THAT(r.out, HasSubstr("0 assets: none; 0 tasks: none"));
  CtlRun j = run_ctl({"--db", db, "status", "--json"}, dir.path());
  ASSERT_EQ(j.code, 0);
  EXPECT_EQ(j.out, "[]\n");
}

// --- show -------------------------------------------------------------------------

TEST_F(SeedancectlTest, ShowTaskHasSpecErrorPathAndHistory) {
  CtlRun r = ctl({"show", "hero-intro"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("^task hero-intro: Completed for 2m4[1-3]s\n"));
  EXPECT_THAT(r.out, HasSubstr("type        seedance-2-fast-less-restriction"));
  EXPECT_THAT(r.out, HasSubstr("prompt      Image 1 is the hero."));
  EXPECT_THAT(r.out, HasSubstr("assets      hero (Active)"));
  EXPECT_THAT(r.out, HasSubstr("remote id   7c1e0a9e-2b44-4c3e-9d6f-0123456789ab"));
  EXPECT_THAT(r.out, HasSubstr("video path  /var/lib/seedanced/videos/hero-intro.mp4"));
  EXPECT_THAT(r.out, HasSubstr("history (5 events):"));
  // History in log order.
  size_t a = r.out.find("(new) -> Waiting");
  size_t b = r.out.find("Submitting -> Submitted (7c1e0a9e-2b44");
  size_t c = r.out.find("  " + rfc3339(now_ - 161s) + "  Submitted -> Completed (7c1e0a9e, 2m19s)");
  ASSERT_NE(a, std::string::npos) << r.out;
  ASSERT_NE(b, std::string::npos) << r.out;
  ASSERT_NE(c, std::string::npos) << r.out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST_F(SeedancectlTest, ShowPrintsTheFullLastError) {
  CtlRun r = ctl({"show", "broken"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("asset broken: Failed"));
  EXPECT_THAT(r.out, HasSubstr(std::string("last error  ") + kLongError));
  EXPECT_THAT(r.out, HasSubstr("used by     waiting (Waiting)"));
  CtlRun t = ctl({"show", "rejected"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_THAT(t.out,
              HasSubstr("last error  [10003] content rejected by the safety system: the prompt "
                        "violates policy"));
  EXPECT_THAT(t.out, HasSubstr("seedancectl retry rejected"));
}

TEST_F(SeedancectlTest, ShowUnknownNameExits1) {
  CtlRun r = ctl({"show", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("no asset or task named 'nope'"));
}

// --- events -------------------------------------------------------------------------

TEST_F(SeedancectlTest, EventsPrintsOneLinePerTransition) {
  CtlRun r = ctl({"events"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 12u) << r.out;
  EXPECT_EQ(ls[0], rfc3339(now_ - 20min) + " asset hero (new) -> Declared");
  EXPECT_EQ(ls[9],
            rfc3339(now_ - 161s) + " task hero-intro Submitted -> Completed (7c1e0a9e, 2m19s)");
  EXPECT_EQ(ls[11], rfc3339(now_ - 1min) + " task held Submitting -> Held (outcome unknown)");
}

TEST_F(SeedancectlTest, EventsFiltersBySinceAndName) {
  CtlRun recent = ctl({"events", "--since", "4m"});
  ASSERT_EQ(recent.code, 0) << recent.err;
  auto ls = lines(recent.out);
  ASSERT_EQ(ls.size(), 3u) << recent.out;
  EXPECT_THAT(ls[0], HasSubstr("hero-intro Submitted -> Completed"));
  EXPECT_THAT(ls[1], HasSubstr("rejected Submitted -> Failed"));
  EXPECT_THAT(ls[2], HasSubstr("held Submitting -> Held"));

  // An absolute RFC3339 time, with an offset: 6 minutes ago, written in UTC+02:00.
  time_t s = static_cast<time_t>(to_millis(now_ - 6min) / 1000) + 2 * 3600;
  struct tm tm {};
  ::gmtime_r(&s, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+02:00", &tm);
  CtlRun absolute = ctl({"events", "--since", buf});
  ASSERT_EQ(absolute.code, 0) << absolute.err;
  EXPECT_EQ(lines(absolute.out).size(), 5u) << absolute.out;

  CtlRun named = ctl({"events", "--name", "hero"});
  ASSERT_EQ(named.code, 0) << named.err;
  auto hero = lines(named.out);
  ASSERT_EQ(hero.size(), 4u) << named.out;
  for (const auto& l : hero) EXPECT_THAT(l, HasSubstr(" asset hero "));

  CtlRun both = ctl({"events", "--name", "hero-intro", "--since", "6m"});
  ASSERT_EQ(both.code, 0);
  EXPECT_EQ(lines(both.out).size(), 3u) << both.out;
}

TEST_F(SeedancectlTest, EventsRejectsABadSince) {
  CtlRun r = ctl({"events", "--since", "yesterday"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--since 'yesterday'"));
}

TEST_F(SeedancectlTest, EventsFollowPrintsRowsWrittenLater) {
  std::string log = dir_.file("follow.log");
  test::ChildProcess follow({kCtl, "--db", db_, "events", "--follow", "--name", "late"}, {}, log);
  // Nothing matches yet; then the "daemon" writes two transitions.
  ASSERT_TRUE(test::eventually([&] { return follow.running(); }, 5s));
  Ready step;
  step.events = {ev("task", "late", "", "Waiting", now_), ev("task", "other", "", "Waiting", now_)};
  ASSERT_TRUE(writer_->apply(step));
  EXPECT_TRUE(test::eventually(
      [&] { return follow.output().find("task late (new) -> Waiting") != std::string::npos; }, 10s))
      << follow.output();
  Ready step2;
  step2.events = {ev("task", "late", "Waiting", "Ready", now_ + 1s, "assets active")};
  ASSERT_TRUE(writer_->apply(step2));
  EXPECT_TRUE(test::eventually(
      [&] { return follow.output().find("Waiting -> Ready (assets active)") != std::string::npos; },
      10s))
      << follow.output();
  EXPECT_TRUE(follow.running());
  follow.signal(SIGTERM);
  auto code = follow.wait(5s);
  ASSERT_TRUE(code.has_value()) << "--follow did not stop on SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_THAT(follow.output(), Not(HasSubstr("other")));
  EXPECT_EQ(lines(follow.output()).size(), 2u) << follow.output();
}

// --- retry --------------------------------------------------------------------------

TEST_F(SeedancectlTest, RetryQueuesACommandForTheDaemon) {
  CtlRun r = ctl({"retry", "rejected"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("queued retry of task rejected (Failed for 3m0"));
  CtlRun h = ctl({"retry", "held"});
  ASSERT_EQ(h.code, 0) << h.err;
  EXPECT_THAT(h.out, HasSubstr("may pay twice"));

  auto cmds = writer_->take_commands();
  ASSERT_TRUE(cmds) << cmds.error().message();
  ASSERT_EQ(cmds->size(), 2u);
  EXPECT_EQ((*cmds)[0].verb, "retry");
  EXPECT_EQ((*cmds)[0].name, "rejected");
  EXPECT_EQ((*cmds)[1].name, "held");
  EXPECT_GE((*cmds)[0].at, now_);
}

TEST_F(SeedancectlTest, RetryRefusesOtherStatesAndNames) {
  CtlRun done = ctl({"retry", "hero-intro"});
  EXPECT_EQ(done.code, 1);
  EXPECT_THAT(done.err,
              HasSubstr("task hero-intro is Completed; only a Failed, Held or Blocked task can be "
                        "retried"));
  CtlRun unknown = ctl({"retry", "nope"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no task named 'nope'"));
  CtlRun asset = ctl({"retry", "broken"});
  EXPECT_EQ(asset.code, 1);
  EXPECT_THAT(asset.err, HasSubstr("'broken' is an asset"));

  auto cmds = writer_->take_commands();
  ASSERT_TRUE(cmds);
  EXPECT_TRUE(cmds->empty());
}

// --- concurrency, config and usage ----------------------------------------------------

TEST_F(SeedancectlTest, ReadsWhileTheDaemonWrites) {
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread daemon([&] {
    int i = 0;
    while (!stop.load()) {
      Ready step;
      TaskRecord t;
      t.spec.name = "busy-" + std::to_string(i % 20);
      t.spec.task_type = "seedance-2";
      t.state = TaskState::kSubmitted;
      t.created_at = t.state_since = now_;
      t.schedule.poll_count = i;
      step.tasks = {t};
      step.events = {ev("task", t.spec.name, "Submitted", "Submitted", now_, "poll")};
      if (writer_->apply(step)) ++written;
      ++i;
    }
  });
  for (int i = 0; i < 3; ++i) {
    CtlRun s = ctl({"status", "--json"});
    EXPECT_EQ(s.code, 0) << s.err;
    EXPECT_TRUE(nlohmann::json::parse(s.out, nullptr, false).is_array());
    CtlRun e = ctl({"events", "--name", "hero"});
    EXPECT_EQ(e.code, 0) << e.err;
    EXPECT_EQ(lines(e.out).size(), 4u);
  }
  stop = true;
  daemon.join();
  EXPECT_GT(written.load(), 0);
  CtlRun s = ctl({"status"});
  ASSERT_EQ(s.code, 0);
  EXPECT_THAT(s.out, HasSubstr("busy-0"));
}

TEST_F(SeedancectlTest, ReadsTheDbPathFromTheConfig) {
  std::string config = dir_.file("seedanced.json");
  test::write_file(config, "{\n  // where the state lives\n  \"state_db\": \"" + db_ + "\"\n}\n");
  CtlRun r = run_ctl({"--config", config, "events", "--name", "held"}, dir_.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("task held Submitting -> Held"));

  CtlRun missing = run_ctl({"--config", dir_.file("nope.json"), "status"}, dir_.path());
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope.json"));
}

TEST(Seedancectl, UsageErrorsExit2) {
  test::TempDir dir;
  EXPECT_EQ(run_ctl({}, dir.path()).code, 2);
  EXPECT_EQ(run_ctl({"frobnicate"}, dir.path()).code, 2);
  EXPECT_EQ(run_ctl({"show"}, dir.path()).code, 2);
  EXPECT_EQ(run_ctl({"--db", "a", "--config", "b", "status"}, dir.path()).code, 2);
  CtlRun help = run_ctl({"--help"}, dir.path());
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("retry"));
}

TEST(Seedancectl, MissingDbIsAnOperationalError) {
  test::TempDir dir;
  std::string db = dir.file("absent.db");
  CtlRun r = run_ctl({"--db", db, "status"}, dir.path());
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("state DB " + db + " does not exist"));
  EXPECT_FALSE(std::filesystem::exists(db));
}

}  // namespace
}  // namespace sd
