#include "core/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace sd {
namespace {

// Float slack so that a token refilled exactly at next_token_at() counts.
constexpr double kEpsilon = 1e-9;

}  // namespace

TokenBucket::TokenBucket(double rate_per_second, double burst)
    : rate_(rate_per_second),
      burst_(burst > 0 ? burst : std::max(1.0, rate_per_second)),
      level_(burst_) {}

double TokenBucket::level_at(TimePoint now) const {
  if (!started_ || now <= last_) return level_;
  const double elapsed_s = static_cast<double>((now - last_).count()) / 1000.0;
  return std::min(burst_, level_ + elapsed_s * rate_);
}

bool TokenBucket::available(TimePoint now) const {
  return rate_ <= 0 || level_at(now) + kEpsilon >= 1.0;
}

bool TokenBucket::try_take(TimePoint now) {
  if (rate_ <= 0) return true;
  const double level = level_at(now);
  if (level + kEpsilon < 1.0) return false;
  level_ = std::max(0.0, level - 1.0);
  if (!started_ || now > last_) last_ = now;
  started_ = true;
  return true;
}

TimePoint TokenBucket::next_token_at() const {
  if (rate_ <= 0 || !started_ || level_ + kEpsilon >= 1.0) return last_;
  const double need_ms = (1.0 - level_) / rate_ * 1000.0;
  return last_ + Duration(static_cast<int64_t>(std::ceil(need_ms - kEpsilon)));
}

double TokenBucket::tokens(TimePoint now) const {
  return rate_ <= 0 ? 1e18 : level_at(now);
}

}  // namespace sd
