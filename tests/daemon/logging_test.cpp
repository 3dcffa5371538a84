// Logging: journald priority prefixes, plain lines, redaction.
#include "daemon/logging.hpp"

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "tests/support/child_process.hpp"

namespace sd {
namespace {

const auto kTime = std::chrono::system_clock::from_time_t(1'800'000'000);

TEST(Logging, JournalLinesCarrySyslogPriorityAndNoTimestamp) {
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::err, kTime, "db failed"),
            "<3>db failed\n");
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::critical, kTime, "x"), "<3>x\n");
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::warn, kTime, "x"), "<4>x\n");
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::info, kTime,
                            "task a: Submitted -> Completed"),
            "<6>task a: Submitted -> Completed\n");
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::debug, kTime, "x"), "<7>x\n");
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::trace, kTime, "x"), "<7>x\n");
}

TEST(Logging, PlainLinesCarryTimeAndLevel) {
  const std::string line =
      format_log_line(LogFormat::kPlain, spdlog::level::warn, kTime, "asset hero: slow");
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[warn\] asset hero: slow\n)")))
      << line;
}

TEST(Logging, OneRecordIsOneLine) {
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::info, kTime, "a\nb\n"),
            "<6>a b \n");
}

TEST(Logging, MasksTheSecretEverywhereInTheLine) {
  EXPECT_EQ(format_log_line(LogFormat::kJournal, spdlog::level::info, kTime,
                            "key=sk-123 again sk-123sk-123", "sk-123"),
            "<6>key=******** again ****************\n");
}

TEST(Logging, ParsesLevels) {
  EXPECT_EQ(parse_log_level("debug").value(), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("warning").value(), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error").value(), spdlog::level::err);
  auto bad = parse_log_level("loud");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("loud"), std::string::npos);
}

TEST(Logging, DetectsJournalStream) {
  ::setenv("JOURNAL_STREAM", "8:12345", 1);
  EXPECT_EQ(detect_log_format(), LogFormat::kJournal);
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_EQ(detect_log_format(), LogFormat::kPlain);
}

TEST(Logging, DefaultLoggerWritesFilteredMaskedLines) {
  test::TempDir dir;
  const std::string path = dir.file("log.txt");
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  setup_logging(LogFormat::kJournal, spdlog::level::info, f);
  add_log_secret("piapi-secret-value");
  spdlog::debug("hidden at info");
  spdlog::info("loaded key piapi-secret-value from the credential");
  spdlog::error("boom");
  set_log_level(spdlog::level::debug);
  spdlog::debug("now visible");
  spdlog::default_logger()->flush();
  setup_logging(LogFormat::kPlain, spdlog::level::info);  // back to stderr
  std::fclose(f);
  EXPECT_EQ(test::read_file(path),
            "<6>loaded key ******** from the credential\n<3>boom\n<7>now visible\n");
}

}  // namespace
}  // namespace sd
