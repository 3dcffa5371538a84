// seedanced: the daemon's command line. argv -> settings -> Daemon::run() -> exit code.
//
//   seedanced [--config F] [--check] [--once] [--demo] [--verbose] [--version] [--help]
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config/check.hpp"
#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"
#include "daemon/notify.hpp"
#include "sim/server.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/seedanced/seedanced.json";

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  stopped by SIGTERM/SIGINT; --once: every task Downloaded; --check: valid; --demo ran\n"
    "  1  --once: some task ended Failed, Blocked, Cancelled or Held; --check: invalid\n"
    "  2  bad command line\n"
    "  3  the main config or the API key could not be loaded\n"
    "  4  the state DB or output_dir could not be opened\n"
    "  5  a state DB write failed while running (nothing was sent after it)\n"
    "\n"
    "The API key comes from $CREDENTIALS_DIRECTORY/piapi-api-key (systemd LoadCredential=),\n"
    "else $PIAPI_API_KEY, else the file named by api.key_file. It is never logged.\n";

// The example job specs: the source tree's examples/jobs.d, else the installed copy.
std::string examples_dir() {
  std::error_code ec;
  for (std::string dir : {SEEDANCED_EXAMPLES_DIR, SEEDANCED_INSTALLED_EXAMPLES_DIR}) {
    if (std::filesystem::is_directory(dir + "/jobs.d", ec)) return dir + "/jobs.d";
    if (std::filesystem::is_directory(dir, ec)) return dir;
  }
  return SEEDANCED_EXAMPLES_DIR;
}

std::string human_duration(sd::Duration d) {
  char buf[32];
  const double s = static_cast<double>(d.count()) / 1000.0;
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

// Prints the --demo summary table and totals to stdout.
void print_demo_summary(const sd::Daemon& daemon, const nlohmann::json& stats,
                        const std::string& dir, sd::Duration wall) {
  const auto tasks = daemon.task_records();
  size_t name_w = 4;
  for (const auto& t : tasks) name_w = std::max(name_w, t.spec.name.size());
  std::printf("\n%-*s  %-10s  %-28s  %9s  %8s\n", static_cast<int>(name_w), "task", "state",
              "video file", "bytes", "time");
  uint64_t total_bytes = 0;
  int downloaded = 0;
  for (const auto& t : tasks) {
    std::string file = "-";
    uint64_t bytes = 0;
    std::error_code ec;
    if (!t.output_path.empty()) {
      file = std::filesystem::path(t.output_path).filename().string();
      bytes = std::filesystem::file_size(t.output_path, ec);
      if (ec) bytes = 0;
    }
    if (t.state == sd::TaskState::kDownloaded) ++downloaded;
    total_bytes += bytes;
    std::printf("%-*s  %-10s  %-28s  %9llu  %8s\n", static_cast<int>(name_w), t.spec.name.c_str(),
                std::string(sd::to_string(t.state)).c_str(), file.c_str(),
                static_cast<unsigned long long>(bytes),
                human_duration(t.state_since - t.created_at).c_str());
    if (!t.last_error.empty() && t.state != sd::TaskState::kDownloaded) {
      std::printf("%-*s  ^ %s\n", static_cast<int>(name_w), "", t.last_error.c_str());
    }
  }
  std::printf("\n%zu tasks: %d downloaded, %zu not; %llu bytes in %s/videos; %s wall time\n",
              tasks.size(), downloaded, tasks.size() - static_cast<size_t>(downloaded),
              static_cast<unsigned long long>(total_bytes), dir.c_str(),
              human_duration(wall).c_str());
  auto count = [&](const char* key) { return stats.value(key, nlohmann::json(0)).dump(); };
  std::printf("simulator: %s uploads, %s task creates (%s duplicates), %s downloads, polls %s\n",
              count("uploads").c_str(), count("task_creates").c_str(),
              count("duplicate_creates").c_str(), count("downloads").c_str(),
              count("polls").c_str());
}

// --demo: the bundled examples against an in-process simulator, in a temp state dir.
int run_demo() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/seedanced-demo-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    spdlog::error("--demo: cannot create a temporary directory {}", tmpl);
    return sd::kExitStartup;
  }
  const std::string dir = tmpl;

  sd::sim::SimOptions sim_options;
  sim_options.speed = 60;  // a 150 s render takes 2.5 s
  sim_options.seed = 7;
  sim_options.api_key = "demo-key";
  auto sim = sd::sim::SimServer::start(sim_options);
  if (!sim) {
    spdlog::error("--demo: simulator: {}", sim.error().message());
    return sd::kExitStartup;
  }

  sd::DaemonSettings s;
  s.config.api.base_url = (*sim)->base_url();
  s.config.state_db = dir + "/state.db";
  s.config.jobs_dir = examples_dir();
  s.config.output_dir = dir + "/videos";
  s.config.poll.asset_first_s = 0.2;
  s.config.poll.task_first_s = 0.5;
  s.config.poll.max_interval_s = 2;
  s.config.limits.requests_per_second = 50;
  s.config.limits.max_tasks_in_flight = 8;
  s.config.source = "(--demo)";
  s.api_key = sim_options.api_key;
  s.once = true;
  sd::add_log_secret(s.api_key);

  spdlog::info("--demo: simulator at {}, state in {}, jobs from {}", (*sim)->base_url(), dir,
               s.config.jobs_dir);
  const auto t0 = std::chrono::steady_clock::now();
  sd::Daemon daemon(std::move(s), sd::Notifier(""));
  const int rc = daemon.run();
  const auto wall = std::chrono::duration_cast<sd::Duration>(std::chrono::steady_clock::now() - t0);
  const nlohmann::json stats = (*sim)->stats();
  (*sim)->stop();
  if (rc != sd::kExitOk && rc != sd::kExitIncomplete) return rc;
  print_demo_summary(daemon, stats, dir, wall);
  return sd::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seedanced: runs Seedance video jobs on PiAPI reliably", "seedanced"};
  std::string config_path = kDefaultConfig;
  bool check = false, once = false, demo = false, verbose = false;
  app.add_option("-c,--config", config_path, "main config file")->capture_default_str();
  app.add_flag("--check", check, "validate the config and every job spec, print every problem");
  app.add_flag("--once", once, "exit when every task is terminal (0 if all were downloaded)");
  app.add_flag("--demo", demo,
               "run the bundled examples against an in-process simulator and print a summary");
  app.add_flag("-v,--verbose", verbose, "log at debug level");
  app.set_version_flag("--version", std::string("seedanced ") + SEEDANCED_VERSION);
  app.footer(kExitCodesHelp);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return sd::kExitUsage;
  }

  sd::setup_logging(sd::detect_log_format(), verbose ? spdlog::level::debug : spdlog::level::info);

  if (check) return sd::run_check(config_path, std::cout);
  if (demo) return run_demo();

  auto settings = sd::load_settings(config_path);
  if (!settings) {
    spdlog::error("{}", settings.error().message());
    return sd::kExitConfig;
  }
  sd::add_log_secret(settings->api_key);
  if (!verbose) {
    auto level = sd::parse_log_level(settings->config.log.level);
    if (!level) {
      spdlog::error("log.level: {}", level.error().message());
      return sd::kExitConfig;
    }
    sd::set_log_level(*level);
  }
  settings->once = once;
  sd::Daemon daemon(std::move(*settings), sd::Notifier::from_env());
  return daemon.run();
}
