#include "config/main_config.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "config/json_source.hpp"
#include "config/validate.hpp"

namespace sd {
namespace {

using config::Json;

constexpr size_t kMaxConfigBytes = 1u << 20;
constexpr size_t kMaxKeyBytes = 64u << 10;

// Collects every problem of one config file as "file:line: field 'x': ...; ..." lines.
class ConfigChecker {
 public:
  ConfigChecker(const std::string& path, const std::string& text) : path_(path), lines_(text) {}

  void error(const std::string& pointer, const std::string& field, const std::string& what,
             const std::string& fix) {
    std::string line = path_;
    if (int l = lines_.line(pointer); l > 0) line += ":" + std::to_string(l);
    line += ": ";
    if (!field.empty()) line += "field '" + field + "': ";
    line += what;
    if (!fix.empty()) line += "; " + fix;
    errors_.push_back(std::move(line));
  }

  // Reports keys of `obj` not in `keys`. `section` is "" or "limits".
  void known_keys(const Json& obj, const std::string& ptr, const std::string& section,
                  const std::vector<std::string_view>& keys) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      bool known = false;
      for (auto k : keys) known = known || k == key;
      if (known) continue;
      std::string shown = config::quoted(key, 40);
      shown = shown.substr(1, shown.size() - 2);
      std::string field = section.empty() ? shown : section + "." + shown;
      std::string lower_key;
      for (char c : key)
        lower_key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower_key == "key" || lower_key == "api_key" || lower_key == "apikey" ||
          lower_key == "x-api-key" || lower_key == "token") {
        error(ptr + "/" + config::pointer_token(key), field,
              "unknown key; the API key is never read from this file",
              "remove it and provide the key as the systemd credential piapi-api-key, in "
              "$PIAPI_API_KEY, or in a file named by api.key_file");
        continue;
      }
      std::string best = config::did_you_mean(key, keys);
      std::string all;
      for (auto k : keys) all += (all.empty() ? "" : ", ") + std::string(k);
      error(ptr + "/" + config::pointer_token(key), field, "unknown key",
            (best.empty() ? "" : "did you mean '" + best + "'? ") + "the keys " +
                (section.empty() ? "at the top level" : "of " + section) + " are: " + all);
    }
  }

  // The object at `key` of `obj`, or nullptr (absent, or reported as the wrong type).
  const Json* section(const Json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end()) return nullptr;
    if (!it->is_object()) {
      error(std::string("/") + key, key, "must be an object, not " + config::json_kind(*it),
            std::string("write \"") + key + "\": {...}");
      return nullptr;
    }
    return &*it;
  }

  void str(const Json* obj, const std::string& ptr, const std::string& field, const char* key,
           std::string& out, bool allow_empty) {
    if (obj == nullptr || !obj->contains(key)) return;
    const Json& v = (*obj)[key];
    std::string kptr = ptr + "/" + key;
    if (!v.is_string()) {
      error(kptr, field, "must be a string, not " + config::json_kind(v),
            "write it in double quotes");
      return;
    }
    const std::string& s = v.get_ref<const std::string&>();
    if (!allow_empty && config::trim(s).empty()) {
      error(kptr, field, "must not be empty", "give a path, or remove the key for the default");
      return;
    }
    out = s;
  }

  template <class T>
  void integer(const Json* obj, const std::string& ptr, const std::string& field, const char* key,
               T& out, long long min, long long max) {
    if (obj == nullptr || !obj->contains(key)) return;
    const Json& v = (*obj)[key];
    std::string kptr = ptr + "/" + key;
    std::string range = "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    if (!(v.is_number_integer() || v.is_number_unsigned())) {
      error(kptr, field, "must be " + range + ", not " + config::json_kind(v),
            v.is_string() ? "write the number without quotes" : "use e.g. " + std::to_string(out));
      return;
    }
    bool in = v.is_number_unsigned()
                  ? v.get<unsigned long long>() <= static_cast<unsigned long long>(max) &&
                        static_cast<long long>(v.get<unsigned long long>()) >= min
                  : v.get<long long>() >= min && v.get<long long>() <= max;
    if (!in) {
      std::string shown = v.is_number_unsigned() ? std::to_string(v.get<unsigned long long>())
                                                 : std::to_string(v.get<long long>());
      error(kptr, field, shown + " is out of range", "use " + range);
      return;
    }
    out = static_cast<T>(v.get<long long>());
  }

  void number(const Json* obj, const std::string& ptr, const std::string& field, const char* key,
              double& out, double min_exclusive, double max) {
    if (obj == nullptr || !obj->contains(key)) return;
    const Json& v = (*obj)[key];
    std::string kptr = ptr + "/" + key;
    auto fmt = [](double d) {
      std::string s = std::to_string(d);
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    };
    std::string range = "a number greater than " + fmt(min_exclusive) + " and at most " + fmt(max);
    if (!v.is_number()) {
      error(kptr, field, "must be " + range + ", not " + config::json_kind(v),
            v.is_string() ? "write the number without quotes" : "use e.g. " + fmt(out));
      return;
    }
    double d = v.get<double>();
    if (!std::isfinite(d) || d <= min_exclusive || d > max) {
      error(kptr, field, fmt(d) + " is out of range", "use " + range);
      return;
    }
    out = d;
  }

  void one_of(const Json* obj, const std::string& ptr, const std::string& field, const char* key,
              std::string& out, const std::vector<std::string_view>& values) {
    std::string s = out;
    str(obj, ptr, field, key, s, true);
    bool ok = false;
    std::string all;
    for (auto v : values) {
      ok = ok || v == s;
      all += (all.empty() ? "" : ", ") + std::string(v);
    }
    if (!ok) {
      std::string best = config::did_you_mean(s, values);
      error(ptr + "/" + key, field, "unknown value " + config::quoted(s, 40),
            (best.empty() ? "" : "did you mean '" + best + "'? ") + "use one of: " + all);
      return;
    }
    out = s;
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  const std::string& path_;
  config::LineMap lines_;
  std::vector<std::string> errors_;
};

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

