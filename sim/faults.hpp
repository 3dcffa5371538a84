// Seeded fault injection for piapi-sim: for each request, whether to answer
// normally or to misbehave (5xx, 429, a reset before or after processing, an
// HTML page, a truncated body) and whether to delay the reply.
//
// Owner: sim/. Decisions are drawn from a Random seeded at construction, in
// a fixed order per request, so the same seed and request sequence give the
// same faults. Faults apply to /api/ requests only (or to FaultRates::paths);
// /sim/stats and /sim/control are never faulted.
//
// Thread contract: not synchronised; the server serialises calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/random.hpp"
#include "core/result.hpp"
#include "sim/options.hpp"

namespace sd::sim {

enum class FaultKind {
  kNone,
  kHttp5xx,        // 500 with a JSON error body; not processed
  kHttp429,        // 429 with Retry-After; not processed
  kResetBefore,    // connection reset; not processed
  kResetAfter,     // processed, then the connection is reset without a reply
  kHtmlBody,       // 503 with a Cloudflare-like HTML page; not processed
  kTruncatedBody,  // processed; the reply's body is cut short and the connection closed
};

// The stats key of a fault kind ("http_5xx", "reset_after", ...); "none" for kNone.
std::string_view fault_name(FaultKind kind);

struct FaultDecision {
  FaultKind kind = FaultKind::kNone;
  int latency_ms = 0;  // delay before replying (0 = none)
};

class FaultInjector {
 public:
  FaultInjector(FaultRates rates, uint64_t seed);

  // Decides the fault for one request. Counts toward max_faults.
  FaultDecision decide(std::string_view method, std::string_view target);

  // True when faults may apply to this request (see FaultRates::paths).
  bool eligible(std::string_view method, std::string_view target) const;

  // Applies a POST /sim/control body: {"faults": {"http_5xx": 0.5, ..., "paths": [...],
  // "max_faults": 3}}; fields absent keep their value. {"faults": "off"} zeroes every rate.
  // Returns an error for malformed JSON or out-of-range values (nothing changed then).
  Result<void> apply_control(std::string_view body);

  const FaultRates& rates() const { return rates_; }
  void set_rates(FaultRates rates);

 private:
  FaultRates rates_;
  Random random_;
  int64_t injected_ = 0;  // faults counted against max_faults
};

}  // namespace sd::sim
