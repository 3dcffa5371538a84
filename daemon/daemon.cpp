// The daemon loop (see daemon.hpp): one io_context, the engine, the state DB,
// the PiAPI client, signals, timers and sd_notify.
#include "daemon/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "client/piapi_client.hpp"
#include "config/job_spec.hpp"
#include "storage/repository.hpp"

namespace sd {

namespace net = boost::asio;  // from <boost/asio.hpp>

//------------------------------------------------------------------------------

Result<DaemonSettings> load_settings(const std::string& config_path) {
  auto config = load_main_config(config_path);
  if (!config) return Fail(config.error());
  auto key = load_api_key(*config);
  if (!key) return Fail(key.error());
  DaemonSettings s;
  s.config = std::move(*config);
  s.api_key = std::move(*key);
  return s;
}

std::string status_line(const Summary& s) {
  auto asset = [&](AssetState st) {
    auto it = s.assets.find(st);
    return it == s.assets.end() ? 0 : it->second;
  };
  auto task = [&](TaskState st) {
    auto it = s.tasks.find(st);
    return it == s.tasks.end() ? 0 : it->second;
  };
  std::string line = std::to_string(asset(AssetState::kActive)) + " assets active, " +
                     std::to_string(task(TaskState::kSubmitting) + task(TaskState::kSubmitted)) +
                     " tasks rendering, " + std::to_string(task(TaskState::kDownloaded)) +
                     " downloaded";
  const int waiting =
      task(TaskState::kWaiting) + task(TaskState::kReady) + task(TaskState::kCompleted);
  const int failed = task(TaskState::kFailed) + task(TaskState::kBlocked);
  if (waiting > 0) line += ", " + std::to_string(waiting) + " queued";
  if (failed > 0) line += ", " + std::to_string(failed) + " failed";
  if (task(TaskState::kHeld) > 0) line += ", " + std::to_string(task(TaskState::kHeld)) + " held";
  return line;
}

//------------------------------------------------------------------------------

struct Daemon::Impl {
  Impl(DaemonSettings s, Notifier n) : settings(std::move(s)), notifier(std::move(n)) {}

  // Constant after construction.
  const DaemonSettings settings;
  const SystemClock clock;

  // Everything below is owned by the io_context thread. The io_context is
  // declared first so that it is destroyed last: pending coroutines and timers
  // are torn down while it is still alive.
  net::io_context ioc{1};
  Notifier notifier;
  std::unique_ptr<Repository> repo;
  std::unique_ptr<PiapiClient> client;
  std::unique_ptr<Engine> engine;
  std::optional<JobsLoad> jobs;
  net::steady_timer wake_timer{ioc};
  net::steady_timer command_timer{ioc};
  net::steady_timer watchdog_timer{ioc};
  net::steady_timer drain_timer{ioc};
  net::signal_set signals{ioc};

  int in_flight = 0;      // request coroutines not yet finished
  bool draining = false;  // SIGTERM/SIGINT seen: start nothing new
  bool stopped = false;   // the loop is stopping; no more effects
  bool started = false;   // startup finished (--once may exit from now on)
  int exit_code = kExitOk;
  uint64_t wake_generation = 0;  // ignores a stale wake-up that already fired
  std::optional<TimePoint> wake_at;
  std::string last_status;
  Ready pending;              // inputs of this loop turn, not yet handled (enqueue)
  bool flush_posted = false;  // a flush() is queued on the loop

  int run();
  Result<void> start();
  void stop(int code);

  void handle(Ready ready);
  void enqueue(Ready ready);
  void flush();
  void after_step();
  void arm_wakeup();
  void perform(Request request);
  net::awaitable<void> run_request(Request request);
  void finish(Ready ready);

  void wait_signal();
  void on_signal(int sig);
  void reload();
  void log_jobs(const JobsLoad& load, std::string_view what);
  void poll_commands();
  void ping_watchdog();
  void update_status();

  TimePoint now() const { return clock.now(); }
};

Daemon::Daemon(DaemonSettings settings, Notifier notifier)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(notifier))) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  return impl_->run();
}

const Engine* Daemon::engine() const {
  return impl_->engine.get();
}

std::vector<TaskRecord> Daemon::task_records() const {
  std::vector<TaskRecord> out;
  if (!impl_->engine || !impl_->jobs) return out;
  for (const auto& spec : impl_->jobs->specs.tasks) {
    if (const TaskRecord* t = impl_->engine->task(spec.name)) out.push_back(*t);
  }
  return out;
}

//------------------------------------------------------------------------------
// Startup and shutdown.

