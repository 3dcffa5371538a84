// The engine's implementation. See core/engine.hpp for the contract.
//
// Layout of Engine::Impl:
//   - assets / tasks / passes: every entity by name (maps; entries are never
//     erased, so pointers stay valid for the step). A pass is an
//     asset://asset-... id uploaded elsewhere, checked once before first use.
//   - dependents: asset name -> tasks naming it; the asset->tasks index that
//     lets an asset transition touch only its own tasks.
//   - sched: the agenda (core/scheduler.hpp). An entity is in at most one
//     lane, or in none while its request is in flight; so tick() and every
//     on_*() cost O(k log n) for k entities they change, never a scan.
//   - task_counts / asset_counts: per-state counts for the in-flight cap,
//     the asset quota, summary() and all_terminal() in O(1).
// Each public call runs as one step: the body, then tick(now); every record
// touched in the step is copied once into Ready, transitions append one
// event and one log line each (record_transition).
#include "core/engine.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <set>
#include <tuple>
#include <utility>

#include "core/backoff.hpp"
#include "core/random.hpp"
#include "core/rate_limit.hpp"
#include "core/scheduler.hpp"

namespace sd {

void Ready::merge(Ready&& other) {
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    from.clear();
  };
  append(assets, other.assets);
  append(tasks, other.tasks);
  append(events, other.events);
  append(requests, other.requests);
  append(logs, other.logs);
}

namespace {

// A Processing asset missing from this many lists in a row is checked with kGetAsset.
constexpr int kListMissesBeforeGet = 3;
// Messages from outside (API bodies) are kept verbatim up to this many bytes.
constexpr size_t kMaxMessage = 4000;

struct AssetEntry {
  AssetRecord rec;
  Placement placed;
  bool in_flight = false;      // an upload or get is outstanding
  bool reconcile = false;      // Uploading with unknown outcome: match by name in a list first
  bool awaiting_list = false;  // covered by the list request in flight
  int list_misses = 0;         // consecutive lists that did not contain this Processing asset
  bool needs_check = false;    // PiAPI may have forgotten it: verify with kGetAsset before use
  std::optional<TimePoint> verified_at;   // last kGetAsset that found it Active
  std::optional<AssetSpec> pending_spec;  // a spec change that waits for the reply in flight
  bool dirty = false;
};

struct TaskEntry {
  TaskRecord rec;
  Placement placed;
  bool in_flight = false;
  std::vector<std::string> assets;              // declared assets named as asset://NAME
  std::vector<std::string> passes;              // pass-through ids asset://asset-...
  std::optional<RemoteTaskStatus> last_status;  // the last remote status seen while Submitted
  bool dirty = false;
};

// A pass-through asset id (uploaded elsewhere), checked once before first use.
struct PassEntry {
  enum class State { kUnchecked, kActive, kFailed };
  std::string id;
  State state = State::kUnchecked;
  std::string message;  // why it cannot be used
  Schedule schedule;
  std::optional<TimePoint> processing_since;  // first check that found it Processing
  Placement placed;
  bool in_flight = false;
  std::set<std::string, std::less<>> dependents;
};

std::string cap_message(std::string_view s) {
  if (s.size() <= kMaxMessage) return std::string(s);
  return std::string(s.substr(0, kMaxMessage)) + "…";
}

// "350ms", "41s", "2m41s", "3h05m", "2d03h".
std::string humanise(Duration d) {
  int64_t ms = std::max<int64_t>(d.count(), 0);
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else if (ms < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(ms / 86'400'000),
                  static_cast<long long>(ms / 3'600'000 % 24));
  }
  return buf;
}

// "7c1e…" for a task UUID, "…6nxk8" for an asset id, short ids unchanged.
std::string short_id(std::string_view id) {
  if (id.size() <= 8) return std::string(id);
  if (is_remote_asset_id(id)) return "…" + std::string(id.substr(id.size() - 5));
  return std::string(id.substr(0, 4)) + "…";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// True iff a create error says a referenced asset is unknown or not usable.
bool says_asset_unusable(const ApiError& e) {
  if (e.http_status != 400 && e.http_status != 404 && e.http_status != 422) return false;
  const std::string m = lower(e.message);
  return m.find("asset not found") != std::string::npos ||
         m.find("asset not active") != std::string::npos ||
         m.find("asset is not active") != std::string::npos ||
         m.find("unknown asset") != std::string::npos;
}

// True iff a get-asset error says PiAPI does not know the id.
bool says_not_found(const ApiError& e) {
  return e.not_found() || lower(e.message).find("asset not found") != std::string::npos;
}

std::string describe(const ApiError& e) {
  std::string s = e.message.empty() ? std::string("request failed") : cap_message(e.message);
  if (e.http_status != 0 && s.find(std::to_string(e.http_status)) == std::string::npos) {
    s += " (HTTP " + std::to_string(e.http_status) + ")";
  }
  return s;
}

bool unsubmitted(TaskState s) {
  return s == TaskState::kWaiting || s == TaskState::kReady;
}

}  // namespace

struct Engine::Impl {
  Impl(EngineOptions o, uint64_t seed)
      : opt(std::move(o)),
        rng(seed),
        bucket(opt.requests_per_second),
        cap(opt.max_tasks_in_flight) {}

  // ---- Constant after construction ----------------------------------------
  const EngineOptions opt;

  // ---- Mutable state (owned by the daemon's loop thread) -----------------
  Random rng;
  TokenBucket bucket;
  InFlightCap cap;
  std::map<std::string, AssetEntry, std::less<>> assets;
  std::map<std::string, TaskEntry, std::less<>> tasks;
  std::map<std::string, PassEntry, std::less<>> passes;
  // asset name -> tasks that name it as asset://NAME (declared or not).
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> dependents;
  Scheduler sched;
  std::vector<std::string> list_members;  // assets covered by the list in flight
  int requests_in_flight = 0;
  bool draining = false;
  bool held_stall_warned = false;
  std::map<AssetState, int> asset_counts;
  std::map<TaskState, int> task_counts;

  // ---- The step being built ------------------------------------------------
  Ready* out = nullptr;
  TimePoint now{};
  std::vector<AssetEntry*> dirty_assets;
  std::vector<TaskEntry*> dirty_tasks;

  // ===== step plumbing =======================================================

  Ready run(TimePoint t, const std::function<void()>& body) {
    Ready r;
    out = &r;
    now = t;
    body();
    tick_into();
    for (AssetEntry* a : dirty_assets) {
      r.assets.push_back(a->rec);
      a->dirty = false;
    }
    for (TaskEntry* t2 : dirty_tasks) {
      r.tasks.push_back(t2->rec);
      t2->dirty = false;
    }
    dirty_assets.clear();
    dirty_tasks.clear();
    out = nullptr;
    return r;
  }

  void touch(AssetEntry& a) {
    if (!a.dirty) {
      a.dirty = true;
      dirty_assets.push_back(&a);
    }
  }
  void touch(TaskEntry& t) {
    if (!t.dirty) {
      t.dirty = true;
      dirty_tasks.push_back(&t);
    }
  }

  void log(LogLine::Level level, std::string text) {
    out->logs.push_back(LogLine{level, std::move(text)});
  }
  void info(std::string text) { log(LogLine::Level::kInfo, std::move(text)); }
  void warn(std::string text) { log(LogLine::Level::kWarn, std::move(text)); }