// Checks a key read from `source`; the key itself never enters a message.
Result<std::string> checked_key(std::string_view raw, const std::string& source) {
  std::string_view key = config::trim(raw);
  if (key.empty()) {
    return Fail(
        Error::InvalidArgument("the API key from " + source + " is empty; put the key in it"));
  }
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) {
      return Fail(Error::InvalidArgument(
          "the API key from " + source +
          " contains whitespace or control characters; it must be the key alone on one line"));
    }
  }
  return std::string(key);
}

Result<std::string> key_from_file(const std::string& path, const std::string& source) {
  auto text = config::read_file_capped(path, kMaxKeyBytes);
  if (!text) {
    return Fail(Error(text.error().code(),
                      "cannot read the API key from " + source + " (" + path + ")" +
                          (text.error().code() == Error::Code::kNotFound ? ": no such file" : "")));
  }
  return checked_key(*text, source);
}

}  // namespace

Result<MainConfig> load_main_config(const std::string& path) {
  MainConfig c;
  if (path.empty()) return c;
  auto text = config::read_file_capped(path, kMaxConfigBytes);
  if (!text) return Fail(text.error().With("main config"));
  c.source = path;

  config::ParseFailure failure;
  auto doc = config::parse_json(*text, failure);
  if (!doc) {
    std::string where = path + (failure.line > 0 ? ":" + std::to_string(failure.line) : "");
    return Fail(Error::Parse(where + ": " + failure.message +
                             "; fix the JSON syntax (comments // and /* */ are allowed)"));
  }
  ConfigChecker ck(path, *text);
  const Json& root = *doc;
  if (!root.is_object()) {
    return Fail(Error::InvalidArgument(path + ":1: the main config must be a JSON object, not " +
                                       config::json_kind(root) + "; write {...}"));
  }
  ck.known_keys(root, "", "",
                {"api", "state_db", "jobs_dir", "output_dir", "plan", "limits", "poll", "log",
                 "on_uncertain_submit"});
  if (const Json* api = ck.section(root, "api")) {
    ck.known_keys(*api, "/api", "api", {"base_url", "timeout_s", "key_file", "ca_file"});
    std::string base = c.api.base_url;
    ck.str(api, "/api", "api.base_url", "base_url", base, false);
    std::string why;
    auto url = config::parse_http_url(base, why);
    if (!url) {
      ck.error("/api/base_url", "api.base_url", "invalid URL: " + why,
               "use https://api.piapi.ai or remove the key");
    } else if (url->scheme == "http" && !is_loopback_host(url->host)) {
      ck.error("/api/base_url", "api.base_url",
               "plain http is allowed only for a loopback host (the API key would travel "
               "unencrypted)",
               "use https://");
    } else {
      while (base.size() > 1 && base.back() == '/') base.pop_back();
      c.api.base_url = base;
    }
    ck.integer(api, "/api", "api.timeout_s", "timeout_s", c.api.timeout_s, 1, 600);
    ck.str(api, "/api", "api.key_file", "key_file", c.api.key_file, true);
    ck.str(api, "/api", "api.ca_file", "ca_file", c.api.ca_file, true);
  }
  ck.str(&root, "", "state_db", "state_db", c.state_db, false);
  ck.str(&root, "", "jobs_dir", "jobs_dir", c.jobs_dir, false);
  ck.str(&root, "", "output_dir", "output_dir", c.output_dir, false);
  if (const Json* plan = ck.section(root, "plan")) {
    ck.known_keys(*plan, "/plan", "plan", {"max_assets"});
    ck.integer(plan, "/plan", "plan.max_assets", "max_assets", c.plan.max_assets, 1, 100000);
  }
  if (const Json* limits = ck.section(root, "limits")) {
    ck.known_keys(*limits, "/limits", "limits",
                  {"max_tasks_in_flight", "requests_per_second", "max_concurrent_requests",
                   "max_download_mb"});
    ck.integer(limits, "/limits", "limits.max_tasks_in_flight", "max_tasks_in_flight",
               c.limits.max_tasks_in_flight, 1, 10000);
    ck.number(limits, "/limits", "limits.requests_per_second", "requests_per_second",
              c.limits.requests_per_second, 0, 10000);
    ck.integer(limits, "/limits", "limits.max_concurrent_requests", "max_concurrent_requests",
               c.limits.max_concurrent_requests, 1, 1000);
    ck.integer(limits, "/limits", "limits.max_download_mb", "max_download_mb",
               c.limits.max_download_mb, 1, 1048576);
  }
  if (const Json* poll = ck.section(root, "poll")) {
    ck.known_keys(*poll, "/poll", "poll",
                  {"asset_first_s", "task_first_s", "max_interval_s", "give_up_after_h"});
    ck.number(poll, "/poll", "poll.asset_first_s", "asset_first_s", c.poll.asset_first_s, 0, 86400);
    ck.number(poll, "/poll", "poll.task_first_s", "task_first_s", c.poll.task_first_s, 0, 86400);
    ck.number(poll, "/poll", "poll.max_interval_s", "max_interval_s", c.poll.max_interval_s, 0,
              86400);
    ck.number(poll, "/poll", "poll.give_up_after_h", "give_up_after_h", c.poll.give_up_after_h, 0,
              24 * 365);
    if (c.poll.asset_first_s > c.poll.max_interval_s) {
      ck.error("/poll/asset_first_s", "poll.asset_first_s", "is larger than poll.max_interval_s",
               "make it at most max_interval_s");
    }
    if (c.poll.task_first_s > c.poll.max_interval_s) {
      ck.error("/poll/task_first_s", "poll.task_first_s", "is larger than poll.max_interval_s",
               "make it at most max_interval_s");
    }
  }
  if (const Json* log = ck.section(root, "log")) {
    ck.known_keys(*log, "/log", "log", {"level"});
    ck.one_of(log, "/log", "log.level", "level", c.log.level,
              {"trace", "debug", "info", "warn", "error"});
  }
  ck.one_of(&root, "", "on_uncertain_submit", "on_uncertain_submit", c.on_uncertain_submit,
            {"hold", "resubmit"});

  if (!ck.errors().empty()) {
    std::string msg;
    for (const auto& e : ck.errors()) msg += (msg.empty() ? "" : "\n") + e;
    return Fail(Error::InvalidArgument(msg));
  }
  return c;
}

