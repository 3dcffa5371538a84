// The daemon: seedanced's imperative shell around the pure Engine.
//
// Startup, in this order (Daemon::run):
//   1. config and API key      (already in DaemonSettings: load_settings())
//   2. output_dir created
//   3. state DB                (Repository::open)
//   4. PiAPI client
//   5. recovery                (engine.recover(snapshot))
//   6. jobs                    (load_jobs + engine.sync_specs)
//   7. signals                 (SIGHUP reload, SIGTERM/SIGINT drain)
//   8. timers                  (engine wake-up, seedancectl commands, watchdog)
//   9. READY=1
// The loop: every input (a client reply, the wake-up timer, SIGHUP, a
// seedancectl command) becomes an engine call returning a Ready; the Ready is
// persisted FIRST (a failed write is fatal: nothing is sent after it), its
// log lines are written, its requests are started (one coroutine each, whose
// reply goes back to the matching Engine::on_*), and the wake-up timer is
// re-armed at engine.next_wakeup(). Inputs that arrive in the same loop turn
// are merged (Ready::merge) and saved in one transaction. STATUS= carries a
// one-line summary.
// SIGTERM/SIGINT: no new work, in-flight requests may finish for up to
// drain_timeout, exit 0; a second signal exits at once (everything that
// matters is already persisted).
//
// Owner: daemon/. Thread contract: run() drives one io_context on the calling
// thread; every member is owned by that thread. Not copyable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/main_config.hpp"
#include "core/clock.hpp"
#include "core/engine.hpp"
#include "core/result.hpp"
#include "daemon/notify.hpp"

namespace sd {

// seedanced's exit codes (also listed in --help).
enum ExitCode : int {
  kExitOk = 0,          // stopped on request, or --once with every task Downloaded
  kExitIncomplete = 1,  // --once: some task ended Failed/Blocked/Cancelled/Held; --check: invalid
  kExitUsage = 2,       // bad command line
  kExitConfig = 3,      // the main config or the API key could not be loaded
  kExitStartup = 4,     // the state DB or output_dir could not be opened
  kExitRuntime = 5,     // a state DB write failed while running (nothing was sent after it)
};

struct DaemonSettings {
  MainConfig config;
  std::string api_key;                               // never logged
  bool once = false;                                 // exit when every task is terminal
  Duration drain_timeout = std::chrono::seconds(8);  // SIGTERM: wait this long for replies
  Duration command_poll = std::chrono::seconds(1);   // seedancectl command queue
};

// Loads the main config at `config_path` and the API key it points to.
// Errors name the file or the key sources (never the key).
Result<DaemonSettings> load_settings(const std::string& config_path);

// "12 assets active, 3 tasks rendering, 40 downloaded" (+ waiting/failed/held when non-zero).
std::string status_line(const Summary& s);

class Daemon {
 public:
  // `notifier` is usually Notifier::from_env().
  Daemon(DaemonSettings settings, Notifier notifier);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts up, runs the loop until stopped, and returns an ExitCode.
  // REQUIRES: called once.
  int run();

  // The engine after run() (for the --demo summary); nullptr if startup failed
  // before recovery.
  const Engine* engine() const;
  // Every declared task's record after run(), in declaration order (for --demo).
  std::vector<TaskRecord> task_records() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sd
