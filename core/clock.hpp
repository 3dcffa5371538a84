// Time as an input. The core never reads a clock: callers pass `now`.
// The shell reads time through a Clock&, so tests substitute a ManualClock
// and run a day of polling in a millisecond.
//
// Thread contract: SystemClock is stateless; ManualClock is not synchronised
// (one test thread drives it).
#pragma once

#include <chrono>
#include <cstdint>

namespace sd {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Milliseconds since the Unix epoch: the form TimePoints take in SQLite and JSON.
inline int64_t to_millis(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint from_millis(int64_t ms) {
  return TimePoint(Duration(ms));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// Wall-clock time (system_clock, millisecond resolution).
class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = from_millis(1'800'000'000'000)) : now_(start) {}
  TimePoint now() const override { return now_; }
  void set(TimePoint t) { now_ = t; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace sd
