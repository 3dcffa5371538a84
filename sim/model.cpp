#include "sim/model.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <set>

#include <nlohmann/json.hpp>

#include "core/random.hpp"

namespace sd::sim {

using nlohmann::json;

namespace {

//------------------------------------------------------------------------------
// Small helpers

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// Decodes %XX and '+' in a query component.
std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};

Target parse_target(std::string_view target) {
  Target t;
  const size_t q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    const size_t eq = kv.find('=');
    if (!kv.empty()) {
      t.query[url_decode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : url_decode(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return t;
}

// FNV-1a 64, hex: a stable hash of a create body for the duplicate stats.
std::string fnv1a_hex(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The file extension of a URL's path (lowercase, without the dot), or "".
std::string url_extension(std::string_view url) {
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = path.find("://");
  if (scheme != std::string_view::npos) {
    path = path.substr(scheme + 3);
    const size_t slash = path.find('/');
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  const size_t last_slash = path.rfind('/');
  std::string_view file = last_slash == std::string_view::npos ? path : path.substr(last_slash + 1);
  const size_t dot = file.rfind('.');
  if (dot == std::string_view::npos) return "";
  return lower(file.substr(dot + 1));
}

// The last path component of a URL (the default asset name).
std::string url_basename(std::string_view url) {
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string type_for_extension(const std::string& ext) {
  static const std::set<std::string> kImage = {"jpeg", "jpg", "png",  "webp", "bmp",
                                               "tiff", "gif", "heic", "heif"};
  static const std::set<std::string> kVideo = {"mp4", "mov"};
  static const std::set<std::string> kAudio = {"mp3", "wav"};
  if (kImage.count(ext)) return "Image";
  if (kVideo.count(ext)) return "Video";
  if (kAudio.count(ext)) return "Audio";
  return "";
}

bool is_http_url(std::string_view u) {
  return starts_with(u, "http://") || starts_with(u, "https://");
}

constexpr std::string_view kAssetScheme = "asset://";

//------------------------------------------------------------------------------
// Plans and task types

struct Plan {
  int quota;
  int ttl_days;
};

std::optional<Plan> plan_for(const std::string& name) {
  if (name == "free") return Plan{0, 0};
  if (name == "hobbyist") return Plan{50, 3};
  if (name == "developer") return Plan{200, 7};
  if (name == "premium") return Plan{500, 15};
  if (name == "enterprise") return Plan{1000, 15};
  return std::nullopt;
}

struct TaskType {
  std::string canonical;  // deprecated aliases map to the type they now mean
  bool less_restriction;
  std::vector<std::string> resolutions;
  std::string default_resolution;
};

std::optional<TaskType> task_type_for(const std::string& name) {
  const std::vector<std::string> k3 = {"480p", "720p", "1080p"};
  const std::vector<std::string> k2 = {"480p", "720p"};
  if (name == "seedance-2" || name == "seedance-2-preview" || name == "seedance-2-preview-vip")
    return TaskType{"seedance-2", false, k3, "480p"};
  if (name == "seedance-2-fast" || name == "seedance-2-fast-preview" ||
      name == "seedance-2-fast-preview-vip")
    return TaskType{"seedance-2-fast", false, k2, "480p"};
  if (name == "seedance-2-mini") return TaskType{name, false, k2, "720p"};
  if (name == "seedance-2-less-restriction") return TaskType{name, true, k3, "480p"};
  if (name == "seedance-2-fast-less-restriction") return TaskType{name, true, k2, "480p"};
  if (name == "seedance-2-mini-less-restriction") return TaskType{name, true, k2, "720p"};
  if (name == "seedance-2.5") return TaskType{name, false, k3, "480p"};
  if (name == "seedance-2.5-less-restriction") return TaskType{name, true, k3, "480p"};
  return std::nullopt;
}

//------------------------------------------------------------------------------
// Responses

SimResponse json_response(int status, const json& body) {
  SimResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

// An error body as in piapi-api.md section 9 row 1, counted under `reason`.
SimResponse error_response(int status, std::string_view message, std::string_view reason) {
  SimResponse r =
      json_response(status, json{{"code", status}, {"message", message}, {"data", nullptr}});
  r.reason = std::string(reason);
  return r;
}

json envelope(json data) {
  return json{{"code", 200}, {"message", "success"}, {"data", std::move(data)}};
}

}  // namespace

//------------------------------------------------------------------------------

std::string format_time(TimePoint t, bool millis) {
  if (t == TimePoint{}) return "0001-01-01T00:00:00Z";
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[64];
  if (millis) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  int(duration_cast<milliseconds>(hms.subseconds()).count()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
  }
  return buf;
}

std::string SimRequest::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers) {
    if (lower(k) == want) return v;
  }
  return "";
}

//------------------------------------------------------------------------------
// State

struct SimModel::State {
  enum class Phase { kPending, kStaged, kProcessing, kCompleted, kFailed };

  struct Asset {
    std::string id, name, url, type;
    TimePoint upload_at, last_used_at, ready_at;
    bool will_fail = false;
    std::string error;  // the cause when it ends Failed

    std::string status(TimePoint now) const {
      if (now < ready_at) return "Processing";
      return will_fail ? "Failed" : "Active";
    }
  };

  struct AssetRef {
    std::string id;
    std::string status_at_create;
  };

  struct Task {
    std::string id, task_type, prompt, body_hash;
    json input, config;
    TimePoint created_at, started_at, ended_at, ephemeral_until;
    Phase phase = Phase::kPending;
    bool reject = false;
    int64_t cost = 0;
    int ephemeral = 0;
    std::vector<std::string> logs;
    std::vector<AssetRef> refs;
  };

  struct Event {  // an instant at which a task moves on its own
    TimePoint at;
    uint64_t seq;
    size_t task;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  explicit State(SimOptions o) : options(std::move(o)), random(options.seed) {
    const Plan plan = *plan_for(options.plan);
    quota = options.asset_quota > 0 ? options.asset_quota : plan.quota;
    ttl = options.asset_ttl_s > 0 ? scaled(options.asset_ttl_s) : scaled(plan.ttl_days * 86400.0);
    plan_allows_assets = options.plan != "free";
  }

  // Converts simulated seconds to wall time at the configured speed.
  Duration scaled(double seconds) const {
    return Duration(static_cast<int64_t>(std::llround(seconds * 1000.0 / options.speed)));
  }

  SimOptions options;
  Random random;
  int quota = 0;
  Duration ttl{0};
  bool plan_allows_assets = true;

  std::map<std::string, Asset> assets;            // live (not purged, not deleted)
  std::vector<std::string> asset_order;           // upload order, includes gone ids
  std::map<std::string, std::string> asset_fate;  // id -> "Deleted" | "Purged"
  std::vector<Task> tasks;
  std::map<std::string, size_t> task_index;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::deque<size_t> staged;
  uint64_t event_seq = 0;
  int processing = 0;
  TimePoint last_now{};

  // Statistics.
  int64_t uploads = 0, task_creates = 0, duplicate_creates = 0, downloads = 0, download_bytes = 0;
  int64_t deletes = 0, purges = 0, creates_with_inactive_asset = 0, max_processing = 0;
  std::map<std::string, int64_t> uploads_by_name, uploads_by_url, creates_by_prompt,
      creates_by_body_hash, requests, polls, rejections, faults, polls_by_task;

  //----------------------------------------------------------------------------
  // Time

  void advance(TimePoint now) {
    if (now < last_now) now = last_now;  // never go backwards
    last_now = now;
    while (!events.empty() && events.top().at <= now) {
      const Event e = events.top();
      events.pop();
      on_event(e);
    }
    purge(now);
  }

  void schedule(TimePoint at, size_t task) { events.push(Event{at, event_seq++, task}); }

  void on_event(const Event& e) {
    Task& t = tasks[e.task];
    if (t.phase == Phase::kPending) {
      if (processing < options.max_concurrent_tasks) {
        start(e.task, e.at);
      } else {
        t.phase = Phase::kStaged;
        staged.push_back(e.task);
      }
    } else if (t.phase == Phase::kProcessing) {
      finish(t, e.at);
      --processing;
      while (!staged.empty() && processing < options.max_concurrent_tasks) {
        const size_t next = staged.front();
        staged.pop_front();
        start(next, e.at);
      }
    }
  }

  void start(size_t index, TimePoint at) {
    Task& t = tasks[index];
    t.phase = Phase::kProcessing;
    t.started_at = at;
    ++processing;
    max_processing = std::max<int64_t>(max_processing, processing);
    const double run_s =
        t.reject ? std::min(options.reject_after_s, options.task_render_s) : options.task_render_s;
    schedule(at + scaled(run_s), index);
  }

  void finish(Task& t, TimePoint at) {
    t.ended_at = at;
    t.ephemeral_until = at + ephemeral_hold(t);
    if (t.reject) {
      t.phase = Phase::kFailed;
      t.cost = 0;
      t.logs.push_back("The request was rejected due to content restrictions.");
      t.logs.push_back("consume: 0, frozen: 0, restored frozen points");
    } else {
      t.phase = Phase::kCompleted;
    }
  }

  Duration ephemeral_hold(const Task& t) const {
    int hours = 3;
    if (t.input.contains("asset_retention_hours") &&
        t.input["asset_retention_hours"].is_number_integer())
      hours = t.input["asset_retention_hours"].get<int>();
    return scaled(hours * 3600.0);
  }

  TimePoint expires_at(const Asset& a) const { return std::max(a.upload_at, a.last_used_at) + ttl; }

  void purge(TimePoint now) {
    for (auto it = assets.begin(); it != assets.end();) {
      if (expires_at(it->second) < now) {
        asset_fate[it->first] = "Purged";
        ++purges;
        it = assets.erase(it);
      } else {
        ++it;
      }
    }
  }

  //----------------------------------------------------------------------------
  // Identifiers

  std::string random_chars(int n) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    for (int i = 0; i < n; ++i) s += kAlphabet[random.below(sizeof kAlphabet - 1)];
    return s;
  }

  std::string new_asset_id(TimePoint now) {
    const std::string t = format_time(now);  // 2026-06-07T15:41:23Z
    std::string stamp;
    for (char c : t.substr(0, 19)) {
      if (std::isdigit(static_cast<unsigned char>(c))) stamp += c;
    }
    for (;;) {
      std::string id = "asset-" + stamp + "-" + random_chars(5);
      if (!assets.count(id) && !asset_fate.count(id)) return id;
    }
  }

  std::string new_uuid() {
    for (;;) {
      const uint64_t hi = (random.next() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
      const uint64_t lo = (random.next() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
      char buf[40];
      std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                    static_cast<unsigned long long>(hi >> 32),
                    static_cast<unsigned long long>((hi >> 16) & 0xffff),
                    static_cast<unsigned long long>(hi & 0xffff),
                    static_cast<unsigned long long>(lo >> 48),
                    static_cast<unsigned long long>(lo & 0xffffffffffffULL));
      if (!task_index.count(buf)) return buf;
    }
  }

  //----------------------------------------------------------------------------
  // Assets

  json asset_json(const Asset& a, TimePoint now) const {
    json j = {{"asset_id", a.id},
              {"name", a.name},
              {"asset_type", a.type},
              {"url", a.url},
              {"status", a.status(now)},
              {"upload_at", format_time(a.upload_at)},
              {"expires_at", format_time(expires_at(a))},
              {"last_used_at", format_time(a.last_used_at)}};
    if (a.status(now) == "Failed") j["error"] = a.error;
    return j;
  }

  int counted_assets(TimePoint now) const {
    int n = 0;
    for (const auto& [id, a] : assets) {
      if (a.status(now) != "Failed") ++n;
    }
    return n;
  }

  // Uploads one item; returns the asset object or an error response.
  std::pair<std::optional<json>, SimResponse> upload_one(const json& item, TimePoint now) {
    if (!item.is_object())
      return {std::nullopt, error_response(400, "each item must be an object", "invalid_body")};
    if (!item.contains("url") || !item["url"].is_string() || item["url"].get<std::string>().empty())
      return {std::nullopt, error_response(400, "url is required", "missing_url")};
    const std::string url = item["url"].get<std::string>();
    if (!is_http_url(url))
      return {std::nullopt, error_response(400, "url must be a public http(s) URL", "invalid_url")};
    std::string type;
    if (item.contains("asset_type") && !item["asset_type"].is_null()) {
      if (!item["asset_type"].is_string())
        return {std::nullopt, error_response(400, "asset_type must be Image, Video or Audio",
                                             "invalid_asset_type")};
      type = item["asset_type"].get<std::string>();
      if (type != "Image" && type != "Video" && type != "Audio")
        return {std::nullopt, error_response(400, "asset_type must be Image, Video or Audio",
                                             "invalid_asset_type")};
    }
    std::string name = url_basename(url);
    if (item.contains("name") && item["name"].is_string() &&
        !item["name"].get<std::string>().empty())
      name = item["name"].get<std::string>();
    if (counted_assets(now) >= quota)
      return {std::nullopt, error_response(400, "asset quota exceeded", "asset_quota_exceeded")};

    Asset a;
    a.id = new_asset_id(now);
    a.name = name;
    a.url = url;
    a.upload_at = a.last_used_at = now;
    a.ready_at = now + scaled(options.asset_processing_s);
    const std::string ext = url_extension(url);
    const std::string guessed = type_for_extension(ext);
    a.type = type.empty() ? (guessed.empty() ? "Image" : guessed) : type;
    if (!options.fail_url_pattern.empty() &&
        url.find(options.fail_url_pattern) != std::string::npos) {
      a.will_fail = true;
      a.error = "InvalidParameter.DownloadFailed: the asset URL could not be fetched";
    } else if (guessed.empty()) {
      a.will_fail = true;
      a.error = "InvalidParameter.Format: unsupported file extension '" + ext + "'";
    } else if (guessed != a.type) {
      a.will_fail = true;
      a.error = "InvalidParameter.Format: a ." + ext + " file is not a valid " + a.type;
    }
    ++uploads;
    ++uploads_by_name[a.name];
    ++uploads_by_url[a.url];
    asset_order.push_back(a.id);
    json j = {{"asset_id", a.id},
              {"name", a.name},
              {"asset_type", a.type},
              {"status", a.status(now)},
              {"upload_at", format_time(a.upload_at)},
              {"expires_at", format_time(expires_at(a))}};
    assets.emplace(a.id, std::move(a));
    return {std::move(j), SimResponse{}};
  }

  SimResponse asset_upload(const SimRequest& req, TimePoint now) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return error_response(400, "request body must be a JSON object", "invalid_json");
    if (!body.contains("items")) {
      auto [asset, err] = upload_one(body, now);
      if (!asset) return err;
      return json_response(200, *asset);
    }
    if (!body["items"].is_array() || body["items"].empty())
      return error_response(400, "items must be a non-empty array", "invalid_body");
    json results = json::array();
    int ok = 0, failed = 0;
    for (const json& item : body["items"]) {
      auto [asset, err] = upload_one(item, now);
      if (asset) {
        ++ok;
        results.push_back(*asset);
      } else {
        ++failed;
        ++rejections[err.reason];
        json e = json::parse(err.body);
        json r = {{"status", "Failed"}, {"error", e["message"]}};
        if (item.is_object() && item.contains("url")) r["url"] = item["url"];
        results.push_back(std::move(r));
      }
    }
    return json_response(
        200,
        json{{"total", ok + failed}, {"success", ok}, {"failed", failed}, {"results", results}});
  }

  SimResponse asset_list(const Target& t, TimePoint now) {
    int page = 1, page_size = options.page_size_default;
    try {
      if (t.query.count("page")) page = std::stoi(t.query.at("page"));
      if (t.query.count("page_size")) page_size = std::stoi(t.query.at("page_size"));
    } catch (const std::exception&) {
      return error_response(400, "page and page_size must be integers", "invalid_paging");
    }
    if (page < 1 || page_size < 1 || page_size > options.page_size_max)
      return error_response(
          400, "page must be >= 1 and page_size 1.." + std::to_string(options.page_size_max),
          "invalid_paging");
    const std::string filter = t.query.count("status") ? t.query.at("status") : "";
    std::vector<Asset*> matching;
    for (const std::string& id : asset_order) {
      auto it = assets.find(id);
      if (it == assets.end()) continue;
      if (!filter.empty() && it->second.status(now) != filter) continue;  // exact case
      matching.push_back(&it->second);
    }
    json items = json::array();
    const size_t first = static_cast<size_t>(page - 1) * static_cast<size_t>(page_size);
    for (size_t i = first; i < matching.size() && i < first + static_cast<size_t>(page_size); ++i) {
      matching[i]->last_used_at = now;  // listing refreshes the idle TTL
      items.push_back(asset_json(*matching[i], now));
    }
    return json_response(200, json{{"items", items},
                                   {"total", matching.size()},
                                   {"page", page},
                                   {"page_size", page_size}});
  }

  SimResponse asset_get(const std::string& id, TimePoint now) {
    auto it = assets.find(id);
    if (it == assets.end()) return error_response(404, "asset not found", "asset_get_not_found");
    it->second.last_used_at = now;
    return json_response(200, asset_json(it->second, now));
  }

  SimResponse asset_delete(const std::string& id) {
    auto it = assets.find(id);
    if (it == assets.end()) return error_response(404, "asset not found", "asset_delete_not_found");
    assets.erase(it);
    asset_fate[id] = "Deleted";
    ++deletes;
    return json_response(200, json{{"asset_id", id}, {"deleted", true}});
  }

  //----------------------------------------------------------------------------
  // Tasks

  static std::string phase_name(Phase p) {
    switch (p) {
      case Phase::kPending:
        return "pending";
      case Phase::kStaged:
        return "staged";
      case Phase::kProcessing:
        return "processing";
      case Phase::kCompleted:
        return "completed";
      case Phase::kFailed:
        return "failed";
    }
    return "pending";
  }

  json task_json(const Task& t, const std::string& base) const {
    json output = nullptr;
    if (t.phase == Phase::kCompleted)
      output = json{{"video", base + "/sim/files/" + t.id + ".mp4"}};
    json error = {{"code", 0}, {"raw_message", ""}, {"message", ""}, {"detail", nullptr}};
    if (t.phase == Phase::kFailed) {
      error = {{"code", 10003},
               {"raw_message", "content moderation rejected the request"},
               {"message", "Your content violated community guidelines."},
               {"detail", nullptr}};
    }
    const bool running = t.phase == Phase::kProcessing;
    const bool done = t.phase == Phase::kCompleted;
    return json{{"task_id", t.id},
                {"model", "seedance"},
                {"task_type", t.task_type},
                {"status", phase_name(t.phase)},
                {"config", t.config},
                {"input", t.input},
                {"output", output},
                {"meta",
                 {{"created_at", format_time(t.created_at, true)},
                  {"started_at", format_time(t.started_at, true)},
                  {"ended_at", format_time(t.ended_at, true)},
                  {"usage",
                   {{"type", "llm"},
                    {"frozen", running ? t.cost : 0},
                    {"consume", t.phase == Phase::kFailed ? 0 : (done || !running ? t.cost : 0)}}},
                  {"is_using_private_pool", false}}},
                {"detail", nullptr},
                {"logs", t.logs},
                {"error", error}};
  }

  // Reads an optional string array field; false when present but malformed.
  static bool read_urls(const json& input, const char* field, std::vector<std::string>* out) {
    if (!input.contains(field) || input[field].is_null()) return true;
    if (!input[field].is_array()) return false;
    for (const json& u : input[field]) {
      if (!u.is_string()) return false;
      out->push_back(u.get<std::string>());
    }
    return true;
  }

  int live_ephemeral(TimePoint now) const {
    int n = 0;
    for (const Task& t : tasks) {
      const bool ended = t.phase == Phase::kCompleted || t.phase == Phase::kFailed;
      if (t.ephemeral > 0 && (!ended || t.ephemeral_until > now)) n += t.ephemeral;
    }
    return n;
  }

  SimResponse task_create(const SimRequest& req, TimePoint now, const std::string& base) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return error_response(400, "request body must be a JSON object", "invalid_json");
    if (!body.contains("model") || body["model"] != "seedance")
      return error_response(400, "model must be \"seedance\"", "invalid_model");
    if (!body.contains("task_type") || !body["task_type"].is_string())
      return error_response(400, "task_type is required", "invalid_task_type");
    const std::string type_name = body["task_type"].get<std::string>();
    const std::optional<TaskType> type = task_type_for(type_name);
    if (!type) return error_response(400, "unknown task_type: " + type_name, "invalid_task_type");
    if (!body.contains("input") || !body["input"].is_object())
      return error_response(400, "input is required", "invalid_input");
    json input = body["input"];

    // Prompt.
    if (!input.contains("prompt") || !input["prompt"].is_string() ||
        input["prompt"].get<std::string>().empty())
      return error_response(400, "input.prompt is required", "invalid_prompt");
    const std::string prompt = input["prompt"].get<std::string>();
    if (prompt.size() > 4000)
      return error_response(400, "input.prompt exceeds 4000 characters", "invalid_prompt");

    // References.
    std::vector<std::string> images, videos, audios;
    if (!read_urls(input, "image_urls", &images) || !read_urls(input, "video_urls", &videos) ||
        !read_urls(input, "audio_urls", &audios))
      return error_response(400, "image_urls, video_urls and audio_urls must be arrays of strings",
                            "invalid_urls");
    bool any_asset_ref = false;
    int raw_urls = 0;
    for (const auto* list : {&images, &videos, &audios}) {
      for (const std::string& u : *list) {
        if (starts_with(u, kAssetScheme)) {
          any_asset_ref = true;
        } else if (is_http_url(u)) {
          ++raw_urls;
        } else {
          return error_response(400, "invalid reference url: " + u, "invalid_urls");
        }
      }
    }

    // Mode.
    std::string mode;
    if (input.contains("mode") && !input["mode"].is_null()) {
      if (!input["mode"].is_string())
        return error_response(400, "input.mode must be a string", "invalid_mode");
      mode = input["mode"].get<std::string>();
      if (mode != "text_to_video" && mode != "first_last_frames" && mode != "omni_reference")
        return error_response(
            400, "invalid mode: " + mode + " (text_to_video, first_last_frames, omni_reference)",
            "invalid_mode");
    } else if (!videos.empty() || !audios.empty() || images.size() > 2) {
      mode = "omni_reference";
    } else if (!images.empty()) {
      mode = "first_last_frames";
    } else {
      mode = "text_to_video";
    }
    const size_t refs = images.size() + videos.size() + audios.size();
    if (mode == "text_to_video" && refs > 0)
      return error_response(400, "text_to_video takes no image, video or audio references",
                            "mode_references");
    if (mode == "first_last_frames") {
      if (!videos.empty() || !audios.empty())
        return error_response(400, "first_last_frames takes no video or audio references",
                              "mode_references");
      if (images.empty() || images.size() > 2)
        return error_response(400, "first_last_frames needs 1 or 2 images", "mode_references");
    }
    if (mode == "omni_reference") {
      if (refs == 0)
        return error_response(400, "omni_reference needs at least one reference",
                              "mode_references");
      if (images.size() > 9)
        return error_response(400, "at most 9 image references", "too_many_references");
      if (videos.size() > 3)
        return error_response(400, "at most 3 video references", "too_many_references");
      if (audios.size() > 3)
        return error_response(400, "at most 3 audio references", "too_many_references");
      if (refs > 12)
        return error_response(400, "at most 12 references in total", "too_many_references");
    }
    if (!audios.empty() && images.empty() && videos.empty())
      return error_response(400, "audio references need at least one image or video",
                            "audio_needs_visual");

    // Scalars.
    int duration = 5;
    if (input.contains("duration")) {
      if (!input["duration"].is_number_integer())
        return error_response(400, "invalid duration, use an integer from 4 to 15",
                              "invalid_duration");
      duration = input["duration"].get<int>();
      if (duration < 4 || duration > 15)
        return error_response(
            400, "invalid duration " + std::to_string(duration) + ", use an integer from 4 to 15",
            "invalid_duration");
    }
    if (input.contains("aspect_ratio")) {
      static const std::set<std::string> kRatios = {"21:9", "16:9", "4:3", "1:1", "3:4", "9:16"};
      const json& ar = input["aspect_ratio"];
      const bool ok = ar.is_string() && (kRatios.count(ar.get<std::string>()) ||
                                         (ar == "auto" && mode == "first_last_frames"));
      if (!ok)
        return error_response(400, "invalid aspect_ratio: " + ar.dump(), "invalid_aspect_ratio");
    }
    std::string resolution = type->default_resolution;
    if (input.contains("resolution")) {
      if (!input["resolution"].is_string())
        return error_response(400, "input.resolution must be a string", "invalid_resolution");
      resolution = input["resolution"].get<std::string>();
      if (std::find(type->resolutions.begin(), type->resolutions.end(), resolution) ==
          type->resolutions.end())
        return error_response(400, "resolution " + resolution + " is not supported by " + type_name,
                              "invalid_resolution");
    }
    if (input.contains("audio") && !input["audio"].is_boolean())
      return error_response(400, "input.audio must be a boolean", "invalid_audio");
    bool auto_upload = false;
    if (input.contains("auto_upload_assets")) {
      if (!input["auto_upload_assets"].is_boolean())
        return error_response(400, "auto_upload_assets must be a boolean", "invalid_auto_upload");
      if (!type->less_restriction)
        return error_response(400, "auto_upload_assets requires a -less-restriction task type",
                              "lr_only_field");
      auto_upload = input["auto_upload_assets"].get<bool>();
    }
    if (input.contains("asset_retention_hours")) {
      if (!type->less_restriction)
        return error_response(400, "asset_retention_hours requires a -less-restriction task type",
                              "lr_only_field");
      const json& h = input["asset_retention_hours"];
      if (!h.is_number_integer() || h.get<int>() < 3 || h.get<int>() > 8)
        return error_response(400, "asset_retention_hours must be an integer from 3 to 8",
                              "invalid_retention");
    }

    // asset:// references.
    if (any_asset_ref && !type->less_restriction)
      return error_response(422, "asset:// references require a -less-restriction task type",
                            "asset_ref_strict_type");
    std::vector<AssetRef> asset_refs;
    bool inactive = false;
    std::optional<SimResponse> asset_error;
    const std::pair<const std::vector<std::string>*, const char*> kLists[] = {
        {&images, "Image"}, {&videos, "Video"}, {&audios, "Audio"}};
    for (const auto& [list, want] : kLists) {
      for (const std::string& u : *list) {
        if (!starts_with(u, kAssetScheme)) continue;
        const std::string id = u.substr(kAssetScheme.size());
        auto it = assets.find(id);
        if (it == assets.end()) {
          inactive = true;
          if (!asset_error) asset_error = error_response(400, "asset not found", "asset_not_found");
          continue;
        }
        const std::string status = it->second.status(now);
        if (status != "Active") {
          inactive = true;
          if (!asset_error)
            asset_error = error_response(400, "asset not active: " + id, "asset_not_active");
          continue;
        }
        if (it->second.type != want && !asset_error)
          asset_error =
              error_response(400, "asset " + id + " is a " + it->second.type + ", not a " + want,
                             "asset_type_mismatch");
        asset_refs.push_back(AssetRef{id, status});
      }
    }
    if (inactive) ++creates_with_inactive_asset;
    if (asset_error) return *asset_error;

    // Capacity.
    const int ephemeral = auto_upload ? raw_urls : 0;
    if (ephemeral > 0 && live_ephemeral(now) + ephemeral > options.ephemeral_cap)
      return error_response(400, "ephemeral asset hard cap reached", "ephemeral_cap");
    if (!options.staging) {
      int in_flight = 0;
      for (const Task& t : tasks) {
        if (t.phase != Phase::kCompleted && t.phase != Phase::kFailed) ++in_flight;
      }
      if (in_flight >= options.max_concurrent_tasks) {
        SimResponse r = error_response(429, "too many tasks in flight", "concurrency_limit");
        r.headers.emplace_back("Retry-After", std::to_string(options.faults.retry_after_s));
        return r;
      }
    }

    // Accepted.
    for (const AssetRef& r : asset_refs)
      assets.at(r.id).last_used_at = now;  // references refresh the TTL
    Task t;
    t.id = new_uuid();
    t.task_type = type_name;
    t.prompt = prompt;
    t.body_hash = fnv1a_hex(body.dump());
    t.created_at = now;
    t.reject =
        !options.reject_word.empty() && prompt.find(options.reject_word) != std::string::npos;
    t.ephemeral = ephemeral;
    t.refs = std::move(asset_refs);
    const int64_t per_second = resolution == "1080p"  ? 400000
                               : resolution == "720p" ? 200000
                                                      : 100000;
    t.cost = per_second * duration * (type->less_restriction ? 11 : 10) / 10;
    if (ephemeral > 0) {
      const int hours =
          input.contains("asset_retention_hours") ? input["asset_retention_hours"].get<int>() : 3;
      t.logs.push_back("auto_upload_assets enabled, retention_hours=" + std::to_string(hours) +
                       ", asset_quota_hold_hours=3");
      t.logs.push_back("auto_upload_assets: converted " + std::to_string(ephemeral) +
                       " url(s) to ephemeral asset://");
      for (const char* field : {"image_urls", "video_urls", "audio_urls"}) {
        if (!input.contains(field) || !input[field].is_array()) continue;
        for (json& u : input[field]) {
          if (is_http_url(u.get<std::string>())) u = "asset://" + new_asset_id(now);
        }
      }
    }
    t.input = std::move(input);
    t.config =
        body.contains("config") && body["config"].is_object()
            ? body["config"]
            : json{{"service_mode", ""}, {"webhook_config", {{"endpoint", ""}, {"secret", ""}}}};

    ++task_creates;
    ++creates_by_prompt[t.prompt];
    if (creates_by_body_hash[t.body_hash]++ > 0) ++duplicate_creates;
    const size_t index = tasks.size();
    task_index[t.id] = index;
    tasks.push_back(std::move(t));
    schedule(now + scaled(options.task_queue_s), index);
    advance(now);  // a zero queue time starts it at once
    return json_response(200, envelope(task_json(tasks[index], base)));
  }

  SimResponse task_get(const std::string& id, const std::string& base) {
    auto it = task_index.find(id);
    if (it == task_index.end()) return error_response(404, "task not found", "task_not_found");
    ++polls_by_task[id];
    return json_response(200, envelope(task_json(tasks[it->second], base)));
  }

  SimResponse active_tasks() const {
    int64_t counts[5] = {0, 0, 0, 0, 0};
    for (const Task& t : tasks) ++counts[static_cast<int>(t.phase)];
    const int64_t active = counts[0] + counts[1] + counts[2];
    return json_response(200, envelope(json{{"seedance",
                                             {{"staged_count", counts[1]},
                                              {"pending_count", counts[0]},
                                              {"processing_count", counts[2]},
                                              {"active_tasks", active}}}}));
  }

  // Deterministic bytes of a task's output video.
  SimResponse file_get(const std::string& file) {
    const std::string suffix = ".mp4";
    if (file.size() <= suffix.size() || file.substr(file.size() - suffix.size()) != suffix)
      return error_response(404, "file not found", "file_not_found");
    const std::string id = file.substr(0, file.size() - suffix.size());
    auto it = task_index.find(id);
    if (it == task_index.end() || tasks[it->second].phase != Phase::kCompleted)
      return error_response(404, "file not found", "file_not_found");
    SimResponse r;
    r.content_type = "video/mp4";
    r.body = video_bytes(id, options.video_bytes);
    ++downloads;
    download_bytes += static_cast<int64_t>(r.body.size());
    return r;
  }

  static std::string video_bytes(const std::string& task_id, uint64_t n) {
    std::string out;
    out.reserve(n);
    static constexpr char kHeader[] =
        "\0\0\0\x18"
        "ftypmp42";
    Random r(std::hash<std::string>{}(task_id));
    for (uint64_t i = 0; i < n; ++i) {
      out += i < sizeof kHeader - 1 ? kHeader[i] : static_cast<char>(r.next() & 0xff);
    }
    return out;
  }

  //----------------------------------------------------------------------------
  // Dispatch

  SimResponse route(const SimRequest& req, const Target& t, TimePoint now, std::string* endpoint) {
    const std::string& p = t.path;
    const std::string& m = req.method;
    std::string base = req.header("host");
    base = base.empty() ? "http://127.0.0.1" : "http://" + base;

    if (starts_with(p, "/sim/files/")) {
      *endpoint = "file_get";
      if (m != "GET") return error_response(405, "method not allowed", "method_not_allowed");
      return file_get(p.substr(std::string("/sim/files/").size()));
    }
    if (!starts_with(p, "/api/") && !starts_with(p, "/account/")) {
      *endpoint = "other";
      return error_response(404, "not found", "route_not_found");
    }
    if (req.header("x-api-key") != options.api_key) {
      *endpoint = "unauthorized";
      return error_response(401, "Invalid API key", "unauthorized");
    }
    if (p == "/account/active_tasks") {
      *endpoint = "active_tasks";
      return active_tasks();
    }
    if (p == "/api/v1/task") {
      *endpoint = "task_create";
      if (m != "POST") return error_response(405, "method not allowed", "method_not_allowed");
      return task_create(req, now, base);
    }
    if (starts_with(p, "/api/v1/task/")) {
      *endpoint = "task_get";
      if (m != "GET") return error_response(405, "method not allowed", "method_not_allowed");
      return task_get(p.substr(std::string("/api/v1/task/").size()), base);
    }
    if (starts_with(p, "/api/v1/asset/")) {
      const std::string rest = p.substr(std::string("/api/v1/asset/").size());
      *endpoint = rest == "upload" ? "asset_upload"
                  : rest == "list" ? "asset_list"
                  : m == "DELETE"  ? "asset_delete"
                                   : "asset_get";
      if (!plan_allows_assets)
        return error_response(403, "plan does not support assets", "plan_forbidden");
      if (rest == "upload") {
        if (m != "POST") return error_response(405, "method not allowed", "method_not_allowed");
        return asset_upload(req, now);
      }
      if (rest == "list") {
        if (m != "GET") return error_response(405, "method not allowed", "method_not_allowed");
        return asset_list(t, now);
      }
      if (rest.empty() || rest.find('/') != std::string::npos)
        return error_response(404, "not found", "route_not_found");
      if (m == "GET") return asset_get(rest, now);
      if (m == "DELETE") return asset_delete(rest);
      return error_response(405, "method not allowed", "method_not_allowed");
    }
    *endpoint = "other";
    return error_response(404, "not found", "route_not_found");
  }

  //----------------------------------------------------------------------------
  // Stats

  json stats_json(TimePoint now) const {
    std::map<std::string, int64_t> assets_by_status, tasks_by_status;
    json asset_list = json::array();
    for (const std::string& id : asset_order) {
      auto it = assets.find(id);
      if (it != assets.end()) {
        ++assets_by_status[it->second.status(now)];
        asset_list.push_back(json{{"asset_id", id},
                                  {"name", it->second.name},
                                  {"url", it->second.url},
                                  {"status", it->second.status(now)}});
      } else {
        auto fate = asset_fate.find(id);
        const std::string status = fate == asset_fate.end() ? "Gone" : fate->second;
        ++assets_by_status[status];
        asset_list.push_back(json{{"asset_id", id}, {"status", status}});
      }
    }
    json task_list = json::array();
    for (const Task& t : tasks) {
      ++tasks_by_status[phase_name(t.phase)];
      json refs = json::array();
      for (const AssetRef& r : t.refs)
        refs.push_back(json{{"asset_id", r.id}, {"status_at_create", r.status_at_create}});
      task_list.push_back(json{{"task_id", t.id},
                               {"task_type", t.task_type},
                               {"prompt", t.prompt},
                               {"body_hash", t.body_hash},
                               {"status", phase_name(t.phase)},
                               {"created_at", format_time(t.created_at, true)},
                               {"assets", refs}});
    }
    std::map<std::string, int64_t> dup_prompts;
    for (const auto& [prompt, n] : creates_by_prompt) {
      if (n > 1) dup_prompts[prompt] = n;
    }
    std::map<std::string, int64_t> all_polls = {
        {"asset_list", 0}, {"asset_get", 0}, {"task_get", 0}};
    for (const auto& [k, v] : polls) all_polls[k] = v;
    return json{{"uploads", uploads},
                {"uploads_by_name", uploads_by_name},
                {"uploads_by_url", uploads_by_url},
                {"task_creates", task_creates},
                {"duplicate_creates", duplicate_creates},
                {"creates_by_prompt", creates_by_prompt},
                {"duplicate_prompts", dup_prompts},
                {"creates_by_body_hash", creates_by_body_hash},
                {"creates_with_inactive_asset", creates_with_inactive_asset},
                {"polls", all_polls},
                {"polls_by_task", polls_by_task},
                {"requests", requests},
                {"rejections", rejections},
                {"faults", faults},
                {"downloads", downloads},
                {"download_bytes", download_bytes},
                {"deletes", deletes},
                {"purges", purges},
                {"max_processing", max_processing},
                {"assets_by_status", assets_by_status},
                {"tasks_by_status", tasks_by_status},
                {"assets", asset_list},
                {"tasks", task_list}};
  }
};

//------------------------------------------------------------------------------

SimModel::SimModel(SimOptions options) : state_(std::make_unique<State>(std::move(options))) {}
SimModel::~SimModel() = default;

Result<void> SimModel::validate(const SimOptions& o) {
  if (!plan_for(o.plan))
    return Fail(Error::InvalidArgument("unknown plan '" + o.plan +
                                       "' (free, hobbyist, developer, premium, enterprise)"));
  if (!(o.speed > 0)) return Fail(Error::InvalidArgument("speed must be > 0"));
  if (o.max_concurrent_tasks < 1)
    return Fail(Error::InvalidArgument("max_concurrent_tasks must be >= 1"));
  if (o.asset_processing_s < 0 || o.task_queue_s < 0 || o.task_render_s < 0 || o.reject_after_s < 0)
    return Fail(Error::InvalidArgument("timings must be >= 0"));
  if (o.page_size_default < 1 || o.page_size_max < o.page_size_default)
    return Fail(Error::InvalidArgument("need 1 <= page_size_default <= page_size_max"));
  if (o.api_key.empty()) return Fail(Error::InvalidArgument("api_key must not be empty"));
  if (o.idle_timeout_s < 1) return Fail(Error::InvalidArgument("idle_timeout_s must be >= 1"));
  const FaultRates& f = o.faults;
  for (double r : {f.http_5xx, f.http_429, f.reset_before, f.reset_after, f.html_body,
                   f.truncated_body, f.latency}) {
    if (!(r >= 0 && r <= 1))
      return Fail(Error::InvalidArgument("fault rates must be within [0, 1]"));
  }
  if (f.latency_ms < 0 || f.retry_after_s < 0)
    return Fail(Error::InvalidArgument("latency_ms and retry_after_s must be >= 0"));
  return Ok();
}

SimResponse SimModel::handle(const SimRequest& req, TimePoint now) {
  State& s = *state_;
  s.advance(now);
  now = s.last_now;
  const Target t = parse_target(req.target);
  if (t.path == "/sim/stats") {
    SimResponse r = json_response(200, s.stats_json(now));
    return r;
  }
  std::string endpoint = "other";
  SimResponse r = s.route(req, t, now, &endpoint);
  ++s.requests[endpoint];
  if (endpoint == "asset_list" || endpoint == "asset_get" || endpoint == "task_get")
    ++s.polls[endpoint];
  if (!r.reason.empty()) ++s.rejections[r.reason];
  return r;
}

void SimModel::note_fault(std::string_view kind) {
  ++state_->faults[std::string(kind)];
}

nlohmann::json SimModel::stats(TimePoint now) {
  state_->advance(now);
  return state_->stats_json(state_->last_now);
}

const SimOptions& SimModel::options() const {
  return state_->options;
}

}  // namespace sd::sim
