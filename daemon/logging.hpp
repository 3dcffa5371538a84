// Logging for seedanced: spdlog writing to stderr in one of two line formats.
//
//   plain    "2026-11-27 09:14:03.512 [info] task hero-intro: Submitted -> Completed"
//   journal  "<6>task hero-intro: Submitted -> Completed"
//
// The journal format is chosen when JOURNAL_STREAM is set (systemd connected
// stderr to journald, which adds the timestamp and reads the <N> syslog
// priority: <3> error/critical, <4> warning, <6> info, <7> debug/trace).
// A redaction safety net masks registered secrets (the API key) in every
// formatted line; the primary rule stays: never log a secret.
//
// Owner: daemon/. Thread contract: setup_logging() and add_log_secret() are
// called from main() before other threads log; logging itself is thread-safe
// (the sink holds a mutex), so the in-process simulator may log too.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "core/result.hpp"

namespace sd {

enum class LogFormat { kPlain, kJournal };

// kJournal when JOURNAL_STREAM is set and non-empty, else kPlain.
LogFormat detect_log_format();

// "trace", "debug", "info", "warn"/"warning", "error" -> the spdlog level.
Result<spdlog::level::level_enum> parse_log_level(std::string_view name);

// The syslog priority prefix for a level: "<3>", "<4>", "<6>" or "<7>".
std::string_view journal_prefix(spdlog::level::level_enum level);

// One formatted line (with the trailing '\n'), with every non-empty `secret`
// occurrence replaced by "********".
std::string format_log_line(LogFormat format, spdlog::level::level_enum level,
                            std::chrono::system_clock::time_point time, std::string_view text,
                            std::string_view secret = {});

// Installs the default logger "seedanced": one sink writing formatted lines
// to `out` (stderr by default), at `level`.
void setup_logging(LogFormat format, spdlog::level::level_enum level, std::FILE* out = stderr);

// Changes the level of the default logger.
void set_log_level(spdlog::level::level_enum level);

// Registers a secret the sink masks from now on (the API key).
void add_log_secret(std::string secret);

}  // namespace sd
