// The task state machine as the engine runs it: gating on assets, submit,
// polling with backoff, completion, download and every failure path.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/core/engine_harness.hpp"

namespace sd {
namespace {

using namespace sd::testing;

// Declares `hero` and the given tasks, and activates `hero` as asset_id(1).
void start_with_active_hero(Harness& h, std::vector<TaskSpec> tasks) {
  SpecSet s;
  s.assets = {asset_spec("hero")};
  s.tasks = std::move(tasks);
  h.sync(s);
  h.activate_asset("hero", asset_id(1));
}

// Submits `name` (its create must be pending) and answers with task id `id`.
void submit(Harness& h, const std::string& name, const std::string& id) {
  h.pop(Kind::kCreateTask, name);
  h.take(h.engine->on_create(name, remote_task(id, RemoteTaskStatus::kPending), h.now));
}

TEST(TaskMachine, HappyPathToDownloaded) {
  Harness h;
  TaskSpec spec = task_spec("intro", {"hero"});
  spec.image_urls.push_back("https://cdn.example.com/street.jpg");
  SpecSet s;
  s.assets = {asset_spec("hero")};
  s.tasks = {spec};
  h.sync(s);
  EXPECT_EQ(h.tstate("intro"), TaskState::kWaiting);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);

  h.pop(Kind::kUploadAsset, "hero");
  const Ready& r = h.take(
      h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kActive), h.now));
  // Submitted in the same step that saw the asset become Active.
  EXPECT_TRUE(h.has_event("intro", "Waiting", "Ready"));
  EXPECT_TRUE(h.has_event("intro", "Ready", "Submitting"));
  ASSERT_EQ(h.count(Kind::kCreateTask, "intro"), 1u);
  const Request c = h.pop(Kind::kCreateTask, "intro");
  const TaskRecord* rec = h.engine->task("intro");
  EXPECT_EQ(rec->request_body, c.body);
  bool persisted = false;
  for (const auto& t : r.tasks) persisted = persisted || (t.state == TaskState::kSubmitting);
  EXPECT_TRUE(persisted) << "the Submitting intent is in the same Ready as the request";
  auto body = nlohmann::json::parse(c.body);
  EXPECT_EQ(body["model"], "seedance");
  EXPECT_EQ(body["task_type"], "seedance-2-fast-less-restriction");
  EXPECT_EQ(body["input"]["image_urls"][0], "asset://" + asset_id(1));
  EXPECT_EQ(body["input"]["image_urls"][1], "https://cdn.example.com/street.jpg");
  EXPECT_EQ(body["input"]["duration"], 8);

  const std::string id = "7c1e9a0b-1111-4222-8333-944455556666";
  h.take(h.engine->on_create("intro", remote_task(id, RemoteTaskStatus::kPending), h.now));
  EXPECT_EQ(h.tstate("intro"), TaskState::kSubmitted);
  EXPECT_EQ(h.engine->task("intro")->remote_id, id);
  EXPECT_EQ(h.engine->next_wakeup(), h.now + seconds(10));

  h.advance(seconds(10));
  ASSERT_EQ(h.count(Kind::kGetTask, "intro"), 1u);
  EXPECT_EQ(h.pop(Kind::kGetTask, "intro").remote_id, id);
  h.now += minutes(2) + seconds(31);
  h.take(h.engine->on_get_task(
      "intro", remote_task(id, RemoteTaskStatus::kCompleted, "https://storage.theapi.app/v.mp4"),
      h.now));
  EXPECT_EQ(h.tstate("intro"), TaskState::kCompleted);
  EXPECT_TRUE(h.has_log("task intro: Submitted -> Completed (7c1e…, 2m41s)"));
  ASSERT_EQ(h.count(Kind::kDownload, "intro"), 1u);
  const Request d = h.pop(Kind::kDownload, "intro");
  EXPECT_EQ(d.url, "https://storage.theapi.app/v.mp4");
  EXPECT_EQ(d.path, "/out/intro.mp4");
  h.take(h.engine->on_download("intro", DownloadResult{d.path, 1234}, h.now));
  EXPECT_EQ(h.tstate("intro"), TaskState::kDownloaded);
  EXPECT_EQ(h.engine->task("intro")->output_path, "/out/intro.mp4");
  EXPECT_TRUE(h.engine->all_downloaded());
  EXPECT_TRUE(h.engine->all_terminal());
  const size_t before = h.pending.size();
  h.advance(hours(12));
  EXPECT_EQ(h.pending.size(), before) << "a Held task is never resubmitted on its own";
}

