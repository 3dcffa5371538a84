// Engine-wide behaviour: global limits, drain, recovery after a crash,
// jobs_dir reconciliation, operator retry and the summary queries.
#include <gtest/gtest.h>

#include "tests/core/engine_harness.hpp"

namespace sd {
namespace {

using namespace sd::testing;

SpecSet many_tasks(int n, const std::string& asset = "hero") {
  SpecSet s;
  s.assets = {asset_spec(asset)};
  for (int i = 0; i < n; ++i) s.tasks.push_back(task_spec("t" + std::to_string(i), {asset}));
  return s;
}

int in_flight(const Engine& e) {
  const Summary s = e.summary();
  int n = 0;
  for (TaskState st : {TaskState::kSubmitting, TaskState::kSubmitted, TaskState::kHeld}) {
    auto it = s.tasks.find(st);
    if (it != s.tasks.end()) n += it->second;
  }
  return n;
}

// ---- limits ------------------------------------------------------------------

TEST(EngineLimits, InFlightCapIsNeverExceeded) {
  EngineOptions o = Harness::default_options();
  o.max_tasks_in_flight = 3;
  Harness h(o);
  h.sync(many_tasks(20));
  h.activate_asset("hero", asset_id(1));
  int max_seen = 0, done = 0, held = 0, serial = 0;
  for (int step = 0; step < 5000 && done + held < 20; ++step) {
    max_seen = std::max(max_seen, in_flight(*h.engine));
    ASSERT_LE(in_flight(*h.engine), 3);
    if (!h.pending.empty()) {
      const Request r = h.pending.front();
      h.pending.erase(h.pending.begin());
      h.now += seconds(1);
      if (r.kind == Kind::kCreateTask) {
        // Every 7th create loses its response: the task is Held and keeps its slot.
        if (++serial % 7 == 0) {
          h.take(h.engine->on_create(r.name, err<RemoteTask>(transient("reset", true, 0)), h.now));
          ++held;
        } else {
          h.take(h.engine->on_create(
              r.name, remote_task("id-" + r.name, RemoteTaskStatus::kPending), h.now));
        }
      } else if (r.kind == Kind::kGetTask) {
        h.take(h.engine->on_get_task(
            r.name, remote_task(r.remote_id, RemoteTaskStatus::kCompleted, "https://v/x"), h.now));
      } else if (r.kind == Kind::kDownload) {
        h.take(h.engine->on_download(r.name, DownloadResult{r.path, 1}, h.now));
        ++done;
      }
    } else if (!h.wake()) {
      break;
    }
  }
  EXPECT_EQ(max_seen, 3);
  // Held tasks keep their slots: with 2 held only 1 slot is left, but work still finishes.
  EXPECT_EQ(done + held, 20) << "done=" << done << " held=" << held;
}

TEST(EngineLimits, TokenBucketSpacesRequests) {
  EngineOptions o = Harness::default_options();
  o.requests_per_second = 2;
  Harness h(o);
  SpecSet s;
  for (int i = 0; i < 10; ++i) s.tasks.push_back(task_spec("t" + std::to_string(i), {}));
  h.sync(s);
  EXPECT_EQ(h.count(Kind::kCreateTask), 2u) << "burst = rps";
  auto w = h.engine->next_wakeup();
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, h.now + milliseconds(500));
  // Over a simulated minute at most 2/s (+ burst) are emitted.
  std::vector<TimePoint> times;
  size_t seen = h.pending.size();
  for (int i = 0; i < 2 * 60 && h.wake(); ++i) {
    for (; seen < h.pending.size(); ++seen) times.push_back(h.now);
  }
  EXPECT_EQ(h.pending.size(), 10u);
  ASSERT_EQ(times.size(), 8u);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 1], milliseconds(500));
}

