// sd_notify over an AF_UNIX datagram socket (see notify.hpp).
#include "daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sd {

namespace {

std::optional<Duration> watchdog_from_env() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr || *usec == '\0') return std::nullopt;
  const char* pid = std::getenv("WATCHDOG_PID");
  if (pid != nullptr && *pid != '\0') {
    char* end = nullptr;
    long p = std::strtol(pid, &end, 10);
    if (end == pid || *end != '\0' || p != static_cast<long>(getpid())) return std::nullopt;
  }
  char* end = nullptr;
  unsigned long long us = std::strtoull(usec, &end, 10);
  if (end == usec || *end != '\0' || us == 0) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::microseconds(us));
}

}  // namespace

Notifier Notifier::from_env() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  return Notifier(path != nullptr ? std::string(path) : std::string(), watchdog_from_env());
}

Notifier::Notifier(std::string socket_path, std::optional<Duration> watchdog)
    : socket_path_(std::move(socket_path)), watchdog_(watchdog) {}

Notifier::~Notifier() {
  if (fd_ >= 0) ::close(fd_);
}

Notifier::Notifier(Notifier&& other) noexcept
    : socket_path_(std::move(other.socket_path_)), watchdog_(other.watchdog_), fd_(other.fd_) {
  other.socket_path_.clear();
  other.fd_ = -1;
}

std::optional<Duration> Notifier::watchdog_ping_interval() const {
  if (!watchdog_) return std::nullopt;
  return std::max(Duration(1), *watchdog_ / 2);
}

Result<void> Notifier::send(std::string_view message) {
  if (!enabled()) return Ok();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof(addr.sun_path) ||
      (socket_path_[0] != '/' && socket_path_[0] != '@')) {
    return Fail(Error::InvalidArgument("NOTIFY_SOCKET '" + socket_path_ +
                                       "' is not an absolute path or @abstract name"));
  }
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  // Abstract names are not NUL-terminated: the length is part of the address.
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size() +
                                          (socket_path_[0] == '/' ? 1 : 0));
  if (fd_ < 0) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(Error::Io(std::string("sd_notify: socket: ") + std::strerror(errno)));
  }
  ssize_t n = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  if (n < 0) {
    return Fail(Error::Io("sd_notify to " + socket_path_ + ": " + std::strerror(errno)));
  }
  return Ok();
}

Result<void> Notifier::status(std::string_view text) {
  std::string msg = "STATUS=";
  for (char c : text) msg.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return send(msg);
}

Result<void> Notifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace sd
