// piapi-sim settings: plan, timings, content rules and fault rates.
// Every field has a command-line flag in sim/main.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace sd::sim {

struct FaultRates {  // each a probability in [0, 1], drawn from the seeded generator
  double http_5xx = 0;
  double http_429 = 0;            // with Retry-After
  double reset_before = 0;        // close the connection before processing the request
  double reset_after = 0;         // process the request, then close without replying
  double html_body = 0;           // a Cloudflare-style HTML page with 503
  double truncated_body = 0;      // Content-Length promises more than is sent
  double latency = 0;             // delay the reply by latency_ms
  int latency_ms = 200;
  int retry_after_s = 15;
};

struct SimOptions {
  uint16_t port = 0;
  std::string api_key = "sim-key";
  double speed = 1;  // time scale: a 180 s render takes 180/speed s
  uint64_t seed = 1;
  std::string plan = "hobbyist";  // free|hobbyist|developer|premium|enterprise: quota + TTL
  int max_concurrent_tasks = 5;   // beyond: staged
  double asset_processing_s = 10;  // Processing -> Active, before the speed scale
  double task_queue_s = 9;         // pending -> processing
  double task_render_s = 150;      // processing -> completed
  std::string fail_url_pattern = "fail";  // asset URLs containing this end Failed
  std::string reject_word = "forbidden";  // prompts containing this fail with 10003
  uint64_t video_bytes = 64 * 1024;       // size of the served output video
  int page_size_default = 20;             // asset list page size when none is asked
  FaultRates faults;
};

}  // namespace sd::sim
