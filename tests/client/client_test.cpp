// The real PiapiClient over loopback against the real simulator
// (sd::sim::SimServer): every endpoint, every asset and task path and every
// fault mode, asserting on /sim/stats, the simulator's ground truth.
#include "client/piapi_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "client_test_util.hpp"
#include "core/api.hpp"
#include "sim/server.hpp"

namespace sd {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using test::run_on;

constexpr auto kDeadline = std::chrono::seconds(10);

sim::SimOptions fast_sim() {
  sim::SimOptions o;
  o.speed = 1000;  // a 150 s render takes 150 ms
  o.seed = 7;
  return o;
}

std::string task_body(std::string prompt, std::vector<std::string> images = {},
                      std::string type = "seedance-2-fast-less-restriction") {
  TaskSpec r;
  r.task_type = std::move(type);
  r.prompt = std::move(prompt);
  r.image_urls = std::move(images);
  r.duration = 5;
  r.aspect_ratio = "16:9";
  r.resolution = "480p";
  return create_task_body(r);
}

int64_t stat(const json& s, const std::string& pointer) {
  const auto p = json::json_pointer(pointer);
  return s.contains(p) && s[p].is_number() ? s[p].get<int64_t>() : 0;
}

class SimClient : public ::testing::Test {
 protected:
  void start(sim::SimOptions o = fast_sim(), ClientOptions c = {}) {
    auto s = sim::SimServer::start(std::move(o));
    ASSERT_TRUE(s) << s.error().message();
    sim_ = std::move(*s);
    c.base_url = sim_->base_url();
    if (c.api_key.empty()) c.api_key = "sim-key";
    if (c.timeout == std::chrono::seconds(30)) c.timeout = std::chrono::seconds(5);
    auto client = PiapiClient::create(ioc_.get_executor(), std::move(c));
    ASSERT_TRUE(client) << client.error().message();
    client_ = std::move(*client);
  }

  template <class T>
  T run(asio::awaitable<T> aw) {
    return run_on(ioc_, std::move(aw));
  }

  // Polls get_asset until the asset leaves Processing or the deadline passes.
  ApiResult<RemoteAsset> wait_asset(const std::string& id) {
    return run([](PiapiClient& c, std::string id) -> asio::awaitable<ApiResult<RemoteAsset>> {
      const auto deadline = std::chrono::steady_clock::now() + kDeadline;
      asio::steady_timer timer(co_await asio::this_coro::executor);
      for (;;) {
        auto a = co_await c.get_asset(id);
        if (!a || a->status != RemoteAssetStatus::kProcessing ||
            std::chrono::steady_clock::now() > deadline) {
          co_return a;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(asio::use_awaitable);
      }
    }(*client_, id));
  }

  // Polls get_task until the task is terminal or the deadline passes.
  ApiResult<RemoteTask> wait_task(const std::string& id) {
    return run([](PiapiClient& c, std::string id) -> asio::awaitable<ApiResult<RemoteTask>> {
      const auto deadline = std::chrono::steady_clock::now() + kDeadline;
      asio::steady_timer timer(co_await asio::this_coro::executor);
      for (;;) {
        auto t = co_await c.get_task(id);
        if (!t || t->status == RemoteTaskStatus::kCompleted ||
            t->status == RemoteTaskStatus::kFailed || std::chrono::steady_clock::now() > deadline) {
          co_return t;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(asio::use_awaitable);
      }
    }(*client_, id));
  }

  json stats() const { return sim_->stats(); }

  asio::io_context ioc_;
  std::unique_ptr<sim::SimServer> sim_;
  std::unique_ptr<PiapiClient> client_;
};

// --- assets ------------------------------------------------------------

TEST_F(SimClient, AssetUploadGetListDelete) {
  start();
  UploadAssetRequest req{"https://cdn.example.com/hero.png", MediaType::kImage,
                         "seedanced-hero-0011223344556677"};
  auto up = run(client_->upload_asset(req));
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->asset_id.rfind("asset-", 0), 0u) << up->asset_id;
  EXPECT_EQ(up->status, RemoteAssetStatus::kProcessing);
  EXPECT_EQ(stat(stats(), "/uploads"), 1);

  auto active = wait_asset(up->asset_id);
  ASSERT_TRUE(active) << active.error().message;
  EXPECT_EQ(active->status, RemoteAssetStatus::kActive);
  EXPECT_TRUE(active->expires_at.has_value());

  auto list = run(client_->list_assets());
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].asset_id, up->asset_id);
  EXPECT_EQ((*list)[0].name, req.name);
  EXPECT_EQ((*list)[0].status, RemoteAssetStatus::kActive);

