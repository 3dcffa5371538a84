// A randomised simulation: the engine against a tiny, pure fake of PiAPI that
// answers with random latency, transient errors, lost responses and crashes
// of the daemon, over a simulated day. Asserts the invariants of design.md:
// each asset uploaded once, each task created at most once (Held if unsure),
// never created before its assets are Active, limits respected, and every
// task ends in a terminal state.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <set>

#include <nlohmann/json.hpp>

#include "core/random.hpp"
#include "tests/core/engine_harness.hpp"

namespace sd {
namespace {

using namespace sd::testing;

struct Faults {
  double never_sent = 0;     // connect refused: nothing processed
  double server_error = 0;   // 503 before processing (outcome unknown for creates)
  double lost_response = 0;  // processed, then the connection dropped
  double throttled = 0;      // 429 + Retry-After, nothing processed
  double purge = 0;          // a create finds its first asset purged (idle TTL passed)
  double lost_upload = 0;    // extra: an upload is processed, then its response is lost
};

// The fake PiAPI: a pure model answering the engine's requests.
class FakePiApi {
 public:
  FakePiApi(uint64_t seed, Faults f) : rng_(seed), faults_(f) {}

  struct Asset {
    std::string id, name, url;
    TimePoint active_at{};
    TimePoint expires_at{};
  };
  struct Task {
    std::string id, name;
    TimePoint done_at{};
    bool rejected = false;
  };

  std::map<std::string, int> uploads_by_name;  // upload label -> processed uploads
  std::map<std::string, int> creates_by_task;  // task name -> processed creates
  std::map<std::string, int> purges_by_name;   // upload label -> times purged
  int creates_with_unusable_asset = 0;
  int requests = 0;
  int idle_purges = 0;
  int asset_gets = 0;
  Duration ttl = hours(72);  // idle TTL: get and task references refresh it

  // Handles `r` at `now`; returns the engine call that delivers the reply.
  std::function<Ready(Engine&, TimePoint)> handle(const Request& r, TimePoint now) {
    ++requests;
    purge_idle(now);
    const bool creating = r.kind == Kind::kUploadAsset || r.kind == Kind::kCreateTask;
    const double roll = rng_.unit();
    std::optional<ApiError> fault;
    bool process = true;
    double edge = faults_.never_sent;
    if (roll < edge) {
      fault = transient("connect: connection refused", false, 0);
      process = false;
    } else if (roll < (edge += faults_.throttled)) {
      fault = transient("HTTP 429 Too Many Requests", false, 429);
      fault->retry_after = seconds(15);
      process = false;
    } else if (roll < (edge += faults_.server_error)) {
      fault = transient("HTTP 503 Service Unavailable", true, 503);
      process = false;
    } else if (roll < (edge += faults_.lost_response)) {
      fault = transient("connection reset by peer", true, 0);
    }
    if (!creating && fault) process = false;
    if (!fault && r.kind == Kind::kUploadAsset && rng_.unit() < faults_.lost_upload) {
      fault = transient("connection reset by peer", true, 0);
    }
    switch (r.kind) {
      case Kind::kUploadAsset: {
        std::optional<RemoteAsset> a;
        if (process) a = upload(r, now);
        return reply<RemoteAsset>(fault, a, [n = r.name](Engine& e, auto res, TimePoint t) {
          return e.on_upload(n, res, t);
        });
      }
      case Kind::kListAssets: {
        std::vector<RemoteAsset> items;
        for (const auto& [id, a] : assets_) items.push_back(view(a, now));
        return reply<std::vector<RemoteAsset>>(
            fault, items, [](Engine& e, auto res, TimePoint t) { return e.on_list(res, t); });
      }
      case Kind::kGetAsset: {
        ++asset_gets;
        auto it = assets_.find(r.remote_id);
        if (!fault && it == assets_.end()) fault = permanent(404, "asset not found");
        std::optional<RemoteAsset> a;
        if (it != assets_.end()) {
          if (!fault) it->second.expires_at = now + ttl;
          a = view(it->second, now);
        }
        return reply<RemoteAsset>(fault, a, [n = r.name](Engine& e, auto res, TimePoint t) {
          return e.on_get_asset(n, res, t);
        });
      }
      case Kind::kCreateTask: {
        std::optional<RemoteTask> t;
        if (process) {
          auto created = create(r, now);
          if (!created) {
            fault = created.error();
          } else {
            t = *created;
          }
        }
        return reply<RemoteTask>(fault, t, [n = r.name](Engine& e, auto res, TimePoint tp) {
          return e.on_create(n, res, tp);
        });
      }
      case Kind::kGetTask: {
        auto it = tasks_.find(r.remote_id);
        if (!fault && it == tasks_.end()) fault = permanent(404, "task not found");
        std::optional<RemoteTask> t;
        if (it != tasks_.end()) t = view(it->second, now);
        return reply<RemoteTask>(fault, t, [n = r.name](Engine& e, auto res, TimePoint tp) {
          return e.on_get_task(n, res, tp);
        });
      }
      case Kind::kDownload: {
        std::optional<DownloadResult> d = DownloadResult{r.path, 1000};
        return reply<DownloadResult>(fault, d, [n = r.name](Engine& e, auto res, TimePoint tp) {
          return e.on_download(n, res, tp);
        });
      }
    }
    return {};
  }

