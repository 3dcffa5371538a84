// Test helpers for driving sd::Engine by hand: spec builders, reply builders
// and a Harness that collects every Ready the engine returns.
//
// Owned by the core engineer; used by tests/core/*_test.cpp only.
// Thread contract: single-threaded test code.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/engine.hpp"

namespace sd::testing {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Kind = Request::Kind;

inline const TimePoint kT0 = from_millis(1'800'000'000'000);

inline AssetSpec asset_spec(const std::string& name, const std::string& url = "") {
  AssetSpec s;
  s.name = name;
  s.url = url.empty() ? "https://cdn.example.com/" + name + ".png" : url;
  s.type = MediaType::kImage;
  return s;
}

inline TaskSpec task_spec(const std::string& name, const std::vector<std::string>& assets,
                          const std::string& prompt = "Image 1 walks at dusk.") {
  TaskSpec s;
  s.name = name;
  s.task_type = "seedance-2-fast-less-restriction";
  s.prompt = prompt;
  for (const auto& a : assets) s.image_urls.push_back("asset://" + a);
  s.duration = 8;
  s.resolution = "720p";
  return s;
}

// Declarations of `n` image assets a0 .. a<n-1> and no task.
inline SpecSet assets_only(int n) {
  SpecSet s;
  for (int i = 0; i < n; ++i) s.assets.push_back(asset_spec("a" + std::to_string(i)));
  return s;
}

// "asset-20260101000000-" + five base-36 characters of n.
inline std::string asset_id(int n) {
  static const char* kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string tail(5, '0');
  for (int i = 4; i >= 0; --i) {
    tail[static_cast<size_t>(i)] = kDigits[n % 36];
    n /= 36;
  }
  return "asset-20260101000000-" + tail;
}

inline RemoteAsset remote_asset(const std::string& id, RemoteAssetStatus st,
                                const std::string& name = "",
                                std::optional<TimePoint> expires = std::nullopt) {
  RemoteAsset r;
  r.asset_id = id;
  r.name = name;
  r.status = st;
  r.status_text = st == RemoteAssetStatus::kActive       ? "Active"
                  : st == RemoteAssetStatus::kFailed     ? "Failed"
                  : st == RemoteAssetStatus::kProcessing ? "Processing"
                                                         : "Weird";
  r.expires_at = expires;
  return r;
}

inline RemoteTask remote_task(const std::string& id, RemoteTaskStatus st,
                              const std::string& video = "") {
  RemoteTask r;
  r.task_id = id;
  r.status = st;
  static const char* kNames[] = {"pending", "staged", "processing", "completed", "failed", "?"};
  r.status_text = kNames[static_cast<int>(st)];
  r.video_url = video;
  return r;
}

inline ApiError transient(const std::string& msg = "HTTP 503 Service Unavailable",
                          bool maybe_processed = true, int http = 503) {
  ApiError e;
  e.kind = ApiError::Kind::kTransient;
  e.http_status = http;
  e.message = msg;
  e.maybe_processed = maybe_processed;
  return e;
}

inline ApiError permanent(int http, const std::string& msg, int api_code = 0) {
  ApiError e;
  e.kind = ApiError::Kind::kPermanent;
  e.http_status = http;
  e.api_code = api_code;
  e.message = msg;
  e.maybe_processed = false;
  return e;
}

template <class T>
ApiResult<T> err(ApiError e) {
  return tl::unexpected<ApiError>(std::move(e));
}

// Drives one Engine and keeps everything it produced.
class Harness {
 public:
  explicit Harness(EngineOptions opt = default_options(), uint64_t seed = 1)
      : engine(std::make_unique<Engine>(std::move(opt), seed)) {}

  static EngineOptions default_options() {
    EngineOptions o;
    o.output_dir = "/out";
    o.requests_per_second = 1000;
    o.max_concurrent_requests = 1000;
    o.max_tasks_in_flight = 1000;
    return o;
  }

  // Records `r` and returns it.
  const Ready& take(Ready r) {
    for (const auto& e : r.events) events.push_back(e);
    for (const auto& l : r.logs) logs.push_back(l);
    for (const auto& q : r.requests) pending.push_back(q);
    last = std::move(r);
    return last;
  }

  const Ready& sync(const SpecSet& s) { return take(engine->sync_specs(s, now)); }
  const Ready& tick() { return take(engine->tick(now)); }
  const Ready& advance(Duration d) {
    now += d;
    return tick();
  }

  // Moves time to next_wakeup() (if any) and ticks. Returns false when there is none.
  bool wake() {
    auto w = engine->next_wakeup();
    if (!w) return false;
    now = std::max(now, *w);
    tick();
    return true;
  }

  size_t count(Kind k, const std::string& name = "") const {
    return static_cast<size_t>(std::count_if(pending.begin(), pending.end(), [&](const Request& r) {
      return r.kind == k && (name.empty() || r.name == name);
    }));
  }

  // Removes and returns the pending request of kind `k` (for `name`); fails the test if none.
  Request pop(Kind k, const std::string& name = "") {
    auto it = std::find_if(pending.begin(), pending.end(), [&](const Request& r) {
      return r.kind == k && (name.empty() || r.name == name);
    });
    if (it == pending.end()) {
      ADD_FAILURE() << "no pending request of kind " << static_cast<int>(k) << " for '" << name
                    << "'";
      return Request{};
    }
    Request r = *it;
    pending.erase(it);
    return r;
  }

  // Uploads, lists and activates `name` with id `id` (expires in 3 days).
  void activate_asset(const std::string& name, const std::string& id) {
    pop(Kind::kUploadAsset, name);
    take(engine->on_upload(name, remote_asset(id, RemoteAssetStatus::kActive, "", now + hours(72)),
                           now));
  }

  AssetState astate(const std::string& n) const { return engine->asset(n)->state; }
  TaskState tstate(const std::string& n) const { return engine->task(n)->state; }

  bool has_event(const std::string& name, const std::string& from, const std::string& to) const {
    return std::any_of(events.begin(), events.end(), [&](const EventRecord& e) {
      return e.name == name && e.from == from && e.to == to;
    });
  }

  bool has_log(const std::string& needle) const {
    return std::any_of(logs.begin(), logs.end(),
                       [&](const LogLine& l) { return l.text.find(needle) != std::string::npos; });
  }

  std::unique_ptr<Engine> engine;
  TimePoint now = kT0;
  std::vector<Request> pending;
  std::vector<EventRecord> events;
  std::vector<LogLine> logs;
  Ready last;
};

}  // namespace sd::testing
