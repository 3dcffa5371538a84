// sd_notify for seedanced: the readiness, status, watchdog, reload and stop
// messages systemd's Type=notify protocol expects, sent as AF_UNIX datagrams
// to $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
//
// Without NOTIFY_SOCKET every call is a no-op, so the daemon runs the same
// under systemd, in a terminal and in tests. The watchdog interval comes from
// WATCHDOG_USEC (only when WATCHDOG_PID is unset or names this process); the
// daemon pings at half of it from an event-loop timer, so a stuck loop stops
// the pings and systemd restarts the service.
//
// Owner: daemon/. Thread contract: not synchronised; the daemon's io_context
// thread owns the Notifier.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace sd {

class Notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment.
  static Notifier from_env();
  // A notifier that sends to `socket_path` ("" = disabled, "@name" = abstract).
  explicit Notifier(std::string socket_path, std::optional<Duration> watchdog = std::nullopt);
  ~Notifier();
  Notifier(Notifier&& other) noexcept;
  Notifier& operator=(Notifier&&) = delete;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // True when a notify socket is configured.
  bool enabled() const { return !socket_path_.empty(); }
  // WATCHDOG_USEC as a duration; nullopt when no watchdog is configured.
  std::optional<Duration> watchdog_timeout() const { return watchdog_; }
  // How often to send WATCHDOG=1: half the timeout (nullopt without a watchdog).
  std::optional<Duration> watchdog_ping_interval() const;

  // Sends the raw newline-separated assignments (e.g. "READY=1\nSTATUS=x").
  // A no-op returning Ok when disabled.
  Result<void> send(std::string_view message);

  Result<void> ready() { return send("READY=1"); }
  // STATUS=<one line>; newlines in `text` are replaced by spaces.
  Result<void> status(std::string_view text);
  Result<void> watchdog() { return send("WATCHDOG=1"); }
  // RELOADING=1 with MONOTONIC_USEC (systemd >= 253 requires it for notify-reload).
  Result<void> reloading();
  Result<void> stopping() { return send("STOPPING=1"); }

 private:
  std::string socket_path_;
  std::optional<Duration> watchdog_;
  int fd_ = -1;  // created on first send
};

}  // namespace sd