TEST(TaskMachine, NeverSubmittedBeforeEveryAssetIsActive) {
  Harness h;
  SpecSet s;
  s.assets = {asset_spec("a"), asset_spec("b")};
  s.tasks = {task_spec("t", {"a", "b"})};
  h.sync(s);
  h.activate_asset("a", asset_id(1));
  EXPECT_EQ(h.tstate("t"), TaskState::kWaiting);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  h.pop(Kind::kUploadAsset, "b");
  h.take(
      h.engine->on_upload("b", remote_asset(asset_id(2), RemoteAssetStatus::kProcessing), h.now));
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  const Ready& r = h.take(h.engine->on_list(
      std::vector<RemoteAsset>{remote_asset(asset_id(2), RemoteAssetStatus::kActive)}, h.now));
  bool created = false;
  for (const auto& q : r.requests) created = created || q.kind == Kind::kCreateTask;
  EXPECT_TRUE(created) << "created in the same step as the last asset activates";
}

TEST(TaskMachine, RemoteFailureKeepsCodeMessageAndLogs) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "task-1");
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kGetTask, "t");
  RemoteTask f = remote_task("task-1", RemoteTaskStatus::kFailed);
  f.error_code = 10003;
  f.error_message = "Your content violated community guidelines.";
  f.logs = {"The request was rejected due to copyright restrictions."};
  h.take(h.engine->on_get_task("t", f, h.now));
  const TaskRecord* t = h.engine->task("t");
  EXPECT_EQ(t->state, TaskState::kFailed);
  EXPECT_EQ(t->error_code, 10003);
  EXPECT_EQ(t->last_error, "Your content violated community guidelines.");
  ASSERT_FALSE(h.events.empty());
  EXPECT_NE(h.events.back().detail.find("copyright restrictions"), std::string::npos);
  // Nothing polls the task any more (only hero's TTL check, days away, may remain).
  const size_t before = h.pending.size();
  h.advance(hours(12));
  EXPECT_EQ(h.pending.size(), before);
}

TEST(TaskMachine, PermanentCreateErrorFailsVerbatim) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create(
      "t",
      err<RemoteTask>(permanent(422, "asset:// references require a -less-restriction task type")),
      h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kFailed);
  EXPECT_EQ(h.engine->task("t")->error_code, 422);
  EXPECT_EQ(h.engine->task("t")->last_error,
            "asset:// references require a -less-restriction task type");
}

TEST(TaskMachine, CreateSaysAssetNotFoundExpiresItAndWaits) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create(
      "t", err<RemoteTask>(permanent(400, "asset not active: " + asset_id(1))), h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kUploading);
  EXPECT_TRUE(h.has_event("hero", "Active", "Expired"));
  EXPECT_EQ(h.tstate("t"), TaskState::kWaiting);
  EXPECT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
  h.activate_asset("hero", asset_id(2));
  ASSERT_EQ(h.count(Kind::kCreateTask, "t"), 1u);
  EXPECT_NE(h.pop(Kind::kCreateTask, "t").body.find(asset_id(2)), std::string::npos);
}

TEST(TaskMachine, CreateAssetErrorWithoutIdRechecksAssets) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create("t", err<RemoteTask>(permanent(400, "asset not found")), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kWaiting);
  ASSERT_EQ(h.count(Kind::kGetAsset, "hero"), 1u);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  h.pop(Kind::kGetAsset, "hero");
  h.take(
      h.engine->on_get_asset("hero", err<RemoteAsset>(permanent(404, "asset not found")), h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
}

TEST(TaskMachine, CreateNeverSentGoesBackToReadyWithBackoff) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create("t", err<RemoteTask>(transient("connect refused", false, 0)), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kReady);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  ASSERT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kCreateTask, "t"), 1u);
  EXPECT_EQ(h.tstate("t"), TaskState::kSubmitting);
}

TEST(TaskMachine, CreateOutcomeUnknownIsHeld) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create("t", err<RemoteTask>(transient("connection reset", true, 0)), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kHeld);
  EXPECT_EQ(h.engine->task("t")->last_error, "outcome unknown: connection reset");
  EXPECT_TRUE(h.engine->all_terminal());
  const size_t before = h.pending.size();
  h.advance(hours(12));
  EXPECT_EQ(h.pending.size(), before) << "a Held task is never resubmitted on its own";
}

TEST(TaskMachine, CreateOutcomeUnknownResubmitsWhenConfigured) {
  EngineOptions o = Harness::default_options();
  o.resubmit_uncertain = true;
  Harness h(o);
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create("t", err<RemoteTask>(transient("timeout", true, 0)), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kReady);
  ASSERT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kCreateTask, "t"), 1u);
}