  Duration latency() { return milliseconds(50 + static_cast<int64_t>(rng_.below(2000))); }

 private:
  template <class T, class F>
  std::function<Ready(Engine&, TimePoint)> reply(const std::optional<ApiError>& fault,
                                                 const std::optional<T>& value, F deliver) {
    ApiResult<T> res =
        fault ? ApiResult<T>(tl::unexpected<ApiError>(*fault)) : ApiResult<T>(value.value_or(T{}));
    return [res, deliver](Engine& e, TimePoint t) { return deliver(e, res, t); };
  }

  RemoteAsset upload(const Request& r, TimePoint now) {
    ++uploads_by_name[r.upload.name];
    Asset a;
    a.id = asset_id(next_asset_++);
    a.name = r.upload.name;
    a.url = r.upload.url;
    a.active_at = now + seconds(5 + static_cast<int64_t>(rng_.below(55)));
    a.expires_at = now + ttl;
    assets_[a.id] = a;
    return view(a, now);
  }

  void purge_idle(TimePoint now) {
    for (auto it = assets_.begin(); it != assets_.end();) {
      if (it->second.expires_at <= now) {
        ++purges_by_name[it->second.name];
        ++idle_purges;
        it = assets_.erase(it);
      } else {
        ++it;
      }
    }
  }

  RemoteAsset view(const Asset& a, TimePoint now) const {
    RemoteAssetStatus st = now < a.active_at ? RemoteAssetStatus::kProcessing
                           : a.url.find("fail") != std::string::npos ? RemoteAssetStatus::kFailed
                                                                     : RemoteAssetStatus::kActive;
    RemoteAsset r = remote_asset(a.id, st, a.name, a.expires_at);
    if (st == RemoteAssetStatus::kFailed) r.error = "InvalidParameter.DownloadFailed";
    return r;
  }

