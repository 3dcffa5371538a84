// A harness for tests that run the real seedanced binary: a temp dir with a
// main config, a jobs dir and a state DB, an in-process PiAPI simulator, and
// helpers to write job specs, start the daemon and read its state DB.
//
// Thread contract: one test thread (the simulator serves on its own thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/model.hpp"
#include "sim/server.hpp"
#include "storage/repository.hpp"
#include "tests/support/child_process.hpp"

namespace sd::test {

inline const std::string kBinary = SD_BINARY_DIR "/daemon/seedanced";
// A distinctive key so a test can search every log line for it.
inline const std::string kApiKey = "sk-live-7Q2xW9vKpL4mN8rT3yZ6";

// A fast simulator: a 150 s render takes 1.5 s.
inline sim::SimOptions fast_sim() {
  sim::SimOptions o;
  o.api_key = kApiKey;
  o.speed = 100;
  o.video_bytes = 4096;
  o.seed = 11;
  return o;
}

// One asset declaration with an image URL.
inline nlohmann::json asset_json(const std::string& name) {
  return {{"name", name}, {"url", "https://cdn.example.com/" + name + ".png"}, {"type", "image"}};
}

// One task that uses `assets` (asset://NAME each) or, when empty, one raw image URL.
inline nlohmann::json task_json(const std::string& name, const std::vector<std::string>& assets,
                                const std::string& prompt_tail = "walks down a street at dusk.") {
  nlohmann::json images = nlohmann::json::array();
  for (const auto& a : assets) images.push_back("asset://" + a);
  if (images.empty()) images.push_back("https://cdn.example.com/backgrounds/" + name + ".jpg");
  return {{"name", name},
          {"task_type", "seedance-2-fast-less-restriction"},
          {"prompt", "Task " + name + ": Image 1 " + prompt_tail},
          {"image_urls", images},
          {"duration", 5},
          {"aspect_ratio", "16:9"},
          {"resolution", "720p"}};
}

class Harness {
 public:
  explicit Harness(sim::SimOptions options = fast_sim()) {
    options.api_key = kApiKey;
    auto s = sim::SimServer::start(options);
    if (!s) throw std::runtime_error("sim: " + s.error().message());
    sim_ = std::move(*s);
  }

  sim::SimServer& sim() { return *sim_; }
  nlohmann::json stats() { return sim_->stats(); }
  const TempDir& dir() const { return dir_; }
  std::string jobs_dir() const { return dir_.file("jobs.d"); }
  std::string output_dir() const { return dir_.file("videos"); }
  std::string state_db() const { return dir_.file("state.db"); }
  std::string config_path() const { return dir_.file("seedanced.json"); }

  // Writes the main config; `overrides` is merged into the defaults below.
  void write_config(const nlohmann::json& overrides = nlohmann::json::object()) {
    nlohmann::json c = {
        {"api", {{"base_url", sim_->base_url()}, {"timeout_s", 10}}},
        {"state_db", state_db()},
        {"jobs_dir", jobs_dir()},
        {"output_dir", output_dir()},
        {"limits", {{"max_tasks_in_flight", 8}, {"requests_per_second", 200}}},
        {"poll", {{"asset_first_s", 0.05}, {"task_first_s", 0.2}, {"max_interval_s", 0.5}}},
        {"log", {{"level", "info"}}}};
    c.merge_patch(overrides);
    write_file(config_path(), c.dump(2));
  }

  // Writes jobs.d/<file> with these assets and tasks.
  void write_jobs(const std::string& file, const nlohmann::json& assets,
                  const nlohmann::json& tasks) {
    write_file(jobs_dir() + "/" + file,
               nlohmann::json{{"assets", assets}, {"tasks", tasks}}.dump(2));
  }

  // Starts seedanced with `args` (after --config), the API key in the environment.
  std::unique_ptr<ChildProcess> start(std::vector<std::string> args,
                                      std::map<std::string, std::string> env = {},
                                      const std::string& log = "daemon.log") {
    std::vector<std::string> argv = {kBinary, "--config", config_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace("PIAPI_API_KEY", kApiKey);
    return std::make_unique<ChildProcess>(argv, env, dir_.file(log));
  }

  // The state DB as the daemon last committed it (read-only, while it runs).
  Snapshot snapshot() const {
    auto repo = Repository::open(state_db(), Repository::Mode::kReadOnly);
    if (!repo) return {};
    auto s = (*repo)->load();
    return s ? *s : Snapshot{};
  }

  std::optional<TaskRecord> task(const std::string& name) const {
    for (auto& t : snapshot().tasks) {
      if (t.spec.name == name) return t;
    }
    return std::nullopt;
  }

  int count_tasks(TaskState state) const {
    int n = 0;
    for (auto& t : snapshot().tasks) n += t.state == state ? 1 : 0;
    return n;
  }

 private:
  TempDir dir_;
  std::unique_ptr<sim::SimServer> sim_;
};

}  // namespace sd::test
