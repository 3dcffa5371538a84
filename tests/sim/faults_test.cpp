// FaultInjector unit tests: eligibility, rates, seeding, limits, /sim/control bodies.
#include "sim/faults.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace sd::sim {
namespace {

FaultRates only(double FaultRates::*field) {
  FaultRates r;
  r.*field = 1.0;
  return r;
}

TEST(FaultInjector, EachRateAtOneAlwaysFires) {
  const std::pair<double FaultRates::*, FaultKind> cases[] = {
      {&FaultRates::http_5xx, FaultKind::kHttp5xx},
      {&FaultRates::http_429, FaultKind::kHttp429},
      {&FaultRates::reset_before, FaultKind::kResetBefore},
      {&FaultRates::reset_after, FaultKind::kResetAfter},
      {&FaultRates::html_body, FaultKind::kHtmlBody},
      {&FaultRates::truncated_body, FaultKind::kTruncatedBody},
  };
  for (const auto& [field, kind] : cases) {
    FaultInjector f(only(field), 7);
    for (int i = 0; i < 20; ++i) {
      const FaultDecision d = f.decide("GET", "/api/v1/task/x");
      EXPECT_EQ(d.kind, kind) << fault_name(kind);
      EXPECT_EQ(d.latency_ms, 0);
    }
  }
}

TEST(FaultInjector, ZeroRatesNeverFire) {
  FaultInjector f(FaultRates{}, 7);
  for (int i = 0; i < 100; ++i) {
    const FaultDecision d = f.decide("POST", "/api/v1/task");
    EXPECT_EQ(d.kind, FaultKind::kNone);
    EXPECT_EQ(d.latency_ms, 0);
  }
}

TEST(FaultInjector, LatencyCombinesWithOtherFaults) {
  FaultRates r = only(&FaultRates::http_5xx);
  r.latency = 1;
  r.latency_ms = 37;
  FaultInjector f(r, 7);
  const FaultDecision d = f.decide("GET", "/api/v1/asset/list");
  EXPECT_EQ(d.kind, FaultKind::kHttp5xx);
  EXPECT_EQ(d.latency_ms, 37);
}

TEST(FaultInjector, OnlyApiPathsAreEligibleByDefault) {
  FaultInjector f(only(&FaultRates::http_5xx), 7);
  EXPECT_EQ(f.decide("GET", "/sim/stats").kind, FaultKind::kNone);
  EXPECT_EQ(f.decide("POST", "/sim/control").kind, FaultKind::kNone);
  EXPECT_EQ(f.decide("GET", "/sim/files/x.mp4").kind, FaultKind::kNone);
  EXPECT_EQ(f.decide("GET", "/api/v1/asset/list?page=2").kind, FaultKind::kHttp5xx);
}

TEST(FaultInjector, PathsRestrictFaultsByMethodAndPrefix) {
  FaultRates r = only(&FaultRates::reset_after);
  r.paths = {"POST /api/v1/task", "/sim/files/"};
  FaultInjector f(r, 7);
  EXPECT_EQ(f.decide("POST", "/api/v1/task").kind, FaultKind::kResetAfter);
  EXPECT_EQ(f.decide("GET", "/api/v1/task/abc").kind, FaultKind::kNone);
  EXPECT_EQ(f.decide("POST", "/api/v1/asset/upload").kind, FaultKind::kNone);
  EXPECT_EQ(f.decide("GET", "/sim/files/abc.mp4").kind, FaultKind::kResetAfter);
  r.paths = {"/sim/stats"};
  f.set_rates(r);
  EXPECT_EQ(f.decide("GET", "/sim/stats").kind, FaultKind::kNone);  // never
}

TEST(FaultInjector, MaxFaultsStopsInjection) {
  FaultRates r = only(&FaultRates::http_429);
  r.max_faults = 2;
  FaultInjector f(r, 7);
  EXPECT_EQ(f.decide("GET", "/api/x").kind, FaultKind::kHttp429);
  EXPECT_EQ(f.decide("GET", "/api/x").kind, FaultKind::kHttp429);
  EXPECT_EQ(f.decide("GET", "/api/x").kind, FaultKind::kNone);
  EXPECT_EQ(f.decide("GET", "/api/x").kind, FaultKind::kNone);
}

TEST(FaultInjector, SameSeedSameDecisionsAndRateIsRoughlyHonoured) {
  FaultRates r;
  r.http_5xx = 0.3;
  r.reset_after = 0.2;
  FaultInjector a(r, 42), b(r, 42), c(r, 43);
  std::vector<FaultKind> da, db, dc;
  int fives = 0;
  for (int i = 0; i < 2000; ++i) {
    da.push_back(a.decide("GET", "/api/x").kind);
    db.push_back(b.decide("GET", "/api/x").kind);
    dc.push_back(c.decide("GET", "/api/x").kind);
    if (da.back() == FaultKind::kHttp5xx) ++fives;
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  EXPECT_NEAR(fives / 2000.0, 0.3, 0.05);
}

TEST(FaultInjector, ControlBodyChangesRates) {
  FaultInjector f(FaultRates{}, 7);
  ASSERT_TRUE(f.apply_control(
      R"({"faults":{"http_5xx":1,"retry_after_s":3,"paths":["POST /api/v1/task"],"max_faults":1}})"));
  EXPECT_EQ(f.rates().http_5xx, 1);
  EXPECT_EQ(f.rates().retry_after_s, 3);
  EXPECT_EQ(f.rates().paths, std::vector<std::string>{"POST /api/v1/task"});
  EXPECT_EQ(f.decide("POST", "/api/v1/task").kind, FaultKind::kHttp5xx);
  EXPECT_EQ(f.decide("POST", "/api/v1/task").kind, FaultKind::kNone);  // max_faults

  EXPECT_FALSE(f.apply_control("nope"));
  EXPECT_FALSE(f.apply_control(R"({"faults":{"http_429":2}})"));
  EXPECT_FALSE(f.apply_control(R"({"faults":{"paths":"x"}})"));
  EXPECT_EQ(f.rates().http_429, 0);  // failed bodies change nothing

  ASSERT_TRUE(f.apply_control(R"({"faults":"off"})"));
  EXPECT_EQ(f.rates().http_5xx, 0);
  EXPECT_TRUE(f.rates().paths.empty());
  EXPECT_EQ(f.rates().retry_after_s, 3);  // timing settings survive "off"
}

}  // namespace
}  // namespace sd::sim