  tl::expected<RemoteTask, ApiError> create(const Request& r, TimePoint now) {
    auto body = nlohmann::json::parse(r.body);
    for (const char* field : {"image_urls", "video_urls", "audio_urls"}) {
      if (!body["input"].contains(field)) continue;
      for (const auto& u : body["input"][field]) {
        const std::string url = u.get<std::string>();
        if (url.rfind("asset://", 0) != 0) continue;
        const std::string id = url.substr(8);
        auto it = assets_.find(id);
        if (it != assets_.end() && rng_.unit() < faults_.purge) {
          ++purges_by_name[it->second.name];
          assets_.erase(it);
          return tl::unexpected<ApiError>(permanent(400, "asset not found: " + id));
        }
        if (it == assets_.end() || view(it->second, now).status != RemoteAssetStatus::kActive) {
          ++creates_with_unusable_asset;
          return tl::unexpected<ApiError>(permanent(400, "asset not active: " + id));
        }
      }
    }
    for (const char* field : {"image_urls", "video_urls", "audio_urls"}) {
      if (!body["input"].contains(field)) continue;
      for (const auto& u : body["input"][field]) {
        const std::string url = u.get<std::string>();
        if (url.rfind("asset://", 0) == 0) assets_[url.substr(8)].expires_at = now + ttl;
      }
    }
    ++creates_by_task[r.name];
    Task t;
    t.id = "task-" + std::to_string(next_task_++) + "-0000-0000";
    t.name = r.name;
    t.done_at = now + seconds(30 + static_cast<int64_t>(rng_.below(270)));
    t.rejected = body["input"]["prompt"].get<std::string>().find("forbidden") != std::string::npos;
    tasks_[t.id] = t;
    return view(t, now);
  }

  RemoteTask view(const Task& t, TimePoint now) const {
    if (now < t.done_at) {
      return remote_task(t.id, now < t.done_at - seconds(20) ? RemoteTaskStatus::kProcessing
                                                             : RemoteTaskStatus::kPending);
    }
    if (t.rejected) {
      RemoteTask r = remote_task(t.id, RemoteTaskStatus::kFailed);
      r.error_code = 10003;
      r.error_message = "Your content violated community guidelines.";
      return r;
    }
    return remote_task(t.id, RemoteTaskStatus::kCompleted, "https://storage.example/" + t.id);
  }

