#include "core/scheduler.hpp"

#include <tuple>

namespace sd {

bool DueEntry::operator<(const DueEntry& o) const {
  return std::tie(at, slot, name) < std::tie(o.at, o.slot, o.name);
}

std::set<DueEntry>* Scheduler::lane_set(Lane lane) {
  switch (lane) {
    case Lane::kPolls:
      return &polls_;
    case Lane::kUploads:
      return &uploads_;
    case Lane::kUploadRetries:
      return &upload_retries_;
    case Lane::kCreates:
      return &creates_;
    default:
      return nullptr;
  }
}

void Scheduler::refresh_list_entry() {
  std::optional<TimePoint> want;
  if (!list_in_flight_ && !list_waiters_.empty()) want = list_waiters_.begin()->first;
  if (want == list_at_) return;
  if (list_at_) polls_.erase(DueEntry{*list_at_, Slot::kList, {}});
  if (want) polls_.insert(DueEntry{*want, Slot::kList, {}});
  list_at_ = want;
}

void Scheduler::remove(Placement& p, Slot slot, const std::string& name) {
  if (p.lane == Lane::kListWait) {
    list_waiters_.erase({p.at, name});
    refresh_list_entry();
  } else if (auto* s = lane_set(p.lane)) {
    s->erase(DueEntry{p.at, slot, name});
  }
  p.lane = Lane::kNone;
}

void Scheduler::place(Placement& p, Slot slot, const std::string& name, Lane lane, TimePoint at) {
  remove(p, slot, name);
  p.lane = lane;
  p.at = at;
  if (lane == Lane::kListWait) {
    list_waiters_.insert({at, name});
    refresh_list_entry();
  } else if (auto* s = lane_set(lane)) {
    s->insert(DueEntry{at, slot, name});
  }
}

const DueEntry* Scheduler::head(bool uploads_open, bool upload_retries_open,
                                bool creates_open) const {
  const DueEntry* best = nullptr;
  auto consider = [&best](const std::set<DueEntry>& s) {
    if (!s.empty() && (!best || *s.begin() < *best)) best = &*s.begin();
  };
  consider(polls_);
  if (uploads_open) consider(uploads_);
  if (upload_retries_open) consider(upload_retries_);
  if (creates_open) consider(creates_);
  return best;
}

const DueEntry* Scheduler::first(Lane lane) const {
  const std::set<DueEntry>* s = const_cast<Scheduler*>(this)->lane_set(lane);
  return s && !s->empty() ? &*s->begin() : nullptr;
}

std::vector<std::string> Scheduler::start_list() {
  std::vector<std::string> members;
  members.reserve(list_waiters_.size());
  for (const auto& w : list_waiters_) members.push_back(w.second);
  list_waiters_.clear();
  list_in_flight_ = true;
  refresh_list_entry();
  return members;
}

void Scheduler::finish_list() {
  list_in_flight_ = false;
  refresh_list_entry();
}

}  // namespace sd