TEST(EngineLimits, ConcurrencyBoundsOutstandingRequests) {
  EngineOptions o = Harness::default_options();
  o.max_concurrent_requests = 2;
  Harness h(o);
  SpecSet s = assets_only(5);
  h.sync(s);
  EXPECT_EQ(h.pending.size(), 2u);
  EXPECT_EQ(h.engine->summary().requests_in_flight, 2);
  EXPECT_FALSE(h.engine->next_wakeup()) << "only a reply can make progress";
  const Request r = h.pop(Kind::kUploadAsset);
  h.take(h.engine->on_upload(r.name, remote_asset(asset_id(1), RemoteAssetStatus::kActive), h.now));
  EXPECT_EQ(h.pending.size(), 2u);
}

TEST(EngineLimits, DrainStopsUploadsAndCreatesButNotPolls) {
  Harness h;
  SpecSet s = many_tasks(2);
  s.assets.push_back(asset_spec("late"));
  h.sync(s);
  h.pop(Kind::kUploadAsset, "late");
  h.activate_asset("hero", asset_id(1));
  h.pop(Kind::kCreateTask, "t0");
  h.pop(Kind::kCreateTask, "t1");
  h.take(h.engine->on_create("t0", remote_task("id0", RemoteTaskStatus::kPending), h.now));
  h.engine->drain();
  h.take(h.engine->on_create("t1", err<RemoteTask>(transient("refused", false, 0)), h.now));
  h.take(h.engine->on_upload("late", err<RemoteAsset>(transient("refused", false, 0)), h.now));
  h.advance(minutes(5));
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
  EXPECT_EQ(h.count(Kind::kGetTask, "t0"), 1u);
}

TEST(EngineLimits, AssetQuotaBoundsLiveUploads) {
  EngineOptions o = Harness::default_options();
  o.max_assets = 2;
  Harness h(o);
  SpecSet s = assets_only(3);
  h.sync(s);
  EXPECT_EQ(h.count(Kind::kUploadAsset), 2u);
  EXPECT_EQ(h.astate("a2"), AssetState::kDeclared);
  h.pop(Kind::kUploadAsset, "a0");
  h.take(h.engine->on_upload("a0", err<RemoteAsset>(permanent(400, "bad image")), h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset, "a2"), 1u) << "a Failed asset frees its quota slot";
}

TEST(EngineLimits, UploadRetryAtFullQuotaIsNotBlockedByItsOwnSlot) {
  // Every declared asset is Uploading, so the quota is full; an upload that
  // failed (surely not sent, or lost and not found in the list) must still be
  // retried: it holds its slot already.
  EngineOptions o = Harness::default_options();
  o.max_assets = 2;
  Harness h(o);
  SpecSet s = assets_only(2);
  h.sync(s);
  ASSERT_EQ(h.count(Kind::kUploadAsset), 2u);
  h.pop(Kind::kUploadAsset, "a0");
  ApiError busy = transient("too many requests", /*maybe_processed=*/false, 429);
  busy.retry_after = seconds(1);
  h.take(h.engine->on_upload("a0", err<RemoteAsset>(busy), h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset, "a0"), 0u);
  ASSERT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kUploadAsset, "a0"), 1u) << "the retry was blocked by the quota";

  // A lost upload that the list does not show is uploaded again, too.
  h.pop(Kind::kUploadAsset, "a1");
  h.take(h.engine->on_upload("a1", err<RemoteAsset>(transient("reset")), h.now));
  while (h.count(Kind::kListAssets) == 0 && h.wake()) {
  }
  h.pop(Kind::kListAssets);
  h.take(h.engine->on_list(std::vector<RemoteAsset>{}, h.now));
  while (h.count(Kind::kUploadAsset, "a1") == 0 && h.wake()) {
  }
  EXPECT_EQ(h.count(Kind::kUploadAsset, "a1"), 1u) << "the re-upload was blocked by the quota";
}

TEST(EngineLimits, UploadRetryIsNotQueuedBehindANewUploadWaitingForQuota) {
  EngineOptions o = Harness::default_options();
  o.max_assets = 2;
  Harness h(o);
  SpecSet s = assets_only(3);
  h.sync(s);
  ASSERT_EQ(h.count(Kind::kUploadAsset), 2u);
  EXPECT_EQ(h.astate("a2"), AssetState::kDeclared) << "a2 waits for a quota slot";
  h.pop(Kind::kUploadAsset, "a0");
  h.take(h.engine->on_upload("a0", err<RemoteAsset>(transient("refused", false, 0)), h.now));
  ASSERT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kUploadAsset, "a0"), 1u) << "the retry is not stuck behind a2";
  EXPECT_EQ(h.count(Kind::kUploadAsset, "a2"), 0u);
}