TEST(TaskMachine, GetTask404Fails) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "task-1");
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kGetTask, "t");
  h.take(h.engine->on_get_task("t", err<RemoteTask>(permanent(404, "task not found")), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kFailed);
  EXPECT_EQ(h.engine->task("t")->last_error, "task not found on PiAPI");
}

TEST(TaskMachine, PollBackoffGrowsAndResetsOnStatusChange) {
  EngineOptions o = Harness::default_options();
  o.task_first_poll = seconds(10);
  o.max_poll_interval = seconds(60);
  Harness h(o);
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "task-1");
  std::vector<Duration> gaps;
  auto poll = [&](RemoteTaskStatus st) {
    const TimePoint before = h.now;
    EXPECT_TRUE(h.wake());
    gaps.push_back(h.now - before);
    h.pop(Kind::kGetTask, "t");
    h.take(h.engine->on_get_task("t", remote_task("task-1", st), h.now));
  };
  for (int i = 0; i < 8; ++i) poll(RemoteTaskStatus::kPending);
  EXPECT_EQ(gaps[0], seconds(10));
  for (Duration g : gaps) {
    EXPECT_GE(g, seconds(10));
    EXPECT_LE(g, seconds(60));
  }
  EXPECT_GT(gaps[6] + gaps[7], seconds(40)) << "later polls are spaced further apart";
  poll(RemoteTaskStatus::kProcessing);  // status change: next gap is the first interval again
  poll(RemoteTaskStatus::kProcessing);
  EXPECT_EQ(gaps.back(), seconds(10));
}

TEST(TaskMachine, RetryAfterOnPollIsHonoured) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "task-1");
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kGetTask, "t");
  ApiError e = transient("HTTP 429 Too Many Requests", true, 429);
  e.retry_after = seconds(30);
  h.take(h.engine->on_get_task("t", err<RemoteTask>(e), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kSubmitted);
  ASSERT_TRUE(h.engine->next_wakeup());
  EXPECT_GE(*h.engine->next_wakeup(), h.now + seconds(30));
}

TEST(TaskMachine, DownloadTransientRetriesPermanentFails) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"}), task_spec("u", {"hero"})});
  for (const std::string n : {"t", "u"}) {
    submit(h, n, "id-" + n);
  }
  ASSERT_TRUE(h.wake());
  for (const std::string n : {"t", "u"}) {
    h.pop(Kind::kGetTask, n);
    h.take(h.engine->on_get_task(
        n, remote_task("id-" + n, RemoteTaskStatus::kCompleted, "https://v/" + n), h.now));
  }
  h.pop(Kind::kDownload, "t");
  h.take(
      h.engine->on_download("t", err<DownloadResult>(transient("read timeout", true, 0)), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kCompleted);
  ASSERT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kDownload, "t"), 1u);
  h.pop(Kind::kDownload, "u");
  h.take(h.engine->on_download("u", err<DownloadResult>(permanent(403, "Forbidden")), h.now));
  EXPECT_EQ(h.tstate("u"), TaskState::kFailed);
  EXPECT_NE(h.engine->task("u")->last_error.find("Forbidden"), std::string::npos);
}

TEST(TaskMachine, PassThroughIdIsCheckedBeforeFirstSubmit) {
  Harness h;
  TaskSpec ok = task_spec("ok", {});
  ok.image_urls = {"asset://" + asset_id(100)};
  TaskSpec bad = task_spec("bad", {});
  bad.image_urls = {"asset://" + asset_id(101)};
  SpecSet s;
  s.tasks = {ok, bad};
  h.sync(s);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  ASSERT_EQ(h.count(Kind::kGetAsset, asset_id(100)), 1u);
  ASSERT_EQ(h.count(Kind::kGetAsset, asset_id(101)), 1u);
  h.pop(Kind::kGetAsset, asset_id(100));
  h.pop(Kind::kGetAsset, asset_id(101));
  h.take(h.engine->on_get_asset(asset_id(100),
                                remote_asset(asset_id(100), RemoteAssetStatus::kActive), h.now));
  h.take(h.engine->on_get_asset(asset_id(101), err<RemoteAsset>(permanent(404, "asset not found")),
                                h.now));
  EXPECT_EQ(h.tstate("bad"), TaskState::kBlocked);
  EXPECT_NE(h.engine->task("bad")->last_error.find(asset_id(101)), std::string::npos);
  ASSERT_EQ(h.count(Kind::kCreateTask, "ok"), 1u);
  EXPECT_NE(h.pop(Kind::kCreateTask, "ok").body.find("asset://" + asset_id(100)),
            std::string::npos);
}

