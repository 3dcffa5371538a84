// run_check (seedanced --check): exit codes, every problem printed, the summary line.
#include <gtest/gtest.h>

#include <sstream>

#include "config/check.hpp"
#include "config_test_util.hpp"

namespace sd {
namespace {

std::string config_for(const std::string& jobs_dir) {
  return "{\"jobs_dir\": \"" + jobs_dir + "\"}";
}

TEST(Check, ExamplesAreValid) {
  test::ScratchDir dir;
  test::write_text(dir.file("seedanced.json"), config_for(test::example_jobs_dir()));
  test::EnvOverride key("PIAPI_API_KEY", "k");
  std::ostringstream out;
  EXPECT_EQ(run_check(dir.file("seedanced.json"), out), 0) << out.str();
  EXPECT_EQ(out.str(), "3 files, 6 assets, 11 tasks: OK\n");
}

TEST(Check, MissingKeyIsAWarningOnly) {
  test::ScratchDir dir;
  test::write_text(dir.file("seedanced.json"), config_for(test::example_jobs_dir()));
  test::EnvOverride key("PIAPI_API_KEY", std::nullopt);
  test::EnvOverride cred("CREDENTIALS_DIRECTORY", std::nullopt);
  std::ostringstream out;
  EXPECT_EQ(run_check(dir.file("seedanced.json"), out), 0) << out.str();
  EXPECT_NE(out.str().find("warning: no PiAPI API key found"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(": OK (1 warning)\n"), std::string::npos) << out.str();
}

TEST(Check, PrintsEveryProblemAndFails) {
  test::ScratchDir dir;
  test::write_text(dir.file("seedanced.json"), config_for(dir.file("jobs")));
  test::write_text(dir.file("jobs/a.json"), R"({
  "tasks": [
    {"name": "t1", "task_type": "seedance-2-fast", "prompt": "Image 2", "duration": 99},
    {"name": "t2", "task_type": "seedance-2", "prompt": "x", "image_urls": ["asset://nope"]}
  ]
})");
  test::write_text(dir.file("jobs/b.json"), "{ nope");
  test::write_text(dir.file("jobs/c.json"),
                   R"({"assets": [{"name": "lonely", "url": "https://cdn.example.com/l.png"}]})");
  test::EnvOverride key("PIAPI_API_KEY", "k");
  std::ostringstream out;
  EXPECT_EQ(run_check(dir.file("seedanced.json"), out), 1);
  std::string s = out.str();
  std::string a = dir.file("jobs/a.json");
  EXPECT_NE(s.find(a + ":3: job 't1' field 'prompt': the prompt names 'Image 2'"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(a + ":3: job 't1' field 'duration': duration 99 is outside 4-15"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(a + ":4: job 't2' field 'image_urls[0]': asset:// references are rejected"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(dir.file("jobs/b.json") + ":1: invalid JSON"), std::string::npos) << s;
  EXPECT_NE(s.find(dir.file("jobs/c.json") + ":1: warning: job 'lonely': no task references"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("\n4 errors, 1 warning\n"), std::string::npos) << s;
}

TEST(Check, BadMainConfigFails) {
  test::ScratchDir dir;
  test::write_text(dir.file("seedanced.json"), "{\"plan\": {\"max_asset\": 3}}");
  std::ostringstream out;
  EXPECT_EQ(run_check(dir.file("seedanced.json"), out), 1);
  EXPECT_NE(out.str().find("field 'plan.max_asset': unknown key; did you mean 'max_assets'?"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find(": 1 error\n"), std::string::npos) << out.str();
}

TEST(Check, MissingJobsDirFails) {
  test::ScratchDir dir;
  test::write_text(dir.file("seedanced.json"), config_for(dir.file("absent")));
  test::EnvOverride key("PIAPI_API_KEY", "k");
  std::ostringstream out;
  EXPECT_EQ(run_check(dir.file("seedanced.json"), out), 1);
  EXPECT_NE(out.str().find("jobs_dir does not exist"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("1 error, 0 warnings\n"), std::string::npos) << out.str();
}

TEST(Check, MissingConfigFileFails) {
  test::ScratchDir dir;
  std::ostringstream out;
  EXPECT_EQ(run_check(dir.file("nope.json"), out), 1);
  EXPECT_NE(out.str().find(dir.file("nope.json")), std::string::npos) << out.str();
}

}  // namespace
}  // namespace sd