  // Appends the event row and the one-line log of a transition.
  void record_transition(std::string_view kind, const std::string& name, std::string_view from,
                         std::string_view to, const std::string& remote_id, Duration spent,
                         const std::string& message, bool bad) {
    EventRecord ev;
    ev.entity_kind = std::string(kind);
    ev.name = name;
    ev.from = std::string(from);
    ev.to = std::string(to);
    std::string detail;
    auto add = [&detail](const std::string& part) {
      if (part.empty()) return;
      if (!detail.empty()) detail += "; ";
      detail += part;
    };
    add(remote_id);
    add(message);
    if (!from.empty()) add("after " + humanise(spent));
    ev.detail = detail;
    ev.at = now;
    out->events.push_back(std::move(ev));

    std::string line = std::string(kind) + " " + name + ": " +
                       (from.empty() ? std::string("new") : std::string(from)) + " -> " +
                       std::string(to);
    std::string paren;
    if (!remote_id.empty()) paren = short_id(remote_id);
    if (!from.empty()) paren += (paren.empty() ? "" : ", ") + humanise(spent);
    if (!paren.empty()) line += " (" + paren + ")";
    if (!message.empty()) line += ": " + message;
    // One event, one line: API text may hold control characters.
    for (char& c : line) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    log(bad ? LogLine::Level::kWarn : LogLine::Level::kInfo, std::move(line));
  }

  void set_state(AssetEntry& a, AssetState to, const std::string& message = {}) {
    const AssetState from = a.rec.state;
    --asset_counts[from];
    ++asset_counts[to];
    const Duration spent = now - a.rec.state_since;
    a.rec.state = to;
    a.rec.state_since = now;
    a.rec.schedule.poll_count = 0;
    a.list_misses = 0;
    touch(a);
    record_transition("asset", a.rec.spec.name, to_string(from), to_string(to), a.rec.remote_id,
                      spent, message, to == AssetState::kFailed);
  }

  void set_state(TaskEntry& t, TaskState to, const std::string& message = {}) {
    const TaskState from = t.rec.state;
    --task_counts[from];
    ++task_counts[to];
    const Duration spent = now - t.rec.state_since;
    t.rec.state = to;
    t.rec.state_since = now;
    t.rec.schedule.poll_count = 0;
    t.last_status.reset();
    touch(t);
    const bool bad =
        to == TaskState::kFailed || to == TaskState::kBlocked || to == TaskState::kHeld;
    record_transition("task", t.rec.spec.name, to_string(from), to_string(to), t.rec.remote_id,
                      spent, message, bad);
  }

  int tasks_in_flight() const {
    auto count = [this](TaskState s) {
      auto it = task_counts.find(s);
      return it == task_counts.end() ? 0 : it->second;
    };
    return count(TaskState::kSubmitting) + count(TaskState::kSubmitted) + count(TaskState::kHeld);
  }

  int assets_holding_quota() const {
    int n = 0;
    for (AssetState s : {AssetState::kUploading, AssetState::kProcessing, AssetState::kActive}) {
      auto it = asset_counts.find(s);
      if (it != asset_counts.end()) n += it->second;
    }
    return n;
  }

  // ===== queues ==============================================================

  template <class E>
  void dequeue(E& e, Slot slot, const std::string& name) {
    sched.remove(e.placed, slot, name);
  }

  template <class E>
  void enqueue(E& e, Slot slot, const std::string& name, Lane lane, TimePoint at) {
    sched.place(e.placed, slot, name, lane, at);
  }

  void schedule(AssetEntry& a, Lane q, TimePoint at) {
    // An asset already Uploading holds its quota slot: its retry is never gated by the quota.
    if (q == Lane::kUploads && a.rec.state == AssetState::kUploading) q = Lane::kUploadRetries;
    enqueue(a, Slot::kAsset, a.rec.spec.name, q, at);
    a.rec.schedule.next_at = at;
    touch(a);
  }
  void unschedule(AssetEntry& a) {
    dequeue(a, Slot::kAsset, a.rec.spec.name);
    if (a.rec.schedule.next_at) {
      a.rec.schedule.next_at.reset();
      touch(a);
    }
  }
  void schedule(TaskEntry& t, Lane q, TimePoint at) {
    enqueue(t, Slot::kTask, t.rec.spec.name, q, at);
    t.rec.schedule.next_at = at;
    touch(t);
  }
  void unschedule(TaskEntry& t) {
    dequeue(t, Slot::kTask, t.rec.spec.name);
    if (t.rec.schedule.next_at) {
      t.rec.schedule.next_at.reset();
      touch(t);
    }
  }
  void schedule(PassEntry& p, TimePoint at) {
    enqueue(p, Slot::kPass, p.id, Lane::kPolls, at);
    p.schedule.next_at = at;
  }

  Duration error_delay(const Schedule& s, const ApiError& e) {
    return retry_delay(opt.error_first_retry, opt.error_max_retry, s.error_count, e.retry_after,
                       rng);
  }

  // ===== indexes ===============================================================

  void index_task(TaskEntry& t) {
    t.assets = t.rec.spec.asset_names();
    t.passes.clear();
    for (const auto* list :
         {&t.rec.spec.image_urls, &t.rec.spec.video_urls, &t.rec.spec.audio_urls}) {
      for (const auto& url : *list) {
        auto ref = asset_ref(url);
        if (!ref || !is_remote_asset_id(*ref)) continue;
        std::string id(*ref);
        if (std::find(t.passes.begin(), t.passes.end(), id) == t.passes.end()) {
          t.passes.push_back(id);
        }
      }
    }
    for (const auto& a : t.assets) dependents[a].insert(t.rec.spec.name);
    for (const auto& id : t.passes) {
      PassEntry& p = passes[id];
      p.id = id;
      p.dependents.insert(t.rec.spec.name);
    }
  }

  void unindex_task(TaskEntry& t) {
    for (const auto& a : t.assets) {
      auto it = dependents.find(a);
      if (it != dependents.end()) it->second.erase(t.rec.spec.name);
    }
    for (const auto& id : t.passes) {
      auto it = passes.find(id);
      if (it != passes.end()) it->second.dependents.erase(t.rec.spec.name);
    }
    t.assets.clear();
    t.passes.clear();
  }

  template <class F>
  void for_each_dependent(const std::string& asset, F&& f) {
    auto it = dependents.find(asset);
    if (it == dependents.end()) return;
    // Copy: f may change the task's state (never the index itself).
    std::vector<std::string> names(it->second.begin(), it->second.end());
    for (const auto& n : names) {
      auto t = tasks.find(n);
      if (t != tasks.end()) f(t->second);
    }
  }

  bool needed_by_unsubmitted(const std::string& asset) const {
    auto it = dependents.find(asset);
    if (it == dependents.end()) return false;
    for (const auto& n : it->second) {
      auto t = tasks.find(n);
      if (t != tasks.end() && !t->second.rec.retired && unsubmitted(t->second.rec.state)) {
        return true;
      }
    }
    return false;
  }

  // ===== assets ================================================================

  bool usable(const AssetEntry& a) const {
    if (a.rec.state != AssetState::kActive || a.rec.retired || a.needs_check) return false;
    if (a.rec.expires_at && *a.rec.expires_at - opt.expiry_margin <= now) {
      return a.verified_at && now - *a.verified_at < opt.expiry_margin;
    }
    return true;
  }

  // When an Active asset next needs a TTL check (if a task still needs it then).
  void schedule_expiry_check(AssetEntry& a) {
    if (a.rec.state != AssetState::kActive || a.in_flight) return;
    if (a.needs_check) {
      schedule(a, Lane::kPolls, now);
      return;
    }
    if (!a.rec.expires_at || !needed_by_unsubmitted(a.rec.spec.name)) {
      unschedule(a);  // the next task that needs it kicks it (or demotes at submit)
      return;
    }
    TimePoint at = *a.rec.expires_at - opt.expiry_margin;
    if (a.verified_at) at = std::max(at, *a.verified_at + opt.expiry_margin);
    schedule(a, Lane::kPolls, std::max(at, now));
  }