// ---- recovery ----------------------------------------------------------------

AssetRecord asset_rec(const std::string& name, AssetState st, const std::string& id = "") {
  AssetRecord r;
  r.spec = asset_spec(name);
  r.state = st;
  r.remote_id = id;
  r.created_at = r.state_since = kT0 - hours(1);
  return r;
}

TaskRecord task_rec(const std::string& name, TaskState st, const std::vector<std::string>& assets,
                    const std::string& id = "") {
  TaskRecord r;
  r.spec = task_spec(name, assets);
  r.state = st;
  r.remote_id = id;
  r.created_at = r.state_since = kT0 - hours(1);
  if (st == TaskState::kCompleted) r.video_url = "https://v/" + name;
  return r;
}

TEST(EngineRecovery, UploadingIsReconciledThroughListBeforeAnyUpload) {
  Harness h;
  h.take(h.engine->recover({asset_rec("hero", AssetState::kUploading)},
                           {task_rec("t", TaskState::kWaiting, {"hero"})}, h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
  ASSERT_EQ(h.count(Kind::kListAssets), 1u);
  h.pop(Kind::kListAssets);
  h.take(h.engine->on_list(
      std::vector<RemoteAsset>{
          remote_asset(asset_id(3), RemoteAssetStatus::kActive, asset_spec("hero").upload_name())},
      h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kActive);
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
  EXPECT_EQ(h.count(Kind::kCreateTask, "t"), 1u);
}

TEST(EngineRecovery, SubmittingBecomesHeld) {
  Harness h;
  TaskRecord t = task_rec("t", TaskState::kSubmitting, {"hero"});
  t.request_body = "{}";
  h.take(h.engine->recover({asset_rec("hero", AssetState::kActive, asset_id(1))}, {t}, h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kHeld);
  EXPECT_TRUE(h.has_event("t", "Submitting", "Held"));
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  EXPECT_EQ(in_flight(*h.engine), 1) << "Held counts as in flight";
}

TEST(EngineRecovery, SubmittingIsResubmittedWhenConfigured) {
  EngineOptions o = Harness::default_options();
  o.resubmit_uncertain = true;
  Harness h(o);
  h.take(h.engine->recover({asset_rec("hero", AssetState::kActive, asset_id(1))},
                           {task_rec("t", TaskState::kSubmitting, {"hero"})}, h.now));
  EXPECT_TRUE(h.has_event("t", "Submitting", "Ready"));
  EXPECT_EQ(h.count(Kind::kCreateTask, "t"), 1u);
}

TEST(EngineRecovery, EveryOtherStateResumes) {
  Harness h;
  h.take(h.engine->recover(
      {asset_rec("active", AssetState::kActive, asset_id(1)),
       asset_rec("proc", AssetState::kProcessing, asset_id(2)),
       asset_rec("decl", AssetState::kDeclared), asset_rec("bad", AssetState::kFailed)},
      {task_rec("sub", TaskState::kSubmitted, {"active"}, "id-sub"),
       task_rec("comp", TaskState::kCompleted, {"active"}, "id-comp"),
       task_rec("ready", TaskState::kReady, {"active"}),
       task_rec("wait", TaskState::kWaiting, {"proc"}),
       task_rec("done", TaskState::kDownloaded, {"active"}, "id-done")},
      h.now));
  EXPECT_EQ(h.count(Kind::kGetTask, "sub"), 1u);
  EXPECT_EQ(h.count(Kind::kDownload, "comp"), 1u);
  EXPECT_EQ(h.count(Kind::kCreateTask, "ready"), 1u);
  EXPECT_EQ(h.count(Kind::kUploadAsset, "decl"), 1u);
  EXPECT_EQ(h.count(Kind::kListAssets), 1u);
  EXPECT_EQ(h.count(Kind::kCreateTask, "wait"), 0u);
  EXPECT_EQ(h.count(Kind::kUploadAsset, "bad"), 0u);
  EXPECT_EQ(h.tstate("done"), TaskState::kDownloaded);
  EXPECT_EQ(h.pending.size(), 5u);
}

TEST(EngineRecovery, ExpiredAssetNeededByWaitingTaskIsUploadedAgain) {
  Harness h;
  h.take(h.engine->recover({asset_rec("old", AssetState::kExpired)},
                           {task_rec("t", TaskState::kWaiting, {"old"})}, h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset, "old"), 1u);
  EXPECT_TRUE(h.has_event("old", "Expired", "Uploading"));
}

TEST(EngineRecovery, RetiredUnsubmittedTasksAreCancelled) {
  Harness h;
  TaskRecord t = task_rec("gone", TaskState::kReady, {"hero"});
  t.retired = true;
  h.take(h.engine->recover({asset_rec("hero", AssetState::kActive, asset_id(1))}, {t}, h.now));
  EXPECT_EQ(h.tstate("gone"), TaskState::kCancelled);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  EXPECT_TRUE(h.engine->all_terminal());
}

// ---- sync_specs ----------------------------------------------------------------

TEST(EngineSync, AddChangeRemove) {
  Harness h;
  SpecSet s = many_tasks(3);
  h.sync(s);
  // Changing a task before submission updates it.
  s.tasks[0].prompt = "Image 1 runs at dawn.";
  h.sync(s);
  EXPECT_EQ(h.engine->task("t0")->spec.prompt, "Image 1 runs at dawn.");
  EXPECT_EQ(h.tstate("t0"), TaskState::kWaiting);
  h.activate_asset("hero", asset_id(1));
  EXPECT_NE(h.pop(Kind::kCreateTask, "t0").body.find("runs at dawn"), std::string::npos);
  h.take(h.engine->on_create("t0", remote_task("id0", RemoteTaskStatus::kPending), h.now));
  // Changing a submitted task keeps it and warns.
  s.tasks[0].prompt = "Something else.";
  // Removing t1 (Submitting) retires it; t2 is removed before submission.
  h.pop(Kind::kCreateTask, "t1");
  h.take(h.engine->on_create("t1", remote_task("id1", RemoteTaskStatus::kPending), h.now));
  SpecSet s2;
  s2.assets = s.assets;
  s2.tasks = {s.tasks[0], task_spec("t3", {"hero"})};
  h.sync(s2);
  EXPECT_EQ(h.engine->task("t0")->spec.prompt, "Image 1 runs at dawn.");
  EXPECT_TRUE(h.has_log("Rename the task"));
  EXPECT_TRUE(h.engine->task("t1")->retired);
  EXPECT_EQ(h.tstate("t1"), TaskState::kSubmitted);
  EXPECT_EQ(h.count(Kind::kCreateTask, "t3"), 1u);
}

TEST(EngineSync, RemovedBeforeSubmissionIsCancelledAndRevived) {
  EngineOptions o = Harness::default_options();
  Harness h(o);
  SpecSet s = many_tasks(2);
  h.sync(s);
  SpecSet s2 = s;
  s2.tasks.pop_back();
  h.sync(s2);
  EXPECT_EQ(h.tstate("t1"), TaskState::kCancelled);
  EXPECT_TRUE(h.engine->task("t1")->retired);
  EXPECT_TRUE(h.has_event("t1", "Waiting", "Cancelled"));
  h.sync(s);
  EXPECT_FALSE(h.engine->task("t1")->retired);
  EXPECT_EQ(h.tstate("t1"), TaskState::kWaiting);
  h.activate_asset("hero", asset_id(1));
  EXPECT_EQ(h.count(Kind::kCreateTask, "t1"), 1u);
}

TEST(EngineSync, ChangedAssetAfterUploadIsUploadedAgainUnderNewName) {
  Harness h;
  SpecSet s = many_tasks(1);
  h.sync(s);
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
  s.assets[0].url = "https://cdn.example.com/hero-v2.png";
  h.sync(s);
  EXPECT_TRUE(h.has_log("uploading again"));
  ASSERT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
  const Request up = h.pop(Kind::kUploadAsset, "hero");
  EXPECT_EQ(up.upload.name, s.assets[0].upload_name());
  EXPECT_EQ(up.upload.url, "https://cdn.example.com/hero-v2.png");
  EXPECT_EQ(h.engine->asset("hero")->remote_id, "");
}

TEST(EngineSync, ChangedAssetDuringUploadWaitsForTheReply) {
  Harness h;
  SpecSet s = many_tasks(1);
  h.sync(s);
  h.pop(Kind::kUploadAsset, "hero");
  s.assets[0].url = "https://cdn.example.com/hero-v2.png";
  h.sync(s);
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u) << "one request per entity at a time";
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kActive), h.now));
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u) << "the old upload must not be used";
  ASSERT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
  EXPECT_EQ(h.pop(Kind::kUploadAsset, "hero").upload.url, "https://cdn.example.com/hero-v2.png");
}

