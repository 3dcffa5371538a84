// SIGKILL seedanced at 20+ random moments of a large run, restart it each
// time, and assert the same invariants as an uninterrupted run (issue 4):
// nothing lost, nothing created twice (tasks whose create outcome was lost are
// Held, never resubmitted).
#include <signal.h>

#include <cstdio>

#include <gtest/gtest.h>

#include "core/random.hpp"
#include "tests/integration/fleet.hpp"

namespace sd::test {
namespace {

TEST(CrashRecovery, TwentyKillsDuringALargeRunLoseAndDuplicateNothing) {
  FleetOptions options;
  options.seed = 11;
  options.speed = 200;  // slow enough that 20 kills land inside the run
  Fleet fleet(options);
  Random rng(options.seed);
  constexpr int kKills = 20;
  int kills = 0;
  for (int i = 0; i < kKills; ++i) {
    auto daemon = fleet.start_daemon();
    // Kill somewhere between start-up and well into the run.
    const auto delay = std::chrono::milliseconds(100 + rng.below(500));
    if (daemon->wait(delay)) break;  // finished before this kill: nothing left to interrupt
    daemon->signal(SIGKILL);
    ASSERT_TRUE(daemon->wait(std::chrono::seconds(10)).has_value());
    ++kills;
  }
  const int rc = fleet.run_to_end(std::chrono::minutes(8));
  ASSERT_NE(rc, -1) << "seedanced --once did not finish after the kills\n" << fleet.log_tail();
  EXPECT_GE(kills, kKills) << "the run ended before every kill happened: make it longer";
  // Each kill may leave the creates then in flight (at most
  // max_concurrent_requests = 16) Held, on top of those the faults cause.
  const int held = expect_run_invariants(fleet, fleet.load_state(), fleet.stats(),
                                         kills * 16 + fleet.n_tasks() / 20);
  std::printf("%d kills; held %d of %d tasks\n", kills, held, fleet.n_tasks());
}

}  // namespace
}  // namespace sd::test