  // Makes an asset that a not-yet-submitted task needs move towards Active.
  void kick(AssetEntry& a) {
    if (a.rec.retired || a.in_flight) return;
    switch (a.rec.state) {
      case AssetState::kDeclared:
      case AssetState::kExpired:
        if (a.placed.lane != Lane::kUploads) schedule(a, Lane::kUploads, now);
        break;
      case AssetState::kActive:
        if (!usable(a) && (a.placed.lane != Lane::kPolls || a.placed.at > now)) {
          schedule(a, Lane::kPolls, now);
        }
        break;
      default:
        break;  // Uploading / Processing are on their way; Failed blocks the task.
    }
  }

  void activate(AssetEntry& a, const RemoteAsset& r) {
    if (!r.asset_id.empty()) a.rec.remote_id = r.asset_id;
    if (r.expires_at) a.rec.expires_at = r.expires_at;
    a.reconcile = false;
    a.needs_check = false;
    a.verified_at = now;
    a.rec.last_error.clear();
    clear_failures(a.rec.schedule);
    unschedule(a);
    if (a.rec.state != AssetState::kActive) set_state(a, AssetState::kActive);
    touch(a);
    schedule_expiry_check(a);
    for_each_dependent(a.rec.spec.name, [this](TaskEntry& t) {
      if (t.rec.state == TaskState::kWaiting) gate(t);
    });
  }

  void fail_asset(AssetEntry& a, const std::string& message) {
    unschedule(a);
    a.reconcile = false;
    a.rec.last_error = cap_message(message);
    set_state(a, AssetState::kFailed, a.rec.last_error);
    const std::string why = "asset '" + a.rec.spec.name + "' failed: " + a.rec.last_error;
    for_each_dependent(a.rec.spec.name, [this, &why](TaskEntry& t) {
      if (unsubmitted(t.rec.state)) block(t, why);
    });
  }

  void expire(AssetEntry& a, const std::string& message) {
    unschedule(a);
    a.needs_check = false;
    a.verified_at.reset();
    a.reconcile = false;
    set_state(a, AssetState::kExpired, message);
    a.rec.remote_id.clear();
    a.rec.expires_at.reset();
    bool needed = false;
    for_each_dependent(a.rec.spec.name, [this, &needed](TaskEntry& t) {
      if (t.rec.retired) return;
      if (t.rec.state == TaskState::kReady) {
        unschedule(t);
        set_state(t, TaskState::kWaiting, "asset expired; waiting for re-upload");
      }
      needed = needed || t.rec.state == TaskState::kWaiting;
    });
    if (needed) kick(a);
  }

  // Polls a Processing (or reconciling) asset through the next batched list.
  void poll_via_list(AssetEntry& a, TimePoint at) { schedule(a, Lane::kListWait, at); }

  void processing(AssetEntry& a, const RemoteAsset& r) {
    if (!r.asset_id.empty()) a.rec.remote_id = r.asset_id;
    if (r.expires_at) a.rec.expires_at = r.expires_at;
    a.reconcile = false;
    clear_failures(a.rec.schedule);
    if (a.rec.state != AssetState::kProcessing) {
      set_state(a, AssetState::kProcessing);
      poll_via_list(a, now + opt.asset_first_poll);
    } else if (now - a.rec.state_since >= opt.give_up_after) {
      // PiAPI documents 5-60 s of processing; a day means it never will finish.
      fail_asset(a, "still " + (r.status_text.empty() ? std::string("Processing") : r.status_text) +
                        " on PiAPI after " + humanise(now - a.rec.state_since));
    } else {
      ++a.rec.schedule.poll_count;
      poll_via_list(a, now + poll_interval(opt.asset_first_poll, opt.max_poll_interval,
                                           a.rec.schedule.poll_count, rng));
    }
  }

  // Applies a remote view of the asset (upload reply, list item, get reply).
  void apply_remote(AssetEntry& a, const RemoteAsset& r) {
    switch (r.status) {
      case RemoteAssetStatus::kActive:
        activate(a, r);
        break;
      case RemoteAssetStatus::kFailed: {
        if (!r.asset_id.empty()) a.rec.remote_id = r.asset_id;
        std::string msg = !r.error.empty() ? r.error : "PiAPI reports the asset " + r.status_text;
        fail_asset(a, msg);
        break;
      }
      default:
        processing(a, r);
        break;
    }
  }

  // A transient failure of a request for `a`: retry at `retry_queue` or give up.
  // Returns false when the asset gave up (Failed).
  bool asset_failure(AssetEntry& a, const ApiError& e, Lane retry_queue) {
    note_failure(a.rec.schedule, now);
    a.rec.last_error = describe(e);
    touch(a);
    if (should_give_up(a.rec.schedule, now, opt.give_up_after)) {
      fail_asset(a, "gave up after " + humanise(now - *a.rec.schedule.first_error_at) +
                        " of failures: " + a.rec.last_error);
      return false;
    }
    schedule(a, retry_queue, now + error_delay(a.rec.schedule, e));
    return true;
  }

  void start_upload(AssetEntry& a) {
    if (a.rec.retired) return;
    a.reconcile = false;
    schedule(a, Lane::kUploads, now);
  }

  // Replaces an asset's spec; an uploaded asset is uploaded again under its new name.
  void change_asset_spec(AssetEntry& a, const AssetSpec& spec) {
    if (a.in_flight) {
      a.pending_spec = spec;
      return;
    }
    const bool uploaded = a.rec.state != AssetState::kDeclared;
    a.rec.spec = spec;
    a.pending_spec.reset();
    touch(a);
    if (!uploaded) {
      info("asset " + spec.name + ": spec changed before upload; updated");
      return;
    }
    warn("asset " + spec.name + ": spec changed after upload; uploading again as " +
         spec.upload_name() + " (the old upload stays in the library until it expires)");
    if (a.awaiting_list) a.awaiting_list = false;
    unschedule(a);
    a.reconcile = false;
    a.needs_check = false;
    a.verified_at.reset();
    clear_failures(a.rec.schedule);
    a.rec.last_error.clear();
    set_state(a, AssetState::kDeclared, "spec changed: re-upload as " + spec.upload_name());
    a.rec.remote_id.clear();
    a.rec.expires_at.reset();
    for_each_dependent(spec.name, [this](TaskEntry& t) {
      if (t.rec.state == TaskState::kReady && !t.rec.retired) {
        unschedule(t);
        set_state(t, TaskState::kWaiting, "asset changed; waiting for re-upload");
      } else if (t.rec.state == TaskState::kBlocked && !t.rec.retired) {
        reset_task_to_waiting(t, "asset changed");
        gate(t);
      }
    });
    start_upload(a);
  }

  // Common prologue of an asset reply. Returns nullptr when the reply must be ignored.
  AssetEntry* asset_reply(const std::string& name, std::string_view what) {
    auto it = assets.find(name);
    if (it == assets.end() || !it->second.in_flight) {
      warn("ignoring an unexpected " + std::string(what) + " reply for asset " + name);
      return nullptr;
    }
    AssetEntry& a = it->second;
    a.in_flight = false;
    --requests_in_flight;
    if (a.pending_spec) {
      AssetSpec spec = *a.pending_spec;
      change_asset_spec(a, spec);
      return nullptr;
    }
    return &a;
  }

  // ===== pass-through ids ======================================================

  void kick(PassEntry& p) {
    if (p.state == PassEntry::State::kUnchecked && !p.in_flight && p.placed.lane == Lane::kNone) {
      schedule(p, now);
    }
  }