  Random rng_;
  Faults faults_;
  std::map<std::string, Asset> assets_;
  std::map<std::string, Task> tasks_;
  int next_asset_ = 1;
  int next_task_ = 1;
};

std::string humanise_for_test(Duration d) {
  return std::to_string(d.count() / 60'000) + " min";
}

struct SimConfig {
  int assets = 20;
  int tasks = 200;
  int crashes = 0;
  Faults faults;
  uint64_t seed = 1;
};

struct SimResult {
  std::map<std::string, TaskRecord> tasks;
  std::map<std::string, AssetRecord> assets;
  TimePoint end{};
  int max_in_flight = 0;
  int max_requests_in_flight = 0;
  int max_per_second = 0;
  int crashes = 0;
};

SpecSet make_specs(const SimConfig& c, Random& rng) {
  SpecSet s;
  for (int i = 0; i < c.assets; ++i) {
    const std::string n = "asset" + std::to_string(i);
    s.assets.push_back(asset_spec(n, i == 0 ? "https://cdn.example.com/fail.png" : ""));
  }
  for (int i = 0; i < c.tasks; ++i) {
    std::vector<std::string> refs;
    const int k = static_cast<int>(rng.below(3));  // 0, 1 or 2 assets
    for (int j = 0; j < k; ++j) {
      const std::string n = "asset" + std::to_string(rng.below(static_cast<uint64_t>(c.assets)));
      if (std::find(refs.begin(), refs.end(), n) == refs.end()) refs.push_back(n);
    }
    TaskSpec t = task_spec("task" + std::to_string(i), refs,
                           i % 25 == 3 ? "a forbidden prompt" : "Image 1 walks.");
    if (i % 4 == 0) t.image_urls.push_back("https://cdn.example.com/street.jpg");
    s.tasks.push_back(t);
  }
  return s;
}

SimResult run_sim(const SimConfig& c, const EngineOptions& opt, FakePiApi& api) {
  Random rng(c.seed * 7919);
  const SpecSet specs = make_specs(c, rng);
  SimResult res;
  std::map<std::string, AssetRecord> db_assets;
  std::map<std::string, TaskRecord> db_tasks;
  auto engine = std::make_unique<Engine>(opt, c.seed);
  TimePoint now = kT0;
  const TimePoint deadline = kT0 + hours(24);

  struct Reply {
    TimePoint at;
    uint64_t seq;
    std::function<Ready(Engine&, TimePoint)> deliver;
    bool operator>(const Reply& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };
  std::priority_queue<Reply, std::vector<Reply>, std::greater<>> replies;
  uint64_t seq = 0;
  std::deque<TimePoint> recent;  // request times in the last second

  std::set<TimePoint> crash_at;
  for (int i = 0; i < c.crashes; ++i) {
    crash_at.insert(kT0 + milliseconds(1 + static_cast<int64_t>(rng.below(15 * 60 * 1000))));
  }

  auto absorb = [&](Ready r) {
    // Persist first (the shell's contract), then perform the requests.
    for (auto& a : r.assets) db_assets[a.spec.name] = a;
    for (auto& t : r.tasks) db_tasks[t.spec.name] = t;
    for (const Request& q : r.requests) {
      recent.push_back(now);
      while (!recent.empty() && recent.front() <= now - seconds(1)) recent.pop_front();
      res.max_per_second = std::max(res.max_per_second, static_cast<int>(recent.size()));
      replies.push(Reply{now + api.latency(), seq++, api.handle(q, now)});
    }
    const Summary s = engine->summary();
    int in_flight = 0;
    for (TaskState st : {TaskState::kSubmitting, TaskState::kSubmitted, TaskState::kHeld}) {
      auto it = s.tasks.find(st);
      if (it != s.tasks.end()) in_flight += it->second;
    }
    res.max_in_flight = std::max(res.max_in_flight, in_flight);
    res.max_requests_in_flight = std::max(res.max_requests_in_flight, s.requests_in_flight);
  };

  absorb(engine->sync_specs(specs, now));
  while (now < deadline && !engine->all_terminal()) {
    std::optional<TimePoint> next = engine->next_wakeup();
    if (!replies.empty() && (!next || replies.top().at <= *next)) next = replies.top().at;
    if (!next) break;
    if (!crash_at.empty() && *crash_at.begin() <= *next) {
      // kill -9: replies in flight are lost; the DB holds what was persisted.
      now = std::max(now, *crash_at.begin());
      crash_at.erase(crash_at.begin());
      ++res.crashes;
      recent.clear();  // a new process starts with a full token bucket
      while (!replies.empty()) replies.pop();
      std::vector<AssetRecord> as;
      std::vector<TaskRecord> ts;
      for (auto& [n, a] : db_assets) as.push_back(a);
      for (auto& [n, t] : db_tasks) ts.push_back(t);
      engine = std::make_unique<Engine>(opt, c.seed + crash_at.size() + 1);
      absorb(engine->recover(as, ts, now));
      absorb(engine->sync_specs(specs, now));
      continue;
    }
    now = std::max(now, *next);
    if (!replies.empty() && replies.top().at <= now) {
      Reply r = replies.top();
      replies.pop();
      absorb(r.deliver(*engine, now));
    } else {
      absorb(engine->tick(now));
    }
  }
  res.end = now;
  for (const auto& s : specs.tasks) res.tasks[s.name] = *engine->task(s.name);
  for (const auto& s : specs.assets) res.assets[s.name] = *engine->asset(s.name);
  // The DB agrees with the engine.
  for (const auto& [n, t] : res.tasks) EXPECT_EQ(db_tasks[n].state, t.state) << n;
  return res;
}

EngineOptions sim_options() {
  EngineOptions o;
  o.output_dir = "/videos";
  o.requests_per_second = 5;
  o.max_tasks_in_flight = 8;
  o.max_concurrent_requests = 8;
  return o;
}

void check_invariants(const SimConfig& c, const EngineOptions& o, const FakePiApi& api,
                      const SimResult& r) {
  EXPECT_LT(r.end, kT0 + hours(24)) << "everything finishes within the simulated day";
  EXPECT_LE(r.max_in_flight, o.max_tasks_in_flight);
  EXPECT_LE(r.max_requests_in_flight, o.max_concurrent_requests);
  EXPECT_LE(r.max_per_second, static_cast<int>(o.requests_per_second) * 2);
  EXPECT_EQ(api.creates_with_unusable_asset, 0) << "no create before its assets are Active";
  for (const auto& [label, n] : api.uploads_by_name) {
    auto p = api.purges_by_name.find(label);
    const int purged = p == api.purges_by_name.end() ? 0 : p->second;
    EXPECT_GE(n, 1) << label;
    EXPECT_LE(n, 1 + purged) << label << ": uploaded once, plus at most once per purge";
  }
  int downloaded = 0, held = 0, rejected = 0, blocked = 0;
  for (const auto& [name, t] : r.tasks) {
    EXPECT_TRUE(is_terminal(t.state)) << name << " " << to_string(t.state);
    auto it = api.creates_by_task.find(name);
    const int creates = it == api.creates_by_task.end() ? 0 : it->second;
    EXPECT_LE(creates, 1) << name << " created twice";
    switch (t.state) {
      case TaskState::kDownloaded:
        ++downloaded;
        EXPECT_EQ(creates, 1) << name;
        EXPECT_EQ(t.output_path, "/videos/" + name + ".mp4");
        break;
      case TaskState::kHeld:
        ++held;
        break;
      case TaskState::kFailed:
        ++rejected;
        EXPECT_EQ(t.error_code, 10003) << name << ": " << t.last_error;
        EXPECT_EQ(t.last_error, "Your content violated community guidelines.");
        break;
      case TaskState::kBlocked:
        ++blocked;
        EXPECT_NE(t.last_error.find("asset0"), std::string::npos) << name;
        EXPECT_NE(t.last_error.find("DownloadFailed"), std::string::npos) << name;
        break;
      default:
        ADD_FAILURE() << name << " ended " << to_string(t.state);
    }
  }
  std::printf(
      "simulated %s: %d downloaded, %d held, %d rejected, %d blocked, %d crashes, "
      "%d requests\n",
      humanise_for_test(r.end - kT0).c_str(), downloaded, held, rejected, blocked, r.crashes,
      api.requests);
  EXPECT_EQ(r.assets.at("asset0").state, AssetState::kFailed);
  EXPECT_EQ(downloaded + held + rejected + blocked, c.tasks);
  EXPECT_GT(downloaded, c.tasks / 2);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(blocked, 0);
}

TEST(EngineSimulation, NoFaultsEverythingCompletes) {
  SimConfig c;
  const EngineOptions o = sim_options();
  FakePiApi api(11, Faults{});
  const SimResult r = run_sim(c, o, api);
  check_invariants(c, o, api, r);
  int held = 0;
  for (const auto& [n, t] : r.tasks) held += t.state == TaskState::kHeld;
  EXPECT_EQ(held, 0);
  EXPECT_EQ(r.max_in_flight, o.max_tasks_in_flight);
}

TEST(EngineSimulation, TransientFaultsAndLostResponses) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimConfig c;
    c.seed = seed;
    c.faults = Faults{0.05, 0.02, 0.02, 0.03};
    c.faults.lost_upload = 0.3;
    // Held tasks keep their in-flight slot until an operator acts, so leave
    // room for the ~5% of creates whose outcome is unknown.
    EngineOptions o = sim_options();
    o.max_tasks_in_flight = 30;
    FakePiApi api(seed, c.faults);
    const SimResult r = run_sim(c, o, api);
    check_invariants(c, o, api, r);
  }
}

TEST(EngineSimulation, CrashesAtRandomMoments) {
  for (uint64_t seed : {4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimConfig c;
    c.seed = seed;
    c.crashes = 25;
    c.faults = Faults{0.03, 0.01, 0.01, 0.01};
    c.faults.lost_upload = 0.2;
    EngineOptions o = sim_options();
    o.max_tasks_in_flight = 40;
    FakePiApi api(seed + 100, c.faults);
    const SimResult r = run_sim(c, o, api);
    check_invariants(c, o, api, r);
  }
}

TEST(EngineSimulation, PurgedAssetsAreUploadedAgain) {
  SimConfig c;
  c.seed = 13;
  c.faults.purge = 0.03;
  EngineOptions o = sim_options();
  FakePiApi api(13, c.faults);
  const SimResult r = run_sim(c, o, api);
  int purges = 0;
  for (const auto& [label, n] : api.purges_by_name) purges += n;
  EXPECT_GT(purges, 0);
  check_invariants(c, o, api, r);
}

// Assets expire after 20 idle minutes while tasks queue for hours behind a
// small in-flight cap: the engine re-checks every still-needed asset before
// its TTL runs out (a get refreshes it), so no create ever references a
// purged asset, and an asset nobody needs any more may lapse.
TEST(EngineSimulation, IdleTtlIsRefreshedWhileTasksWait) {
  SimConfig c;
  c.seed = 17;
  EngineOptions o = sim_options();
  o.max_tasks_in_flight = 2;
  o.expiry_margin = minutes(5);
  FakePiApi api(17, c.faults);
  api.ttl = minutes(20);
  const SimResult r = run_sim(c, o, api);
  check_invariants(c, o, api, r);
  EXPECT_GT(r.end - kT0, hours(2)) << "tasks queued longer than the TTL";
  EXPECT_GT(api.idle_purges, 0) << "assets no task needed any more lapsed";
  EXPECT_GT(api.asset_gets, 0) << "TTL checks refreshed the assets still needed";
  for (const auto& [label, n] : api.uploads_by_name) {
    EXPECT_EQ(n, 1) << label << ": kept alive while needed, never uploaded twice";
  }
}

// The shape of the 200-asset / 1,000-task integration run (tests/integration),
// engine only: a full asset quota, fast polls and every fault kind at once.
TEST(EngineSimulation, FleetShapedRunWithFaults) {
  SimConfig c;
  c.seed = 31;
  c.assets = 200;
  c.tasks = 1000;
  c.faults = Faults{0.005, 0.04, 0.005, 0.02};
  EngineOptions o = sim_options();
  o.max_assets = c.assets;  // every slot used: retries must not wait for the quota
  o.max_tasks_in_flight = 100;
  o.requests_per_second = 2000;
  o.asset_first_poll = milliseconds(20);
  o.task_first_poll = milliseconds(50);
  o.max_poll_interval = milliseconds(500);
  FakePiApi api(31, c.faults);
  const SimResult r = run_sim(c, o, api);
  check_invariants(c, o, api, r);
  int held = 0;
  for (const auto& [n, t] : r.tasks) held += t.state == TaskState::kHeld;
  EXPECT_LE(held, c.tasks / 20);
}

TEST(EngineSimulation, ResubmitUncertainNeverLeavesHeldTasks) {
  SimConfig c;
  c.seed = 9;
  c.faults = Faults{0.02, 0.0, 0.0, 0.0};
  EngineOptions o = sim_options();
  o.resubmit_uncertain = true;
  FakePiApi api(9, c.faults);
  const SimResult r = run_sim(c, o, api);
  for (const auto& [n, t] : r.tasks) EXPECT_NE(t.state, TaskState::kHeld) << n;
  check_invariants(c, o, api, r);
}

}  // namespace
}  // namespace sd

namespace sd {
namespace {

using namespace sd::testing;

// 10,000 tasks over 50 shared assets: every step is O(k log n), so the whole
// run (about 100k engine steps) takes seconds, not the minutes an O(n) scan
// per step would.
TEST(EnginePerformance, TenThousandTasks) {
  SimConfig c;
  c.assets = 50;
  c.tasks = 10'000;
  c.seed = 21;
  EngineOptions o = sim_options();
  o.requests_per_second = 200;
  o.max_tasks_in_flight = 500;
  o.max_concurrent_requests = 64;
  FakePiApi api(21, Faults{});
  const auto start = std::chrono::steady_clock::now();
  const SimResult r = run_sim(c, o, api);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("10,000 tasks: %.2f s wall, %.1f requests/task\n", wall_s,
              static_cast<double>(api.requests) / c.tasks);
  check_invariants(c, o, api, r);
  EXPECT_LT(wall_s, 60.0);
}

}  // namespace
}  // namespace sd