TEST(TaskMachine, TasksWithoutAssetsAreSubmittedAtOnce) {
  Harness h;
  TaskSpec t = task_spec("plain", {});
  t.task_type = "seedance-2";
  SpecSet s;
  s.tasks = {t};
  h.sync(s);
  EXPECT_EQ(h.tstate("plain"), TaskState::kSubmitting);
  EXPECT_EQ(h.count(Kind::kCreateTask, "plain"), 1u);
}

TEST(TaskMachine, TransitionLogLineAndEventShape) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "abcdef12-0000-0000-0000-000000000000");
  const EventRecord& e = h.events.back();
  EXPECT_EQ(e.entity_kind, "task");
  EXPECT_EQ(e.name, "t");
  EXPECT_EQ(e.from, "Submitting");
  EXPECT_EQ(e.to, "Submitted");
  EXPECT_EQ(e.at, h.now);
  EXPECT_NE(e.detail.find("abcdef12-0000-0000-0000-000000000000"), std::string::npos);
  EXPECT_TRUE(h.has_log("task t: Submitting -> Submitted (abcd…, 0ms)"));
  EXPECT_TRUE(h.has_log("asset hero: Uploading -> Active (…00001, 0ms)"));
}

TEST(TaskMachine, PollFailuresGiveUpAfter24Hours) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "task-1");
  int polls = 0;
  while (h.tstate("t") == TaskState::kSubmitted && polls < 100000) {
    ASSERT_TRUE(h.wake());
    if (h.count(Kind::kGetTask, "t") == 0) continue;
    h.pop(Kind::kGetTask, "t");
    ++polls;
    h.take(h.engine->on_get_task("t", err<RemoteTask>(transient("HTTP 500", true, 500)), h.now));
  }
  EXPECT_EQ(h.tstate("t"), TaskState::kFailed);
  EXPECT_GE(h.now - kT0, hours(24));
  EXPECT_LT(h.now - kT0, hours(25));
  EXPECT_NE(h.engine->task("t")->last_error.find("gave up"), std::string::npos);
  EXPECT_NE(h.engine->task("t")->last_error.find("HTTP 500"), std::string::npos);
}

TEST(TaskMachine, SuccessEndsTheFailureStreak) {
  Harness h;
  start_with_active_hero(h, {task_spec("t", {"hero"})});
  submit(h, "t", "task-1");
  // 20 hours of errors, one success, then 20 more hours of errors: no give-up.
  auto fail_for = [&h](Duration d) {
    const TimePoint until = h.now + d;
    while (h.now < until) {
      ASSERT_TRUE(h.wake());
      if (h.count(Kind::kGetTask, "t") == 0) continue;
      h.pop(Kind::kGetTask, "t");
      h.take(h.engine->on_get_task("t", err<RemoteTask>(transient("HTTP 502", true, 502)), h.now));
    }
  };
  fail_for(hours(20));
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kGetTask, "t");
  h.take(h.engine->on_get_task("t", remote_task("task-1", RemoteTaskStatus::kProcessing), h.now));
  fail_for(hours(20));
  EXPECT_EQ(h.tstate("t"), TaskState::kSubmitted);
}

TEST(TaskMachine, UndeclaredAssetBlocks) {
  Harness h;
  SpecSet s;
  s.tasks = {task_spec("t", {"ghost"})};
  h.sync(s);
  EXPECT_EQ(h.tstate("t"), TaskState::kBlocked);
  EXPECT_NE(h.engine->task("t")->last_error.find("ghost"), std::string::npos);
}

TEST(TaskMachine, HeldTasksFillingTheCapAreReportedOnce) {
  EngineOptions o = Harness::default_options();
  o.max_tasks_in_flight = 1;
  Harness h(o);
  start_with_active_hero(h, {task_spec("a", {"hero"}), task_spec("b", {"hero"})});
  h.pop(Kind::kCreateTask, "a");
  h.take(h.engine->on_create("a", err<RemoteTask>(transient("reset", true, 0)), h.now));
  EXPECT_EQ(h.tstate("b"), TaskState::kReady);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  auto warnings = [&h] {
    return std::count_if(h.logs.begin(), h.logs.end(), [](const LogLine& l) {
      return l.text.find("use every in-flight slot") != std::string::npos;
    });
  };
  EXPECT_EQ(warnings(), 1);
  h.advance(minutes(1));
  EXPECT_EQ(warnings(), 1);
  h.take(h.engine->retry("a", h.now));
  EXPECT_EQ(h.count(Kind::kCreateTask), 1u);
}

}  // namespace
}  // namespace sd
