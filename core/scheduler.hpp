// The engine's agenda: which entity wants a request when, in lanes that the
// global limits open or close as a whole.
//
// Every scheduled entity sits in exactly one lane, ordered by (time, slot,
// name). Each lane holds only entries that can act when due, apart from the
// limit that gates the whole lane (drain() and the asset quota close uploads;
// drain() and the in-flight cap close creates), so the engine never scans
// entries it cannot serve: finding the next due entry is O(1), placing or
// removing one is O(log n).
//
// Processing assets (and uploads being reconciled) do not get a request each:
// they wait in the list lane, and the scheduler exposes one kList entry in the
// poll lane at the earliest of their times. start_list() takes every waiter
// at once (one batched kListAssets); finish_list() reopens the lane.
//
// Owned by the engine engineer (core/); used only by core/engine.cpp.
// Thread contract: not synchronised; one owner (the engine).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace sd {

// What a due entry stands for.
enum class Slot : uint8_t { kList = 0, kAsset = 1, kTask = 2, kPass = 3 };

enum class Lane : uint8_t {
  kNone,           // not scheduled: idle, terminal, or a request in flight
  kPolls,          // polls, asset checks, downloads and the batched list: gated by tokens only
  kUploads,        // new uploads (Declared/Expired): also closed by drain() and the asset quota
  kUploadRetries,  // uploads of assets already Uploading (they hold their quota slot):
                   // closed by drain() only
  kCreates,        // task creates: also closed by drain() and the in-flight cap
  kListWait,       // waits for the next batched kListAssets
};

struct DueEntry {
  TimePoint at;
  Slot slot;
  std::string name;  // empty for kList
  bool operator<(const DueEntry& o) const;
};

// Where one entity is scheduled; kept in the entity, passed back to the scheduler.
struct Placement {
  Lane lane = Lane::kNone;
  TimePoint at{};
};

class Scheduler {
 public:
  // Moves (slot, name) from wherever `p` says it is to `lane` at `at`, and updates `p`.
  // REQUIRES: lane != kNone; slot != kList.
  void place(Placement& p, Slot slot, const std::string& name, Lane lane, TimePoint at);
  // Takes (slot, name) out of its lane; p.lane becomes kNone.
  void remove(Placement& p, Slot slot, const std::string& name);

  // The earliest entry of the open lanes (polls are always open), or nullptr.
  const DueEntry* head(bool uploads_open, bool upload_retries_open, bool creates_open) const;
  // The same with upload retries open iff new uploads are.
  const DueEntry* head(bool uploads_open, bool creates_open) const {
    return head(uploads_open, uploads_open, creates_open);
  }

  // The earliest entry of one lane (not kListWait), or nullptr.
  const DueEntry* first(Lane lane) const;

  // Starts the batched list: returns every list waiter (their placements are
  // now stale: the caller resets them) and hides the kList entry until finish_list().
  std::vector<std::string> start_list();
  // The list reply arrived: the kList entry returns for the next waiters.
  void finish_list();
  bool list_in_flight() const { return list_in_flight_; }

  // Entries in all lanes (for tests).
  size_t size() const {
    return polls_.size() + uploads_.size() + upload_retries_.size() + creates_.size() +
           list_waiters_.size();
  }

 private:
  std::set<DueEntry>* lane_set(Lane lane);
  void refresh_list_entry();

  std::set<DueEntry> polls_, uploads_, upload_retries_, creates_;
  std::set<std::pair<TimePoint, std::string>> list_waiters_;
  bool list_in_flight_ = false;
  std::optional<TimePoint> list_at_;  // the kList entry in polls_
};

}  // namespace sd