  void resolve_pass(PassEntry& p, PassEntry::State st, const std::string& message) {
    p.state = st;
    p.message = message;
    p.schedule = Schedule{};
    dequeue(p, Slot::kPass, p.id);
    std::vector<std::string> names(p.dependents.begin(), p.dependents.end());
    for (const auto& n : names) {
      auto it = tasks.find(n);
      if (it == tasks.end()) continue;
      TaskEntry& t = it->second;
      if (st == PassEntry::State::kFailed && unsubmitted(t.rec.state)) {
        block(t, message);
      } else if (t.rec.state == TaskState::kWaiting) {
        gate(t);
      }
    }
  }

  // ===== tasks =================================================================

  void block(TaskEntry& t, const std::string& why) {
    unschedule(t);
    t.rec.last_error = cap_message(why);
    set_state(t, TaskState::kBlocked, t.rec.last_error);
  }

  void fail_task(TaskEntry& t, int code, const std::string& message, const std::string& detail) {
    unschedule(t);
    t.rec.error_code = code;
    t.rec.last_error = cap_message(message);
    set_state(t, TaskState::kFailed, detail.empty() ? t.rec.last_error : cap_message(detail));
  }

  // Clears everything a previous attempt left and puts the task in Waiting.
  void reset_task_to_waiting(TaskEntry& t, const std::string& why) {
    unschedule(t);
    t.rec.remote_id.clear();
    t.rec.request_body.clear();
    t.rec.video_url.clear();
    t.rec.output_path.clear();
    t.rec.error_code = 0;
    t.rec.last_error.clear();
    t.rec.submitted_at.reset();
    t.rec.schedule = Schedule{};
    touch(t);
    if (t.rec.state != TaskState::kWaiting) set_state(t, TaskState::kWaiting, why);
  }

  // True iff every asset and pass-through id of `t` may be used in a create now.
  bool all_usable(const TaskEntry& t) const {
    for (const auto& n : t.assets) {
      auto it = assets.find(n);
      if (it == assets.end() || !usable(it->second)) return false;
    }
    for (const auto& id : t.passes) {
      auto it = passes.find(id);
      if (it == passes.end() || it->second.state != PassEntry::State::kActive) return false;
    }
    return true;
  }

  // Waiting -> Ready when every asset is usable; Blocked when one failed;
  // otherwise stays Waiting and makes its assets progress.
  void gate(TaskEntry& t) {
    if (t.rec.state != TaskState::kWaiting || t.rec.retired) return;
    for (const auto& n : t.assets) {
      auto it = assets.find(n);
      if (it == assets.end() || it->second.rec.retired) {
        block(t, "asset '" + n + "' is not declared in jobs_dir");
        return;
      }
      if (it->second.rec.state == AssetState::kFailed) {
        block(t, "asset '" + n + "' failed: " + it->second.rec.last_error);
        return;
      }
    }
    for (const auto& id : t.passes) {
      const PassEntry& p = passes[id];
      if (p.state == PassEntry::State::kFailed) {
        block(t, p.message);
        return;
      }
    }
    bool all = true;
    for (const auto& n : t.assets) {
      AssetEntry& a = assets.find(n)->second;
      if (!usable(a)) {
        all = false;
        kick(a);
      }
    }
    for (const auto& id : t.passes) {
      PassEntry& p = passes[id];
      if (p.state != PassEntry::State::kActive) {
        all = false;
        kick(p);
      }
    }
    if (!all) return;
    set_state(t, TaskState::kReady);
    schedule(t, Lane::kCreates, now);
  }

  // The create body with every asset://NAME replaced by asset://<asset_id>.
  std::string create_body(const TaskEntry& t) const {
    TaskSpec sent = t.rec.spec;
    auto subst = [this](std::vector<std::string>& urls) {
      for (auto& url : urls) {
        auto ref = asset_ref(url);
        if (!ref || is_remote_asset_id(*ref)) continue;
        auto it = assets.find(*ref);
        if (it != assets.end()) url = "asset://" + it->second.rec.remote_id;
      }
    };
    subst(sent.image_urls);
    subst(sent.video_urls);
    subst(sent.audio_urls);
    return create_task_body(sent);
  }

  std::string output_path(const TaskEntry& t) const {
    if (opt.output_dir.empty()) return t.rec.spec.name + ".mp4";
    std::string dir = opt.output_dir;
    if (dir.back() == '/') dir.pop_back();
    return dir + "/" + t.rec.spec.name + ".mp4";
  }

  // A transient failure of a task request: retry in `q` or give up. Returns false on give-up.
  bool task_failure(TaskEntry& t, const ApiError& e, Lane q) {
    note_failure(t.rec.schedule, now);
    t.rec.last_error = describe(e);
    touch(t);
    if (should_give_up(t.rec.schedule, now, opt.give_up_after)) {
      fail_task(t, e.api_code != 0 ? e.api_code : e.http_status,
                "gave up after " + humanise(now - *t.rec.schedule.first_error_at) +
                    " of failures: " + t.rec.last_error,
                {});
      return false;
    }
    schedule(t, q, now + error_delay(t.rec.schedule, e));
    return true;
  }

  TaskEntry* task_reply(const std::string& name, std::string_view what) {
    auto it = tasks.find(name);
    if (it == tasks.end() || !it->second.in_flight) {
      warn("ignoring an unexpected " + std::string(what) + " reply for task " + name);
      return nullptr;
    }
    it->second.in_flight = false;
    --requests_in_flight;
    return &it->second;
  }

  // ===== tick ==================================================================

  void send(Request r) {
    ++requests_in_flight;
    out->requests.push_back(std::move(r));
  }

  // Acts on a due entry. Returns true iff it emitted a request. Either
  // way the entry has left its queue.
  bool dispatch(const DueEntry& k) {
    switch (k.slot) {
      case Slot::kList:
        return dispatch_list();
      case Slot::kAsset:
        return dispatch_asset(assets.find(k.name)->second);
      case Slot::kTask:
        return dispatch_task(tasks.find(k.name)->second);
      case Slot::kPass:
        return dispatch_pass(passes.find(k.name)->second);
    }
    return false;
  }

  bool dispatch_list() {
    list_members = sched.start_list();
    for (const auto& name : list_members) {
      AssetEntry& a = assets.find(name)->second;
      a.placed = Placement{};
      a.awaiting_list = true;
      a.rec.schedule.next_at.reset();
      touch(a);
    }
    Request r;
    r.kind = Request::Kind::kListAssets;
    send(std::move(r));
    return true;
  }

  bool dispatch_asset(AssetEntry& a) {
    const Lane q = a.placed.lane;
    dequeue(a, Slot::kAsset, a.rec.spec.name);
    a.rec.schedule.next_at.reset();
    touch(a);
    if (q == Lane::kUploads || q == Lane::kUploadRetries) {
      if (a.rec.retired) return false;
      if (a.rec.state == AssetState::kExpired && !needed_by_unsubmitted(a.rec.spec.name)) {
        return false;
      }
      if (a.rec.state != AssetState::kUploading) {
        set_state(a, AssetState::kUploading, a.rec.spec.upload_name());
      }
      a.reconcile = false;
      a.in_flight = true;
      Request r;
      r.kind = Request::Kind::kUploadAsset;
      r.name = a.rec.spec.name;
      r.upload = UploadAssetRequest{a.rec.spec.url, a.rec.spec.type, a.rec.spec.upload_name()};
      send(std::move(r));
      return true;
    }
    // kPolls: a TTL check of an Active asset, or a direct get of a Processing one.
    if (a.rec.state == AssetState::kActive && !a.needs_check &&
        !needed_by_unsubmitted(a.rec.spec.name)) {
      return false;  // nobody waits for it; the next task that needs it kicks it
    }
    if (a.rec.remote_id.empty()) return false;
    a.in_flight = true;
    Request r;
    r.kind = Request::Kind::kGetAsset;
    r.name = a.rec.spec.name;
    r.remote_id = a.rec.remote_id;
    send(std::move(r));
    return true;
  }

