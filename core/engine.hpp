// The engine: every asset and task of the daemon, as one pure state machine.
//
// Inputs are method calls (a reply arrived, the timer fired, jobs_dir changed,
// an operator asked for a retry), each with `now`. Each returns a Ready value:
// what changed and what to do next. The engine performs no IO and reads no
// clock, so tests drive days of schedule in milliseconds.
//
// Contract with the shell (daemon/):
//   1. Persist Ready::assets, Ready::tasks and Ready::events in ONE transaction
//      BEFORE performing any of Ready::requests (an Uploading/Submitting record
//      is the intent that makes a crash safe).
//   2. Perform every request; report each outcome with the matching on_*()
//      call, exactly once, in any order.
//   3. Call tick() no later than next_wakeup().
// Every input method also runs tick(now) internally, so e.g. a task is
// submitted in the same step that sees its last asset become Active.
//
// Thread contract: not synchronised; the daemon's single io_context thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/model.hpp"
#include "core/spec.hpp"

namespace sd {

struct EngineOptions {
  Duration asset_first_poll = std::chrono::seconds(2);
  Duration task_first_poll = std::chrono::seconds(10);
  Duration max_poll_interval = std::chrono::seconds(60);
  Duration error_first_retry = std::chrono::seconds(1);  // transient-failure backoff start
  Duration error_max_retry = std::chrono::minutes(5);    // ... and cap
  Duration give_up_after = std::chrono::hours(24);       // failures for this long -> Failed
  Duration expiry_margin = std::chrono::hours(1);  // re-check an asset this close to expires_at
  int max_tasks_in_flight = 4;                     // Submitting + Submitted + Held
  double requests_per_second = 5;                  // token bucket over every request
  int max_concurrent_requests = 8;                 // requests awaiting a reply
  int max_assets = 50;                             // plan quota
  bool resubmit_uncertain = false;                 // "on_uncertain_submit": "resubmit"
  std::string output_dir;                          // downloads go to <output_dir>/<task name>.mp4
};

// One call the shell must make, then report with the matching on_*().
struct Request {
  enum class Kind {
    kUploadAsset,  // -> on_upload(name, ...)
    kListAssets,   // -> on_list(...) ; all pages
    kGetAsset,     // -> on_get_asset(name, ...); for a pass-through asset://asset-... id,
                   //    name == remote_id == that id (checked once before the first submit)
    kCreateTask,   // -> on_create(name, ...)
    kGetTask,      // -> on_get_task(name, ...)
    kDownload,     // -> on_download(name, ...)
  };
  Kind kind = Kind::kListAssets;
  std::string name;           // the asset or task; empty for kListAssets
  UploadAssetRequest upload;  // kUploadAsset
  std::string remote_id;      // kGetAsset (asset_id), kGetTask (task_id)
  std::string body;           // kCreateTask: the exact JSON body (also in the persisted record)
  std::string url;            // kDownload: the video URL
  std::string path;           // kDownload: the final destination file
};

struct LogLine {
  enum class Level { kDebug, kInfo, kWarn, kError };
  Level level = Level::kInfo;
  std::string text;
};

// What one engine step produced. See the contract at the top of this file.
struct Ready {
  std::vector<AssetRecord> assets;  // full copies of every record changed in this step
  std::vector<TaskRecord> tasks;
  std::vector<EventRecord> events;  // one per state transition, in order
  std::vector<Request> requests;
  std::vector<LogLine> logs;  // the transition lines plus warnings (spec changes, give-ups)

  bool empty() const {
    return assets.empty() && tasks.empty() && events.empty() && requests.empty() && logs.empty();
  }
  // Appends `other` to this (used by the shell to merge steps of one loop turn).
  void merge(Ready&& other);
};

// Counts for STATUS=, seedancectl and the --demo summary.
struct Summary {
  std::map<AssetState, int> assets;
  std::map<TaskState, int> tasks;
  int requests_in_flight = 0;
};

class Engine {
 public:
  Engine(EngineOptions options, uint64_t seed);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads what storage holds and applies the recovery rules: an asset left
  // Uploading is reconciled through a list before any re-upload; a task left
  // Submitting becomes Held (or is resubmitted with resubmit_uncertain); every
  // other non-terminal entity resumes its schedule. Call once, first.
  Ready recover(std::vector<AssetRecord> assets, std::vector<TaskRecord> tasks, TimePoint now);

  // Reconciles with the declarations in jobs_dir (start and SIGHUP): new
  // entities start; a changed entity not yet submitted/uploaded is updated; a
  // changed task already submitted keeps its result (a warning says to rename
  // it); a removed task not yet submitted is Cancelled.
  Ready sync_specs(const SpecSet& specs, TimePoint now);

  // Operator request: re-queue a Failed, Held or Blocked task (and a Failed
  // asset it needs). Unknown names or other states produce a warning log only.
  Ready retry(std::string_view task_name, TimePoint now);

  Ready on_upload(const std::string& asset, const ApiResult<RemoteAsset>& r, TimePoint now);
  Ready on_list(const ApiResult<std::vector<RemoteAsset>>& r, TimePoint now);
  Ready on_get_asset(const std::string& asset, const ApiResult<RemoteAsset>& r, TimePoint now);
  Ready on_create(const std::string& task, const ApiResult<RemoteTask>& r, TimePoint now);
  Ready on_get_task(const std::string& task, const ApiResult<RemoteTask>& r, TimePoint now);
  Ready on_download(const std::string& task, const ApiResult<DownloadResult>& r, TimePoint now);

  // Emits every request due at `now` that the token bucket, the in-flight cap
  // and the concurrency bound allow.
  Ready tick(TimePoint now);

  // The earliest time tick() may have work; nullopt when only replies can make progress.
  std::optional<TimePoint> next_wakeup() const;

  // SIGTERM: from now on emit no upload and no create; polls and downloads go on.
  void drain();

  // True when every task is in a terminal state (see is_terminal) and no request is in flight.
  bool all_terminal() const;
  // True when every task is Downloaded.
  bool all_downloaded() const;

  Summary summary() const;
  const AssetRecord* asset(std::string_view name) const;
  const TaskRecord* task(std::string_view name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sd
