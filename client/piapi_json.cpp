#include "client/piapi_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <exception>

#include <nlohmann/json.hpp>

namespace sd::piapi {
namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ApiError bad_body(std::string what) {
  ApiError e;
  e.kind = ApiError::Kind::kTransient;
  e.http_status = 200;
  e.maybe_processed = true;
  e.message = std::move(what);
  return e;
}

// Parses without exceptions; a discarded value means "not JSON".
json parse_json(std::string_view body) {
  return json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false,
                     /*ignore_comments=*/false);
}

// The object fields are looked up in: data (when an object) first, then the root.
struct Scope {
  const json* data = nullptr;
  const json* root = nullptr;

  const json* find(std::string_view key) const {
    for (const json* obj : {data, root}) {
      if (obj == nullptr || !obj->is_object()) continue;
      auto it = obj->find(key);
      if (it != obj->end() && !it->is_null()) return &*it;
    }
    return nullptr;
  }
};

Scope scope_of(const json& root) {
  Scope s;
  s.root = &root;
  if (root.is_object()) {
    auto it = root.find("data");
    if (it != root.end() && it->is_object()) s.data = &*it;
  }
  return s;
}

std::optional<std::string> as_string(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  return std::nullopt;
}

std::optional<int64_t> as_int(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 9e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

std::optional<bool> as_bool(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return as_int(v).value_or(0) != 0;
  if (v->is_string()) {
    const std::string s = lower(v->get<std::string>());
    if (s == "true" || s == "1" || s == "yes") return true;
    if (s == "false" || s == "0" || s == "no") return false;
  }
  return std::nullopt;
}

// A timestamp as RFC 3339 text or as Unix seconds / milliseconds.
std::optional<TimePoint> as_time(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return parse_rfc3339(v->get<std::string>());
  if (auto n = as_int(v)) {
    if (*n <= 0) return std::nullopt;
    return *n > 100'000'000'000 ? from_millis(*n) : from_millis(*n * 1000);
  }
  return std::nullopt;
}

// "error" may be a string or an object {code, message, raw_message}.
void read_error(const json* v, int* code, std::string* message) {
  if (v == nullptr) return;
  if (v->is_string()) {
    *message = v->get<std::string>();
    return;
  }
  if (!v->is_object()) return;
  Scope s{nullptr, v};
  if (auto c = as_int(s.find("code"))) *code = static_cast<int>(*c);
  if (auto m = as_string(s.find("message")); m && !m->empty()) {
    *message = *m;
  } else if (auto r = as_string(s.find("raw_message")); r && !r->empty()) {
    *message = *r;
  } else if (auto d = as_string(s.find("detail")); d && !d->empty()) {
    *message = *d;
  }
}

std::optional<RemoteAsset> asset_from(const Scope& s) {
  RemoteAsset a;
  auto id = as_string(s.find("asset_id"));
  if (!id) id = as_string(s.find("id"));
  if (!id || id->empty()) return std::nullopt;
  a.asset_id = *id;
  a.name = as_string(s.find("name")).value_or("");
  a.status_text = as_string(s.find("status")).value_or("");
  a.status = parse_remote_asset_status(a.status_text);
  int code = 0;
  read_error(s.find("error"), &code, &a.error);
  if (a.error.empty()) a.error = as_string(s.find("error_message")).value_or("");
  if (a.error.empty() && code != 0) a.error = "error code " + std::to_string(code);
  a.expires_at = as_time(s.find("expires_at"));
  return a;
}

// An envelope {"code": 4xx/5xx, "message": ..., "data": null} inside a 2xx reply.
std::optional<ApiError> envelope_error(const json& root, std::string_view body) {
  if (!root.is_object()) return std::nullopt;
  auto code = as_int(root.contains("code") ? &root["code"] : nullptr);
  if (!code || *code == 0 || (*code >= 200 && *code < 300)) return std::nullopt;
  if (!root.contains("message")) return std::nullopt;  // not an envelope: a bare object
  auto data = root.find("data");
  if (data != root.end() && !data->is_null() && !(data->is_object() && data->empty())) {
    return std::nullopt;  // a payload is present: trust it over the code
  }
  if (*code >= 400 && *code < 600) {
    ApiError e = error_from_reply(static_cast<int>(*code), body, std::nullopt);
    e.api_code = static_cast<int>(*code);
    return e;
  }
  // An application code (e.g. 10003) with no payload: the request was judged
  // and refused; repeating it cannot help.
  ApiError e = error_from_reply(400, body, std::nullopt);
  e.http_status = 200;
  e.api_code = static_cast<int>(*code);
  return e;
}

template <class F>
auto guarded(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& ex) {
    return tl::unexpected(bad_body(std::string("malformed reply body: ") + ex.what()));
  }
}