namespace {

void log_line(const LogLine& l) {
  switch (l.level) {
    case LogLine::Level::kDebug:
      spdlog::debug("{}", l.text);
      break;
    case LogLine::Level::kInfo:
      spdlog::info("{}", l.text);
      break;
    case LogLine::Level::kWarn:
      spdlog::warn("{}", l.text);
      break;
    case LogLine::Level::kError:
      spdlog::error("{}", l.text);
      break;
  }
}

ClientOptions client_options(const DaemonSettings& s) {
  ClientOptions o;
  o.base_url = s.config.api.base_url;
  o.api_key = s.api_key;
  o.timeout = std::chrono::seconds(std::max(1, s.config.api.timeout_s));
  o.max_connections = std::max(1, s.config.limits.max_concurrent_requests);
  o.ca_file = s.config.api.ca_file;
  o.max_download_bytes = s.config.limits.max_download_mb * 1024 * 1024;
  return o;
}

}  // namespace

int Daemon::Impl::run() {
  if (auto started = start(); !started) {
    spdlog::error("{}", started.error().message());
    return exit_code != kExitOk ? exit_code : kExitStartup;
  }
  if (!stopped) ioc.run();
  spdlog::info("seedanced stopped ({})", status_line(engine->summary()));
  if (exit_code != kExitRuntime) (void)repo->set_meta("daemon_pid", "");
  if (client) client->shutdown();
  return exit_code;
}

Result<void> Daemon::Impl::start() {
  const MainConfig& cfg = settings.config;
  // 1. config and API key: loaded by load_settings(); the key is only masked from now on.
  spdlog::info("seedanced starting: config {}, state {}, jobs {}, api {}",
               cfg.source.empty() ? "(defaults)" : cfg.source, cfg.state_db, cfg.jobs_dir,
               cfg.api.base_url);

  // 2. output_dir.
  std::error_code ec;
  std::filesystem::create_directories(cfg.output_dir, ec);
  if (ec) {
    return Fail(Error::Io("cannot create output_dir " + cfg.output_dir + ": " + ec.message() +
                          "; create it or set \"output_dir\" in the config"));
  }

  // 3. state DB.
  auto repo_or = Repository::open(cfg.state_db, Repository::Mode::kReadWrite);
  if (!repo_or) return Fail(repo_or.error());
  repo = std::move(*repo_or);
  auto snapshot = repo->load();
  if (!snapshot) return Fail(snapshot.error().With("loading " + cfg.state_db));
  (void)repo->set_meta("daemon_pid", std::to_string(getpid()));

  // 4. PiAPI client.
  auto client_or = PiapiClient::create(ioc.get_executor(), client_options(settings));
  if (!client_or) {
    exit_code = kExitConfig;
    return Fail(client_or.error().With("api.base_url"));
  }
  client = std::move(*client_or);

  // 5. recovery. Requests start running only once ioc.run() begins.
  EngineOptions options = engine_options(cfg);
  options.output_dir = cfg.output_dir;
  engine = std::make_unique<Engine>(options, std::random_device{}() ^ uint64_t(getpid()) << 32);
  const size_t n_assets = snapshot->assets.size(), n_tasks = snapshot->tasks.size();
  handle(engine->recover(std::move(snapshot->assets), std::move(snapshot->tasks), now()));
  spdlog::info("recovered {} assets and {} tasks from {}", n_assets, n_tasks, cfg.state_db);
  if (stopped) return Ok();

  // 6. jobs.
  jobs = load_jobs(cfg.jobs_dir, cfg);
  log_jobs(*jobs, "loaded");
  handle(engine->sync_specs(jobs->specs, now()));
  if (stopped) return Ok();

  // 7. signals.
  signals.add(SIGHUP);
  signals.add(SIGTERM);
  signals.add(SIGINT);
  wait_signal();

  // 8. timers.
  poll_commands();
  ping_watchdog();
  arm_wakeup();

  // 9. ready.
  started = true;
  (void)notifier.ready();
  update_status();
  spdlog::info("seedanced ready ({})", last_status);
  after_step();  // --once with nothing to do exits here
  return Ok();
}

void Daemon::Impl::stop(int code) {
  if (stopped) return;
  stopped = true;
  exit_code = code;
  // Transitions enqueued but not yet handled are saved (their requests are not sent);
  // after a failed write nothing more is written.
  if (code != kExitRuntime &&
      (!pending.assets.empty() || !pending.tasks.empty() || !pending.events.empty())) {
    if (auto saved = repo->apply(pending); !saved) {
      spdlog::error("state DB write at stop failed: {}", saved.error().message());
    } else {
      for (const LogLine& l : pending.logs) log_line(l);
    }
  }
  pending = Ready{};
  ioc.stop();
}

