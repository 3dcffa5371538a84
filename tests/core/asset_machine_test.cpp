// The asset state machine as the engine runs it: upload, batched list polls,
// reconciliation of lost uploads, failure, expiry and give-up.
#include <gtest/gtest.h>

#include "core/backoff.hpp"
#include "tests/core/engine_harness.hpp"

namespace sd {
namespace {

using namespace sd::testing;

SpecSet one_asset_one_task() {
  SpecSet s;
  s.assets = {asset_spec("hero")};
  s.tasks = {task_spec("intro", {"hero"})};
  return s;
}

TEST(AssetMachine, UploadThenListThenActive) {
  Harness h;
  const Ready& r = h.sync(one_asset_one_task());
  EXPECT_TRUE(h.has_event("hero", "", "Declared"));
  EXPECT_TRUE(h.has_event("hero", "Declared", "Uploading"));
  ASSERT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
  ASSERT_FALSE(r.assets.empty());
  const Request up = h.pop(Kind::kUploadAsset, "hero");
  EXPECT_EQ(up.upload.name, asset_spec("hero").upload_name());
  EXPECT_EQ(up.upload.url, "https://cdn.example.com/hero.png");
  EXPECT_EQ(h.astate("hero"), AssetState::kUploading);

  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kProcessing);
  EXPECT_EQ(h.engine->asset("hero")->remote_id, asset_id(1));
  EXPECT_EQ(h.count(Kind::kListAssets), 0u);
  EXPECT_EQ(h.engine->next_wakeup(), h.now + seconds(2));

  h.advance(seconds(2));
  ASSERT_EQ(h.count(Kind::kListAssets), 1u);
  h.pop(Kind::kListAssets);
  std::vector<RemoteAsset> items = {
      remote_asset(asset_id(1), RemoteAssetStatus::kActive, "", h.now + hours(72))};
  h.take(h.engine->on_list(items, h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kActive);
  EXPECT_EQ(h.engine->asset("hero")->expires_at, h.now + hours(72));
  EXPECT_TRUE(h.has_event("hero", "Processing", "Active"));
}

TEST(AssetMachine, UploadReplyActiveOrFailedSkipsProcessing) {
  Harness h;
  SpecSet s;
  s.assets = {asset_spec("a"), asset_spec("b")};
  h.sync(s);
  h.pop(Kind::kUploadAsset, "a");
  h.pop(Kind::kUploadAsset, "b");
  h.take(h.engine->on_upload("a", remote_asset(asset_id(1), RemoteAssetStatus::kActive), h.now));
  RemoteAsset failed = remote_asset(asset_id(2), RemoteAssetStatus::kFailed);
  failed.error = "InvalidParameter.DownloadFailed: the URL could not be fetched";
  h.take(h.engine->on_upload("b", failed, h.now));
  EXPECT_EQ(h.astate("a"), AssetState::kActive);
  EXPECT_EQ(h.astate("b"), AssetState::kFailed);
  EXPECT_EQ(h.engine->asset("b")->last_error, failed.error);
  EXPECT_TRUE(h.has_event("a", "Uploading", "Active"));
  EXPECT_TRUE(h.has_event("b", "Uploading", "Failed"));
}

TEST(AssetMachine, ProcessingAssetsShareOneListRequest) {
  Harness h;
  SpecSet s = assets_only(5);
  h.sync(s);
  for (int i = 0; i < 5; ++i) {
    const std::string n = "a" + std::to_string(i);
    h.pop(Kind::kUploadAsset, n);
    h.take(h.engine->on_upload(n, remote_asset(asset_id(i), RemoteAssetStatus::kProcessing),
                               h.now + milliseconds(i * 100)));
  }
  h.advance(seconds(5));
  EXPECT_EQ(h.count(Kind::kListAssets), 1u);
  EXPECT_EQ(h.count(Kind::kGetAsset), 0u);
  h.pop(Kind::kListAssets);
  std::vector<RemoteAsset> items;
  for (int i = 0; i < 5; ++i) {
    items.push_back(remote_asset(
        asset_id(i), i % 2 ? RemoteAssetStatus::kActive : RemoteAssetStatus::kProcessing));
  }
  h.take(h.engine->on_list(items, h.now));
  EXPECT_EQ(h.astate("a1"), AssetState::kActive);
  EXPECT_EQ(h.astate("a0"), AssetState::kProcessing);
  // Still-processing assets poll again through one list, later (backoff).
  EXPECT_EQ(h.count(Kind::kListAssets), 0u);
  ASSERT_TRUE(h.engine->next_wakeup());
  EXPECT_GE(*h.engine->next_wakeup(), h.now + seconds(2));
  EXPECT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kListAssets), 1u);
}

