// A generated fleet of job specs plus the simulator and config to run them:
// the fixture of the large-run and crash tests. It writes `n_assets` shared
// image assets, one asset whose upload fails, and `n_tasks` tasks (each using
// one or two shared assets, some also a raw URL, some the failing asset, some
// a prompt the simulator rejects), starts piapi-sim in-process with faults,
// and runs the real seedanced binary against it.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model.hpp"
#include "sim/server.hpp"
#include "storage/repository.hpp"
#include "tests/support/child_process.hpp"

namespace sd::test {

struct FleetOptions {
  int n_assets = 200;
  int n_tasks = 1000;
  uint64_t seed = 7;
  bool faults = true;
  std::string on_uncertain_submit = "hold";
  double speed = 1000;  // simulator time scale: a 150 s render takes 150/speed s
};

class Fleet {
 public:
  explicit Fleet(FleetOptions options);

  // Starts `seedanced --once` against the simulator; output appended to log().
  std::unique_ptr<ChildProcess> start_daemon() const;
  // Runs the daemon until it exits, at most `timeout`. Returns the exit code, or -1 on timeout.
  int run_to_end(std::chrono::milliseconds timeout) const;

  nlohmann::json stats() const { return sim_->stats(); }
  Snapshot load_state() const;
  std::string log() const { return read_file(dir_.file("daemon.log")); }
  // The last `lines` lines of the daemon's log, for failure messages.
  std::string log_tail(size_t lines = 60) const;
  const std::string& output_dir() const { return output_dir_; }

  // What the specs make inevitable.
  const std::set<std::string>& rejected_tasks() const { return rejected_; }  // 10003
  const std::set<std::string>& blocked_tasks() const { return blocked_; }    // failing asset
  const std::string& failing_asset() const { return failing_asset_; }
  int n_assets() const { return options_.n_assets; }
  int n_tasks() const { return options_.n_tasks; }
  // The prompt the simulator saw for task `name`.
  static std::string prompt_of(const std::string& name);

 private:
  void write_specs();
  void write_config();

  FleetOptions options_;
  TempDir dir_;
  std::unique_ptr<sim::SimServer> sim_;
  std::string config_path_;
  std::string output_dir_;
  std::set<std::string> rejected_;
  std::set<std::string> blocked_;
  std::string failing_asset_ = "broken-prop";
};

// Asserts everything a finished run must satisfy (see the test files). Tasks
// whose create outcome was lost are Held (never sent again); at most
// `max_held` of them are accepted. Returns how many there were.
int expect_run_invariants(const Fleet& fleet, const Snapshot& state, const nlohmann::json& stats,
                          int max_held);

}  // namespace sd::test