  bool dispatch_task(TaskEntry& t) {
    dequeue(t, Slot::kTask, t.rec.spec.name);
    t.rec.schedule.next_at.reset();
    touch(t);
    Request r;
    r.name = t.rec.spec.name;
    switch (t.rec.state) {
      case TaskState::kReady: {
        if (!all_usable(t)) {
          set_state(t, TaskState::kWaiting, "an asset needs checking before submit");
          gate(t);
          return false;
        }
        t.rec.request_body = create_body(t);
        set_state(t, TaskState::kSubmitting);
        r.kind = Request::Kind::kCreateTask;
        r.body = t.rec.request_body;
        break;
      }
      case TaskState::kSubmitted:
        r.kind = Request::Kind::kGetTask;
        r.remote_id = t.rec.remote_id;
        break;
      case TaskState::kCompleted:
        r.kind = Request::Kind::kDownload;
        r.url = t.rec.video_url;
        r.path = output_path(t);
        break;
      default:
        return false;
    }
    t.in_flight = true;
    send(std::move(r));
    return true;
  }

  bool dispatch_pass(PassEntry& p) {
    dequeue(p, Slot::kPass, p.id);
    p.schedule.next_at.reset();
    if (p.state != PassEntry::State::kUnchecked) return false;
    p.in_flight = true;
    Request r;
    r.kind = Request::Kind::kGetAsset;
    r.name = p.id;
    r.remote_id = p.id;
    send(std::move(r));
    return true;
  }

  // The earliest due entry that the gating rules allow, or nullptr. New
  // uploads wait for the asset quota; retries of an asset already Uploading
  // hold their slot and never do (else a full quota of failed uploads stalls).
  const DueEntry* head() const {
    const bool new_uploads_open =
        !draining && (opt.max_assets <= 0 || assets_holding_quota() < opt.max_assets);
    const bool creates_open = !draining && cap.allows(tasks_in_flight());
    return sched.head(new_uploads_open, !draining, creates_open);
  }

  void tick_into() {
    while (opt.max_concurrent_requests <= 0 || requests_in_flight < opt.max_concurrent_requests) {
      const DueEntry* h = head();
      if (!h || h->at > now) break;
      if (!bucket.available(now)) break;
      const DueEntry k = *h;
      if (dispatch(k)) bucket.try_take(now);
    }
    warn_if_held_tasks_block_submits();
  }

  // Held tasks keep their in-flight slot until an operator acts; say so once
  // when they are what stops every further submit.
  void warn_if_held_tasks_block_submits() {
    const auto held_it = task_counts.find(TaskState::kHeld);
    const int held = held_it == task_counts.end() ? 0 : held_it->second;
    const DueEntry* c = sched.first(Lane::kCreates);
    const bool stalled =
        !draining && cap.cap() > 0 && held >= cap.cap() && c != nullptr && c->at <= now;
    if (stalled && !held_stall_warned) {
      warn(std::to_string(held) +
           " Held tasks (submit outcome unknown) use every in-flight slot "
           "(max_tasks_in_flight = " +
           std::to_string(cap.cap()) +
           "); no task is submitted until an operator checks PiAPI and runs "
           "`seedancectl retry NAME` for each");
    }
    held_stall_warned = stalled;
  }

  std::optional<TimePoint> next_wakeup() const {
    if (opt.max_concurrent_requests > 0 && requests_in_flight >= opt.max_concurrent_requests) {
      return std::nullopt;
    }
    const DueEntry* h = head();
    if (!h) return std::nullopt;
    return std::max(h->at, bucket.next_token_at());
  }

  // ===== inputs ==============================================================

  AssetEntry& add_asset(AssetRecord rec) {
    const std::string name = rec.spec.name;
    AssetEntry& a = assets[name];
    a.rec = std::move(rec);
    ++asset_counts[a.rec.state];
    return a;
  }

  TaskEntry& add_task(TaskRecord rec) {
    const std::string name = rec.spec.name;
    TaskEntry& t = tasks[name];
    t.rec = std::move(rec);
    ++task_counts[t.rec.state];
    index_task(t);
    return t;
  }

  void recover(std::vector<AssetRecord> as, std::vector<TaskRecord> ts) {
    std::vector<AssetEntry*> loaded_assets;
    std::vector<TaskEntry*> loaded_tasks;
    for (auto& rec : as) {
      if (assets.count(rec.spec.name)) continue;
      loaded_assets.push_back(&add_asset(std::move(rec)));
    }
    for (auto& rec : ts) {
      if (tasks.count(rec.spec.name)) continue;
      loaded_tasks.push_back(&add_task(std::move(rec)));
    }
    for (AssetEntry* a : loaded_assets) {
      a->rec.schedule.next_at.reset();
      switch (a->rec.state) {
        case AssetState::kDeclared:
          start_upload(*a);
          break;
        case AssetState::kUploading:
          // The upload may have reached PiAPI: find it by name before any re-upload.
          a->reconcile = true;
          info("asset " + a->rec.spec.name + ": upload interrupted; looking for " +
               a->rec.spec.upload_name() + " in the asset list before uploading again");
          poll_via_list(*a, now);
          break;
        case AssetState::kProcessing:
          poll_via_list(*a, now);
          break;
        case AssetState::kActive:
          schedule_expiry_check(*a);
          break;
        default:
          break;  // Expired: re-uploaded when a waiting task kicks it; Failed: terminal.
      }
    }
    for (TaskEntry* t : loaded_tasks) {
      t->rec.schedule.next_at.reset();
      const TaskState st = t->rec.state;
      if (t->rec.retired &&
          (unsubmitted(st) || (st == TaskState::kSubmitting && opt.resubmit_uncertain))) {
        set_state(*t, TaskState::kCancelled, "no longer declared in jobs_dir");
        continue;
      }
      switch (t->rec.state) {
        case TaskState::kWaiting:
          gate(*t);
          break;
        case TaskState::kReady:
          if (all_usable(*t)) {
            schedule(*t, Lane::kCreates, now);
          } else {
            set_state(*t, TaskState::kWaiting, "re-checking assets after restart");
            gate(*t);
          }
          break;
        case TaskState::kSubmitting:
          if (opt.resubmit_uncertain) {
            t->rec.request_body.clear();
            const bool ok = all_usable(*t);
            set_state(*t, ok ? TaskState::kReady : TaskState::kWaiting,
                      "submit interrupted by a restart; resubmitting (on_uncertain_submit)");
            if (ok) {
              schedule(*t, Lane::kCreates, now);
            } else {
              gate(*t);
            }
          } else {
            t->rec.last_error =
                "outcome unknown: the daemon stopped while the create request was in flight; "
                "check PiAPI, then `seedancectl retry " +
                t->rec.spec.name + "` to submit again";
            set_state(*t, TaskState::kHeld, t->rec.last_error);
          }
          break;
        case TaskState::kSubmitted:
        case TaskState::kCompleted:
          schedule(*t, Lane::kPolls, now);
          break;
        default:
          break;
      }
    }
  }

