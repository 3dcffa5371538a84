// The in-memory PiAPI behind piapi-sim: assets, tasks, quotas, TTLs and the
// ground-truth statistics tests assert against.
//
// Owner: sim/. The model is pure: no sockets, no clock. Each call gets the
// request as plain data and `now`; state advances lazily to `now` (assets
// finish processing, tasks move pending -> staged -> processing -> completed
// or failed, idle assets are purged). The HTTP contract is
// ../shared/piapi-api.md with the simulator choices of its section 9.
//
// Routes: POST /api/v1/asset/upload, GET /api/v1/asset/list, GET|DELETE
// /api/v1/asset/{id}, POST /api/v1/task, GET /api/v1/task/{id},
// GET /account/active_tasks, GET /sim/files/{task_id}.mp4, GET /sim/stats.
//
// The stats document (GET /sim/stats, SimModel::stats) is the ground truth
// tests assert against:
//   uploads, uploads_by_name {name: n}, uploads_by_url {url: n}   accepted upload items
//   task_creates, duplicate_creates (a create whose JSON body equals an earlier
//     accepted one), creates_by_prompt {prompt: n}, duplicate_prompts {prompt: n>1},
//     creates_by_body_hash {hash: n}
//   creates_with_inactive_asset   create attempts naming an unknown/non-Active asset
//                                 (all rejected with 400; a correct client makes none)
//   polls {asset_list, asset_get, task_get}, polls_by_task {task_id: n},
//   requests {endpoint: n}, rejections {reason: n} (reason keys such as
//     "asset_not_active", "invalid_duration", "unauthorized"),
//   faults {kind: n} ("http_5xx", "http_429", "reset_before", "reset_after",
//     "html_body", "truncated_body", "latency"),
//   downloads, download_bytes, deletes, purges, max_processing,
//   assets_by_status, tasks_by_status,
//   assets [{asset_id, name, url, status}] (status also "Deleted" / "Purged"),
//   tasks [{task_id, task_type, prompt, body_hash, status, created_at,
//           assets [{asset_id, status_at_create}]}]
//
// Thread contract: not synchronised; the server serialises calls with a mutex.
// `now` must not go backwards between calls.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "sim/options.hpp"

namespace sd::sim {

// An HTTP request as plain data.
struct SimRequest {
  std::string method;                                        // "GET", "POST", "DELETE", ...
  std::string target;                                        // path plus optional "?query"
  std::vector<std::pair<std::string, std::string>> headers;  // names as received
  std::string body;

  // Returns the value of the first header called `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

// An HTTP response as plain data.
struct SimResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type/Length
  std::string body;
  std::string reason;  // the rejection reason key counted in stats ("" when none)
};

class SimModel {
 public:
  // REQUIRES: validate(options) succeeded.
  explicit SimModel(SimOptions options);
  ~SimModel();
  SimModel(const SimModel&) = delete;
  SimModel& operator=(const SimModel&) = delete;

  // Returns an error naming the first bad option (unknown plan, speed <= 0, ...).
  static Result<void> validate(const SimOptions& options);

  // Advances the world to `now` and answers `req`.
  SimResponse handle(const SimRequest& req, TimePoint now);

  // Counts one injected fault of `kind` (e.g. "http_5xx") in the stats.
  void note_fault(std::string_view kind);

  // Advances the world to `now` and returns the /sim/stats document.
  nlohmann::json stats(TimePoint now);

  const SimOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Returns `t` as RFC 3339 UTC ("2026-06-07T15:41:23Z"; with ".123" when
// `millis`). The zero TimePoint gives "0001-01-01T00:00:00Z" as PiAPI does.
std::string format_time(TimePoint t, bool millis = false);

}  // namespace sd::sim