EngineOptions engine_options(const MainConfig& c) {
  auto ms = [](double seconds) {
    return Duration(static_cast<Duration::rep>(std::llround(seconds * 1000.0)));
  };
  EngineOptions o;
  o.asset_first_poll = ms(c.poll.asset_first_s);
  o.task_first_poll = ms(c.poll.task_first_s);
  o.max_poll_interval = ms(c.poll.max_interval_s);
  o.give_up_after = ms(c.poll.give_up_after_h * 3600.0);
  o.max_tasks_in_flight = c.limits.max_tasks_in_flight;
  o.requests_per_second = c.limits.requests_per_second;
  o.max_concurrent_requests = c.limits.max_concurrent_requests;
  o.max_assets = c.plan.max_assets;
  o.resubmit_uncertain = c.on_uncertain_submit == "resubmit";
  o.output_dir = c.output_dir;
  return o;
}

Result<std::string> load_api_key(const MainConfig& c) {
  std::string tried;
  const char* cred = std::getenv("CREDENTIALS_DIRECTORY");
  if (cred != nullptr && *cred != '\0') {
    std::string path = std::string(cred) + "/piapi-api-key";
    auto r = key_from_file(path, "the systemd credential piapi-api-key");
    if (r || r.error().code() != Error::Code::kNotFound) return r;
    tried += "$CREDENTIALS_DIRECTORY/piapi-api-key (no such file)";
  } else {
    tried += "$CREDENTIALS_DIRECTORY/piapi-api-key (CREDENTIALS_DIRECTORY not set)";
  }
  if (const char* env = std::getenv("PIAPI_API_KEY"); env != nullptr) {
    return checked_key(env, "$PIAPI_API_KEY");
  }
  tried += ", $PIAPI_API_KEY (not set)";
  if (!c.api.key_file.empty()) {
    return key_from_file(c.api.key_file, "api.key_file");
  }
  tried += ", api.key_file (not set)";
  return Fail(Error::NotFound("no PiAPI API key found; tried " + tried +
                              ". Provide it with LoadCredential=piapi-api-key:PATH in the "
                              "systemd unit, the PIAPI_API_KEY environment variable, or "
                              "api.key_file"));
}

}  // namespace sd
