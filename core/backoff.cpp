#include "core/backoff.hpp"

#include <algorithm>

namespace sd {

Duration backoff_window(Duration first, Duration cap, int n) {
  if (first.count() <= 0) return Duration(0);
  Duration w = first;
  for (int i = 0; i < n && w < cap; ++i) {
    // Doubling cannot overflow here: w < cap <= max Duration / 1 and we stop at cap.
    w = (w > cap / 2) ? cap : w * 2;
  }
  return std::min(w, std::max(cap, first));
}

Duration poll_interval(Duration first, Duration max, int polls, Random& rng) {
  if (max < first) return first;
  const Duration hi = backoff_window(first, max, std::max(polls, 0));
  const auto span = static_cast<uint64_t>((hi - first).count());
  return first + Duration(static_cast<int64_t>(rng.below(span + 1)));
}

Duration retry_delay(Duration error_first, Duration error_max, int errors,
                     std::optional<Duration> retry_after, Random& rng) {
  const Duration cap = std::max(error_max, Duration(0));
  const Duration hi = std::min(backoff_window(error_first, cap, std::max(errors - 1, 0)), cap);
  Duration d(static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi.count()) + 1)));
  d = std::max(d, kMinRetryDelay);
  if (retry_after && *retry_after > d) d = *retry_after;
  return d;
}

void note_failure(Schedule& s, TimePoint now) {
  ++s.error_count;
  if (!s.first_error_at) s.first_error_at = now;
}

void clear_failures(Schedule& s) {
  s.error_count = 0;
  s.first_error_at.reset();
}

bool should_give_up(const Schedule& s, TimePoint now, Duration give_up_after) {
  return s.first_error_at && now - *s.first_error_at >= give_up_after;
}

}  // namespace sd
