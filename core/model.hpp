// The persisted state of every asset and task, and the transition log.
//
// These records are what storage/ saves and loads and what the engine owns in
// memory. The numeric values of AssetState and TaskState are stored in the
// state DB and are therefore FROZEN: add new values at the end, never renumber.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/spec.hpp"

namespace sd {

// Declared -> Uploading -> Processing -> Active | Failed;
// Active -> Expired -> Uploading when the idle TTL passed or PiAPI forgot the id
// while a task still needs it.
enum class AssetState : int {
  kDeclared = 0,
  kUploading = 1,
  kProcessing = 2,
  kActive = 3,
  kFailed = 4,
  kExpired = 5,
};

// Waiting -> Ready -> Submitting -> Submitted -> Completed -> Downloaded,
// or Failed, Blocked (an asset failed), Cancelled (removed before submission),
// Held (a submit whose outcome is unknown; needs an operator).
enum class TaskState : int {
  kWaiting = 0,
  kReady = 1,
  kSubmitting = 2,
  kSubmitted = 3,
  kCompleted = 4,
  kDownloaded = 5,
  kFailed = 6,
  kBlocked = 7,
  kCancelled = 8,
  kHeld = 9,
};

// "Declared", "Uploading", ... exactly as in design.md.
std::string_view to_string(AssetState s);
std::string_view to_string(TaskState s);
std::optional<AssetState> asset_state_from_string(std::string_view s);
std::optional<TaskState> task_state_from_string(std::string_view s);

// True for states the engine will never leave on its own
// (Downloaded, Failed, Blocked, Cancelled, Held).
bool is_terminal(TaskState s);

// Per-entity timing: when the entity next wants a request, and the backoff
// counters that decide the interval after that.
struct Schedule {
  std::optional<TimePoint> next_at;  // nullopt: nothing scheduled (idle or a request in flight)
  int poll_count = 0;                // polls since the last state change
  int error_count = 0;               // consecutive transient failures
  std::optional<TimePoint> first_error_at;  // start of the current failure streak

  bool operator==(const Schedule&) const = default;
};

struct AssetRecord {
  AssetSpec spec;
  AssetState state = AssetState::kDeclared;
  std::string remote_id;   // PiAPI asset_id once known
  std::string last_error;  // PiAPI's message verbatim, or the transport error
  TimePoint created_at{};
  TimePoint state_since{};
  std::optional<TimePoint> expires_at;  // idle-TTL expiry as PiAPI last reported it
  Schedule schedule;
  bool retired = false;  // no longer declared in jobs_dir; kept for history

  bool operator==(const AssetRecord&) const = default;
};

struct TaskRecord {
  TaskSpec spec;
  TaskState state = TaskState::kWaiting;
  std::string remote_id;     // PiAPI task_id once known
  std::string request_body;  // the exact create body, recorded when entering Submitting
  std::string video_url;     // output.video once Completed
  std::string output_path;   // the downloaded file once Downloaded
  int error_code = 0;        // PiAPI error.code (e.g. 10003) or HTTP status
  std::string last_error;    // PiAPI's message verbatim
  TimePoint created_at{};
  TimePoint state_since{};
  std::optional<TimePoint> submitted_at;
  Schedule schedule;
  bool retired = false;  // no longer declared in jobs_dir; kept for history

  bool operator==(const TaskRecord&) const = default;
};

// One row of the append-only transition log.
struct EventRecord {
  int64_t id = 0;           // assigned by storage; 0 before it is saved
  std::string entity_kind;  // "asset" or "task"
  std::string name;
  std::string from;  // state name before ("" for creation)
  std::string to;    // state name after
  std::string detail;
  TimePoint at{};

  bool operator==(const EventRecord&) const = default;
};

}  // namespace sd