TEST(AssetMachine, MissingFromListFallsBackToGetAsset) {
  Harness h;
  SpecSet s;
  s.assets = {asset_spec("a")};
  h.sync(s);
  h.pop(Kind::kUploadAsset, "a");
  h.take(
      h.engine->on_upload("a", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing), h.now));
  for (int miss = 0; miss < 3; ++miss) {
    ASSERT_TRUE(h.wake());
    ASSERT_EQ(h.count(Kind::kListAssets), 1u) << miss;
    h.pop(Kind::kListAssets);
    h.take(h.engine->on_list(std::vector<RemoteAsset>{}, h.now));
    EXPECT_EQ(h.astate("a"), AssetState::kProcessing);
  }
  EXPECT_EQ(h.count(Kind::kGetAsset, "a"), 1u);
  const Request g = h.pop(Kind::kGetAsset, "a");
  EXPECT_EQ(g.remote_id, asset_id(1));
  h.take(h.engine->on_get_asset("a", remote_asset(asset_id(1), RemoteAssetStatus::kActive), h.now));
  EXPECT_EQ(h.astate("a"), AssetState::kActive);
}

TEST(AssetMachine, UploadNeverSentIsRetriedWithBackoff) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(
      h.engine->on_upload("hero", err<RemoteAsset>(transient("connect refused", false, 0)), h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kUploading);
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
  EXPECT_EQ(h.count(Kind::kListAssets), 0u);
  auto w = h.engine->next_wakeup();
  ASSERT_TRUE(w);
  EXPECT_GE(*w, h.now + kMinRetryDelay);
  EXPECT_LE(*w, h.now + seconds(1));
  ASSERT_TRUE(h.wake());
  EXPECT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
  EXPECT_EQ(h.count(Kind::kListAssets), 0u);
}

TEST(AssetMachine, UploadOutcomeUnknownIsReconciledByName) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", err<RemoteAsset>(transient("connection reset", true)), h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
  ASSERT_TRUE(h.wake());
  ASSERT_EQ(h.count(Kind::kListAssets), 1u);
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u) << "never re-upload before the list answered";
  h.pop(Kind::kListAssets);
  std::vector<RemoteAsset> items = {
      remote_asset(asset_id(7), RemoteAssetStatus::kActive, "someone-else"),
      remote_asset(asset_id(8), RemoteAssetStatus::kProcessing, asset_spec("hero").upload_name())};
  h.take(h.engine->on_list(items, h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kProcessing);
  EXPECT_EQ(h.engine->asset("hero")->remote_id, asset_id(8));
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
}

TEST(AssetMachine, UploadOutcomeUnknownNotFoundUploadsAgain) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", err<RemoteAsset>(transient("timeout", true, 0)), h.now));
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  h.take(h.engine->on_list(std::vector<RemoteAsset>{}, h.now));
  EXPECT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
}

TEST(AssetMachine, PermanentUploadErrorFailsAndBlocksTasks) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(
      h.engine->on_upload("hero", err<RemoteAsset>(permanent(400, "asset quota exceeded")), h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kFailed);
  EXPECT_EQ(h.engine->asset("hero")->last_error, "asset quota exceeded");
  EXPECT_EQ(h.tstate("intro"), TaskState::kBlocked);
  EXPECT_NE(h.engine->task("intro")->last_error.find("asset quota exceeded"), std::string::npos);
  EXPECT_TRUE(h.has_event("intro", "Waiting", "Blocked"));
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
}

TEST(AssetMachine, FailedInListKeepsRemoteErrorVerbatim) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  RemoteAsset f = remote_asset(asset_id(1), RemoteAssetStatus::kFailed);
  f.error = "multi-face violation";
  h.take(h.engine->on_list(std::vector<RemoteAsset>{f}, h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kFailed);
  EXPECT_EQ(h.engine->asset("hero")->last_error, "multi-face violation");
  EXPECT_EQ(h.tstate("intro"), TaskState::kBlocked);
}