  void sync_specs(const SpecSet& specs) {
    std::set<std::string, std::less<>> declared_assets, declared_tasks;
    for (const AssetSpec& s : specs.assets) {
      if (!declared_assets.insert(s.name).second) continue;
      auto it = assets.find(s.name);
      if (it == assets.end()) {
        AssetRecord rec;
        rec.spec = s;
        rec.created_at = now;
        rec.state_since = now;
        AssetEntry& a = add_asset(std::move(rec));
        touch(a);
        record_transition("asset", s.name, "", to_string(AssetState::kDeclared), "", {}, "", false);
        start_upload(a);
        continue;
      }
      AssetEntry& a = it->second;
      if (a.rec.retired) {
        a.rec.retired = false;
        touch(a);
        info("asset " + s.name + ": declared again; revived");
        if (a.rec.state == AssetState::kDeclared) start_upload(a);
        if (a.rec.state == AssetState::kActive) schedule_expiry_check(a);
      }
      if (a.rec.spec.content_hash() != s.content_hash() || a.rec.spec != s) {
        if (a.rec.spec.content_hash() == s.content_hash()) {
          a.rec.spec = s;  // only the source location moved
          touch(a);
        } else {
          change_asset_spec(a, s);
        }
      }
    }
    for (auto& [name, a] : assets) {
      if (declared_assets.count(name) || a.rec.retired) continue;
      a.rec.retired = true;
      touch(a);
      info("asset " + name + ": no longer declared; retired (no more uploads)");
      if (a.placed.lane == Lane::kUploads || a.placed.lane == Lane::kUploadRetries) {
        unschedule(a);
      }
    }

    for (const TaskSpec& s : specs.tasks) {
      if (!declared_tasks.insert(s.name).second) continue;
      auto it = tasks.find(s.name);
      if (it == tasks.end()) {
        TaskRecord rec;
        rec.spec = s;
        rec.created_at = now;
        rec.state_since = now;
        TaskEntry& t = add_task(std::move(rec));
        touch(t);
        record_transition("task", s.name, "", to_string(TaskState::kWaiting), "", {}, "", false);
        gate(t);
        continue;
      }
      TaskEntry& t = it->second;
      const bool changed = t.rec.spec.content_hash() != s.content_hash();
      const bool submitted =
          !t.rec.remote_id.empty() || t.rec.state == TaskState::kSubmitting ||
          t.rec.state == TaskState::kSubmitted || t.rec.state == TaskState::kHeld ||
          t.rec.state == TaskState::kCompleted || t.rec.state == TaskState::kDownloaded;
      if (t.rec.retired) {
        t.rec.retired = false;
        touch(t);
        info("task " + s.name + ": declared again; revived");
        if (t.rec.state == TaskState::kCancelled && !changed) {
          reset_task_to_waiting(t, "declared again");
          gate(t);
        }
      }
      if (!changed) {
        if (t.rec.spec != s) {
          t.rec.spec = s;  // only the source location moved
          touch(t);
        }
        continue;
      }
      if (submitted) {
        warn("task " + s.name + ": spec changed after it was submitted; keeping its result. " +
             "Rename the task to run it again");
        continue;
      }
      unindex_task(t);
      t.rec.spec = s;
      index_task(t);
      touch(t);
      info("task " + s.name + ": spec changed before submission; updated");
      reset_task_to_waiting(t, "spec changed");
      gate(t);
    }
    for (auto& [name, t] : tasks) {
      if (declared_tasks.count(name) || t.rec.retired) continue;
      t.rec.retired = true;
      touch(t);
      if (unsubmitted(t.rec.state) || t.rec.state == TaskState::kBlocked) {
        unschedule(t);
        set_state(t, TaskState::kCancelled, "removed from jobs_dir before submission");
      } else if (!is_terminal(t.rec.state)) {
        info("task " + name + ": removed from jobs_dir after submission; finishing it");
      }
    }
    // Assets declared (or revived) in this sync may unblock tasks that were waiting.
    for (auto& [name, t] : tasks) {
      if (t.rec.state == TaskState::kWaiting && !t.rec.retired) gate(t);
    }
  }

  void retry(std::string_view name) {
    auto it = tasks.find(name);
    if (it == tasks.end()) {
      warn("retry: no task named '" + std::string(name) + "'");
      return;
    }
    TaskEntry& t = it->second;
    const TaskState s = t.rec.state;
    if (s != TaskState::kFailed && s != TaskState::kHeld && s != TaskState::kBlocked) {
      warn("retry: task " + t.rec.spec.name + " is " + std::string(to_string(s)) +
           "; only Failed, Held or Blocked tasks can be retried");
      return;
    }
    if (t.rec.retired) {
      warn("retry: task " + t.rec.spec.name + " is no longer declared in jobs_dir");
      return;
    }
    if (s == TaskState::kFailed && !t.rec.video_url.empty() && !t.rec.remote_id.empty()) {
      // The render finished; only the download failed. Download again.
      t.rec.schedule = Schedule{};
      t.rec.last_error.clear();
      t.rec.error_code = 0;
      set_state(t, TaskState::kCompleted, "operator retry: downloading again");
      schedule(t, Lane::kPolls, now);
      return;
    }
    for (const auto& n : t.assets) {
      auto a = assets.find(n);
      if (a == assets.end() || a->second.rec.state != AssetState::kFailed) continue;
      AssetEntry& ae = a->second;
      ae.rec.last_error.clear();
      ae.rec.schedule = Schedule{};
      ae.rec.remote_id.clear();
      set_state(ae, AssetState::kDeclared, "operator retry of task " + t.rec.spec.name);
      start_upload(ae);
    }
    for (const auto& id : t.passes) {
      PassEntry& p = passes[id];
      if (p.state == PassEntry::State::kFailed) {
        p.state = PassEntry::State::kUnchecked;
        p.message.clear();
        p.schedule = Schedule{};
      }
    }
    reset_task_to_waiting(t, "operator retry");
    gate(t);
  }

  // ---- replies --------------------------------------------------------------

  void on_upload(const std::string& name, const ApiResult<RemoteAsset>& r) {
    AssetEntry* a = asset_reply(name, "upload");
    if (!a) return;
    if (r && r->asset_id.empty()) {
      // Accepted without an id: find it by its upload name, as after a lost reply.
      a->reconcile = true;
      warn("asset " + name + ": PiAPI accepted the upload but returned no asset_id; looking for " +
           a->rec.spec.upload_name() + " in the asset list");
      poll_via_list(*a, now + opt.asset_first_poll);
      return;
    }
    if (r) {
      apply_remote(*a, *r);
      return;
    }
    const ApiError& e = r.error();
    if (!e.transient()) {
      fail_asset(*a, e.message.empty() ? describe(e) : e.message);
      return;
    }
    if (!e.maybe_processed) {
      if (a->rec.retired) {
        unschedule(*a);
        set_state(*a, AssetState::kDeclared,
                  "upload not sent (" + describe(e) + "); no longer declared");
        return;
      }
      asset_failure(*a, e, Lane::kUploads);  // surely not sent: upload again after backoff
      return;
    }
    // Outcome unknown: look for the upload by name before any re-upload.
    a->reconcile = true;
    info("asset " + name + ": upload outcome unknown (" + describe(e) + "); looking for " +
         a->rec.spec.upload_name() + " in the asset list");
    asset_failure(*a, e, Lane::kListWait);
  }

