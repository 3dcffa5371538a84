// Text helpers of seedancectl: RFC3339 times, humanised durations, --since
// parsing, shortening, and a plain-text table.
//
// Owner: ctl/. Thread contract: pure functions and a value type.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace sd::ctl {

// "2026-11-27T08:01:02Z" (UTC, whole seconds).
std::string rfc3339(TimePoint t);

// "41s", "2m41s", "3h05m", "2d03h"; negative durations count as 0.
std::string humanize(Duration d);

// Parses --since: RFC3339 ("2026-11-27T08:01:02Z", fractional seconds and
// +hh:mm offsets allowed; a space may replace the T) or a relative age "90s",
// "10m", "2h", "3d" counted back from `now`. nullopt when it is neither.
std::optional<TimePoint> parse_since(std::string_view text, TimePoint now);

// `text` on one line (newlines and tabs become spaces), cut to `max` characters
// with "..." at the end when longer.
std::string shorten(std::string_view text, size_t max);

// A left-aligned text table: columns separated by two spaces, no trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sd::ctl