TEST(AssetMachine, ListErrorRetriesWithBackoff) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  ApiError e = transient("HTTP 429", true, 429);
  e.retry_after = seconds(15);
  h.take(h.engine->on_list(err<std::vector<RemoteAsset>>(e), h.now));
  ASSERT_TRUE(h.engine->next_wakeup());
  EXPECT_GE(*h.engine->next_wakeup(), h.now + seconds(15));
  EXPECT_EQ(h.astate("hero"), AssetState::kProcessing);
}

TEST(AssetMachine, GivesUpAfter24HoursOfFailures) {
  Harness h;
  h.sync(one_asset_one_task());
  int attempts = 0;
  while (h.astate("hero") == AssetState::kUploading && attempts < 100000) {
    if (h.count(Kind::kUploadAsset, "hero") == 0) {
      ASSERT_TRUE(h.wake());
      continue;
    }
    h.pop(Kind::kUploadAsset, "hero");
    ++attempts;
    h.take(h.engine->on_upload("hero", err<RemoteAsset>(transient("HTTP 502", false, 502)), h.now));
  }
  EXPECT_EQ(h.astate("hero"), AssetState::kFailed);
  EXPECT_GE(h.now - kT0, hours(24));
  EXPECT_LT(h.now - kT0, hours(25));
  EXPECT_NE(h.engine->asset("hero")->last_error.find("HTTP 502"), std::string::npos);
  EXPECT_GT(attempts, 24 * 60 / 5 / 2) << "retries are spaced by at most error_max_retry";
  EXPECT_EQ(h.tstate("intro"), TaskState::kBlocked);
}

TEST(AssetMachine, NearExpiryIsCheckedBeforeSubmitAndReuploadedOn404) {
  EngineOptions o = Harness::default_options();
  o.max_tasks_in_flight = 1;
  Harness h(o);
  SpecSet s;
  s.assets = {asset_spec("hero")};
  s.tasks = {task_spec("t1", {"hero"}), task_spec("t2", {"hero"})};
  h.sync(s);
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload(
      "hero", remote_asset(asset_id(1), RemoteAssetStatus::kActive, "", h.now + hours(3)), h.now));
  // t1 is submitted; t2 waits for the in-flight cap.
  ASSERT_EQ(h.count(Kind::kCreateTask), 1u);
  const Request c1 = h.pop(Kind::kCreateTask);
  h.take(h.engine->on_create(c1.name, remote_task("task-1", RemoteTaskStatus::kPending), h.now));
  // At expires_at - margin the still-needed asset is checked with a get.
  h.now += hours(2);
  h.tick();
  ASSERT_EQ(h.count(Kind::kGetAsset, "hero"), 1u);
  h.pop(Kind::kGetAsset, "hero");
  h.take(
      h.engine->on_get_asset("hero", err<RemoteAsset>(permanent(404, "asset not found")), h.now));
  EXPECT_TRUE(h.has_event("hero", "Active", "Expired"));
  EXPECT_TRUE(h.has_event("hero", "Expired", "Uploading"));
  ASSERT_EQ(h.count(Kind::kUploadAsset, "hero"), 1u);
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload(
      "hero", remote_asset(asset_id(2), RemoteAssetStatus::kActive, "", h.now + hours(72)), h.now));
  EXPECT_EQ(h.engine->asset("hero")->remote_id, asset_id(2));
}