  void on_list(const ApiResult<std::vector<RemoteAsset>>& r) {
    if (!sched.list_in_flight()) {
      warn("ignoring an unexpected list reply");
      return;
    }
    sched.finish_list();
    --requests_in_flight;
    std::vector<std::string> members;
    members.swap(list_members);
    if (!r) {
      for (const auto& n : members) {
        AssetEntry& a = assets.find(n)->second;
        if (!a.awaiting_list) continue;
        a.awaiting_list = false;
        asset_failure(a, r.error(), Lane::kListWait);
      }
      return;
    }
    std::map<std::string_view, const RemoteAsset*> by_id, by_name;
    for (const RemoteAsset& ra : *r) {
      if (!ra.asset_id.empty()) by_id[ra.asset_id] = &ra;
      if (!ra.name.empty()) {
        // Prefer a usable copy when an upload label occurs more than once.
        auto& slot = by_name[ra.name];
        if (!slot || ra.status == RemoteAssetStatus::kActive) slot = &ra;
      }
    }
    for (const auto& n : members) {
      AssetEntry& a = assets.find(n)->second;
      if (!a.awaiting_list) continue;  // its state changed while the list was in flight
      a.awaiting_list = false;
      if (a.rec.state == AssetState::kUploading && a.reconcile) {
        auto f = by_name.find(a.rec.spec.upload_name());
        if (f != by_name.end()) {
          info("asset " + n + ": found upload " + f->second->asset_id + " in the asset list");
          apply_remote(a, *f->second);
        } else {
          clear_failures(a.rec.schedule);
          if (a.rec.retired) {
            a.reconcile = false;
            set_state(a, AssetState::kDeclared,
                      "upload not in the asset list; not uploading again (no longer declared)");
          } else {
            info("asset " + n + ": upload not in the asset list; uploading again");
            start_upload(a);
          }
        }
        continue;
      }
      if (a.rec.state != AssetState::kProcessing) continue;
      auto f = by_id.find(a.rec.remote_id);
      if (f != by_id.end()) {
        apply_remote(a, *f->second);
        continue;
      }
      clear_failures(a.rec.schedule);
      if (++a.list_misses >= kListMissesBeforeGet) {
        schedule(a, Lane::kPolls, now);  // ask for it directly
      } else {
        ++a.rec.schedule.poll_count;
        poll_via_list(a, now + poll_interval(opt.asset_first_poll, opt.max_poll_interval,
                                             a.rec.schedule.poll_count, rng));
      }
    }
  }

  void on_get_asset(const std::string& name, const ApiResult<RemoteAsset>& r) {
    if (!assets.count(name) && passes.count(name)) {
      on_get_pass(passes.find(name)->second, r);
      return;
    }
    AssetEntry* a = asset_reply(name, "get-asset");
    if (!a) return;
    if (a->rec.state != AssetState::kActive && a->rec.state != AssetState::kProcessing) return;
    if (r) {
      if (r->status == RemoteAssetStatus::kProcessing && a->rec.state == AssetState::kProcessing) {
        a->list_misses = 0;
      }
      if (r->status == RemoteAssetStatus::kProcessing && a->rec.state == AssetState::kActive) {
        // PiAPI says it is not usable (yet): treat as a check that failed.
        a->needs_check = true;
        ApiError e;
        e.message = "asset is " + r->status_text + " on PiAPI";
        asset_failure(*a, e, Lane::kPolls);
        return;
      }
      apply_remote(*a, *r);
      return;
    }
    const ApiError& e = r.error();
    if (says_not_found(e)) {
      expire(*a, "PiAPI no longer knows " + a->rec.remote_id + ": " + describe(e));
      return;
    }
    if (!e.transient()) {
      warn("asset " + name + ": get failed: " + describe(e) + "; retrying");
    }
    asset_failure(*a, e, Lane::kPolls);
  }

  void on_get_pass(PassEntry& p, const ApiResult<RemoteAsset>& r) {
    if (!p.in_flight) {
      warn("ignoring an unexpected get-asset reply for " + p.id);
      return;
    }
    p.in_flight = false;
    --requests_in_flight;
    if (r) {
      switch (r->status) {
        case RemoteAssetStatus::kActive:
          resolve_pass(p, PassEntry::State::kActive, {});
          return;
        case RemoteAssetStatus::kProcessing:
          if (!p.processing_since) p.processing_since = now;
          if (now - *p.processing_since >= opt.give_up_after) {
            resolve_pass(p, PassEntry::State::kFailed,
                         "asset://" + p.id + " is still Processing on PiAPI after " +
                             humanise(now - *p.processing_since));
            return;
          }
          ++p.schedule.poll_count;
          schedule(p, now + poll_interval(opt.asset_first_poll, opt.max_poll_interval,
                                          p.schedule.poll_count, rng));
          return;
        default:
          resolve_pass(p, PassEntry::State::kFailed,
                       "asset://" + p.id + " is " +
                           (r->status_text.empty() ? std::string("not usable") : r->status_text) +
                           " on PiAPI, not Active" + (r->error.empty() ? "" : ": " + r->error));
          return;
      }
    }
    const ApiError& e = r.error();
    if (says_not_found(e)) {
      resolve_pass(p, PassEntry::State::kFailed,
                   "asset://" + p.id + " does not exist on PiAPI (" + describe(e) + ")");
      return;
    }
    if (!e.transient()) {
      resolve_pass(p, PassEntry::State::kFailed,
                   "asset://" + p.id + " cannot be checked: " + describe(e));
      return;
    }
    note_failure(p.schedule, now);
    if (should_give_up(p.schedule, now, opt.give_up_after)) {
      resolve_pass(p, PassEntry::State::kFailed,
                   "asset://" + p.id + ": gave up checking it: " + describe(e));
      return;
    }
    schedule(p, now + error_delay(p.schedule, e));
  }

  void on_create(const std::string& name, const ApiResult<RemoteTask>& r) {
    TaskEntry* tp = task_reply(name, "create");
    if (!tp) return;
    TaskEntry& t = *tp;
    if (t.rec.state != TaskState::kSubmitting) return;
    if (r && r->task_id.empty()) {
      // Accepted, but there is nothing to poll: an operator has to look.
      t.rec.last_error = "outcome unknown: PiAPI accepted the task but returned no task_id";
      set_state(t, TaskState::kHeld, t.rec.last_error);
      return;
    }
    if (r) {
      t.rec.remote_id = r->task_id;
      t.rec.submitted_at = now;
      t.rec.last_error.clear();
      t.rec.error_code = 0;
      clear_failures(t.rec.schedule);
      set_state(t, TaskState::kSubmitted);
      schedule(t, Lane::kPolls, now + opt.task_first_poll);
      return;
    }
    const ApiError& e = r.error();
    if (!e.transient()) {
      if (says_asset_unusable(e)) {
        asset_rejected(t, e);
        return;
      }
      const int code = e.api_code != 0 ? e.api_code : e.http_status;
      fail_task(t, code, e.message.empty() ? describe(e) : e.message, {});
      return;
    }
    if (e.maybe_processed && !opt.resubmit_uncertain) {
      t.rec.last_error = cap_message("outcome unknown: " + describe(e));
      set_state(t, TaskState::kHeld, t.rec.last_error);
      return;
    }
    t.rec.request_body.clear();
    if (t.rec.retired) {
      set_state(t, TaskState::kCancelled,
                "removed from jobs_dir; the create surely failed: " + describe(e));
      return;
    }
    set_state(t, TaskState::kReady, describe(e));
    task_failure(t, e, Lane::kCreates);
  }