  auto del = run(client_->delete_asset(up->asset_id));
  ASSERT_TRUE(del) << del.error().message;
  auto gone = run(client_->get_asset(up->asset_id));
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().not_found());
  EXPECT_EQ(gone.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(gone.error().message, "asset not found");

  const json s = stats();
  EXPECT_EQ(stat(s, "/uploads"), 1);
  EXPECT_EQ(stat(s, "/deletes"), 1);
  EXPECT_GE(stat(s, "/polls/asset_get"), 2);
  EXPECT_EQ(stat(s, "/polls/asset_list"), 1);
}

TEST_F(SimClient, FailedAssetCarriesItsError) {
  start();
  auto up =
      run(client_->upload_asset({"https://cdn.example.com/fail.png", MediaType::kImage, "x"}));
  ASSERT_TRUE(up) << up.error().message;
  auto a = wait_asset(up->asset_id);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, RemoteAssetStatus::kFailed);
  EXPECT_FALSE(a->error.empty());
}

TEST_F(SimClient, AssetListFollowsEveryPage) {
  sim::SimOptions o = fast_sim();
  o.asset_quota = 300;
  start(o);
  std::set<std::string> uploaded;
  for (int i = 0; i < 230; ++i) {
    auto up = run(client_->upload_asset({"https://cdn.example.com/img" + std::to_string(i) + ".png",
                                         MediaType::kImage, "n" + std::to_string(i)}));
    ASSERT_TRUE(up) << up.error().message;
    uploaded.insert(up->asset_id);
  }
  auto list = run(client_->list_assets());
  ASSERT_TRUE(list) << list.error().message;
  std::set<std::string> listed;
  for (const auto& a : *list) listed.insert(a.asset_id);
  EXPECT_EQ(list->size(), 230u);
  EXPECT_EQ(listed, uploaded);
  EXPECT_EQ(stat(stats(), "/polls/asset_list"), 3);  // pages of 100: 100 + 100 + 30
}

TEST_F(SimClient, EmptyAssetListIsOnePage) {
  start();
  auto list = run(client_->list_assets());
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(stat(stats(), "/polls/asset_list"), 1);
}

TEST_F(SimClient, AssetQuotaIsPermanentWithMessage) {
  sim::SimOptions o = fast_sim();
  o.asset_quota = 1;
  start(o);
  ASSERT_TRUE(
      run(client_->upload_asset({"https://cdn.example.com/a.png", MediaType::kImage, "a"})));
  auto second =
      run(client_->upload_asset({"https://cdn.example.com/b.png", MediaType::kImage, "b"}));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ApiError::Kind::kPermanent);
  EXPECT_FALSE(second.error().maybe_processed);
  EXPECT_EQ(second.error().http_status, 400);
  EXPECT_EQ(second.error().message, "asset quota exceeded");
}

// --- tasks -------------------------------------------------------------

TEST_F(SimClient, TaskWithAssetRunsToCompletionAndDownloads) {
  sim::SimOptions o = fast_sim();
  o.video_bytes = 300 * 1024;
  start(o);
  auto up =
      run(client_->upload_asset({"https://cdn.example.com/hero.png", MediaType::kImage, "h"}));
  ASSERT_TRUE(up);
  ASSERT_EQ(wait_asset(up->asset_id)->status, RemoteAssetStatus::kActive);

  auto created = run(client_->create_task(task_body("Image 1 walks", {"asset://" + up->asset_id})));
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE(created->task_id.empty());
  EXPECT_EQ(created->status, RemoteTaskStatus::kPending);

  auto done = wait_task(created->task_id);
  ASSERT_TRUE(done) << done.error().message;
  ASSERT_EQ(done->status, RemoteTaskStatus::kCompleted);
  ASSERT_FALSE(done->video_url.empty());

  test::ClientTempDir dir;
  auto d = run(client_->download(done->video_url, dir.file("hero.mp4")));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->bytes, 300u * 1024);
  EXPECT_EQ(test::read_whole_file(dir.file("hero.mp4")).size(), 300u * 1024);
  EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"hero.mp4"});

  const json s = stats();
  EXPECT_EQ(stat(s, "/task_creates"), 1);
  EXPECT_EQ(stat(s, "/duplicate_creates"), 0);
  EXPECT_EQ(stat(s, "/creates_with_inactive_asset"), 0);
  EXPECT_EQ(stat(s, "/downloads"), 1);
  EXPECT_GE(stat(s, "/polls/task_get"), 1);
}