TEST(EngineSync, RemovedWhileSubmittingIsCancelledIfTheCreateSurelyFailed) {
  Harness h;
  SpecSet s = many_tasks(2);
  h.sync(s);
  h.activate_asset("hero", asset_id(1));
  h.pop(Kind::kCreateTask, "t0");
  h.pop(Kind::kCreateTask, "t1");
  SpecSet none;
  none.assets = s.assets;
  h.sync(none);
  EXPECT_TRUE(h.engine->task("t0")->retired);
  EXPECT_EQ(h.tstate("t0"), TaskState::kSubmitting);
  h.take(h.engine->on_create("t0", err<RemoteTask>(transient("refused", false, 0)), h.now));
  EXPECT_EQ(h.tstate("t0"), TaskState::kCancelled);
  h.take(h.engine->on_create("t1", remote_task("id1", RemoteTaskStatus::kPending), h.now));
  EXPECT_EQ(h.tstate("t1"), TaskState::kSubmitted) << "a submitted task keeps running";
  h.advance(minutes(10));
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  EXPECT_EQ(h.count(Kind::kGetTask, "t1"), 1u);
}

// ---- retry -------------------------------------------------------------------

TEST(EngineRetry, FailedTaskAndItsFailedAssetAreRequeued) {
  Harness h;
  h.sync(many_tasks(1));
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", err<RemoteAsset>(permanent(400, "bad image")), h.now));
  EXPECT_EQ(h.tstate("t0"), TaskState::kBlocked);
  h.take(h.engine->retry("t0", h.now));
  EXPECT_TRUE(h.has_event("hero", "Failed", "Declared"));
  EXPECT_TRUE(h.has_event("t0", "Blocked", "Waiting"));
  EXPECT_EQ(h.engine->task("t0")->last_error, "");
  h.activate_asset("hero", asset_id(1));
  EXPECT_EQ(h.count(Kind::kCreateTask, "t0"), 1u);
}

