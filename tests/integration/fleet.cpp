#include "tests/integration/fleet.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "core/random.hpp"

namespace sd::test {
namespace {

constexpr const char* kApiKey = "fleet-secret-key-7f3a9c";

std::string asset_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "face-%03d", i);
  return buf;
}

std::string task_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shot-%04d", i);
  return buf;
}

}  // namespace

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {
  sim::SimOptions so;
  so.api_key = kApiKey;
  so.seed = options_.seed;
  so.speed = options_.speed;
  so.plan = "enterprise";
  so.max_concurrent_tasks = 100;
  so.video_bytes = 4096;
  so.page_size_default = 20;
  if (options_.faults) {
    so.faults.http_5xx = 0.02;
    so.faults.http_429 = 0.02;
    so.faults.retry_after_s = 1;
    so.faults.reset_before = 0.005;
    so.faults.reset_after = 0.005;
    so.faults.html_body = 0.01;
    so.faults.truncated_body = 0.01;
    so.faults.latency = 0.02;
    so.faults.latency_ms = 20;
  }
  auto sim = sim::SimServer::start(so);
  if (!sim) {
    ADD_FAILURE() << "cannot start the simulator: " << sim.error().message();
    std::abort();
  }
  sim_ = std::move(*sim);
  output_dir_ = dir_.file("videos");
  write_specs();
  write_config();
}

std::string Fleet::prompt_of(const std::string& name) {
  return "Image 1 is the hero of " + name + ". Image 1 walks through the market at dusk.";
}

void Fleet::write_specs() {
  Random rng(options_.seed);
  nlohmann::json assets = nlohmann::json::array();
  for (int i = 0; i < options_.n_assets; ++i) {
    assets.push_back({{"name", asset_name(i)},
                      {"url", "https://cdn.example.com/faces/" + asset_name(i) + ".png"},
                      {"type", "image"}});
  }
  assets.push_back({{"name", failing_asset_},
                    {"url", "https://cdn.example.com/props/fail-prop.png"},
                    {"type", "image"}});
  write_file(dir_.file("jobs/assets.json"), nlohmann::json{{"assets", assets}}.dump(2));

  constexpr int kPerFile = 100;
  nlohmann::json tasks = nlohmann::json::array();
  auto flush = [&](int file_no) {
    write_file(dir_.file("jobs/tasks-" + std::to_string(file_no) + ".json"),
               nlohmann::json{{"tasks", tasks}}.dump(2));
    tasks = nlohmann::json::array();
  };
  for (int i = 0; i < options_.n_tasks; ++i) {
    const std::string name = task_name(i);
    nlohmann::json images = nlohmann::json::array();
    images.push_back("asset://" + asset_name(static_cast<int>(rng.below(options_.n_assets))));
    std::string prompt = prompt_of(name);
    if (i % 3 == 0) {
      images.push_back("asset://" + asset_name(static_cast<int>(rng.below(options_.n_assets))));
      prompt += " Image 2 watches.";
    }
    if (i % 4 == 1) {
      images.push_back("https://cdn.example.com/backgrounds/bg-" + std::to_string(i) + ".jpg");
      prompt += " The street in the last image is the background.";
    }
    if (i % 97 == 13) {
      images.push_back("asset://" + failing_asset_);
      blocked_.insert(name);
    } else if (i % 89 == 5) {
      prompt += " The scene is forbidden.";  // the simulator rejects it (10003)
      rejected_.insert(name);
    }
    tasks.push_back({{"name", name},
                     {"task_type", "seedance-2-fast-less-restriction"},
                     {"prompt", prompt},
                     {"image_urls", images},
                     {"duration", 5},
                     {"aspect_ratio", "16:9"},
                     {"resolution", "720p"}});
    if ((i + 1) % kPerFile == 0) flush((i + 1) / kPerFile);
  }
  if (!tasks.empty()) flush(options_.n_tasks / kPerFile + 1);
}

void Fleet::write_config() {
  nlohmann::json c = {
      {"api", {{"base_url", sim_->base_url()}, {"timeout_s", 5}}},
      {"state_db", dir_.file("state/state.db")},
      {"jobs_dir", dir_.file("jobs")},
      {"output_dir", output_dir_},
      {"plan", {{"max_assets", options_.n_assets + 1}}},
      {"limits",
       {{"max_tasks_in_flight", 100},
        {"requests_per_second", 2000},
        {"max_concurrent_requests", 16}}},
      {"poll", {{"asset_first_s", 0.02}, {"task_first_s", 0.05}, {"max_interval_s", 0.5}}},
      {"log", {{"level", "info"}}},
      {"on_uncertain_submit", options_.on_uncertain_submit},
  };
  std::filesystem::create_directories(dir_.file("state"));
  config_path_ = dir_.file("seedanced.json");
  write_file(config_path_, c.dump(2));
}