TEST_F(SimClient, ContentRejectionIsAFailedTaskWithCode10003) {
  start();
  auto created = run(client_->create_task(task_body("a forbidden scene")));
  ASSERT_TRUE(created) << created.error().message;
  auto t = wait_task(created->task_id);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, RemoteTaskStatus::kFailed);
  EXPECT_EQ(t->error_code, 10003);
  EXPECT_EQ(t->error_message, "Your content violated community guidelines.");
}

TEST_F(SimClient, AssetOnStrictTypeIs422PermanentVerbatim) {
  start();
  auto r = run(client_->create_task(
      task_body("Image 1", {"asset://asset-20260101000000-abcde"}, "seedance-2-fast")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(r.error().http_status, 422);
  EXPECT_EQ(r.error().api_code, 422);
  EXPECT_FALSE(r.error().maybe_processed);
  EXPECT_EQ(r.error().message, "asset:// references require a -less-restriction task type");
  EXPECT_EQ(stat(stats(), "/task_creates"), 0);
  EXPECT_EQ(stat(stats(), "/rejections/asset_ref_strict_type"), 1);
}

TEST_F(SimClient, InvalidInputIs400Permanent) {
  start();
  TaskSpec req;
  req.task_type = "seedance-2-fast";
  req.prompt = "p";
  req.duration = 99;
  auto r = run(client_->create_task(create_task_body(req)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_NE(r.error().message.find("duration"), std::string::npos);
}

TEST_F(SimClient, UnknownTaskIsNotFound) {
  start();
  auto r = run(client_->get_task("00000000-0000-4000-8000-000000000000"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().not_found());
  EXPECT_EQ(r.error().kind, ApiError::Kind::kPermanent);
}

TEST_F(SimClient, WrongKeyIs401PermanentAndKeyNotInMessage) {
  ClientOptions c;
  c.api_key = "wrong-key-7781";
  start(fast_sim(), c);
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(r.error().http_status, 401);
  EXPECT_FALSE(r.error().maybe_processed);
  EXPECT_EQ(r.error().message.find("wrong-key-7781"), std::string::npos);
  EXPECT_EQ(stat(stats(), "/task_creates"), 0);
}

TEST_F(SimClient, KeepAliveAcrossManyCalls) {
  start();
  for (int i = 0; i < 20; ++i) {
    auto r = run(client_->get_task("00000000-0000-4000-8000-000000000000"));
    ASSERT_FALSE(r);
    ASSERT_TRUE(r.error().not_found()) << r.error().message;
  }
  EXPECT_EQ(stat(stats(), "/polls/task_get"), 20);
}

// --- faults (each at rate 1.0, on creates only) ---------------------------

sim::SimOptions with_fault(double sim::FaultRates::*rate) {
  sim::SimOptions o = fast_sim();
  o.faults.*rate = 1.0;
  o.faults.paths = {"POST /api/v1/task", "POST /api/v1/asset/upload"};
  return o;
}

TEST_F(SimClient, Fault5xxOnCreateIsTransientAndNotProcessed) {
  start(with_fault(&sim::FaultRates::http_5xx));
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_EQ(r.error().http_status, 500);
  EXPECT_FALSE(r.error().maybe_processed);  // PiAPI's JSON error: refused, safe to resend
  EXPECT_EQ(stat(stats(), "/faults/http_5xx"), 1);
  EXPECT_EQ(stat(stats(), "/task_creates"), 0);
}

TEST_F(SimClient, Fault429CarriesRetryAfterAndWasNotProcessed) {
  start(with_fault(&sim::FaultRates::http_429));
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_EQ(r.error().http_status, 429);
  EXPECT_FALSE(r.error().maybe_processed);
  EXPECT_EQ(r.error().retry_after, Duration(15'000));
  EXPECT_EQ(stat(stats(), "/task_creates"), 0);
}

TEST_F(SimClient, FaultResetBeforeProcessingIsStillOutcomeUnknownToTheClient) {
  // The request was written completely before the reset: the client cannot
  // know whether the server acted on it.
  start(with_fault(&sim::FaultRates::reset_before));
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_TRUE(r.error().maybe_processed);
  EXPECT_EQ(r.error().http_status, 0);
  EXPECT_EQ(stat(stats(), "/faults/reset_before"), 1);
  EXPECT_EQ(stat(stats(), "/task_creates"), 0);
}

TEST_F(SimClient, LostCreateResponseIsOutcomeUnknownAndTheTaskExists) {
  start(with_fault(&sim::FaultRates::reset_after));
  auto r = run(client_->create_task(task_body("lost reply")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_TRUE(r.error().maybe_processed);
  const json s = stats();
  EXPECT_EQ(stat(s, "/faults/reset_after"), 1);
  EXPECT_EQ(stat(s, "/task_creates"), 1);  // the dangerous case: it exists, the reply is lost
  EXPECT_EQ(stat(s, "/duplicate_creates"), 0);
}

TEST_F(SimClient, LostUploadResponseIsOutcomeUnknownAndTheAssetExists) {
  start(with_fault(&sim::FaultRates::reset_after));
  auto r = run(client_->upload_asset({"https://cdn.example.com/a.png", MediaType::kImage, "a"}));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().maybe_processed);
  EXPECT_EQ(stat(stats(), "/uploads"), 1);
}

TEST_F(SimClient, CreateThatNeverLeftIsNotProcessed) {
  // A port with nothing listening: the connect fails, nothing was sent.
  uint16_t port = 0;
  {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  ClientOptions c;
  c.base_url = "http://127.0.0.1:" + std::to_string(port);
  c.api_key = "sim-key";
  auto client = PiapiClient::create(ioc_.get_executor(), c);
  ASSERT_TRUE(client);
  auto r = run((*client)->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_FALSE(r.error().maybe_processed);
  EXPECT_EQ(r.error().http_status, 0);
}

TEST_F(SimClient, FaultHtmlBodyIsTransient503) {
  start(with_fault(&sim::FaultRates::html_body));
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_EQ(r.error().http_status, 503);
  EXPECT_FALSE(r.error().maybe_processed);  // answered at the edge
  EXPECT_NE(r.error().message.find("HTML"), std::string::npos) << r.error().message;
  EXPECT_EQ(stat(stats(), "/task_creates"), 0);
}

TEST_F(SimClient, FaultTruncatedBodyIsTransientOutcomeUnknown) {
  start(with_fault(&sim::FaultRates::truncated_body));
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_TRUE(r.error().maybe_processed);
  EXPECT_EQ(r.error().http_status, 200);
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  EXPECT_EQ(stat(stats(), "/task_creates"), 1);
}

TEST_F(SimClient, FaultLatencyBeyondTimeoutIsOutcomeUnknown) {
  sim::SimOptions o = with_fault(&sim::FaultRates::latency);
  o.faults.latency_ms = 400;
  ClientOptions c;
  c.timeout = std::chrono::milliseconds(100);
  start(o, c);
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_TRUE(r.error().maybe_processed);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
}

TEST_F(SimClient, FaultLatencyWithinTimeoutSucceeds) {
  sim::SimOptions o = with_fault(&sim::FaultRates::latency);
  o.faults.latency_ms = 50;
  start(o);
  auto r = run(client_->create_task(task_body("p")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(stat(stats(), "/faults/latency"), 1);
  EXPECT_EQ(stat(stats(), "/task_creates"), 1);
}

TEST_F(SimClient, FaultsOnPollsAreTransient) {
  sim::SimOptions o = fast_sim();
  o.faults.http_5xx = 1.0;
  o.faults.paths = {"GET /api/v1/task/"};
  start(o);
  auto created = run(client_->create_task(task_body("p")));
  ASSERT_TRUE(created) << created.error().message;
  auto r = run(client_->get_task(created->task_id));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_EQ(r.error().http_status, 500);
  EXPECT_EQ(stat(stats(), "/faults/http_5xx"), 1);
}

TEST_F(SimClient, ResetOnGetOverReusedConnectionIsRetriedOnceThenReported) {
  sim::SimOptions o = fast_sim();
  o.faults.reset_before = 1.0;
  o.faults.paths = {"GET /api/v1/asset/list"};
  start(o);
  // Warm the pool with one good call, so the list goes out on a reused connection.
  ASSERT_TRUE(run(client_->create_task(task_body("p"))));
  auto r = run(client_->list_assets());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_EQ(stat(stats(), "/faults/reset_before"), 2);  // the retry on a fresh connection
}

}  // namespace
}  // namespace sd
