// spdlog set-up: a stderr sink with plain or journald-prefixed lines and
// secret redaction (see logging.hpp).
#include "daemon/logging.hpp"

#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace sd {

namespace {

constexpr std::string_view kMask = "********";

// Replaces every occurrence of `secret` in `line`.
void redact(std::string& line, std::string_view secret) {
  if (secret.empty()) return;
  for (size_t pos = line.find(secret); pos != std::string::npos;
       pos = line.find(secret, pos + kMask.size())) {
    line.replace(pos, secret.size(), kMask);
  }
}

// Every registered secret, guarded by secrets_mutex().
std::vector<std::string>& secrets() {
  static std::vector<std::string> list;
  return list;
}
std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}

// Writes formatted lines to a FILE*, masking every registered secret.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LineSink(LogFormat format, std::FILE* out) : format_(format), out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string line = format_log_line(format_, msg.level, msg.time, text);
    {
      std::lock_guard<std::mutex> lock(secrets_mutex());
      for (const auto& s : secrets()) redact(line, s);
    }
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  void flush_() override { std::fflush(out_); }

 private:
  const LogFormat format_;
  std::FILE* const out_;
};

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

}  // namespace

LogFormat detect_log_format() {
  const char* js = std::getenv("JOURNAL_STREAM");
  return js != nullptr && *js != '\0' ? LogFormat::kJournal : LogFormat::kPlain;
}

Result<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return Fail(Error::InvalidArgument("unknown log level '" + std::string(name) +
                                     "'; use trace, debug, info, warn or error"));
}

std::string_view journal_prefix(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "<7>";
    case spdlog::level::info:
      return "<6>";
    case spdlog::level::warn:
      return "<4>";
    default:
      return "<3>";
  }
}

std::string format_log_line(LogFormat format, spdlog::level::level_enum level,
                            std::chrono::system_clock::time_point time, std::string_view text,
                            std::string_view secret) {
  std::string line;
  line.reserve(text.size() + 40);
  if (format == LogFormat::kJournal) {
    line += journal_prefix(level);
  } else {
    const auto secs = std::chrono::system_clock::to_time_t(time);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[40];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03d ", static_cast<int>(ms));
    line += buf;
    line += '[';
    line += level_name(level);
    line += "] ";
  }
  // One record is one line: a journal reader must not see a continuation as a new entry.
  for (char c : text) line.push_back(c == '\n' ? ' ' : c);
  line.push_back('\n');
  redact(line, secret);
  return line;
}

void setup_logging(LogFormat format, spdlog::level::level_enum level, std::FILE* out) {
  auto sink = std::make_shared<LineSink>(format, out);
  auto logger = std::make_shared<spdlog::logger>("seedanced", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);  // stderr is line-oriented; never lose the last lines
  spdlog::set_default_logger(logger);
}

void set_log_level(spdlog::level::level_enum level) {
  spdlog::default_logger()->set_level(level);
}

void add_log_secret(std::string secret) {
  if (secret.empty()) return;
  std::lock_guard<std::mutex> lock(secrets_mutex());
  secrets().push_back(std::move(secret));
}

}  // namespace sd
