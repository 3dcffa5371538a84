#include "sim/faults.hpp"

#include <nlohmann/json.hpp>

namespace sd::sim {

std::string_view fault_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNone:
      return "none";
    case FaultKind::kHttp5xx:
      return "http_5xx";
    case FaultKind::kHttp429:
      return "http_429";
    case FaultKind::kResetBefore:
      return "reset_before";
    case FaultKind::kResetAfter:
      return "reset_after";
    case FaultKind::kHtmlBody:
      return "html_body";
    case FaultKind::kTruncatedBody:
      return "truncated_body";
  }
  return "none";
}

FaultInjector::FaultInjector(FaultRates rates, uint64_t seed)
    : rates_(std::move(rates)), random_(seed ^ 0x5eedfa17ULL) {}

void FaultInjector::set_rates(FaultRates rates) {
  rates_ = std::move(rates);
  injected_ = 0;
}

bool FaultInjector::eligible(std::string_view method, std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/sim/stats" || path == "/sim/control") return false;
  if (rates_.paths.empty()) return path.substr(0, 5) == "/api/";
  const std::string with_method = std::string(method) + " " + std::string(target);
  for (const std::string& p : rates_.paths) {
    if (target.substr(0, p.size()) == p) return true;
    if (std::string_view(with_method).substr(0, p.size()) == p) return true;
  }
  return false;
}

FaultDecision FaultInjector::decide(std::string_view method, std::string_view target) {
  FaultDecision d;
  if (!eligible(method, target)) return d;
  // Draw every rate each time so the sequence does not depend on which fired.
  const double draws[7] = {random_.unit(), random_.unit(), random_.unit(), random_.unit(),
                           random_.unit(), random_.unit(), random_.unit()};
  if (draws[6] < rates_.latency) d.latency_ms = rates_.latency_ms;
  if (rates_.max_faults >= 0 && injected_ >= rates_.max_faults) return d;
  const std::pair<double, FaultKind> order[6] = {
      {rates_.reset_before, FaultKind::kResetBefore},
      {rates_.http_429, FaultKind::kHttp429},
      {rates_.http_5xx, FaultKind::kHttp5xx},
      {rates_.html_body, FaultKind::kHtmlBody},
      {rates_.reset_after, FaultKind::kResetAfter},
      {rates_.truncated_body, FaultKind::kTruncatedBody},
  };
  for (int i = 0; i < 6; ++i) {
    if (draws[i] < order[i].first) {
      d.kind = order[i].second;
      ++injected_;
      break;
    }
  }
  return d;
}

Result<void> FaultInjector::apply_control(std::string_view body) {
  using nlohmann::json;
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Fail(Error::Parse("control body must be a JSON object"));
  if (!doc.contains("faults")) return Fail(Error::InvalidArgument("control body needs \"faults\""));
  const json& f = doc["faults"];
  FaultRates next = rates_;
  if (f == "off") {
    next = FaultRates{};
    next.latency_ms = rates_.latency_ms;
    next.retry_after_s = rates_.retry_after_s;
    set_rates(std::move(next));
    return Ok();
  }
  if (!f.is_object())
    return Fail(Error::InvalidArgument("\"faults\" must be an object or \"off\""));
  const std::pair<const char*, double*> doubles[] = {
      {"http_5xx", &next.http_5xx},         {"http_429", &next.http_429},
      {"reset_before", &next.reset_before}, {"reset_after", &next.reset_after},
      {"html_body", &next.html_body},       {"truncated_body", &next.truncated_body},
      {"latency", &next.latency},
  };
  for (const auto& [key, field] : doubles) {
    if (!f.contains(key)) continue;
    if (!f[key].is_number())
      return Fail(Error::InvalidArgument(std::string(key) + " must be a number"));
    const double v = f[key].get<double>();
    if (!(v >= 0 && v <= 1))
      return Fail(Error::InvalidArgument(std::string(key) + " must be within [0, 1]"));
    *field = v;
  }
  const std::pair<const char*, int*> ints[] = {{"latency_ms", &next.latency_ms},
                                               {"retry_after_s", &next.retry_after_s}};
  for (const auto& [key, field] : ints) {
    if (!f.contains(key)) continue;
    if (!f[key].is_number_integer() || f[key].get<int>() < 0)
      return Fail(Error::InvalidArgument(std::string(key) + " must be a non-negative integer"));
    *field = f[key].get<int>();
  }
  if (f.contains("max_faults")) {
    if (!f["max_faults"].is_number_integer())
      return Fail(Error::InvalidArgument("max_faults must be an integer"));
    next.max_faults = f["max_faults"].get<int64_t>();
  }
  if (f.contains("paths")) {
    if (!f["paths"].is_array())
      return Fail(Error::InvalidArgument("paths must be an array of strings"));
    next.paths.clear();
    for (const json& p : f["paths"]) {
      if (!p.is_string()) return Fail(Error::InvalidArgument("paths must be an array of strings"));
      next.paths.push_back(p.get<std::string>());
    }
  }
  set_rates(std::move(next));
  return Ok();
}

}  // namespace sd::sim
