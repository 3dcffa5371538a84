// The main configuration file (default /etc/seedanced/seedanced.json): JSON
// with // comments, every key optional with the default shown here, unknown
// keys rejected with a did-you-mean suggestion.
//
// The API key is never in this file: load_api_key() reads it from the systemd
// credential $CREDENTIALS_DIRECTORY/piapi-api-key, else $PIAPI_API_KEY, else
// the file named by api.key_file.
//
// Owner: config/. Thread contract: plain values and functions; load_api_key
// reads the environment, so call it from one thread (at start-up).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine.hpp"
#include "core/result.hpp"

namespace sd {

struct MainConfig {
  struct Api {
    std::string base_url = "https://api.piapi.ai";
    int timeout_s = 30;
    std::string key_file;  // fallback source of the API key
    std::string ca_file;   // extra CA bundle; empty = system store
  } api;
  std::string state_db = "/var/lib/seedanced/state.db";
  std::string jobs_dir = "/etc/seedanced/jobs.d";
  std::string output_dir = "/var/lib/seedanced/videos";
  struct Plan {
    int max_assets = 50;
  } plan;
  struct Limits {
    int max_tasks_in_flight = 4;
    double requests_per_second = 5;
    int max_concurrent_requests = 8;
    uint64_t max_download_mb = 2048;
  } limits;
  struct Poll {
    double asset_first_s = 2;
    double task_first_s = 10;
    double max_interval_s = 60;
    double give_up_after_h = 24;
  } poll;
  struct Log {
    std::string level = "info";  // trace|debug|info|warn|error
  } log;
  std::string on_uncertain_submit = "hold";  // hold | resubmit

  std::string source;  // the file this was read from ("" = built-in defaults)
};

// Reads and validates `path`. Every problem is reported in one Error whose
// message has one "file:line: field 'x': what is wrong; how to fix it" line each.
// An empty `path` returns the built-in defaults (source "").
Result<MainConfig> load_main_config(const std::string& path);

// The engine's options as this configuration sets them.
EngineOptions engine_options(const MainConfig& c);

// Returns the API key (trimmed) from the first source that has one, or an
// Error naming the sources tried. The key itself never appears in the error.
Result<std::string> load_api_key(const MainConfig& c);

}  // namespace sd