TEST(AssetMachine, NearExpiryCheckRefreshesTtl) {
  Harness h;
  SpecSet s;
  s.assets = {asset_spec("hero")};
  h.sync(s);
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload(
      "hero", remote_asset(asset_id(1), RemoteAssetStatus::kActive, "", h.now + hours(3)), h.now));
  // Nobody needs it: no check at the margin.
  h.now += hours(2) + minutes(1);
  h.tick();
  EXPECT_EQ(h.count(Kind::kGetAsset), 0u);
  // A new task needs it now: checked first, then submitted with the refreshed TTL.
  s.tasks = {task_spec("late", {"hero"})};
  h.sync(s);
  EXPECT_EQ(h.tstate("late"), TaskState::kWaiting);
  ASSERT_EQ(h.count(Kind::kGetAsset, "hero"), 1u);
  EXPECT_EQ(h.count(Kind::kCreateTask), 0u);
  h.pop(Kind::kGetAsset, "hero");
  const Ready& r = h.take(h.engine->on_get_asset(
      "hero", remote_asset(asset_id(1), RemoteAssetStatus::kActive, "", h.now + hours(72)), h.now));
  EXPECT_EQ(h.engine->asset("hero")->expires_at, h.now + hours(72));
  EXPECT_EQ(h.tstate("late"), TaskState::kSubmitting);
  EXPECT_EQ(r.requests.size(), 1u);
}

TEST(AssetMachine, RemovedAssetIsRetiredAndNotUploaded) {
  Harness h;
  SpecSet s;
  s.assets = {asset_spec("a")};
  h.sync(s);
  h.pop(Kind::kUploadAsset, "a");
  h.take(h.engine->on_upload("a", err<RemoteAsset>(transient("no route", false, 0)), h.now));
  h.sync(SpecSet{});
  EXPECT_TRUE(h.engine->asset("a")->retired);
  h.advance(minutes(10));
  EXPECT_EQ(h.count(Kind::kUploadAsset), 0u);
  EXPECT_FALSE(h.engine->next_wakeup());
}

TEST(AssetMachine, ProcessingForADayFails) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
  int lists = 0;
  while (h.astate("hero") == AssetState::kProcessing && lists < 100000) {
    ASSERT_TRUE(h.wake());
    if (h.count(Kind::kListAssets) == 0) continue;
    h.pop(Kind::kListAssets);
    ++lists;
    h.take(h.engine->on_list(
        std::vector<RemoteAsset>{remote_asset(asset_id(1), RemoteAssetStatus::kProcessing)},
        h.now));
  }
  EXPECT_EQ(h.astate("hero"), AssetState::kFailed);
  EXPECT_GE(h.now - kT0, hours(24));
  EXPECT_LT(h.now - kT0, hours(25));
  EXPECT_EQ(h.tstate("intro"), TaskState::kBlocked);
  EXPECT_GT(lists, 24 * 60);  // polled at most every max_poll_interval (60 s)
}

TEST(AssetMachine, ReconcilePrefersAnActiveCopyOfTheLabel) {
  Harness h;
  h.sync(one_asset_one_task());
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", err<RemoteAsset>(transient("reset", true, 0)), h.now));
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kListAssets);
  const std::string label = asset_spec("hero").upload_name();
  h.take(h.engine->on_list(
      std::vector<RemoteAsset>{remote_asset(asset_id(1), RemoteAssetStatus::kFailed, label),
                               remote_asset(asset_id(2), RemoteAssetStatus::kActive, label),
                               remote_asset(asset_id(3), RemoteAssetStatus::kProcessing, label)},
      h.now));
  EXPECT_EQ(h.astate("hero"), AssetState::kActive);
  EXPECT_EQ(h.engine->asset("hero")->remote_id, asset_id(2));
  EXPECT_EQ(h.count(Kind::kCreateTask, "intro"), 1u);
}

TEST(AssetMachine, PassThroughStillProcessingIsPolledUntilActive) {
  Harness h;
  TaskSpec t = task_spec("t", {});
  t.image_urls = {"asset://" + asset_id(9)};
  SpecSet s;
  s.tasks = {t};
  h.sync(s);
  h.pop(Kind::kGetAsset, asset_id(9));
  h.take(h.engine->on_get_asset(asset_id(9),
                                remote_asset(asset_id(9), RemoteAssetStatus::kProcessing), h.now));
  EXPECT_EQ(h.tstate("t"), TaskState::kWaiting);
  ASSERT_TRUE(h.wake());
  h.pop(Kind::kGetAsset, asset_id(9));
  h.take(h.engine->on_get_asset(asset_id(9), remote_asset(asset_id(9), RemoteAssetStatus::kActive),
                                h.now));
  EXPECT_EQ(h.count(Kind::kCreateTask, "t"), 1u);
}

}  // namespace
}  // namespace sd
