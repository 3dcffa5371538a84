// piapi-sim settings: plan, timings, content rules and fault rates.
//
// Owner: sim/. Every field has a command-line flag in sim/main.cpp. Times are
// given in "simulated seconds" and divided by `speed`, so a 150 s render takes
// 1.5 s at --speed 100 (asset TTLs and ephemeral retention scale the same way).
//
// Thread contract: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sd {
class Clock;
}

namespace sd::sim {

struct FaultRates {  // each a probability in [0, 1], drawn from the seeded generator
  double http_5xx = 0;
  double http_429 = 0;        // with Retry-After
  double reset_before = 0;    // close the connection before processing the request
  double reset_after = 0;     // process the request, then close without replying
  double html_body = 0;       // a Cloudflare-style HTML page with 503
  double truncated_body = 0;  // Content-Length promises more than is sent
  double latency = 0;         // delay the reply by latency_ms
  int latency_ms = 200;
  int retry_after_s = 15;
  // Where faults may hit. Empty = every /api/ request. Otherwise a request is
  // eligible when "<METHOD> <target>" or "<target>" starts with one entry, e.g.
  // "POST /api/v1/task" (creates only) or "/api/v1/asset/". /sim/stats and
  // /sim/control are never faulted; /sim/files/ only when listed here.
  std::vector<std::string> paths;
  int64_t max_faults = -1;  // stop injecting after this many faults; -1 = no limit
};

struct SimOptions {
  uint16_t port = 0;
  std::string api_key = "sim-key";
  double speed = 1;  // time scale: a 180 s render takes 180/speed s
  uint64_t seed = 1;
  std::string plan = "hobbyist";   // free|hobbyist|developer|premium|enterprise: quota + TTL
  int max_concurrent_tasks = 5;    // beyond: staged
  bool staging = true;             // false: creates beyond the limit get 429 + Retry-After
  double asset_processing_s = 10;  // Processing -> Active, before the speed scale
  double task_queue_s = 9;         // pending -> processing
  double task_render_s = 150;      // processing -> completed
  double reject_after_s = 20;      // processing -> failed for a rejected prompt (capped by render)
  std::string fail_url_pattern = "fail";  // asset URLs containing this end Failed
  std::string reject_word = "forbidden";  // prompts containing this fail with 10003
  uint64_t video_bytes = 64 * 1024;       // size of the served output video
  int page_size_default = 20;             // asset list page size when none is asked
  int page_size_max = 100;                // larger page_size values are rejected (400)
  int asset_quota = 0;                    // 0 = the plan's quota
  double asset_ttl_s = 0;                 // idle TTL; 0 = the plan's (3/7/15 days)
  int ephemeral_cap = 20;                 // concurrent auto-uploaded (ephemeral) assets
  int idle_timeout_s = 60;                // keep-alive connections idle this long are closed
  // Clock the server reads `now` from; nullptr = the system clock. Not owned;
  // must outlive the server and be safe to read from the server thread.
  const Clock* clock = nullptr;
  FaultRates faults;
};

}  // namespace sd::sim