std::string describe_non_json(std::string_view body) {
  size_t i = 0;
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  if (i == body.size()) return "empty reply body";
  if (body[i] == '<') return "reply body is HTML, not JSON";
  return "reply body is not valid JSON (truncated or malformed)";
}

// --- dates -------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool valid_date(int64_t y, int m, int d, int hh, int mm, int ss) {
  static constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
  return hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59 && ss >= 0 && ss <= 60;
}

TimePoint make_time(int64_t y, int m, int d, int hh, int mm, int ss) {
  const int64_t days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss;
  return from_millis(secs * 1000);
}

int month_from_name(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kNames{
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  const std::string l = lower(s);
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (l == kNames[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

// A tiny cursor over text for the date parsers.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  bool done() const { return i >= s.size(); }
  void skip_spaces() {
    while (i < s.size() && s[i] == ' ') ++i;
  }
  bool lit(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  // Exactly `min..max` digits.
  std::optional<int> digits(size_t min, size_t max) {
    size_t j = i;
    while (j < s.size() && j - i < max && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j - i < min) return std::nullopt;
    int v = 0;
    std::from_chars(s.data() + i, s.data() + j, v);
    i = j;
    return v;
  }
  std::string_view word() {
    size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view w = s.substr(i, j - i);
    i = j;
    return w;
  }
  bool time(int* hh, int* mm, int* ss) {
    auto h = digits(2, 2);
    if (!h || !lit(':')) return false;
    auto m = digits(2, 2);
    if (!m || !lit(':')) return false;
    auto sec = digits(2, 2);
    if (!sec) return false;
    *hh = *h;
    *mm = *m;
    *ss = *sec;
    return true;
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

// --- public ------------------------------------------------------------

ApiResult<RemoteAsset> parse_asset(std::string_view body) {
  return guarded([&]() -> ApiResult<RemoteAsset> {
    const json root = parse_json(body);
    if (root.is_discarded()) return tl::unexpected(bad_body(describe_non_json(body)));
    if (auto e = envelope_error(root, body)) return tl::unexpected(*e);
    if (!root.is_object()) return tl::unexpected(bad_body("asset reply is not a JSON object"));
    auto a = asset_from(scope_of(root));
    if (!a) return tl::unexpected(bad_body("asset reply has no asset_id"));
    return *a;
  });
}

ApiResult<RemoteTask> parse_task(std::string_view body) {
  return guarded([&]() -> ApiResult<RemoteTask> {
    const json root = parse_json(body);
    if (root.is_discarded()) return tl::unexpected(bad_body(describe_non_json(body)));
    if (auto e = envelope_error(root, body)) return tl::unexpected(*e);
    if (!root.is_object()) return tl::unexpected(bad_body("task reply is not a JSON object"));
    const Scope s = scope_of(root);
    RemoteTask t;
    auto id = as_string(s.find("task_id"));
    if (!id) id = as_string(s.find("id"));
    if (!id || id->empty()) return tl::unexpected(bad_body("task reply has no task_id"));
    t.task_id = *id;
    t.status_text = as_string(s.find("status")).value_or("");
    t.status = parse_remote_task_status(t.status_text);
    if (const json* out = s.find("output"); out != nullptr) {
      if (out->is_object()) {
        Scope o{nullptr, out};
        auto v = as_string(o.find("video"));
        if (!v || v->empty()) v = as_string(o.find("video_url"));
        if ((!v || v->empty()) && o.find("video") && o.find("video")->is_object()) {
          Scope vv{nullptr, o.find("video")};
          v = as_string(vv.find("url"));
        }
        t.video_url = v.value_or("");
      } else if (out->is_string()) {
        t.video_url = out->get<std::string>();
      }
    }
    read_error(s.find("error"), &t.error_code, &t.error_message);
    if (const json* logs = s.find("logs"); logs != nullptr && logs->is_array()) {
      for (const json& l : *logs) {
        if (l.is_string()) {
          t.logs.push_back(l.get<std::string>());
        } else if (l.is_object()) {
          Scope ls{nullptr, &l};
          if (auto m = as_string(ls.find("message"))) {
            t.logs.push_back(*m);
          } else {
            t.logs.push_back(l.dump());
          }
        } else if (!l.is_null()) {
          t.logs.push_back(l.dump());
        }
      }
    }
    return t;
  });
}

ApiResult<AssetPage> parse_asset_page(std::string_view body) {
  return guarded([&]() -> ApiResult<AssetPage> {
    const json root = parse_json(body);
    if (root.is_discarded()) return tl::unexpected(bad_body(describe_non_json(body)));
    if (auto e = envelope_error(root, body)) return tl::unexpected(*e);
    AssetPage page;
    const json* items = nullptr;
    Scope s;
    if (root.is_array()) {
      items = &root;
    } else if (root.is_object()) {
      s = scope_of(root);
      if (const json* d = root.contains("data") ? &root["data"] : nullptr; d && d->is_array()) {
        items = d;
      } else {
        for (const char* key : {"items", "assets", "results", "list"}) {
          if (const json* v = s.find(key); v != nullptr && v->is_array()) {
            items = v;
            break;
          }
        }
      }
    }
    if (items == nullptr) {
      // No list at all: an empty library may omit it, but then a total of 0 must say so.
      if (root.is_object() && as_int(s.find("total")).value_or(-1) == 0) return page;
      return tl::unexpected(bad_body("asset list reply has no items array"));
    }
    for (const json& item : *items) {
      if (!item.is_object()) continue;
      Scope is{nullptr, &item};
      if (auto a = asset_from(is)) page.items.push_back(std::move(*a));
    }
    if (root.is_object()) {
      Scope paging = s;
      const json* pg = s.find("pagination");
      if (pg == nullptr) pg = s.find("page_info");
      Scope nested{nullptr, pg};
      auto look = [&](const char* key) -> const json* {
        if (const json* v = paging.find(key)) return v;
        return pg && pg->is_object() ? nested.find(key) : nullptr;
      };
      page.total = as_int(look("total"));
      if (!page.total) page.total = as_int(look("total_count"));
      page.page = as_int(look("page"));
      page.page_size = as_int(look("page_size"));
      if (!page.page_size) page.page_size = as_int(look("per_page"));
      page.has_more = as_bool(look("has_more"));
      const json* next = look("next_page");
      page.next_page = as_int(next);
      if (next != nullptr && next->is_boolean()) page.has_more = next->get<bool>();
      // next_page present but null = explicitly no next page.
      for (const json* obj : {s.data, s.root, pg}) {
        if (obj && obj->is_object()) {
          auto it = obj->find("next_page");
          if (it != obj->end() && it->is_null()) page.next_page_null = true;
        }
      }
    }
    return page;
  });
}

ApiResult<void> parse_delete(std::string_view body) {
  return guarded([&]() -> ApiResult<void> {
    if (trim(body).empty()) return {};
    const json root = parse_json(body);
    if (root.is_discarded()) return tl::unexpected(bad_body(describe_non_json(body)));
    if (auto e = envelope_error(root, body)) return tl::unexpected(*e);
    return {};
  });
}

ApiError error_from_reply(int http_status, std::string_view body,
                          std::optional<Duration> retry_after) {
  ApiError e;
  e.http_status = http_status;
  e.retry_after = retry_after;
  bool is_json = false;
  try {
    const json root = parse_json(body);
    if (!root.is_discarded()) {
      is_json = true;
      if (root.is_object()) {
        Scope s{nullptr, &root};
        if (auto c = as_int(s.find("code"))) e.api_code = static_cast<int>(*c);
        if (auto m = as_string(s.find("message")); m && !m->empty()) {
          e.message = *m;
        } else if (const json* err = s.find("error")) {
          int code = 0;
          read_error(err, &code, &e.message);
          if (e.api_code == 0) e.api_code = code;
        } else if (auto d = as_string(s.find("detail")); d && !d->empty()) {
          e.message = *d;
        }
        // An enveloped error may hide its message in data.
        if (e.message.empty()) {
          const Scope ds = scope_of(root);
          if (auto m = as_string(ds.find("message"))) e.message = *m;
        }
      } else if (root.is_string()) {
        e.message = root.get<std::string>();
      }
    }
  } catch (const std::exception&) {
    is_json = false;
  }
  if (e.message.empty()) {
    e.message = "HTTP " + std::to_string(http_status);
    if (!is_json) e.message += " (" + describe_non_json(body) + ")";
  }
  if (http_status >= 500 || http_status < 300) {
    // design.md rule 4: 5xx replies are retried. Whether a create may have
    // taken effect depends on who answered. PiAPI's own JSON error (any 5xx)
    // and a 503 (overload, or a Cloudflare challenge answered at the edge)
    // mean the request was refused, so resending it cannot pay twice. A
    // gateway error (502, 504, Cloudflare's 520/524) or a non-JSON 500 may
    // come after the origin acted on the request: outcome unknown.
    const bool gateway = http_status == 502 || http_status == 504 || http_status == 520 ||
                         http_status == 524 || (http_status == 500 && !is_json);
    e.kind = ApiError::Kind::kTransient;
    e.maybe_processed = http_status < 300 || gateway;
  } else if (http_status == 429) {
    e.kind = ApiError::Kind::kTransient;
    e.maybe_processed = false;
  } else if (http_status == 408 || http_status == 425 || (http_status == 403 && !is_json)) {
    e.kind = ApiError::Kind::kTransient;
    e.maybe_processed = false;
  } else if (http_status >= 300 && http_status < 400) {
    e.kind = ApiError::Kind::kPermanent;
    e.maybe_processed = false;
    e.message =
        "unexpected redirect (HTTP " + std::to_string(http_status) + "): check api.base_url";
  } else {
    e.kind = ApiError::Kind::kPermanent;
    e.maybe_processed = false;
  }
  return e;
}

std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (value.size() > 9) return std::chrono::duration_cast<Duration>(std::chrono::hours(24 * 365));
    int64_t secs = 0;
    std::from_chars(value.data(), value.data() + value.size(), secs);
    return Duration(secs * 1000);
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return Duration(0);
  return std::chrono::duration_cast<Duration>(*when - now);
}

std::optional<TimePoint> parse_http_date(std::string_view value) {
  Cursor c{trim(value)};
  const std::string_view wday = c.word();
  if (wday.size() < 3) return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (c.lit(',')) {
    c.skip_spaces();
    auto day = c.digits(1, 2);
    if (!day) return std::nullopt;
    if (c.lit(' ')) {
      // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      const int mon = month_from_name(c.word());
      if (mon == 0 || !c.lit(' ')) return std::nullopt;
      auto year = c.digits(4, 4);
      if (!year || !c.lit(' ') || !c.time(&hh, &mm, &ss)) return std::nullopt;
      c.skip_spaces();
      if (lower(c.word()) != "gmt") return std::nullopt;
      if (!valid_date(*year, mon, *day, hh, mm, ss)) return std::nullopt;
      return make_time(*year, mon, *day, hh, mm, ss);
    }
    if (c.lit('-')) {
      // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
      const int mon = month_from_name(c.word());
      if (mon == 0 || !c.lit('-')) return std::nullopt;
      auto yy = c.digits(2, 4);
      if (!yy || !c.lit(' ') || !c.time(&hh, &mm, &ss)) return std::nullopt;
      c.skip_spaces();
      if (lower(c.word()) != "gmt") return std::nullopt;
      int year = *yy;
      if (year < 100) year += year < 70 ? 2000 : 1900;  // RFC 9110: 50-year window, simplified
      if (!valid_date(year, mon, *day, hh, mm, ss)) return std::nullopt;
      return make_time(year, mon, *day, hh, mm, ss);
    }
    return std::nullopt;
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (!c.lit(' ')) return std::nullopt;
  const int mon = month_from_name(c.word());
  if (mon == 0) return std::nullopt;
  c.skip_spaces();
  auto day = c.digits(1, 2);
  if (!day || !c.lit(' ') || !c.time(&hh, &mm, &ss) || !c.lit(' ')) return std::nullopt;
  auto year = c.digits(4, 4);
  if (!year || !c.done()) return std::nullopt;
  if (!valid_date(*year, mon, *day, hh, mm, ss)) return std::nullopt;
  return make_time(*year, mon, *day, hh, mm, ss);
}

std::optional<TimePoint> parse_rfc3339(std::string_view value) {
  Cursor c{trim(value)};
  auto y = c.digits(4, 4);
  if (!y || !c.lit('-')) return std::nullopt;
  auto mo = c.digits(2, 2);
  if (!mo || !c.lit('-')) return std::nullopt;
  auto d = c.digits(2, 2);
  if (!d) return std::nullopt;
  if (!(c.lit('T') || c.lit('t') || c.lit(' '))) return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (!c.time(&hh, &mm, &ss)) return std::nullopt;
  int64_t millis = 0;
  if (c.lit('.')) {
    size_t start = c.i;
    auto frac = c.digits(1, 3);
    if (!frac) return std::nullopt;
    const size_t n = c.i - start;
    millis = *frac * (n == 1 ? 100 : n == 2 ? 10 : 1);
    while (!c.done() && std::isdigit(static_cast<unsigned char>(c.s[c.i]))) ++c.i;
  }
  int64_t offset_s = 0;
  if (c.lit('Z') || c.lit('z')) {
  } else if (!c.done() && (c.s[c.i] == '+' || c.s[c.i] == '-')) {
    const int sign = c.s[c.i] == '-' ? -1 : 1;
    ++c.i;
    auto oh = c.digits(2, 2);
    if (!oh || !c.lit(':')) return std::nullopt;
    auto om = c.digits(2, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = sign * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  if (!valid_date(*y, *mo, *d, hh, mm, ss) || *y < 1970) return std::nullopt;
  return make_time(*y, *mo, *d, hh, mm, ss) + Duration(millis - offset_s * 1000);
}

std::string upload_asset_body(const UploadAssetRequest& req) {
  nlohmann::ordered_json body;
  body["url"] = req.url;
  switch (req.type) {
    case MediaType::kImage:
      body["asset_type"] = "Image";
      break;
    case MediaType::kVideo:
      body["asset_type"] = "Video";
      break;
    case MediaType::kAudio:
      body["asset_type"] = "Audio";
      break;
  }
  if (!req.name.empty()) body["name"] = req.name;
  return body.dump();
}

}  // namespace sd::piapi
