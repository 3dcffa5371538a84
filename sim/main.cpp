// piapi-sim: the PiAPI simulator as a program. A thin main around SimServer:
// flags -> SimOptions -> start -> print the URL -> wait for SIGINT/SIGTERM.
#include <pthread.h>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "sim/server.hpp"

int main(int argc, char** argv) {
  sd::sim::SimOptions o;
  sd::sim::FaultRates& f = o.faults;
  CLI::App app{"piapi-sim: a PiAPI (Seedance + Private Asset Library) simulator on 127.0.0.1"};
  app.add_option("--port", o.port, "TCP port; 0 picks a free one")->capture_default_str();
  app.add_option("--api-key", o.api_key, "the X-API-Key clients must send")->capture_default_str();
  app.add_option("--speed", o.speed, "time scale: a 150 s render takes 150/speed s")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed for ids and fault decisions")->capture_default_str();
  app.add_option("--plan", o.plan, "free|hobbyist|developer|premium|enterprise")
      ->capture_default_str();
  app.add_option("--max-concurrent-tasks", o.max_concurrent_tasks,
                 "processing tasks at once; more are staged")
      ->capture_default_str();
  app.add_flag("!--no-staging", o.staging, "answer 429 instead of staging tasks over the limit");
  app.add_option("--asset-processing-s", o.asset_processing_s, "Processing -> Active (sim seconds)")
      ->capture_default_str();
  app.add_option("--task-queue-s", o.task_queue_s, "pending -> processing (sim seconds)")
      ->capture_default_str();
  app.add_option("--task-render-s", o.task_render_s, "processing -> completed (sim seconds)")
      ->capture_default_str();
  app.add_option("--reject-after-s", o.reject_after_s, "processing -> failed on rejection")
      ->capture_default_str();
  app.add_option("--fail-url-pattern", o.fail_url_pattern, "asset URLs containing this fail")
      ->capture_default_str();
  app.add_option("--reject-word", o.reject_word, "prompts containing this fail with 10003")
      ->capture_default_str();
  app.add_option("--video-bytes", o.video_bytes, "size of each output video")
      ->capture_default_str();
  app.add_option("--page-size-default", o.page_size_default, "asset list page size")
      ->capture_default_str();
  app.add_option("--page-size-max", o.page_size_max, "largest accepted page_size")
      ->capture_default_str();
  app.add_option("--asset-quota", o.asset_quota, "asset quota; 0 = the plan's")
      ->capture_default_str();
  app.add_option("--asset-ttl-s", o.asset_ttl_s, "idle TTL in sim seconds; 0 = the plan's")
      ->capture_default_str();
  app.add_option("--ephemeral-cap", o.ephemeral_cap, "concurrent auto-uploaded assets")
      ->capture_default_str();
  app.add_option("--idle-timeout-s", o.idle_timeout_s,
                 "close keep-alive connections idle this long")
      ->capture_default_str();
  app.add_option("--fault-5xx", f.http_5xx, "rate of 500 replies")->capture_default_str();
  app.add_option("--fault-429", f.http_429, "rate of 429 + Retry-After")->capture_default_str();
  app.add_option("--fault-reset-before", f.reset_before, "rate of resets before processing")
      ->capture_default_str();
  app.add_option("--fault-reset-after", f.reset_after, "rate of resets after processing")
      ->capture_default_str();
  app.add_option("--fault-html", f.html_body, "rate of HTML 503 pages")->capture_default_str();
  app.add_option("--fault-truncated", f.truncated_body, "rate of truncated bodies")
      ->capture_default_str();
  app.add_option("--fault-latency", f.latency, "rate of delayed replies")->capture_default_str();
  app.add_option("--latency-ms", f.latency_ms, "delay of a delayed reply")->capture_default_str();
  app.add_option("--retry-after-s", f.retry_after_s, "Retry-After of a 429")->capture_default_str();
  app.add_option(
      "--fault-path", f.paths,
      "restrict faults to requests starting with this (\"POST /api/v1/task\"); repeatable");
  app.add_option("--max-faults", f.max_faults, "stop injecting after this many; -1 = no limit")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before the server thread starts so that only
  // sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = sd::sim::SimServer::start(o);
  if (!server) {
    std::cerr << server.error().message() << "\n";
    return 1;
  }
  std::cout << "listening on " << (*server)->base_url() << std::endl;  // flushes

  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*server)->stop();
  return 0;
}