std::unique_ptr<ChildProcess> Fleet::start_daemon() const {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{SD_BINARY_DIR "/daemon/seedanced", "--config", config_path_,
                               "--once"},
      std::map<std::string, std::string>{{"PIAPI_API_KEY", kApiKey}}, dir_.file("daemon.log"));
}

int Fleet::run_to_end(std::chrono::milliseconds timeout) const {
  auto daemon = start_daemon();
  auto rc = daemon->wait(timeout);
  if (!rc) {
    daemon->signal(SIGKILL);
    return -1;
  }
  return *rc;
}

std::string Fleet::log_tail(size_t lines) const {
  const std::string text = log();
  size_t pos = text.size();
  for (size_t n = 0; n <= lines; ++n) {
    if (pos == 0) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

Snapshot Fleet::load_state() const {
  auto repo = Repository::open(dir_.file("state/state.db"), Repository::Mode::kReadOnly);
  if (!repo) {
    ADD_FAILURE() << repo.error().message();
    return {};
  }
  auto snap = (*repo)->load();
  if (!snap) {
    ADD_FAILURE() << snap.error().message();
    return {};
  }
  return *snap;
}

int expect_run_invariants(const Fleet& fleet, const Snapshot& state, const nlohmann::json& stats,
                          int max_held) {
  // Assets: every shared one Active, the failing one Failed with the simulator's reason.
  EXPECT_EQ(state.assets.size(), static_cast<size_t>(fleet.n_assets() + 1));
  for (const AssetRecord& a : state.assets) {
    if (a.spec.name == fleet.failing_asset()) {
      EXPECT_EQ(a.state, AssetState::kFailed);
      EXPECT_FALSE(a.last_error.empty());
    } else {
      EXPECT_EQ(a.state, AssetState::kActive) << a.spec.name << ": " << a.last_error;
    }
  }
  // Each asset uploaded exactly once.
  const auto& by_name = stats.at("uploads_by_name");
  for (const AssetRecord& a : state.assets) {
    const std::string upload = a.spec.upload_name();
    const int uploads = by_name.contains(upload) ? by_name.at(upload).get<int>() : 0;
    EXPECT_EQ(uploads, 1) << a.spec.name << " uploaded " << uploads << " times";
  }
  // No task created while one of its assets was not Active.
  EXPECT_EQ(stats.at("creates_with_inactive_asset").get<int>(), 0);
  for (const auto& t : stats.at("tasks")) {
    for (const auto& ref : t.at("assets")) {
      EXPECT_EQ(ref.at("status_at_create").get<std::string>(), "Active")
          << "task created before asset " << ref.at("asset_id") << " was Active";
    }
  }
  EXPECT_EQ(stats.at("duplicate_creates").get<int>(), 0);
  const auto& creates = stats.at("creates_by_prompt");

  EXPECT_EQ(state.tasks.size(), static_cast<size_t>(fleet.n_tasks()));
  int held = 0;
  for (const TaskRecord& t : state.tasks) {
    const std::string& name = t.spec.name;
    const int created = creates.contains(t.spec.prompt) ? creates.at(t.spec.prompt).get<int>() : 0;
    if (fleet.blocked_tasks().count(name)) {
      EXPECT_EQ(t.state, TaskState::kBlocked) << name;
      EXPECT_EQ(created, 0) << name << " was created although its asset failed";
      EXPECT_FALSE(t.last_error.empty()) << name;
    } else if (t.state == TaskState::kHeld) {
      // A create whose outcome was lost: never sent again.
      ++held;
      EXPECT_LE(created, 1) << name;
    } else if (fleet.rejected_tasks().count(name)) {
      EXPECT_EQ(t.state, TaskState::kFailed) << name;
      EXPECT_EQ(t.error_code, 10003) << name;
      EXPECT_NE(t.last_error.find("violated community guidelines"), std::string::npos)
          << name << ": " << t.last_error;
      EXPECT_EQ(created, 1) << name;
    } else {
      EXPECT_EQ(t.state, TaskState::kDownloaded) << name << ": " << t.last_error;
      EXPECT_EQ(created, 1) << name;
      EXPECT_TRUE(std::filesystem::exists(t.output_path)) << name << " " << t.output_path;
      if (std::filesystem::exists(t.output_path)) {
        EXPECT_EQ(std::filesystem::file_size(t.output_path), 4096u) << name;
      }
    }
  }
  EXPECT_LE(held, max_held);
  return held;
}

}  // namespace sd::test
