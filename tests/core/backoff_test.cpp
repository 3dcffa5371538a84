#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace sd {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, WindowDoublesUpToCap) {
  EXPECT_EQ(backoff_window(seconds(2), seconds(60), 0), seconds(2));
  EXPECT_EQ(backoff_window(seconds(2), seconds(60), 1), seconds(4));
  EXPECT_EQ(backoff_window(seconds(2), seconds(60), 4), seconds(32));
  EXPECT_EQ(backoff_window(seconds(2), seconds(60), 5), seconds(60));
  EXPECT_EQ(backoff_window(seconds(2), seconds(60), 1000), seconds(60));
}

TEST(Backoff, PollIntervalStaysWithinBounds) {
  Random rng(42);
  for (int n = 0; n < 40; ++n) {
    const Duration hi = backoff_window(seconds(2), seconds(60), n);
    for (int i = 0; i < 500; ++i) {
      const Duration d = poll_interval(seconds(2), seconds(60), n, rng);
      ASSERT_GE(d, seconds(2)) << "n=" << n;
      ASSERT_LE(d, hi) << "n=" << n;
      ASSERT_LE(d, seconds(60));
    }
  }
}

TEST(Backoff, PollIntervalIsJitteredAndGrows) {
  Random rng(7);
  auto mean = [&rng](int n) {
    double sum = 0;
    Duration lo = Duration::max(), hi = Duration::min();
    for (int i = 0; i < 2000; ++i) {
      const Duration d = poll_interval(seconds(1), seconds(64), n, rng);
      sum += static_cast<double>(d.count());
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, hi) << "no jitter at n=" << n;
    return sum / 2000;
  };
  const double m1 = mean(1), m3 = mean(3), m6 = mean(6);
  EXPECT_LT(m1, m3);
  EXPECT_LT(m3, m6);
  // Uniform in [1 s, 64 s] has mean 32.5 s.
  EXPECT_NEAR(m6, 32'500, 1'500);
}

TEST(Backoff, PollIntervalFirstPollIsExact) {
  Random rng(1);
  EXPECT_EQ(poll_interval(seconds(10), seconds(60), 0, rng), seconds(10));
}

TEST(Backoff, RetryDelayFullJitterWithFloor) {
  Random rng(3);
  bool saw_small = false;
  for (int k = 1; k < 30; ++k) {
    const Duration cap =
        std::min<Duration>(backoff_window(seconds(1), seconds(300), k - 1), seconds(300));
    for (int i = 0; i < 300; ++i) {
      const Duration d = retry_delay(seconds(1), seconds(300), k, std::nullopt, rng);
      ASSERT_GE(d, kMinRetryDelay);
      ASSERT_LE(d, std::max<Duration>(cap, kMinRetryDelay));
      saw_small = saw_small || d < cap / 4;
    }
  }
  EXPECT_TRUE(saw_small) << "full jitter should sometimes pick short delays";
}

TEST(Backoff, RetryAfterIsHonoured) {
  Random rng(9);
  for (int i = 0; i < 200; ++i) {
    EXPECT_GE(retry_delay(seconds(1), seconds(300), 1, seconds(15), rng), seconds(15));
  }
  // A Retry-After shorter than the jittered backoff does not shorten it.
  bool above = false;
  for (int i = 0; i < 200; ++i) {
    const Duration d = retry_delay(seconds(1), seconds(300), 12, milliseconds(1), rng);
    above = above || d > seconds(10);
    EXPECT_LE(d, seconds(300));
  }
  EXPECT_TRUE(above);
}

TEST(Backoff, GiveUpAfterStreakLength) {
  const TimePoint t0 = from_millis(1'000'000);
  Schedule s;
  EXPECT_FALSE(should_give_up(s, t0, hours(24)));
  note_failure(s, t0);
  note_failure(s, t0 + hours(1));
  EXPECT_EQ(s.error_count, 2);
  EXPECT_EQ(s.first_error_at, t0);
  EXPECT_FALSE(should_give_up(s, t0 + hours(23), hours(24)));
  EXPECT_TRUE(should_give_up(s, t0 + hours(24), hours(24)));
  clear_failures(s);
  EXPECT_EQ(s.error_count, 0);
  EXPECT_FALSE(should_give_up(s, t0 + hours(48), hours(24)));
}

}  // namespace
}  // namespace sd
