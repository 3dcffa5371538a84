// Helpers for the config tests: temporary directories, file writing, the
// example files, environment overrides and diagnostic lookups.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "config/job_spec.hpp"

namespace sd::test {

// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("seedanced-config-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string examples_dir() {
  return std::string(SD_SOURCE_DIR) + "/examples";
}
inline std::string example_jobs_dir() {
  return examples_dir() + "/jobs.d";
}

// The example job files, path -> text.
inline std::vector<std::pair<std::string, std::string>> example_files() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : std::filesystem::directory_iterator(example_jobs_dir())) {
    if (e.path().extension() == ".json") out.emplace_back(e.path().string(), read_text(e.path()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sets (or with nullopt unsets) an environment variable for one scope.
class EnvOverride {
 public:
  EnvOverride(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~EnvOverride() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  EnvOverride(const EnvOverride&) = delete;
  EnvOverride& operator=(const EnvOverride&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

inline std::vector<Diagnostic> errors_of(const std::vector<Diagnostic>& d) {
  std::vector<Diagnostic> out;
  for (const auto& x : d) {
    if (x.is_error()) out.push_back(x);
  }
  return out;
}

inline std::vector<Diagnostic> warnings_of(const std::vector<Diagnostic>& d) {
  std::vector<Diagnostic> out;
  for (const auto& x : d) {
    if (!x.is_error()) out.push_back(x);
  }
  return out;
}

inline std::string dump(const std::vector<Diagnostic>& d) {
  std::string out;
  for (const auto& x : d) out += x.to_string() + "\n";
  return out;
}

// 1-based line of the first occurrence of `needle` at or after `from`, 0 if none.
inline int line_of(const std::string& text, const std::string& needle, size_t from = 0) {
  auto pos = text.find(needle, from);
  if (pos == std::string::npos) return 0;
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n'));
}

}  // namespace sd::test
