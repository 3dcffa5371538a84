// Global request limits: a token bucket over every PiAPI request and the cap
// on tasks in flight.
//
// Pure: time comes in as `now`; nothing here reads a clock. Owned by the
// engine engineer (core/); used by core/engine.cpp.
//
// Thread contract: not synchronised; one owner (the engine).
#pragma once

#include "core/clock.hpp"
#include "core/model.hpp"

namespace sd {

// A token bucket: `rate` tokens per second, holding at most `burst` tokens
// (default max(1, rate)); it starts full. One request spends one token.
// A rate <= 0 means unlimited.
class TokenBucket {
 public:
  explicit TokenBucket(double rate_per_second, double burst = 0);

  // True iff a token can be spent at `now` (does not spend it).
  bool available(TimePoint now) const;
  // Spends one token at `now` and returns true, or returns false when none is left.
  bool try_take(TimePoint now);
  // The earliest time at or after the last use when one token is available
  // (a time <= now when one is available already).
  TimePoint next_token_at() const;
  // Tokens available at `now` (for tests and diagnostics).
  double tokens(TimePoint now) const;

 private:
  double level_at(TimePoint now) const;

  double rate_;   // tokens per second; <= 0 = unlimited
  double burst_;  // capacity
  double level_;  // tokens at last_
  TimePoint last_{};
  bool started_ = false;
};

// The cap on tasks in flight: Submitting + Submitted + Held (a Held task may
// be rendering on PiAPI until an operator resolves it).
class InFlightCap {
 public:
  explicit InFlightCap(int cap) : cap_(cap) {}

  // True iff a task in state `s` counts against the cap.
  static bool counts(TaskState s) {
    return s == TaskState::kSubmitting || s == TaskState::kSubmitted || s == TaskState::kHeld;
  }
  // True iff one more task may start a create while `in_flight` tasks count.
  // A cap <= 0 means unlimited.
  bool allows(int in_flight) const { return cap_ <= 0 || in_flight < cap_; }
  int cap() const { return cap_; }

 private:
  int cap_;
};

}  // namespace sd
