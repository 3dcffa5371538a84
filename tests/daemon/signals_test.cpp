// Signals against a running seedanced and the simulator: SIGHUP reload
// (add / change / remove / broken file), SIGTERM in the middle of uploads and
// of submits followed by restarts (nothing lost, nothing paid twice), and a
// second signal that exits at once.
#include <csignal>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/daemon/harness.hpp"

namespace sd::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

bool has_line_with(const std::string& text, const std::string& a, const std::string& b) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
    start = end + 1;
  }
  return false;
}

TEST(Signals, SighupAddsChangesAndRemovesJobs) {
  sim::SimOptions o = fast_sim();
  o.speed = 40;  // a render takes 3.75 s: long enough to change queued tasks
  Harness h(o);
  h.write_config({{"limits", {{"max_tasks_in_flight", 1}}}});
  const json tasks = json::array({task_json("t1", {"hero"}), task_json("t2", {"hero"}),
                                  task_json("t3", {"hero"}), task_json("t4", {"hero"})});
  h.write_jobs("10-a.json", json::array({asset_json("hero")}), tasks);
  auto d = h.start({});

  // One task holds the only in-flight slot; the other three wait, unsubmitted.
  ASSERT_TRUE(eventually([&] { return h.count_tasks(TaskState::kSubmitted) == 1; }, 30s))
      << d->output();
  std::string submitted;
  std::vector<std::string> queued;
  for (const auto& t : h.snapshot().tasks) {
    if (t.state == TaskState::kSubmitted) {
      submitted = t.spec.name;
    } else {
      ASSERT_TRUE(t.request_body.empty()) << t.spec.name;
      queued.push_back(t.spec.name);
    }
  }
  ASSERT_EQ(queued.size(), 3u);
  const std::string changed = queued[0], removed = queued[1], kept = queued[2];

  // Change the submitted task and a queued one, remove another, add a file.
  json next = json::array();
  next.push_back(task_json(submitted, {"hero"}, "runs, not walks."));
  next.push_back(task_json(changed, {"hero"}, "dances in the rain."));
  next.push_back(task_json(kept, {"hero"}));
  h.write_jobs("10-a.json", json::array({asset_json("hero")}), next);
  h.write_jobs("20-b.json", json::array(), json::array({task_json("fresh", {"hero"})}));
  d->signal(SIGHUP);

  ASSERT_TRUE(eventually(
      [&] {
        auto r = h.task(removed);
        return r && r->state == TaskState::kCancelled;
      },
      10s))
      << d->output();
  ASSERT_TRUE(eventually([&] { return h.task("fresh").has_value(); }, 10s)) << d->output();
  EXPECT_NE(h.task(changed)->spec.prompt.find("dances in the rain"), std::string::npos);
  // The submitted one keeps its result; a warning says to rename it.
  EXPECT_TRUE(has_line_with(d->output(), "[warn]",
                            "task " + submitted + ": spec changed after it was submitted"))
      << d->output();
  EXPECT_TRUE(
      has_line_with(d->output(), "[info]", "task " + changed + ": spec changed before submission"))
      << d->output();
  EXPECT_NE(d->output().find("jobs reloaded"), std::string::npos);

  // The changed task is submitted with its new prompt.
  ASSERT_TRUE(eventually(
      [&] {
        auto t = h.task(changed);
        return t && !t->request_body.empty();
      },
      30s))
      << d->output();
  EXPECT_NE(h.task(changed)->request_body.find("dances in the rain"), std::string::npos);
  EXPECT_EQ(h.task(submitted)->request_body.find("runs, not walks"), std::string::npos);

  // A file that became broken keeps its previous jobs.
  write_file(h.jobs_dir() + "/20-b.json", "{ \"tasks\": [ {");
  d->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return count_of(d->output(), "jobs reloaded") == 2; }, 10s))
      << d->output();
  EXPECT_TRUE(has_line_with(d->output(), "[error]", "20-b.json")) << d->output();
  EXPECT_NE(h.task("fresh")->state, TaskState::kCancelled);

  d->signal(SIGTERM);
  ASSERT_EQ(d->wait(10s), 0) << d->output();
  const json s = h.stats();
  const std::string removed_prompt = task_json(removed, {"hero"})["prompt"];
  EXPECT_FALSE(s["creates_by_prompt"].contains(removed_prompt)) << s.dump();
  EXPECT_EQ(s["duplicate_creates"], 0);
}

