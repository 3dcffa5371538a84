#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace sd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = from_millis(1'800'000'000'000);

TEST(TokenBucket, StartsFullWithBurst) {
  TokenBucket b(5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.try_take(kT0)) << i;
  EXPECT_FALSE(b.try_take(kT0));
  EXPECT_FALSE(b.available(kT0));
  EXPECT_EQ(b.next_token_at(), kT0 + milliseconds(200));
  EXPECT_FALSE(b.try_take(kT0 + milliseconds(199)));
  EXPECT_TRUE(b.try_take(kT0 + milliseconds(200)));
}

TEST(TokenBucket, BurstIsAtLeastOne) {
  TokenBucket b(0.5);
  EXPECT_TRUE(b.try_take(kT0));
  EXPECT_FALSE(b.try_take(kT0 + seconds(1)));
  EXPECT_EQ(b.next_token_at(), kT0 + seconds(2));
  EXPECT_TRUE(b.try_take(kT0 + seconds(2)));
}

TEST(TokenBucket, RateOverASimulatedMinute) {
  TokenBucket b(5);
  int taken = 0;
  for (TimePoint t = kT0; t < kT0 + seconds(60); t += milliseconds(10)) {
    while (b.try_take(t)) ++taken;
  }
  // 5 burst + 5/s for 60 s (the last refill lands just before the minute ends).
  EXPECT_GE(taken, 5 + 5 * 60 - 1);
  EXPECT_LE(taken, 5 + 5 * 60);
}

TEST(TokenBucket, NeverExceedsBurstAfterIdle) {
  TokenBucket b(2);
  EXPECT_TRUE(b.try_take(kT0));
  EXPECT_NEAR(b.tokens(kT0 + seconds(3600)), 2.0, 1e-9);
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  TokenBucket b(0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.try_take(kT0));
}

TEST(InFlightCap, CountsSubmittingSubmittedHeld) {
  EXPECT_TRUE(InFlightCap::counts(TaskState::kSubmitting));
  EXPECT_TRUE(InFlightCap::counts(TaskState::kSubmitted));
  EXPECT_TRUE(InFlightCap::counts(TaskState::kHeld));
  EXPECT_FALSE(InFlightCap::counts(TaskState::kReady));
  EXPECT_FALSE(InFlightCap::counts(TaskState::kCompleted));
  InFlightCap cap(2);
  EXPECT_TRUE(cap.allows(1));
  EXPECT_FALSE(cap.allows(2));
  EXPECT_TRUE(InFlightCap(0).allows(1000));
}

}  // namespace
}  // namespace sd