TEST(EngineRetry, HeldAndFailedTasksAreResubmitted) {
  Harness h;
  h.sync(many_tasks(2));
  h.activate_asset("hero", asset_id(1));
  h.pop(Kind::kCreateTask, "t0");
  h.pop(Kind::kCreateTask, "t1");
  h.take(h.engine->on_create("t0", err<RemoteTask>(transient("reset", true, 0)), h.now));
  h.take(h.engine->on_create("t1", err<RemoteTask>(permanent(400, "invalid duration")), h.now));
  EXPECT_EQ(h.tstate("t0"), TaskState::kHeld);
  EXPECT_EQ(h.tstate("t1"), TaskState::kFailed);
  h.take(h.engine->retry("t0", h.now));
  h.take(h.engine->retry("t1", h.now));
  EXPECT_EQ(h.count(Kind::kCreateTask, "t0"), 1u);
  EXPECT_EQ(h.count(Kind::kCreateTask, "t1"), 1u);
  EXPECT_EQ(h.engine->task("t1")->error_code, 0);
}

TEST(EngineRetry, OtherStatesOnlyWarn) {
  Harness h;
  h.sync(many_tasks(1));
  const Ready& r = h.take(h.engine->retry("t0", h.now));
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.logs.size(), 1u);
  EXPECT_EQ(r.logs[0].level, LogLine::Level::kWarn);
  const Ready& r2 = h.take(h.engine->retry("nope", h.now));
  ASSERT_EQ(r2.logs.size(), 1u);
  EXPECT_EQ(r2.logs[0].level, LogLine::Level::kWarn);
}

