// Backoff policy: how long an entity waits before its next poll or retry.
//
// Pure functions of their inputs and an injected sd::Random (for the jitter),
// so tests can sample them with a fixed seed. Owned by the engine engineer
// (core/); used only by core/engine.cpp.
//
//   poll interval after n polls since the last state change:
//       uniform in [first, min(max, first * 2^n)]
//   retry delay after the k-th consecutive transient failure (k >= 1):
//       full jitter in [0, min(error_max, error_first * 2^(k-1))], at least
//       kMinRetryDelay, and never shorter than a Retry-After the server sent
//   give up: failures for give_up_after or longer since the streak began.
//
// Thread contract: stateless functions; the Random passed in is not synchronised.
#pragma once

#include <optional>

#include "core/clock.hpp"
#include "core/model.hpp"
#include "core/random.hpp"

namespace sd {

// The shortest retry delay, so a burst of failures cannot turn into a busy loop.
inline constexpr Duration kMinRetryDelay{100};

// Returns min(cap, first * 2^n) without overflow; first when first >= cap.
Duration backoff_window(Duration first, Duration cap, int n);

// Returns the wait before the next poll after `polls` polls since the last
// state change: uniform in [first, min(max, first * 2^polls)]. Never below
// `first`; never above `max` unless max < first (then exactly `first`).
Duration poll_interval(Duration first, Duration max, int polls, Random& rng);

// Returns the wait before retrying after the `errors`-th consecutive
// transient failure (errors >= 1): full jitter in
// [0, min(error_max, error_first * 2^(errors-1))], raised to kMinRetryDelay,
// and raised to `retry_after` when the server asked for more.
Duration retry_delay(Duration error_first, Duration error_max, int errors,
                     std::optional<Duration> retry_after, Random& rng);

// Records one transient failure at `now` in `s` (error_count, first_error_at).
void note_failure(Schedule& s, TimePoint now);

// Clears the failure streak of `s` (after a success).
void clear_failures(Schedule& s);

// True iff the failure streak in `s` has lasted give_up_after or longer at `now`.
bool should_give_up(const Schedule& s, TimePoint now, Duration give_up_after);

}  // namespace sd