// Asserts that nothing is left half-done after a graceful stop.
void expect_clean_stop(const Harness& h) {
  EXPECT_EQ(h.count_tasks(TaskState::kSubmitting), 0);
  EXPECT_EQ(h.count_tasks(TaskState::kHeld), 0);
  for (const auto& a : h.snapshot().assets) {
    EXPECT_NE(a.state, AssetState::kUploading) << a.spec.name;
  }
}

TEST(Signals, SigtermDuringUploadsAndSubmitsThenRestartLosesNothing) {
  sim::SimOptions o = fast_sim();
  o.faults.latency = 1.0;  // every upload and create takes 700 ms: they are in flight
  o.faults.latency_ms = 700;
  o.faults.paths = {"POST /api/v1/asset/upload", "POST /api/v1/task"};
  Harness h(o);
  h.write_config();
  json assets = json::array(), tasks = json::array();
  for (int i = 0; i < 4; ++i) assets.push_back(asset_json("a" + std::to_string(i)));
  for (int i = 0; i < 8; ++i) {
    tasks.push_back(task_json("t" + std::to_string(i),
                              {"a" + std::to_string(i % 4), "a" + std::to_string((i + 1) % 4)}));
  }
  h.write_jobs("10-many.json", assets, tasks);
  auto latency = [&] { return h.stats()["faults"].value("latency", 0); };

  {  // 1. SIGTERM while the uploads are in flight.
    auto d = h.start({}, {}, "run1.log");
    ASSERT_TRUE(eventually([&] { return latency() >= 1; }, 20s)) << d->output();
    EXPECT_EQ(h.stats()["uploads"], 0);
    d->signal(SIGTERM);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(d->wait(10s), 0) << d->output();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_NE(d->output().find("SIGTERM: stopping"), std::string::npos) << d->output();
    expect_clean_stop(h);
  }
  {  // 2. SIGTERM while the creates are in flight.
    auto d = h.start({}, {}, "run2.log");
    ASSERT_TRUE(eventually([&] { return h.stats()["task_creates"] >= 1; }, 30s)) << d->output();
    d->signal(SIGTERM);
    ASSERT_EQ(d->wait(10s), 0) << d->output();
    expect_clean_stop(h);
  }
  {  // 3. Finish.
    auto d = h.start({"--once"}, {}, "run3.log");
    ASSERT_EQ(d->wait(60s), 0) << d->output();
  }
  const json s = h.stats();
  EXPECT_EQ(s["uploads"], 4) << s.dump();
  for (const auto& [name, n] : s["uploads_by_name"].items()) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(s["task_creates"], 8);
  EXPECT_EQ(s["duplicate_creates"], 0);
  EXPECT_EQ(s["creates_with_inactive_asset"], 0);
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(std::filesystem::exists(h.output_dir() + "/t" + std::to_string(i) + ".mp4")) << i;
  }
}

TEST(Signals, SecondSignalExitsAtOnce) {
  sim::SimOptions o = fast_sim();
  o.faults.latency = 1.0;  // the first two task polls hang for 5 s
  o.faults.latency_ms = 5000;
  o.faults.paths = {"GET /api/v1/task/"};
  o.faults.max_faults = 2;
  Harness h(o);
  h.write_config();
  h.write_jobs("10-two.json", json::array(),
               json::array({task_json("one", {}), task_json("two", {})}));
  {
    auto d = h.start({}, {}, "run1.log");
    ASSERT_TRUE(eventually([&] { return h.stats()["faults"].value("latency", 0) == 2; }, 20s))
        << d->output();
    d->signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return d->output().find("stopping;") != std::string::npos; }, 5s));
    EXPECT_TRUE(d->running());  // waiting for the two polls
    const auto t0 = std::chrono::steady_clock::now();
    d->signal(SIGINT);
    ASSERT_EQ(d->wait(3s), 0) << d->output();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_NE(d->output().find("second SIGINT"), std::string::npos) << d->output();
  }
  auto d = h.start({"--once"}, {}, "run2.log");
  ASSERT_EQ(d->wait(60s), 0) << d->output();
  EXPECT_EQ(h.stats()["task_creates"], 2);
  EXPECT_EQ(h.stats()["duplicate_creates"], 0);
}

}  // namespace
}  // namespace sd::test
