// fleet_bench: runs N tasks through the real seedanced binary against an
// in-process piapi-sim at high speed and prints throughput and cost figures:
// tasks/s, daemon CPU seconds per task, daemon peak RSS, requests per task.
//
//   fleet_bench [--tasks N] [--assets M] [--speed S] [--in-flight K] [--keep]
//
// The simulator runs in this process; the daemon is a child, so its CPU time
// and peak RSS come from wait4()'s rusage and do not include the simulator.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/server.hpp"

extern char** environ;

namespace {

struct Args {
  int tasks = 10000;
  int assets = 0;  // 0 = tasks / 50, at least 10
  double speed = 2000;
  int in_flight = 500;
  bool keep = false;
};

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string name(const char* prefix, int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-%05d", prefix, i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--tasks")
      a.tasks = std::atoi(next());
    else if (k == "--assets")
      a.assets = std::atoi(next());
    else if (k == "--speed")
      a.speed = std::atof(next());
    else if (k == "--in-flight")
      a.in_flight = std::atoi(next());
    else if (k == "--keep")
      a.keep = true;
    else {
      std::fprintf(
          stderr,
          "usage: fleet_bench [--tasks N] [--assets M] [--speed S] [--in-flight K] [--keep]\n");
      return 2;
    }
  }
  if (a.assets == 0) a.assets = std::max(10, a.tasks / 50);

  char tmpl[] = "/tmp/seedanced-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::filesystem::path dir = tmpl;

  sd::sim::SimOptions so;
  so.api_key = "bench-key";
  so.speed = a.speed;
  so.plan = "enterprise";
  so.max_concurrent_tasks = a.in_flight;
  so.video_bytes = 1024;
  auto sim = sd::sim::SimServer::start(so);
  if (!sim) {
    std::fprintf(stderr, "simulator: %s\n", sim.error().message().c_str());
    return 1;
  }

  nlohmann::json assets = nlohmann::json::array();
  for (int i = 0; i < a.assets; ++i) {
    assets.push_back({{"name", name("face", i)},
                      {"url", "https://cdn.example.com/" + name("face", i) + ".png"},
                      {"type", "image"}});
  }
  write(dir / "jobs/assets.json", nlohmann::json{{"assets", assets}}.dump());
  nlohmann::json tasks = nlohmann::json::array();
  for (int i = 0; i < a.tasks; ++i) {
    tasks.push_back({{"name", name("shot", i)},
                     {"task_type", "seedance-2-fast-less-restriction"},
                     {"prompt", "Image 1 walks through scene " + std::to_string(i) + "."},
                     {"image_urls", {"asset://" + name("face", i % a.assets)}},
                     {"duration", 5},
                     {"resolution", "480p"}});
    if ((i + 1) % 500 == 0 || i + 1 == a.tasks) {
      write(dir / ("jobs/tasks-" + std::to_string(i / 500) + ".json"),
            nlohmann::json{{"tasks", tasks}}.dump());
      tasks = nlohmann::json::array();
    }
  }
  nlohmann::json config = {
      {"api", {{"base_url", (*sim)->base_url()}, {"timeout_s", 10}}},
      {"state_db", (dir / "state.db").string()},
      {"jobs_dir", (dir / "jobs").string()},
      {"output_dir", (dir / "videos").string()},
      {"plan", {{"max_assets", a.assets}}},
      {"limits",
       {{"max_tasks_in_flight", a.in_flight},
        {"requests_per_second", 10000},
        {"max_concurrent_requests", 64}}},
      {"poll", {{"asset_first_s", 0.01}, {"task_first_s", 0.05}, {"max_interval_s", 1}}},
      {"log", {{"level", "warn"}}},
  };
  write(dir / "seedanced.json", config.dump(2));

  const std::string config_path = (dir / "seedanced.json").string();
  const std::string log_path = (dir / "daemon.log").string();
  std::vector<std::string> args = {SEEDANCED_BINARY, "--config", config_path, "--once"};
  std::vector<char*> cargs;
  for (auto& s : args) cargs.push_back(s.data());
  cargs.push_back(nullptr);
  setenv("PIAPI_API_KEY", "bench-key", 1);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);

  std::printf("fleet_bench: %d tasks, %d assets, simulator speed %.0f, in flight %d\n", a.tasks,
              a.assets, a.speed, a.in_flight);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ) != 0) {
    std::perror("posix_spawn " SEEDANCED_BINARY);
    return 1;
  }
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

  const nlohmann::json stats = (*sim)->stats();
  int64_t requests = 0;
  for (const auto& [k, v] : stats.at("requests").items()) requests += v.get<int64_t>();
  const int64_t downloads = stats.value("downloads", int64_t{0});
  std::printf("exit status         %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  std::printf("wall time           %.2f s\n", wall);
  std::printf("tasks/s             %.1f\n", a.tasks / wall);
  std::printf("daemon CPU          %.2f s (%.3f ms per task)\n", cpu, 1000 * cpu / a.tasks);
  std::printf("daemon peak RSS     %.1f MiB\n", static_cast<double>(ru.ru_maxrss) / 1024);
  std::printf("API requests        %lld (%.2f per task), downloads %lld\n",
              static_cast<long long>(requests), static_cast<double>(requests) / a.tasks,
              static_cast<long long>(downloads));
  std::printf("task creates        %lld (duplicates %lld)\n",
              static_cast<long long>(stats.value("task_creates", int64_t{0})),
              static_cast<long long>(stats.value("duplicate_creates", int64_t{0})));
  std::printf("polls               %s\n", stats.at("polls").dump().c_str());
  if (a.keep) {
    std::printf("kept %s\n", dir.c_str());
  } else {
    std::filesystem::remove_all(dir);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
