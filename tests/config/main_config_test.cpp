// The main config: defaults, every key, unknown keys with suggestions, wrong
// types and ranges with file, line and field; engine_options; the API key.
#include <gtest/gtest.h>

#include "config/main_config.hpp"
#include "config_test_util.hpp"

namespace sd {
namespace {

Result<MainConfig> load_text(const test::ScratchDir& dir, const std::string& text) {
  std::string path = dir.file("seedanced.json");
  test::write_text(path, text);
  return load_main_config(path);
}

TEST(MainConfig, EmptyPathGivesDefaults) {
  auto c = load_main_config("");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->api.base_url, "https://api.piapi.ai");
  EXPECT_EQ(c->api.timeout_s, 30);
  EXPECT_EQ(c->state_db, "/var/lib/seedanced/state.db");
  EXPECT_EQ(c->jobs_dir, "/etc/seedanced/jobs.d");
  EXPECT_EQ(c->output_dir, "/var/lib/seedanced/videos");
  EXPECT_EQ(c->plan.max_assets, 50);
  EXPECT_EQ(c->limits.max_tasks_in_flight, 4);
  EXPECT_EQ(c->limits.requests_per_second, 5);
  EXPECT_EQ(c->poll.asset_first_s, 2);
  EXPECT_EQ(c->poll.task_first_s, 10);
  EXPECT_EQ(c->poll.max_interval_s, 60);
  EXPECT_EQ(c->log.level, "info");
  EXPECT_EQ(c->on_uncertain_submit, "hold");
  EXPECT_EQ(c->source, "");
}

TEST(MainConfig, EmptyObjectGivesDefaults) {
  test::ScratchDir dir;
  auto c = load_text(dir, "// nothing set\n{ /* all defaults */ }\n");
  ASSERT_TRUE(c) << c.error().message();
  MainConfig d;
  EXPECT_EQ(c->api.base_url, d.api.base_url);
  EXPECT_EQ(c->plan.max_assets, d.plan.max_assets);
  EXPECT_EQ(c->source, dir.file("seedanced.json"));
}

TEST(MainConfig, ExampleFileHasTheDefaults) {
  auto c = load_main_config(test::examples_dir() + "/seedanced.json");
  ASSERT_TRUE(c) << c.error().message();
  MainConfig d;
  EXPECT_EQ(c->api.base_url, d.api.base_url);
  EXPECT_EQ(c->api.timeout_s, d.api.timeout_s);
  EXPECT_EQ(c->state_db, d.state_db);
  EXPECT_EQ(c->jobs_dir, d.jobs_dir);
  EXPECT_EQ(c->output_dir, d.output_dir);
  EXPECT_EQ(c->plan.max_assets, d.plan.max_assets);
  EXPECT_EQ(c->limits.max_tasks_in_flight, d.limits.max_tasks_in_flight);
  EXPECT_EQ(c->limits.requests_per_second, d.limits.requests_per_second);
  EXPECT_EQ(c->limits.max_concurrent_requests, d.limits.max_concurrent_requests);
  EXPECT_EQ(c->limits.max_download_mb, d.limits.max_download_mb);
  EXPECT_EQ(c->poll.asset_first_s, d.poll.asset_first_s);
  EXPECT_EQ(c->poll.task_first_s, d.poll.task_first_s);
  EXPECT_EQ(c->poll.max_interval_s, d.poll.max_interval_s);
  EXPECT_EQ(c->poll.give_up_after_h, d.poll.give_up_after_h);
  EXPECT_EQ(c->log.level, d.log.level);
  EXPECT_EQ(c->on_uncertain_submit, d.on_uncertain_submit);
}

TEST(MainConfig, ReadsEveryKey) {
  test::ScratchDir dir;
  auto c = load_text(dir, R"({
    "api": {"base_url": "http://127.0.0.1:8080/", "timeout_s": 5, "key_file": "/k", "ca_file": "/ca"},
    "state_db": "/s.db", "jobs_dir": "/j", "output_dir": "/o",
    "plan": {"max_assets": 200},
    "limits": {"max_tasks_in_flight": 9, "requests_per_second": 2.5,
               "max_concurrent_requests": 3, "max_download_mb": 10},
    "poll": {"asset_first_s": 0.5, "task_first_s": 1, "max_interval_s": 30, "give_up_after_h": 2},
    "log": {"level": "debug"},
    "on_uncertain_submit": "resubmit"
  })");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->api.base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(c->api.timeout_s, 5);
  EXPECT_EQ(c->api.key_file, "/k");
  EXPECT_EQ(c->api.ca_file, "/ca");
  EXPECT_EQ(c->state_db, "/s.db");
  EXPECT_EQ(c->jobs_dir, "/j");
  EXPECT_EQ(c->output_dir, "/o");
  EXPECT_EQ(c->plan.max_assets, 200);
  EXPECT_EQ(c->limits.max_tasks_in_flight, 9);
  EXPECT_EQ(c->limits.requests_per_second, 2.5);
  EXPECT_EQ(c->limits.max_concurrent_requests, 3);
  EXPECT_EQ(c->limits.max_download_mb, 10u);
  EXPECT_EQ(c->poll.asset_first_s, 0.5);
  EXPECT_EQ(c->log.level, "debug");
  EXPECT_EQ(c->on_uncertain_submit, "resubmit");

