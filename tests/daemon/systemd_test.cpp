// The systemd unit: `systemd-analyze verify` and `security --offline=true`
// (skipped when systemd-analyze is not installed).
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"

namespace sd {
namespace {

const std::string kUnit = SD_SOURCE_DIR "/systemd/seedanced.service";

bool have_systemd_analyze() {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
    if (std::filesystem::exists(std::string(dir) + "/systemd-analyze")) return true;
  }
  return false;
}

// Runs `command` through the shell; returns its exit status and output.
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  std::FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(SystemdUnit, VerifiesAgainstTheBuiltBinary) {
  if (!have_systemd_analyze()) GTEST_SKIP() << "systemd-analyze is not installed";
  const std::string binary = SD_BINARY_DIR "/daemon/seedanced";
  ASSERT_TRUE(std::filesystem::exists(binary)) << binary;
  test::TempDir dir;
  std::string unit = test::read_file(kUnit);
  const std::string from = "ExecStart=/usr/sbin/seedanced";
  const auto pos = unit.find(from);
  ASSERT_NE(pos, std::string::npos);
  unit.replace(pos, from.size(), "ExecStart=" + binary);
  test::write_file(dir.file("seedanced.service"), unit);
  auto [rc, out] = run("systemd-analyze verify '" + dir.file("seedanced.service") + "'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("seedanced.service:"), std::string::npos) << out;  // no warnings about it
}

TEST(SystemdUnit, ExposureScoreIsAtMostTwo) {
  if (!have_systemd_analyze()) GTEST_SKIP() << "systemd-analyze is not installed";
  // systemd 252 reads --threshold in tenths (20 = an exposure of 2.0).
  auto [rc, out] =
      run("systemd-analyze security --offline=true --threshold=20 --no-pager '" + kUnit + "'");
  EXPECT_EQ(rc, 0) << out;
  const std::string marker = "Overall exposure level for seedanced.service: ";
  const auto pos = out.find(marker);
  ASSERT_NE(pos, std::string::npos) << out;
  const double score = std::stod(out.substr(pos + marker.size()));
  EXPECT_LE(score, 2.0) << out;
}

TEST(SystemdUnit, DeclaresTheServiceContract) {
  const std::string unit = test::read_file(kUnit);
  for (const char* line :
       {"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
        "StateDirectory=seedanced", "ConfigurationDirectory=seedanced",
        "LoadCredential=piapi-api-key:/etc/seedanced/piapi-api-key", "TimeoutStopSec=15s",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "ProtectSystem=strict"}) {
    EXPECT_NE(unit.find(std::string("\n") + line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace sd
