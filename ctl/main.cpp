// seedancectl: the operator's tool over seedanced's state DB.
//
//   seedancectl [--config FILE | --db PATH] status [--json]
//   seedancectl [--config FILE | --db PATH] show NAME
//   seedancectl [--config FILE | --db PATH] events [--follow] [--since T] [--name N]
//   seedancectl [--config FILE | --db PATH] retry NAME
//
// Reads the DB read-only while the daemon writes to it (WAL); `retry` only
// appends a row to the commands queue that the running daemon polls.
// Exit codes: 0 ok, 1 operational error (message on stderr), 2 usage.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "config/main_config.hpp"
#include "core/clock.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "storage/repository.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/seedanced/seedanced.json";
constexpr const char* kDefaultStateDb = "/var/lib/seedanced/state.db";

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The DB path: --db, else state_db of --config (or of the default config when
// it exists), else the built-in default.
sd::Result<std::string> resolve_db(const std::string& db, const std::string& config) {
  if (!db.empty()) return db;
  std::string path = config;
  if (path.empty()) {
    if (!file_exists(kDefaultConfig)) return std::string(kDefaultStateDb);
    path = kDefaultConfig;
  }
  auto c = sd::load_main_config(path);
  if (!c) return sd::Fail(c.error());
  return c->state_db;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seedancectl: inspect seedanced's state DB and re-queue tasks"};
  app.require_subcommand(1);
  std::string db_path, config_path;
  auto* db_opt = app.add_option("--db", db_path, "state DB file (default: state_db of the config)");
  auto* config_opt = app.add_option(
      "--config", config_path, std::string("seedanced config (default ") + kDefaultConfig + ")");
  db_opt->excludes(config_opt);

  bool status_json = false;
  auto* status_cmd = app.add_subcommand("status", "every asset and task with its state");
  status_cmd->add_flag("--json", status_json, "an array of JSON objects with full values");

  std::string show_name;
  auto* show_cmd = app.add_subcommand("show", "one asset or task, with its history");
  show_cmd->add_option("NAME", show_name, "asset or task name")->required();

  bool follow = false;
  std::string since_text, events_name;
  auto* events_cmd = app.add_subcommand("events", "the transition log, oldest first");
  events_cmd->add_flag("-f,--follow", follow, "keep printing new transitions until interrupted");
  events_cmd->add_option("--since", since_text, "RFC3339 time, or an age such as 10m, 2h, 1d");
  events_cmd->add_option("--name", events_name, "only this asset or task");

  std::string retry_name;
  auto* retry_cmd = app.add_subcommand("retry", "re-queue a Failed, Held or Blocked task");
  retry_cmd->add_option("NAME", retry_name, "task name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? sd::ctl::kExitOk : sd::ctl::kExitUsage;
  }

  sd::SystemClock clock;
  const sd::TimePoint now = clock.now();

  sd::ctl::EventsOptions events_options;
  if (*events_cmd) {
    install_signal_handlers();  // before anything slow, so --follow always exits cleanly
    events_options.follow = follow;
    if (!events_name.empty()) events_options.name = events_name;
    if (!since_text.empty()) {
      events_options.since = sd::ctl::parse_since(since_text, now);
      if (!events_options.since) {
        std::cerr << "seedancectl: --since '" << since_text
                  << "' is neither an RFC3339 time (2026-11-27T08:01:02Z) nor an age (10m, 2h, "
                     "1d)\n";
        return sd::ctl::kExitUsage;
      }
    }
  }

  auto path = resolve_db(db_path, config_path);
  if (!path) {
    std::cerr << "seedancectl: " << path.error().message() << "\n";
    return sd::ctl::kExitError;
  }
  auto mode = *retry_cmd ? sd::Repository::Mode::kOperator : sd::Repository::Mode::kReadOnly;
  auto repo = sd::Repository::open(*path, mode);
  if (!repo) {
    std::cerr << "seedancectl: " << repo.error().message() << "\n";
    return sd::ctl::kExitError;
  }

  if (*status_cmd) return sd::ctl::status(**repo, status_json, now, std::cout, std::cerr);
  if (*show_cmd) return sd::ctl::show(**repo, show_name, now, std::cout, std::cerr);
  if (*events_cmd) {
    return sd::ctl::events(**repo, events_options, g_stop, std::cout, std::cerr);
  }
  if (*retry_cmd) return sd::ctl::retry(**repo, retry_name, now, std::cout, std::cerr);
  return sd::ctl::kExitUsage;
}
