// `seedanced --check`: validates the main config and every job spec, prints
// every problem and a summary, like `nginx -t`.
//
// Owner: config/. Called by daemon/main.cpp. Thread contract: reads files and
// the environment; call from one thread.
#pragma once

#include <ostream>
#include <string>

namespace sd {

// Loads `config_path` (empty = built-in defaults) and every job spec in its
// jobs_dir, prints each error and warning on its own line, then a final line:
// "3 files, 12 assets, 40 tasks: OK" (with ", N warnings" when there are any)
// or "N errors, M warnings". Returns 0 when everything is valid, 1 otherwise.
// A missing API key is a warning (the key may only exist where the service runs).
int run_check(const std::string& config_path, std::ostream& out);

}  // namespace sd