//------------------------------------------------------------------------------
// The step: persist, log, perform, re-arm.

void Daemon::Impl::handle(Ready ready) {
  if (stopped) return;
  if (!ready.assets.empty() || !ready.tasks.empty() || !ready.events.empty()) {
    if (auto saved = repo->apply(ready); !saved) {
      // Rule 1: never send after a failed persist. Recovery picks up from the last commit.
      spdlog::critical("state DB write failed, stopping without sending anything: {}",
                       saved.error().message());
      stop(kExitRuntime);
      return;
    }
  }
  for (const LogLine& l : ready.logs) log_line(l);
  for (Request& r : ready.requests) perform(std::move(r));
  after_step();
}

// Inputs that arrive while the loop runs (replies, timers, commands, reload)
// are merged and handled together at the end of the loop turn: one transaction
// for many replies.
void Daemon::Impl::enqueue(Ready ready) {
  if (stopped) return;
  pending.merge(std::move(ready));
  if (flush_posted) return;
  flush_posted = true;
  net::post(ioc, [this] { flush(); });
}

void Daemon::Impl::flush() {
  flush_posted = false;
  handle(std::exchange(pending, Ready{}));
}

void Daemon::Impl::after_step() {
  if (stopped) return;
  update_status();
  if (settings.once && started && engine->all_terminal()) {
    spdlog::info("--once: every task is terminal");
    stop(engine->all_downloaded() ? kExitOk : kExitIncomplete);
    return;
  }
  if (draining) {
    if (in_flight == 0) {
      spdlog::info("no request in flight; exiting");
      stop(kExitOk);
    }
    return;  // no more ticks: nothing new starts while draining
  }
  arm_wakeup();
}

void Daemon::Impl::arm_wakeup() {
  const std::optional<TimePoint> next = engine->next_wakeup();
  if (next == wake_at) return;  // already armed for that time (or idle)
  wake_at = next;
  const uint64_t generation = ++wake_generation;
  if (!next) {
    wake_timer.cancel();
    return;
  }
  // At least 1 ms: a due wake-up that yields no work must not spin the loop.
  const Duration delay = std::max(Duration(1), *next - now());
  wake_timer.expires_after(delay);
  wake_timer.async_wait([this, generation](boost::system::error_code ec) {
    if (ec || generation != wake_generation || stopped || draining) return;
    wake_at.reset();
    enqueue(engine->tick(now()));
  });
}

//------------------------------------------------------------------------------
// Requests: one coroutine each; the reply goes back to the engine.

namespace {

std::string_view kind_name(Request::Kind k) {
  switch (k) {
    case Request::Kind::kUploadAsset:
      return "upload asset";
    case Request::Kind::kListAssets:
      return "list assets";
    case Request::Kind::kGetAsset:
      return "get asset";
    case Request::Kind::kCreateTask:
      return "create task";
    case Request::Kind::kGetTask:
      return "get task";
    case Request::Kind::kDownload:
      return "download";
  }
  return "request";
}

}  // namespace

void Daemon::Impl::perform(Request request) {
  if (draining || stopped) {
    spdlog::debug("stopping: not starting {} {}", kind_name(request.kind), request.name);
    return;
  }
  spdlog::debug("-> {} {}{}", kind_name(request.kind), request.name,
                request.remote_id.empty() ? "" : " (" + request.remote_id + ")");
  ++in_flight;
  net::co_spawn(ioc, run_request(std::move(request)), [this](std::exception_ptr e) {
    if (!e) return;
    // A bug: the engine will never hear this reply. Exit; recovery resumes cleanly.
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::critical("request coroutine failed: {}", ex.what());
    } catch (...) {
      spdlog::critical("request coroutine failed with an unknown exception");
    }
    stop(kExitRuntime);
  });
}

net::awaitable<void> Daemon::Impl::run_request(Request request) {
  const std::string name = request.name;
  switch (request.kind) {
    case Request::Kind::kUploadAsset: {
      UploadAssetRequest upload = std::move(request.upload);
      auto r = co_await client->upload_asset(std::move(upload));
      finish(engine->on_upload(name, r, now()));
      break;
    }
    case Request::Kind::kListAssets: {
      auto r = co_await client->list_assets();
      finish(engine->on_list(r, now()));
      break;
    }
    case Request::Kind::kGetAsset: {
      std::string id = request.remote_id;
      auto r = co_await client->get_asset(std::move(id));
      finish(engine->on_get_asset(name, r, now()));
      break;
    }
    case Request::Kind::kCreateTask: {
      std::string body = request.body;
      auto r = co_await client->create_task(std::move(body));
      finish(engine->on_create(name, r, now()));
      break;
    }
    case Request::Kind::kGetTask: {
      std::string id = request.remote_id;
      auto r = co_await client->get_task(std::move(id));
      finish(engine->on_get_task(name, r, now()));
      break;
    }
    case Request::Kind::kDownload: {
      std::string url = request.url;
      std::string path = request.path;
      auto r = co_await client->download(std::move(url), std::move(path));
      finish(engine->on_download(name, r, now()));
      break;
    }
  }
}