  EngineOptions o = engine_options(*c);
  EXPECT_EQ(o.asset_first_poll, std::chrono::milliseconds(500));
  EXPECT_EQ(o.task_first_poll, std::chrono::seconds(1));
  EXPECT_EQ(o.max_poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(o.give_up_after, std::chrono::hours(2));
  EXPECT_EQ(o.max_tasks_in_flight, 9);
  EXPECT_EQ(o.requests_per_second, 2.5);
  EXPECT_EQ(o.max_concurrent_requests, 3);
  EXPECT_EQ(o.max_assets, 200);
  EXPECT_TRUE(o.resubmit_uncertain);
  EXPECT_EQ(o.output_dir, "/o");
}

TEST(MainConfig, DefaultEngineOptions) {
  EngineOptions o = engine_options(MainConfig{});
  EXPECT_EQ(o.asset_first_poll, std::chrono::seconds(2));
  EXPECT_EQ(o.task_first_poll, std::chrono::seconds(10));
  EXPECT_EQ(o.max_poll_interval, std::chrono::seconds(60));
  EXPECT_EQ(o.give_up_after, std::chrono::hours(24));
  EXPECT_FALSE(o.resubmit_uncertain);
  EXPECT_EQ(o.max_assets, 50);
}

TEST(MainConfig, UnknownKeySuggestsTheRightOne) {
  test::ScratchDir dir;
  auto c = load_text(
      dir, "{\n  \"limits\": {\n    \"max_task_in_flight\": 3\n  },\n  \"jobsdir\": \"/x\"\n}\n");
  ASSERT_FALSE(c);
  const std::string& m = c.error().message();
  std::string file = dir.file("seedanced.json");
  EXPECT_NE(m.find(file + ":3: field 'limits.max_task_in_flight': unknown key; did you mean "
                          "'max_tasks_in_flight'?"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(file + ":5: field 'jobsdir': unknown key; did you mean 'jobs_dir'?"),
            std::string::npos)
      << m;
}

TEST(MainConfig, WrongTypesAndRangesNameFileLineFieldAndFix) {
  test::ScratchDir dir;
  auto c = load_text(dir, R"({
  "api": {"timeout_s": "30"},
  "plan": {"max_assets": 0},
  "limits": {"requests_per_second": -1},
  "poll": {"max_interval_s": 1, "task_first_s": 10},
  "log": {"level": "verbose"},
  "on_uncertain_submit": "resubmitt",
  "state_db": 7,
  "output_dir": "",
  "api2": 1
})");
  ASSERT_FALSE(c);
  const std::string& m = c.error().message();
  std::string f = dir.file("seedanced.json");
  for (const std::string& want : {
           f + ":2: field 'api.timeout_s': must be a whole number from 1 to 600, not a string; "
               "write the number without quotes",
           f + ":3: field 'plan.max_assets': 0 is out of range",
           f + ":4: field 'limits.requests_per_second': -1 is out of range",
           f + ":5: field 'poll.task_first_s': is larger than poll.max_interval_s",
           f + ":6: field 'log.level': unknown value 'verbose'",
           f + ":7: field 'on_uncertain_submit': unknown value 'resubmitt'; did you mean "
               "'resubmit'?",
           f + ":8: field 'state_db': must be a string, not an integer",
           f + ":9: field 'output_dir': must not be empty",
           f + ":10: field 'api2': unknown key; did you mean 'api'?",
       }) {
    EXPECT_NE(m.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << m;
  }
}

TEST(MainConfig, SectionMustBeAnObject) {
  test::ScratchDir dir;
  auto c = load_text(dir, "{\n\"poll\": 5}");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find(":2: field 'poll': must be an object"), std::string::npos)
      << c.error().message();
}

TEST(MainConfig, PlainHttpOnlyForLoopback) {
  test::ScratchDir dir;
  auto bad = load_text(dir, R"({"api": {"base_url": "http://api.piapi.ai"}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("field 'api.base_url': plain http"), std::string::npos);
  EXPECT_TRUE(load_text(dir, R"({"api": {"base_url": "http://localhost:9000"}})"));
  EXPECT_FALSE(load_text(dir, R"({"api": {"base_url": "ftp://x"}})"));
}

TEST(MainConfig, SyntaxErrorHasLine) {
  test::ScratchDir dir;
  auto c = load_text(dir, "{\n  \"state_db\": \"/x\"\n  \"jobs_dir\": \"/y\"\n}");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Error::Code::kParse);
  EXPECT_NE(c.error().message().find(dir.file("seedanced.json") + ":3: invalid JSON"),
            std::string::npos)
      << c.error().message();
}

TEST(MainConfig, MissingFileIsAnError) {
  auto c = load_main_config("/nonexistent/seedanced.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("/nonexistent/seedanced.json"), std::string::npos);
}

TEST(MainConfig, ApiKeyInTheFileIsRejectedWithoutEchoingIt) {
  test::ScratchDir dir;
  auto c = load_text(dir, R"({"api": {"key": "sk-secret-123"}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("never read from this file"), std::string::npos);
  EXPECT_EQ(c.error().message().find("sk-secret-123"), std::string::npos);
}

//------------------------------------------------------------------------------
// API key sources.

constexpr const char* kSecret = "pk-test-0123456789abcdef";

struct KeyEnv {
  test::EnvOverride cred;
  test::EnvOverride env;
  KeyEnv(std::optional<std::string> c, std::optional<std::string> e)
      : cred("CREDENTIALS_DIRECTORY", std::move(c)), env("PIAPI_API_KEY", std::move(e)) {}
};

TEST(ApiKey, CredentialWinsOverEnvAndFile) {
  test::ScratchDir dir;
  test::write_text(dir.file("creds/piapi-api-key"), std::string(kSecret) + "\n");
  test::write_text(dir.file("keyfile"), "from-file");
  KeyEnv env(dir.file("creds"), "from-env");
  MainConfig c;
  c.api.key_file = dir.file("keyfile");
  auto k = load_api_key(c);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(*k, kSecret);
}

TEST(ApiKey, EnvWinsOverFile) {
  test::ScratchDir dir;
  test::write_text(dir.file("keyfile"), "from-file");
  KeyEnv env(dir.file("no-creds-here"), std::string("  ") + kSecret + " \n");
  MainConfig c;
  c.api.key_file = dir.file("keyfile");
  auto k = load_api_key(c);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(*k, kSecret);
}

TEST(ApiKey, KeyFileIsTheLastSource) {
  test::ScratchDir dir;
  test::write_text(dir.file("keyfile"), std::string("\n") + kSecret + "\n\n");
  KeyEnv env(std::nullopt, std::nullopt);
  MainConfig c;
  c.api.key_file = dir.file("keyfile");
  auto k = load_api_key(c);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(*k, kSecret);
}

TEST(ApiKey, NoSourceNamesEverySourceTried) {
  KeyEnv env(std::nullopt, std::nullopt);
  auto k = load_api_key(MainConfig{});
  ASSERT_FALSE(k);
  const std::string& m = k.error().message();
  EXPECT_NE(m.find("CREDENTIALS_DIRECTORY"), std::string::npos);
  EXPECT_NE(m.find("PIAPI_API_KEY"), std::string::npos);
  EXPECT_NE(m.find("api.key_file"), std::string::npos);
}

TEST(ApiKey, EmptyKeyIsAnError) {
  test::ScratchDir dir;
  test::write_text(dir.file("creds/piapi-api-key"), " \n\t\n");
  {
    KeyEnv env(dir.file("creds"), kSecret);
    auto k = load_api_key(MainConfig{});
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message().find("empty"), std::string::npos);
  }
  {
    KeyEnv env(std::nullopt, "");
    EXPECT_FALSE(load_api_key(MainConfig{}));
  }
  {
    KeyEnv env(std::nullopt, std::nullopt);
    MainConfig c;
    c.api.key_file = dir.file("missing-key-file");
    auto k = load_api_key(c);
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message().find("missing-key-file"), std::string::npos);
  }
}

TEST(ApiKey, NeverAppearsInErrors) {
  test::ScratchDir dir;
  std::string with_space = std::string(kSecret) + " " + kSecret;
  std::string with_newline = std::string(kSecret) + "\n" + kSecret;
  for (const std::string& bad : {with_space, with_newline}) {
    test::write_text(dir.file("creds/piapi-api-key"), bad);
    test::write_text(dir.file("keyfile"), bad);
    {
      KeyEnv env(dir.file("creds"), std::nullopt);
      auto k = load_api_key(MainConfig{});
      ASSERT_FALSE(k);
      EXPECT_EQ(k.error().message().find(kSecret), std::string::npos) << k.error().message();
      EXPECT_NE(k.error().message().find("whitespace"), std::string::npos);
    }
    {
      KeyEnv env(std::nullopt, bad);
      auto k = load_api_key(MainConfig{});
      ASSERT_FALSE(k);
      EXPECT_EQ(k.error().message().find(kSecret), std::string::npos) << k.error().message();
    }
    {
      KeyEnv env(std::nullopt, std::nullopt);
      MainConfig c;
      c.api.key_file = dir.file("keyfile");
      auto k = load_api_key(c);
      ASSERT_FALSE(k);
      EXPECT_EQ(k.error().message().find(kSecret), std::string::npos) << k.error().message();
    }
  }
}

}  // namespace
}  // namespace sd
