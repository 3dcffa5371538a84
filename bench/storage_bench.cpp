// storage_bench: how many engine steps per second Repository::apply() commits.
//
// A step is what the daemon persists for one loop turn: ~3 records (an asset
// and two tasks) and one event row. NORMAL steps hold no intent and commit
// with synchronous=NORMAL; FULL steps hold a task entering Submitting and
// commit with synchronous=FULL (an fsync per commit).
//
//   storage_bench [normal_steps=20000] [full_steps=2000] [dir=$TMPDIR]
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "storage/repository.hpp"

namespace {

using sd::Ready;

sd::AssetRecord make_asset(int i, int64_t now_ms) {
  sd::AssetRecord a;
  a.spec.name = "asset-" + std::to_string(i % 200);
  a.spec.url = "https://cdn.example.com/" + a.spec.name + ".png";
  a.state = sd::AssetState::kProcessing;
  a.remote_id = "asset-20261127080102-" + std::to_string(10000 + i % 200);
  a.created_at = sd::from_millis(now_ms);
  a.state_since = sd::from_millis(now_ms);
  a.schedule.next_at = sd::from_millis(now_ms + 2000);
  a.schedule.poll_count = i;
  return a;
}

sd::TaskRecord make_task(int i, int64_t now_ms, sd::TaskState state) {
  sd::TaskRecord t;
  t.spec.name = "task-" + std::to_string(i % 1000);
  t.spec.task_type = "seedance-2-fast-less-restriction";
  t.spec.prompt = "Image 1 is the hero. Image 1 walks down a street at dusk.";
  t.spec.image_urls = {"asset://asset-" + std::to_string(i % 200),
                       "https://cdn.example.com/street.jpg"};
  t.spec.duration = 8;
  t.spec.aspect_ratio = "16:9";
  t.state = state;
  t.remote_id = state == sd::TaskState::kSubmitting ? "" : "task-" + std::to_string(i);
  t.request_body = R"({"model":"seedance","task_type":"seedance-2-fast","input":{}})";
  t.created_at = sd::from_millis(now_ms);
  t.state_since = sd::from_millis(now_ms);
  t.schedule.next_at = sd::from_millis(now_ms + 10000);
  return t;
}

Ready make_step(int i, bool intent) {
  int64_t now_ms = 1'800'000'000'000 + i;
  Ready r;
  r.assets.push_back(make_asset(i, now_ms));
  r.tasks.push_back(
      make_task(i, now_ms, intent ? sd::TaskState::kSubmitting : sd::TaskState::kSubmitted));
  r.tasks.push_back(make_task(i + 500, now_ms, sd::TaskState::kWaiting));
  sd::EventRecord e;
  e.entity_kind = "task";
  e.name = r.tasks[0].spec.name;
  e.from = intent ? "Ready" : "Submitting";
  e.to = intent ? "Submitting" : "Submitted";
  e.at = sd::from_millis(now_ms);
  r.events.push_back(e);
  return r;
}

// Commits `n` steps; returns steps per second, or -1 on error.
double run(sd::Repository& repo, int n, bool intent) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = repo.apply(make_step(i, intent));
    if (!r) {
      std::fprintf(stderr, "apply failed: %s\n", r.error().message().c_str());
      return -1;
    }
  }
  std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
  return n / s.count();
}

}  // namespace

int main(int argc, char** argv) {
  int normal_steps = argc > 1 ? std::atoi(argv[1]) : 20000;
  int full_steps = argc > 2 ? std::atoi(argv[2]) : 2000;
  std::string base = argc > 3 ? argv[3] : std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/sd-storage-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string path = tmpl + "/state.db";

  int rc = 0;
  {
    auto repo = sd::Repository::open(path, sd::Repository::Mode::kReadWrite);
    if (!repo) {
      std::fprintf(stderr, "%s\n", repo.error().message().c_str());
      return 1;
    }
    // Warm up: create the rows the measured steps update.
    if (run(**repo, 1000, false) < 0) return 1;

    double normal = run(**repo, normal_steps, false);
    double full = run(**repo, full_steps, true);
    if (normal < 0 || full < 0) {
      rc = 1;
    } else {
      std::printf("storage_bench: %s\n", path.c_str());
      std::printf("step = 1 asset + 2 tasks upserted + 1 event, one transaction\n");
      std::printf("synchronous=NORMAL  %7d steps  %9.0f steps/s\n", normal_steps, normal);
      std::printf("synchronous=FULL    %7d steps  %9.0f steps/s  (intent steps)\n", full_steps,
                  full);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
