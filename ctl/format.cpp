#include "ctl/format.hpp"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace sd::ctl {
namespace {

// Reads exactly `n` digits at `pos`; advances it.
std::optional<int> digits(std::string_view s, size_t& pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos < s.size() && chars.find(s[pos]) != std::string_view::npos) {
    ++pos;
    return true;
  }
  return false;
}

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
  size_t p = 0;
  auto year = digits(s, p, 4);
  if (!year || !expect(s, p, "-")) return std::nullopt;
  auto month = digits(s, p, 2);
  if (!month || !expect(s, p, "-")) return std::nullopt;
  auto day = digits(s, p, 2);
  if (!day || !expect(s, p, "Tt ")) return std::nullopt;
  auto hour = digits(s, p, 2);
  if (!hour || !expect(s, p, ":")) return std::nullopt;
  auto minute = digits(s, p, 2);
  if (!minute || !expect(s, p, ":")) return std::nullopt;
  auto second = digits(s, p, 2);
  if (!second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  int64_t millis = 0;
  if (expect(s, p, ".")) {
    int64_t scale = 100;
    size_t start = p;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
      millis += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (expect(s, p, "Zz")) {
    // UTC
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p] == '-' ? -1 : 1;
    ++p;
    auto oh = digits(s, p, 2);
    if (!oh || !expect(s, p, ":")) return std::nullopt;
    auto om = digits(s, p, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = sign * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  if (p != s.size()) return std::nullopt;
  struct tm tm {};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  int64_t secs = static_cast<int64_t>(::timegm(&tm)) - offset_s;
  return from_millis(secs * 1000 + millis);
}

}  // namespace

std::string rfc3339(TimePoint t) {
  int64_t ms = to_millis(t);
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm {};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string humanize(Duration d) {
  int64_t s = std::max<int64_t>(0, d.count() / 1000);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::optional<TimePoint> parse_since(std::string_view text, TimePoint now) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])) && text.size() <= 12) {
    size_t p = 0;
    int64_t n = 0;
    while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) {
      n = n * 10 + (text[p] - '0');
      ++p;
    }
    if (p + 1 == text.size()) {
      int64_t unit = 0;
      switch (text[p]) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        default:
          return std::nullopt;
      }
      return now - Duration(n * unit * 1000);
    }
  }
  return parse_rfc3339(text);
}

std::string shorten(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (out.size() > max) {
    size_t keep = max > 3 ? max - 3 : 0;
    // Do not cut a UTF-8 sequence in half.
    while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) --keep;
    out = out.substr(0, keep) + "...";
  }
  return out;
}

std::string Table::render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace sd::ctl
