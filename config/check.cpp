#include "config/check.hpp"

#include "config/job_spec.hpp"
#include "config/main_config.hpp"

namespace sd {
namespace {

std::string count(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

int run_check(const std::string& config_path, std::ostream& out) {
  auto config = load_main_config(config_path);
  if (!config) {
    out << config.error().message() << "\n";
    size_t lines = 1;
    for (char c : config.error().message()) lines += c == '\n' ? 1 : 0;
    out << "main config " << (config_path.empty() ? "(defaults)" : config_path) << ": "
        << count(lines, "error") << "\n";
    return 1;
  }
  int warnings = 0;
  if (auto key = load_api_key(*config); !key) {
    out << "warning: " << key.error().message() << "\n";
    ++warnings;
  }
  JobsLoad load = load_jobs(config->jobs_dir, *config);
  for (const auto& d : load.diagnostics) out << d.to_string() << "\n";
  int errors = load.error_count();
  warnings += load.warning_count();
  if (errors > 0) {
    out << count(static_cast<size_t>(errors), "error") << ", "
        << count(static_cast<size_t>(warnings), "warning") << "\n";
    return 1;
  }
  out << count(load.files.size(), "file") << ", " << count(load.specs.assets.size(), "asset")
      << ", " << count(load.specs.tasks.size(), "task") << ": OK";
  if (warnings > 0) out << " (" << count(static_cast<size_t>(warnings), "warning") << ")";
  out << "\n";
  return 0;
}

}  // namespace sd