  // A create rejected because PiAPI does not know (or cannot use) an asset:
  // expire or re-check that asset and put the task back to Waiting.
  void asset_rejected(TaskEntry& t, const ApiError& e) {
    const std::string msg = describe(e);
    if (t.rec.retired) {
      t.rec.request_body.clear();
      set_state(t, TaskState::kCancelled, "removed from jobs_dir; PiAPI rejected it: " + msg);
      return;
    }
    for (const auto& n : t.assets) {
      auto it = assets.find(n);
      if (it == assets.end()) continue;
      AssetEntry& a = it->second;
      if (!a.rec.remote_id.empty() && e.message.find(a.rec.remote_id) != std::string::npos) {
        t.rec.request_body.clear();
        set_state(t, TaskState::kWaiting, msg);
        if (a.rec.state == AssetState::kActive) {
          if (a.in_flight) {
            a.needs_check = true;  // the check in flight decides
          } else {
            expire(a, "PiAPI rejected it: " + msg);
          }
        }
        gate(t);
        return;
      }
    }
    for (const auto& id : t.passes) {
      if (e.message.find(id) != std::string::npos) {
        t.rec.request_body.clear();
        set_state(t, TaskState::kWaiting, msg);
        resolve_pass(passes[id], PassEntry::State::kFailed,
                     "asset://" + id + " was rejected by PiAPI: " + msg);
        return;
      }
    }
    // No id in the message: re-check every asset of the task before submitting again.
    t.rec.request_body.clear();
    set_state(t, TaskState::kWaiting, msg);
    for (const auto& n : t.assets) {
      auto it = assets.find(n);
      if (it == assets.end()) continue;
      AssetEntry& a = it->second;
      if (a.rec.state == AssetState::kActive) {
        a.needs_check = true;
        a.verified_at.reset();
        if (!a.in_flight) schedule(a, Lane::kPolls, now);
      }
    }
    for (const auto& id : t.passes) {
      PassEntry& p = passes[id];
      if (p.state == PassEntry::State::kActive) p.state = PassEntry::State::kUnchecked;
    }
    gate(t);
  }

  void on_get_task(const std::string& name, const ApiResult<RemoteTask>& r) {
    TaskEntry* tp = task_reply(name, "get-task");
    if (!tp) return;
    TaskEntry& t = *tp;
    if (t.rec.state != TaskState::kSubmitted) return;
    if (!r) {
      const ApiError& e = r.error();
      if (e.not_found()) {
        fail_task(t, 404, "task not found on PiAPI", "task not found on PiAPI: " + describe(e));
        return;
      }
      if (!e.transient()) warn("task " + name + ": poll failed: " + describe(e) + "; retrying");
      task_failure(t, e, Lane::kPolls);
      return;
    }
    clear_failures(t.rec.schedule);
    const RemoteTask& rt = *r;
    switch (rt.status) {
      case RemoteTaskStatus::kCompleted:
        if (rt.video_url.empty()) {
          ApiError e;
          e.message = "PiAPI reports the task completed without a video URL";
          task_failure(t, e, Lane::kPolls);
          return;
        }
        t.rec.video_url = rt.video_url;
        t.rec.last_error.clear();
        set_state(t, TaskState::kCompleted);
        schedule(t, Lane::kPolls, now);
        return;
      case RemoteTaskStatus::kFailed: {
        std::string msg =
            rt.error_message.empty() ? "PiAPI reports the task failed" : rt.error_message;
        std::string detail = msg;
        if (rt.error_code != 0) detail = "code " + std::to_string(rt.error_code) + ": " + detail;
        if (!rt.logs.empty()) {
          detail += " | logs: ";
          for (size_t i = 0; i < rt.logs.size(); ++i) {
            if (i) detail += "; ";
            detail += rt.logs[i];
          }
        }
        fail_task(t, rt.error_code, msg, detail);
        return;
      }
      default:
        break;
    }
    if (t.last_status != rt.status) {
      if (t.last_status) {
        log(LogLine::Level::kDebug, "task " + name + ": PiAPI status " + rt.status_text +
                                        " after " + humanise(now - t.rec.state_since));
      }
      t.last_status = rt.status;
      t.rec.schedule.poll_count = 0;  // a remote state change resets the poll backoff
    } else {
      ++t.rec.schedule.poll_count;
    }
    schedule(t, Lane::kPolls,
             now + poll_interval(opt.task_first_poll, opt.max_poll_interval,
                                 t.rec.schedule.poll_count, rng));
  }

  void on_download(const std::string& name, const ApiResult<DownloadResult>& r) {
    TaskEntry* tp = task_reply(name, "download");
    if (!tp) return;
    TaskEntry& t = *tp;
    if (t.rec.state != TaskState::kCompleted) return;
    if (r) {
      t.rec.output_path = r->path.empty() ? output_path(t) : r->path;
      clear_failures(t.rec.schedule);
      t.rec.last_error.clear();
      set_state(t, TaskState::kDownloaded, std::to_string(r->bytes) + " bytes");
      return;
    }
    const ApiError& e = r.error();
    if (!e.transient()) {
      fail_task(t, e.api_code != 0 ? e.api_code : e.http_status, "download failed: " + describe(e),
                {});
      return;
    }
    task_failure(t, e, Lane::kPolls);
  }

  Summary summary() const {
    Summary s;
    for (const auto& [st, n] : asset_counts) {
      if (n) s.assets[st] = n;
    }
    for (const auto& [st, n] : task_counts) {
      if (n) s.tasks[st] = n;
    }
    s.requests_in_flight = requests_in_flight;
    return s;
  }

  bool all_terminal() const {
    if (requests_in_flight != 0) return false;
    for (const auto& [st, n] : task_counts) {
      if (n > 0 && !is_terminal(st)) return false;
    }
    return true;
  }
};

// ===== Engine ===================================================================

Engine::Engine(EngineOptions options, uint64_t seed)
    : impl_(std::make_unique<Impl>(std::move(options), seed)) {}

Engine::~Engine() = default;

Ready Engine::recover(std::vector<AssetRecord> assets, std::vector<TaskRecord> tasks,
                      TimePoint now) {
  return impl_->run(now, [&] { impl_->recover(std::move(assets), std::move(tasks)); });
}

Ready Engine::sync_specs(const SpecSet& specs, TimePoint now) {
  return impl_->run(now, [&] { impl_->sync_specs(specs); });
}

Ready Engine::retry(std::string_view task_name, TimePoint now) {
  return impl_->run(now, [&] { impl_->retry(task_name); });
}

Ready Engine::on_upload(const std::string& asset, const ApiResult<RemoteAsset>& r, TimePoint now) {
  return impl_->run(now, [&] { impl_->on_upload(asset, r); });
}

Ready Engine::on_list(const ApiResult<std::vector<RemoteAsset>>& r, TimePoint now) {
  return impl_->run(now, [&] { impl_->on_list(r); });
}

Ready Engine::on_get_asset(const std::string& asset, const ApiResult<RemoteAsset>& r,
                           TimePoint now) {
  return impl_->run(now, [&] { impl_->on_get_asset(asset, r); });
}

Ready Engine::on_create(const std::string& task, const ApiResult<RemoteTask>& r, TimePoint now) {
  return impl_->run(now, [&] { impl_->on_create(task, r); });
}

Ready Engine::on_get_task(const std::string& task, const ApiResult<RemoteTask>& r, TimePoint now) {
  return impl_->run(now, [&] { impl_->on_get_task(task, r); });
}

Ready Engine::on_download(const std::string& task, const ApiResult<DownloadResult>& r,
                          TimePoint now) {
  return impl_->run(now, [&] { impl_->on_download(task, r); });
}

Ready Engine::tick(TimePoint now) {
  return impl_->run(now, [] {});
}

std::optional<TimePoint> Engine::next_wakeup() const {
  return impl_->next_wakeup();
}

void Engine::drain() {
  impl_->draining = true;
}

bool Engine::all_terminal() const {
  return impl_->all_terminal();
}

bool Engine::all_downloaded() const {
  for (const auto& [name, t] : impl_->tasks) {
    if (!t.rec.retired && t.rec.state != TaskState::kDownloaded) return false;
  }
  return true;
}

Summary Engine::summary() const {
  return impl_->summary();
}

const AssetRecord* Engine::asset(std::string_view name) const {
  auto it = impl_->assets.find(name);
  return it == impl_->assets.end() ? nullptr : &it->second.rec;
}

const TaskRecord* Engine::task(std::string_view name) const {
  auto it = impl_->tasks.find(name);
  return it == impl_->tasks.end() ? nullptr : &it->second.rec;
}

}  // namespace sd
