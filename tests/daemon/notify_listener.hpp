// A test AF_UNIX datagram socket that plays systemd's side of sd_notify:
// bind it, pass name() as NOTIFY_SOCKET, then read the messages it received.
//
// Thread contract: one test thread.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sd::test {

class NotifyListener {
 public:
  // Binds an abstract socket "@seedanced-test-<pid>-<n>", or the file `path` when given.
  explicit NotifyListener(std::string path = {}) {
    static std::atomic<int> counter{0};
    name_ = path.empty()
                ? "@seedanced-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++)
                : path;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name_.data(), name_.size());
    if (name_[0] == '@') addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size() +
                                            (name_[0] == '@' ? 0 : 1));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      throw std::runtime_error("bind " + name_ + ": " + std::strerror(errno));
    }
  }
  ~NotifyListener() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  const std::string& name() const { return name_; }

  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    std::string msg(buf, static_cast<size_t>(n));
    received_.push_back(msg);
    return msg;
  }

  // Reads messages until one starts with `prefix` (returned) or `timeout` passes.
  std::optional<std::string> wait_for(const std::string& prefix,
                                      std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto msg = receive(left);
      if (!msg) return std::nullopt;
      if (msg->rfind(prefix, 0) == 0) return msg;
    }
  }

  // Every message received so far, in order.
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::string name_;
  int fd_ = -1;
  std::vector<std::string> received_;
};

}  // namespace sd::test
