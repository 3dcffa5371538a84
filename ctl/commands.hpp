// The seedancectl commands, each a function of an open Repository, the time
// and the output streams, returning the process exit code. main.cpp parses
// the command line and opens the DB; nothing here reads argv or exits.
//
// Owner: ctl/. Thread contract: one thread; `stop` in events() may be set by
// a signal handler.
#pragma once

#include <atomic>
#include <optional>
#include <ostream>
#include <string>

#include "core/clock.hpp"
#include "storage/repository.hpp"

namespace sd::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // operational error, message on stderr
inline constexpr int kExitUsage = 2;  // bad command line

// `status`: a table of every asset and task, then a summary line by state;
// with `json`, an array of objects with the same fields (full values).
int status(const Repository& repo, bool json, TimePoint now, std::ostream& out, std::ostream& err);

// `show NAME`: state, spec summary, remote id, full last error, video path and
// the entity's history from the events log. Exit 1 when no entity has the name.
int show(const Repository& repo, const std::string& name, TimePoint now, std::ostream& out,
         std::ostream& err);

struct EventsOptions {
  bool follow = false;
  std::optional<TimePoint> since;
  std::optional<std::string> name;
  Duration poll_interval = std::chrono::milliseconds(500);
};

// `events`: one line per transition, oldest first. With `follow`, keeps
// polling for new rows until `stop` becomes true, flushing after each batch.
int events(const Repository& repo, const EventsOptions& options, const std::atomic<bool>& stop,
           std::ostream& out, std::ostream& err);

// `retry NAME`: queues a "retry" command for the running daemon when NAME is
// a Failed, Held or Blocked task; exit 1 with the reason otherwise.
int retry(Repository& repo, const std::string& name, TimePoint now, std::ostream& out,
          std::ostream& err);

}  // namespace sd::ctl