// ---- queries and persistence shape --------------------------------------------

TEST(EngineQueries, SummaryAndTerminalFlags) {
  Harness h;
  h.sync(many_tasks(2));
  Summary s = h.engine->summary();
  EXPECT_EQ(s.assets[AssetState::kUploading], 1);
  EXPECT_EQ(s.tasks[TaskState::kWaiting], 2);
  EXPECT_EQ(s.requests_in_flight, 1);
  EXPECT_FALSE(h.engine->all_terminal());
  EXPECT_FALSE(h.engine->all_downloaded());
  EXPECT_EQ(h.engine->asset("nope"), nullptr);
  EXPECT_EQ(h.engine->task("nope"), nullptr);
}

TEST(EngineQueries, EveryChangedRecordIsInReadyOnce) {
  Harness h;
  const Ready& r = h.sync(many_tasks(2));
  EXPECT_EQ(r.assets.size(), 1u);
  EXPECT_EQ(r.tasks.size(), 2u);
  EXPECT_EQ(r.assets[0].state, AssetState::kUploading);
  // A schedule-only change is persisted without an event.
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  const Ready& r2 = h.take(h.engine->on_list(
      std::vector<RemoteAsset>{remote_asset(asset_id(1), RemoteAssetStatus::kProcessing)}, h.now));
  EXPECT_TRUE(r2.events.empty());
  ASSERT_EQ(r2.assets.size(), 1u);
  EXPECT_TRUE(r2.assets[0].schedule.next_at.has_value());
}

TEST(EngineQueries, ReadyMergeAppends) {
  Ready a, b;
  a.logs.push_back({LogLine::Level::kInfo, "a"});
  b.logs.push_back({LogLine::Level::kInfo, "b"});
  b.requests.push_back(Request{});
  a.merge(std::move(b));
  ASSERT_EQ(a.logs.size(), 2u);
  EXPECT_EQ(a.logs[1].text, "b");
  EXPECT_EQ(a.requests.size(), 1u);
  EXPECT_TRUE(b.empty());
}

TEST(EngineQueries, UnexpectedRepliesAreIgnored) {
  Harness h;
  h.sync(many_tasks(1));
  const Ready& r =
      h.take(h.engine->on_create("t0", remote_task("x", RemoteTaskStatus::kPending), h.now));
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(h.tstate("t0"), TaskState::kWaiting);
  h.take(h.engine->on_list(std::vector<RemoteAsset>{}, h.now));
  h.take(h.engine->on_get_task("ghost", remote_task("x", RemoteTaskStatus::kPending), h.now));
  EXPECT_EQ(h.engine->summary().requests_in_flight, 1);
}

TEST(EngineQueries, RepliesWithoutIdsAreNotTrusted) {
  Harness h;
  h.sync(many_tasks(1));
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset("", RemoteAssetStatus::kProcessing), h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kUploading);
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  h.take(h.engine->on_list(
      std::vector<RemoteAsset>{
          remote_asset(asset_id(4), RemoteAssetStatus::kActive, asset_spec("hero").upload_name())},
      h.now));
  EXPECT_EQ(h.engine->asset("hero")->remote_id, asset_id(4));
  h.pop(Kind::kCreateTask, "t0");
  h.take(h.engine->on_create("t0", remote_task("", RemoteTaskStatus::kPending), h.now));
  EXPECT_EQ(h.tstate("t0"), TaskState::kHeld);
}

}  // namespace
}  // namespace sd
