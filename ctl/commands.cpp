#include "ctl/commands.hpp"

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/format.hpp"

namespace sd::ctl {
namespace {

using json = nlohmann::ordered_json;  // keeps "kind", "name", "state" first

constexpr size_t kErrorWidth = 48;  // LAST-ERROR column of the status table
constexpr int kEventsPage = 1000;

// The fields `status` shows, common to assets and tasks.
struct Row {
  std::string kind;
  std::string name;
  std::string state;
  TimePoint state_since{};
  std::optional<TimePoint> next_at;
  std::string remote_id;
  std::string last_error;
  int error_code = 0;  // tasks only
  bool retired = false;
};

Row row_of(const AssetRecord& a) {
  return Row{"asset",
             a.spec.name,
             std::string(to_string(a.state)),
             a.state_since,
             a.schedule.next_at,
             a.remote_id,
             a.last_error,
             0,
             a.retired};
}

Row row_of(const TaskRecord& t) {
  return Row{"task",        t.spec.name,        std::string(to_string(t.state)),
             t.state_since, t.schedule.next_at, t.remote_id,
             t.last_error,  t.error_code,       t.retired};
}

std::string next_poll_text(const std::optional<TimePoint>& next_at, TimePoint now) {
  if (!next_at) return "-";
  if (*next_at <= now) return "due";
  return "in " + humanize(*next_at - now);
}

json time_json(const std::optional<TimePoint>& t) {
  return t ? json(rfc3339(*t)) : json(nullptr);
}
json ms_json(const std::optional<TimePoint>& t) {
  return t ? json(to_millis(*t)) : json(nullptr);
}

std::string error_text(int code, const std::string& message) {
  if (message.empty()) return "";
  if (code == 0) return message;
  return "[" + std::to_string(code) + "] " + message;
}

// "3 Active, 1 Failed" in the frozen enum order.
template <class State>
std::string counts_text(const std::map<State, int>& counts) {
  std::string out;
  for (const auto& [state, n] : counts) {
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + " " + std::string(to_string(state));
  }
  return out.empty() ? "none" : out;
}

std::string event_line(const EventRecord& e) {
  std::string line = rfc3339(e.at) + " " + e.entity_kind + " " + e.name + " " +
                     (e.from.empty() ? std::string("(new)") : e.from) + " -> " + e.to;
  if (!e.detail.empty()) line += " (" + shorten(e.detail, 200) + ")";
  return line;
}

// Every event of `name` (both kinds), oldest first.
Result<std::vector<EventRecord>> history(const Repository& repo, const std::string& name) {
  std::vector<EventRecord> all;
  int64_t after = 0;
  while (true) {
    auto page = repo.events(after, kEventsPage, name);
    if (!page) return Fail(page.error());
    if (page->empty()) break;
    after = page->back().id;
    for (auto& e : *page) all.push_back(std::move(e));
    if (static_cast<int>(page->size()) < kEventsPage) break;
  }
  return all;
}

void print_history(const std::vector<EventRecord>& events, const std::string& kind,
                   std::ostream& out) {
  std::vector<const EventRecord*> mine;
  for (const auto& e : events) {
    if (e.entity_kind == kind) mine.push_back(&e);
  }
  out << "history (" << mine.size() << (mine.size() == 1 ? " event" : " events") << "):\n";
  for (const auto* e : mine) {
    out << "  " << rfc3339(e->at) << "  " << (e->from.empty() ? "(new)" : e->from) << " -> "
        << e->to;
    if (!e->detail.empty()) out << " (" << e->detail << ")";
    out << "\n";
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void field(std::ostream& out, std::string_view label, const std::string& value) {
  if (value.empty()) return;
  out << "  " << label << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ') << value
      << "\n";
}

std::string when(TimePoint t, TimePoint now) {
  return rfc3339(t) + " (" + humanize(now - t) + " ago)";
}

void show_asset(const AssetRecord& a, const std::vector<TaskRecord>& tasks,
                const std::vector<EventRecord>& events, TimePoint now, std::ostream& out) {
  out << "asset " << a.spec.name << ": " << to_string(a.state) << " for "
      << humanize(now - a.state_since) << (a.retired ? " (retired: no longer declared)" : "")
      << "\n";
  field(out, "url", a.spec.url);
  field(out, "type", std::string(to_string(a.spec.type)));
  field(out, "upload name", a.spec.upload_name());
  if (!a.spec.source.file.empty()) {
    field(out, "declared in",
          a.spec.source.file +
              (a.spec.source.line > 0 ? ":" + std::to_string(a.spec.source.line) : ""));
  }
  field(out, "remote id", a.remote_id.empty() ? "-" : a.remote_id);
  field(out, "created", when(a.created_at, now));
  field(out, "since", rfc3339(a.state_since));
  if (a.expires_at) field(out, "expires", rfc3339(*a.expires_at));
  field(out, "next poll",
        next_poll_text(a.schedule.next_at, now) +
            (a.schedule.next_at ? " (" + rfc3339(*a.schedule.next_at) + ")" : ""));
  field(out, "polls",
        std::to_string(a.schedule.poll_count) + " since the last change, " +
            std::to_string(a.schedule.error_count) + " failing in a row");
  std::vector<std::string> users;
  for (const auto& t : tasks) {
    auto names = t.spec.asset_names();
    if (std::find(names.begin(), names.end(), a.spec.name) != names.end()) {
      users.push_back(t.spec.name + " (" + std::string(to_string(t.state)) + ")");
    }
  }
  field(out, "used by", users.empty() ? "no task" : join(users));
  field(out, "last error", a.last_error);
  print_history(events, "asset", out);
}

void show_task(const TaskRecord& t, const std::vector<AssetRecord>& assets,
               const std::vector<EventRecord>& events, TimePoint now, std::ostream& out) {
  const TaskSpec& s = t.spec;
  out << "task " << s.name << ": " << to_string(t.state) << " for " << humanize(now - t.state_since)
      << (t.retired ? " (retired: no longer declared)" : "") << "\n";
  field(out, "type", s.task_type);
  field(out, "prompt", s.prompt);
  field(out, "images", join(s.image_urls));
  field(out, "videos", join(s.video_urls));
  field(out, "audios", join(s.audio_urls));
  std::vector<std::string> options;
  if (s.duration) options.push_back("duration " + std::to_string(*s.duration) + "s");
  if (s.aspect_ratio) options.push_back("aspect_ratio " + *s.aspect_ratio);
  if (s.resolution) options.push_back("resolution " + *s.resolution);
  if (s.mode) options.push_back("mode " + *s.mode);
  if (s.audio) options.push_back(std::string("audio ") + (*s.audio ? "on" : "off"));
  if (s.auto_upload_assets) {
    options.push_back(std::string("auto_upload_assets ") + (*s.auto_upload_assets ? "on" : "off"));
  }
  field(out, "options", join(options));
  std::vector<std::string> needs;
  for (const auto& name : s.asset_names()) {
    std::string state = "not in DB";
    for (const auto& a : assets) {
      if (a.spec.name == name) state = std::string(to_string(a.state));
    }
    needs.push_back(name + " (" + state + ")");
  }
  field(out, "assets", join(needs));
  if (!s.source.file.empty()) {
    field(out, "declared in",
          s.source.file + (s.source.line > 0 ? ":" + std::to_string(s.source.line) : ""));
  }
  field(out, "remote id", t.remote_id.empty() ? "-" : t.remote_id);
  field(out, "created", when(t.created_at, now));
  field(out, "since", rfc3339(t.state_since));
  if (t.submitted_at) field(out, "submitted", when(*t.submitted_at, now));
  field(out, "next poll",
        next_poll_text(t.schedule.next_at, now) +
            (t.schedule.next_at ? " (" + rfc3339(*t.schedule.next_at) + ")" : ""));
  field(out, "polls",
        std::to_string(t.schedule.poll_count) + " since the last change, " +
            std::to_string(t.schedule.error_count) + " failing in a row");
  field(out, "last error", error_text(t.error_code, t.last_error));
  field(out, "video url", t.video_url);
  field(out, "video path", t.output_path);
  if (t.state == TaskState::kFailed || t.state == TaskState::kHeld ||
      t.state == TaskState::kBlocked) {
    field(out, "hint", "seedancectl retry " + s.name + " re-queues it");
  }
  print_history(events, "task", out);
}

}  // namespace

// --- status -------------------------------------------------------------------

int status(const Repository& repo, bool as_json, TimePoint now, std::ostream& out,
           std::ostream& err) {
  auto snap = repo.load();
  if (!snap) {
    err << "seedancectl: " << snap.error().message() << "\n";
    return kExitError;
  }
  std::vector<Row> rows;
  for (const auto& a : snap->assets) rows.push_back(row_of(a));
  for (const auto& t : snap->tasks) rows.push_back(row_of(t));

  if (as_json) {
    json arr = json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      json o = {
          {"kind", r.kind},
          {"name", r.name},
          {"state", r.state},
          {"state_since", rfc3339(r.state_since)},
          {"state_since_ms", to_millis(r.state_since)},
          {"age_s", std::max<int64_t>(0, (now - r.state_since).count() / 1000)},
          {"next_poll", time_json(r.next_at)},
          {"next_poll_ms", ms_json(r.next_at)},
          {"remote_id", r.remote_id},
          {"last_error", r.last_error},
          {"retired", r.retired},
      };
      if (i < snap->assets.size()) {
        const AssetRecord& a = snap->assets[i];
        o["url"] = a.spec.url;
        o["expires_at"] = time_json(a.expires_at);
        o["expires_at_ms"] = ms_json(a.expires_at);
      } else {
        const TaskRecord& t = snap->tasks[i - snap->assets.size()];
        o["task_type"] = t.spec.task_type;
        o["error_code"] = t.error_code;
        o["submitted_at"] = time_json(t.submitted_at);
        o["submitted_at_ms"] = ms_json(t.submitted_at);
        o["video_url"] = t.video_url;
        o["video_path"] = t.output_path;
        o["assets"] = t.spec.asset_names();
      }
      arr.push_back(std::move(o));
    }
    out << arr.dump(2) << "\n";
    return kExitOk;
  }

  Table table({"KIND", "NAME", "STATE", "AGE", "NEXT POLL", "REMOTE ID", "LAST ERROR"});
  for (const auto& r : rows) {
    std::string e = shorten(error_text(r.error_code, r.last_error), kErrorWidth);
    table.add({r.kind, r.name + (r.retired ? " (retired)" : ""), r.state,
               humanize(now - r.state_since), next_poll_text(r.next_at, now),
               r.remote_id.empty() ? "-" : r.remote_id, e.empty() ? "-" : e});
  }
  if (rows.empty()) {
    out << "no assets or tasks yet\n";
  } else {
    out << table.render();
  }
  std::map<AssetState, int> assets;
  std::map<TaskState, int> tasks;
  for (const auto& a : snap->assets) ++assets[a.state];
  for (const auto& t : snap->tasks) ++tasks[t.state];
  out << "\n"
      << snap->assets.size() << (snap->assets.size() == 1 ? " asset: " : " assets: ")
      << counts_text(assets) << "; " << snap->tasks.size()
      << (snap->tasks.size() == 1 ? " task: " : " tasks: ") << counts_text(tasks) << "\n";
  return kExitOk;
}

// --- show ---------------------------------------------------------------------

int show(const Repository& repo, const std::string& name, TimePoint now, std::ostream& out,
         std::ostream& err) {
  auto snap = repo.load();
  if (!snap) {
    err << "seedancectl: " << snap.error().message() << "\n";
    return kExitError;
  }
  auto events = history(repo, name);
  if (!events) {
    err << "seedancectl: " << events.error().message() << "\n";
    return kExitError;
  }
  bool found = false;
  for (const auto& a : snap->assets) {
    if (a.spec.name != name) continue;
    show_asset(a, snap->tasks, *events, now, out);
    found = true;
  }
  for (const auto& t : snap->tasks) {
    if (t.spec.name != name) continue;
    if (found) out << "\n";
    show_task(t, snap->assets, *events, now, out);
    found = true;
  }
  if (!found) {
    err << "seedancectl: no asset or task named '" << name
        << "' in the state DB; `seedancectl status` lists them\n";
    return kExitError;
  }
  return kExitOk;
}

// --- events -------------------------------------------------------------------

int events(const Repository& repo, const EventsOptions& options, const std::atomic<bool>& stop,
           std::ostream& out, std::ostream& err) {
  int64_t after = 0;
  while (true) {
    // Drain everything new.
    while (true) {
      auto page = repo.events(after, kEventsPage, options.name, options.since);
      if (!page) {
        err << "seedancectl: " << page.error().message() << "\n";
        return kExitError;
      }
      for (const auto& e : *page) out << event_line(e) << "\n";
      if (!page->empty()) after = page->back().id;
      if (static_cast<int>(page->size()) < kEventsPage) break;
    }
    out.flush();
    if (!options.follow) return kExitOk;
    // Sleep in slices so that a signal ends --follow promptly.
    auto slept = Duration(0);
    while (slept < options.poll_interval && !stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      slept += std::chrono::milliseconds(50);
    }
    if (stop.load()) return kExitOk;
  }
}

// --- retry --------------------------------------------------------------------

int retry(Repository& repo, const std::string& name, TimePoint now, std::ostream& out,
          std::ostream& err) {
  auto snap = repo.load();
  if (!snap) {
    err << "seedancectl: " << snap.error().message() << "\n";
    return kExitError;
  }
  const TaskRecord* task = nullptr;
  for (const auto& t : snap->tasks) {
    if (t.spec.name == name) task = &t;
  }
  if (task == nullptr) {
    bool is_asset = std::any_of(snap->assets.begin(), snap->assets.end(),
                                [&](const AssetRecord& a) { return a.spec.name == name; });
    if (is_asset) {
      err << "seedancectl: '" << name
          << "' is an asset; retry takes a task name (retrying a task also re-queues the "
             "Failed assets it needs)\n";
    } else {
      err << "seedancectl: no task named '" << name
          << "' in the state DB; `seedancectl status` lists them\n";
    }
    return kExitError;
  }
  if (task->state != TaskState::kFailed && task->state != TaskState::kHeld &&
      task->state != TaskState::kBlocked) {
    err << "seedancectl: task " << name << " is " << to_string(task->state)
        << "; only a Failed, Held or Blocked task can be retried\n";
    return kExitError;
  }
  if (auto r = repo.push_command("retry", name, now); !r) {
    err << "seedancectl: " << r.error().message() << "\n";
    return kExitError;
  }
  out << "queued retry of task " << name << " (" << to_string(task->state) << " for "
      << humanize(now - task->state_since);
  if (!task->last_error.empty()) {
    out << ", last error: " << shorten(error_text(task->error_code, task->last_error), 80);
  }
  out << ")\n";
  if (task->state == TaskState::kHeld) {
    out << "note: a Held task's first submit may have reached PiAPI; retrying may submit it "
           "again and may pay twice\n";
  }
  out << "the running seedanced picks it up within seconds (or at its next start); follow it "
         "with: seedancectl events --follow --name "
      << name << "\n";
  return kExitOk;
}

}  // namespace sd::ctl
