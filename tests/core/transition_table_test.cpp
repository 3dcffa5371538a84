// Table-driven: every transition of both state machines, each reached by a
// short scenario, must produce exactly the event (and log line) design.md
// promises. A transition nobody can reach, or one reported wrongly, fails here.
#include <gtest/gtest.h>

#include <functional>

#include "tests/core/engine_harness.hpp"

namespace sd {
namespace {

using namespace sd::testing;

SpecSet hero_and(std::vector<std::string> tasks) {
  SpecSet s;
  s.assets = {asset_spec("hero")};
  for (const auto& t : tasks) s.tasks.push_back(task_spec(t, {"hero"}));
  return s;
}

// hero uploaded and Processing as asset_id(1).
void processing_hero(Harness& h, std::vector<std::string> tasks) {
  h.sync(hero_and(std::move(tasks)));
  h.pop(Kind::kUploadAsset, "hero");
  h.take(h.engine->on_upload("hero", remote_asset(asset_id(1), RemoteAssetStatus::kProcessing),
                             h.now));
}

// t submitted as "task-1" with hero Active.
void submitted_t(Harness& h) {
  h.sync(hero_and({"t"}));
  h.activate_asset("hero", asset_id(1));
  h.pop(Kind::kCreateTask, "t");
  h.take(h.engine->on_create("t", remote_task("task-1", RemoteTaskStatus::kPending), h.now));
}

void completed_t(Harness& h) {
  submitted_t(h);
  EXPECT_TRUE(h.wake());
  h.pop(Kind::kGetTask, "t");
  h.take(h.engine->on_get_task(
      "t", remote_task("task-1", RemoteTaskStatus::kCompleted, "https://v/t.mp4"), h.now));
}

struct Row {
  const char* kind;  // "asset" / "task"
  const char* name;
  const char* from;
  const char* to;
  std::function<void(Harness&)> scenario;
};

const std::vector<Row>& rows() {
  static const std::vector<Row> kRows = {
      // ---- assets ----
      {"asset", "hero", "", "Declared", [](Harness& h) { h.sync(hero_and({})); }},
      {"asset", "hero", "Declared", "Uploading", [](Harness& h) { h.sync(hero_and({})); }},
      {"asset", "hero", "Uploading", "Processing", [](Harness& h) { processing_hero(h, {}); }},
      {"asset", "hero", "Uploading", "Active",
       [](Harness& h) {
         h.sync(hero_and({}));
         h.activate_asset("hero", asset_id(1));
       }},
      {"asset", "hero", "Uploading", "Failed",
       [](Harness& h) {
         h.sync(hero_and({}));
         h.pop(Kind::kUploadAsset, "hero");
         h.take(h.engine->on_upload("hero", err<RemoteAsset>(permanent(400, "bad")), h.now));
       }},
      {"asset", "hero", "Processing", "Active",
       [](Harness& h) {
         processing_hero(h, {});
         EXPECT_TRUE(h.wake());
         h.pop(Kind::kListAssets);
         h.take(h.engine->on_list(
             std::vector<RemoteAsset>{remote_asset(asset_id(1), RemoteAssetStatus::kActive)},
             h.now));
       }},
      {"asset", "hero", "Processing", "Failed",
       [](Harness& h) {
         processing_hero(h, {});
         EXPECT_TRUE(h.wake());
         h.pop(Kind::kListAssets);
         h.take(h.engine->on_list(
             std::vector<RemoteAsset>{remote_asset(asset_id(1), RemoteAssetStatus::kFailed)},
             h.now));
       }},
      {"asset", "hero", "Processing", "Expired",
       [](Harness& h) {
         processing_hero(h, {"t"});
         for (int i = 0; i < 3; ++i) {
           EXPECT_TRUE(h.wake());
           h.pop(Kind::kListAssets);
           h.take(h.engine->on_list(std::vector<RemoteAsset>{}, h.now));
         }
         h.pop(Kind::kGetAsset, "hero");
         h.take(
             h.engine->on_get_asset("hero", err<RemoteAsset>(permanent(404, "not found")), h.now));
       }},
      {"asset", "hero", "Active", "Expired",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create(
             "t", err<RemoteTask>(permanent(400, "asset not found: " + asset_id(1))), h.now));
       }},
      {"asset", "hero", "Active", "Failed",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(
             h.engine->on_create("t", err<RemoteTask>(permanent(400, "asset not active")), h.now));
         h.pop(Kind::kGetAsset, "hero");
         h.take(h.engine->on_get_asset(
             "hero", remote_asset(asset_id(1), RemoteAssetStatus::kFailed), h.now));
       }},
      {"asset", "hero", "Expired", "Uploading",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create(
             "t", err<RemoteTask>(permanent(400, "asset not found: " + asset_id(1))), h.now));
       }},
      {"asset", "hero", "Failed", "Declared",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.pop(Kind::kUploadAsset, "hero");
         h.take(h.engine->on_upload("hero", err<RemoteAsset>(permanent(400, "bad")), h.now));
         h.take(h.engine->retry("t", h.now));
       }},
      {"asset", "hero", "Active", "Declared",
       [](Harness& h) {
         h.sync(hero_and({}));
         h.activate_asset("hero", asset_id(1));
         SpecSet s = hero_and({});
         s.assets[0].url = "https://cdn.example.com/other.png";
         h.sync(s);
       }},
      // ---- tasks ----
      {"task", "t", "", "Waiting", [](Harness& h) { h.sync(hero_and({"t"})); }},
      {"task", "t", "Waiting", "Ready",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
       }},
      {"task", "t", "Ready", "Submitting",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
       }},
      {"task", "t", "Submitting", "Submitted", [](Harness& h) { submitted_t(h); }},
      {"task", "t", "Submitting", "Ready",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create("t", err<RemoteTask>(transient("refused", false, 0)), h.now));
       }},
      {"task", "t", "Submitting", "Held",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create("t", err<RemoteTask>(transient("reset", true, 0)), h.now));
       }},
      {"task", "t", "Submitting", "Failed",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(
             h.engine->on_create("t", err<RemoteTask>(permanent(400, "invalid duration")), h.now));
       }},
      {"task", "t", "Submitting", "Waiting",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create(
             "t", err<RemoteTask>(permanent(400, "asset not found: " + asset_id(1))), h.now));
       }},
      {"task", "t", "Submitted", "Completed", [](Harness& h) { completed_t(h); }},
      {"task", "t", "Submitted", "Failed",
       [](Harness& h) {
         submitted_t(h);
         EXPECT_TRUE(h.wake());
         h.pop(Kind::kGetTask, "t");
         h.take(
             h.engine->on_get_task("t", remote_task("task-1", RemoteTaskStatus::kFailed), h.now));
       }},
      {"task", "t", "Completed", "Downloaded",
       [](Harness& h) {
         completed_t(h);
         const Request d = h.pop(Kind::kDownload, "t");
         h.take(h.engine->on_download("t", DownloadResult{d.path, 10}, h.now));
       }},
      {"task", "t", "Completed", "Failed",
       [](Harness& h) {
         completed_t(h);
         h.pop(Kind::kDownload, "t");
         h.take(h.engine->on_download("t", err<DownloadResult>(permanent(404, "gone")), h.now));
       }},
      {"task", "t", "Failed", "Completed",
       [](Harness& h) {
         completed_t(h);
         h.pop(Kind::kDownload, "t");
         h.take(h.engine->on_download("t", err<DownloadResult>(permanent(404, "gone")), h.now));
         h.take(h.engine->retry("t", h.now));
       }},
      {"task", "t", "Waiting", "Blocked",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.pop(Kind::kUploadAsset, "hero");
         h.take(h.engine->on_upload("hero", err<RemoteAsset>(permanent(400, "bad")), h.now));
       }},
      {"task", "t", "Waiting", "Cancelled",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.sync(hero_and({}));
       }},
      {"task", "t", "Cancelled", "Waiting",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.sync(hero_and({}));
         h.sync(hero_and({"t"}));
       }},
      {"task", "t", "Blocked", "Waiting",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.pop(Kind::kUploadAsset, "hero");
         h.take(h.engine->on_upload("hero", err<RemoteAsset>(permanent(400, "bad")), h.now));
         h.take(h.engine->retry("t", h.now));
       }},
      {"task", "t", "Held", "Waiting",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create("t", err<RemoteTask>(transient("reset", true, 0)), h.now));
         h.take(h.engine->retry("t", h.now));
       }},
      {"task", "t", "Failed", "Waiting",
       [](Harness& h) {
         h.sync(hero_and({"t"}));
         h.activate_asset("hero", asset_id(1));
         h.pop(Kind::kCreateTask, "t");
         h.take(h.engine->on_create("t", err<RemoteTask>(permanent(400, "bad")), h.now));
         h.take(h.engine->retry("t", h.now));
       }},
      {"task", "t", "Ready", "Waiting",
       [](Harness& h) {
         h.sync(hero_and({"a", "t"}));
         h.activate_asset("hero", asset_id(1));
         // a's create says the asset is gone: t (Ready, held back by the cap) waits too.
         h.pop(Kind::kCreateTask, "a");
         h.take(h.engine->on_create(
             "a", err<RemoteTask>(permanent(400, "asset not found: " + asset_id(1))), h.now));
       }},
  };
  return kRows;
}

TEST(TransitionTable, EveryTransitionIsReachedAndReported) {
  for (const Row& row : rows()) {
    SCOPED_TRACE(std::string(row.kind) + " " + row.from + " -> " + row.to);
    EngineOptions o = Harness::default_options();
    if (std::string(row.from) == "Ready" && std::string(row.to) == "Waiting") {
      o.max_tasks_in_flight = 1;  // keep t Ready while a is submitted
    }
    Harness h(o);
    row.scenario(h);
    const EventRecord* found = nullptr;
    for (const auto& e : h.events) {
      if (e.entity_kind == row.kind && e.name == row.name && e.from == row.from && e.to == row.to) {
        found = &e;
      }
    }
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->at, h.now);
    const std::string prefix = std::string(row.kind) + " " + row.name + ": " +
                               (row.from[0] ? row.from : "new") + " -> " + row.to;
    EXPECT_TRUE(h.has_log(prefix)) << prefix;
  }
}

}  // namespace
}  // namespace sd
