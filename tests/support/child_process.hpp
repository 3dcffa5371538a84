// A child process for tests: spawn a program with arguments and extra
// environment, its stdout+stderr captured to a file, then signal it and wait
// for it with a deadline. Used to run the real seedanced binary against an
// in-process simulator.
//
// Thread contract: one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sd::test {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `env`
  // (overriding), and stdout+stderr appended to `log_path`. Aborts the test
  // binary (a bug in the test) if fork/exec fails.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
               std::string log_path);
  ~ChildProcess();  // SIGKILLs and reaps a child that is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits up to `timeout` for the child to exit. Returns its exit status
  // (0–255), 128+signal when it was killed, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // The captured output so far.
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

// Polls `pred` every few milliseconds until it returns true or `timeout`
// passes. Returns the last value of pred().
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    struct timespec ts {
      0, 5'000'000
    };
    nanosleep(&ts, nullptr);
  }
}

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path` (creating parent directories).
void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

}  // namespace sd::test