void Daemon::Impl::finish(Ready ready) {
  --in_flight;
  enqueue(std::move(ready));
}

//------------------------------------------------------------------------------
// Signals: the handlers run on the loop (signal_set), never in signal context.

void Daemon::Impl::wait_signal() {
  signals.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec || stopped) return;
    on_signal(sig);
    if (!stopped) wait_signal();
  });
}

void Daemon::Impl::on_signal(int sig) {
  const char* name = sig == SIGHUP ? "SIGHUP" : sig == SIGTERM ? "SIGTERM" : "SIGINT";
  if (sig == SIGHUP) {
    if (draining) {
      spdlog::warn("SIGHUP ignored: stopping");
      return;
    }
    reload();
    return;
  }
  if (draining) {
    spdlog::warn(
        "second {}: exiting now; {} in-flight requests are abandoned (their intents are "
        "persisted)",
        name, in_flight);
    stop(kExitOk);
    return;
  }
  draining = true;
  engine->drain();
  (void)notifier.stopping();
  wake_timer.cancel();
  command_timer.cancel();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(settings.drain_timeout);
  spdlog::info("{}: stopping; no new work, waiting for {} in-flight requests (at most {}s)", name,
               in_flight, secs.count());
  if (in_flight == 0) {
    stop(kExitOk);
    return;
  }
  drain_timer.expires_after(settings.drain_timeout);
  drain_timer.async_wait([this](boost::system::error_code e) {
    if (e || stopped) return;
    spdlog::warn("{} requests still in flight after {}s; exiting (their intents are persisted)",
                 in_flight,
                 std::chrono::duration_cast<std::chrono::seconds>(settings.drain_timeout).count());
    stop(kExitOk);
  });
}

void Daemon::Impl::reload() {
  (void)notifier.reloading();
  spdlog::info("SIGHUP: re-reading {}", settings.config.jobs_dir);
  JobsLoad next = load_jobs(settings.config.jobs_dir, settings.config, jobs ? &*jobs : nullptr);
  log_jobs(next, "reloaded");
  jobs = std::move(next);
  enqueue(engine->sync_specs(jobs->specs, now()));
  (void)notifier.ready();
}

void Daemon::Impl::log_jobs(const JobsLoad& load, std::string_view what) {
  int errors = 0, warnings = 0;
  for (const Diagnostic& d : load.diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) {
      ++errors;
      spdlog::error("{}", d.to_string());
    } else {
      ++warnings;
      spdlog::warn("{}", d.to_string());
    }
  }
  spdlog::info("jobs {} from {}: {} files, {} assets, {} tasks ({} errors, {} warnings)", what,
               settings.config.jobs_dir, load.files.size(), load.specs.assets.size(),
               load.specs.tasks.size(), errors, warnings);
}

//------------------------------------------------------------------------------
// Periodic work: operator commands, watchdog, status.

void Daemon::Impl::poll_commands() {
  if (stopped || draining) return;
  auto commands = repo->take_commands();
  if (!commands) {
    spdlog::warn("reading seedancectl commands: {}", commands.error().message());
  } else {
    for (const Command& c : *commands) {
      if (stopped) return;
      if (c.verb == "retry") {
        spdlog::info("seedancectl: retry {}", c.name);
        enqueue(engine->retry(c.name, now()));
      } else {
        spdlog::warn("seedancectl: unknown command '{}' for '{}' ignored", c.verb, c.name);
      }
    }
  }
  command_timer.expires_after(settings.command_poll);
  command_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) poll_commands();
  });
}

void Daemon::Impl::ping_watchdog() {
  const std::optional<Duration> interval = notifier.watchdog_ping_interval();
  if (!interval || stopped) return;
  (void)notifier.watchdog();
  watchdog_timer.expires_after(*interval);
  watchdog_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) ping_watchdog();
  });
}

void Daemon::Impl::update_status() {
  std::string line = status_line(engine->summary());
  if (line == last_status) return;
  last_status = std::move(line);
  (void)notifier.status(last_status);
  (void)repo->set_meta("daemon_status", last_status);  // for seedancectl; not critical
  spdlog::debug("status: {}", last_status);
}

}  // namespace sd
