// The real PiapiClient against RawServer, a scripted loopback server, for the
// transport behaviour the simulator cannot show: chunked bodies, header
// casing, Connection: close, keep-alive connections the server drops while
// idle, the pool bound, redirects, size limits, Retry-After dates, TLS
// verification with a certificate made at test time.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "client/piapi_client.hpp"
#include "client_test_util.hpp"

namespace sd {
namespace {

namespace asio = boost::asio;
using test::http_reply;
using test::RawAction;
using test::RawRequest;
using test::RawServer;
using test::run_on;

const std::string kKey = "test-key-5f2b9c";
const std::string kTaskJson = R"({"code":200,"data":{"task_id":"t-1","status":"processing"}})";

std::unique_ptr<PiapiClient> make_client(asio::io_context& ioc, const std::string& base,
                                         ClientOptions o = {}) {
  o.base_url = base;
  o.api_key = kKey;
  if (o.timeout == std::chrono::seconds(30)) o.timeout = std::chrono::seconds(5);
  auto c = PiapiClient::create(ioc.get_executor(), std::move(o));
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  return c ? std::move(*c) : nullptr;
}

RawAction ok_task(bool close = false) {
  std::string extra = close ? "Connection: close\r\n" : "";
  return RawAction{http_reply(200, kTaskJson, extra), 0, close, false};
}

TEST(PiapiClientCreate, RejectsPlainHttpToNonLoopbackAndBadUrls) {
  asio::io_context ioc;
  auto mk = [&](std::string url) {
    ClientOptions o;
    o.base_url = std::move(url);
    o.api_key = kKey;
    return PiapiClient::create(ioc.get_executor(), o);
  };
  EXPECT_FALSE(mk("http://api.piapi.ai"));
  EXPECT_FALSE(mk("http://10.1.2.3:80"));
  EXPECT_FALSE(mk("ftp://127.0.0.1"));
  EXPECT_FALSE(mk("not a url"));
  EXPECT_TRUE(mk("https://api.piapi.ai"));
  EXPECT_TRUE(mk("http://127.0.0.1:1"));
  EXPECT_TRUE(mk("http://localhost:1"));
  EXPECT_TRUE(mk("http://[::1]:1"));
  auto bad = mk("http://example.com");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("loopback"), std::string::npos);
}

TEST(PiapiClientTransport, SendsHeadersAndReadsChunkedBody) {
  RawServer srv([](int, int, const RawRequest&) {
    std::string body = kTaskJson;
    std::string chunked;
    for (size_t i = 0; i < body.size(); i += 7) {
      std::string piece = body.substr(i, 7);
      char len[16];
      std::snprintf(len, sizeof len, "%zx", piece.size());
      chunked += std::string(len) + "\r\n" + piece + "\r\n";
    }
    chunked += "0\r\n\r\n";
    return RawAction{
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        "transfer-encoding: chunked\r\n\r\n" +
        chunked};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto t = run_on(ioc, client->get_task("t-1"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->task_id, "t-1");
  EXPECT_EQ(t->status, RemoteTaskStatus::kProcessing);
  auto seen = srv.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/api/v1/task/t-1");
  EXPECT_EQ(seen[0].header("x-api-key"), kKey);
  EXPECT_EQ(seen[0].header("accept"), "application/json");
  EXPECT_EQ(seen[0].header("host"), "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_NE(seen[0].header("user-agent"), "");
}

TEST(PiapiClientTransport, PostCarriesJsonBodyAndEscapesIds) {
  RawServer srv([](int, int, const RawRequest& r) {
    if (r.method == "POST") return ok_task();
    return RawAction{http_reply(200, R"({"asset_id":"a/b","status":"Active"})")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  const std::string body = R"({"model":"seedance","task_type":"x","input":{"prompt":"p"}})";
  ASSERT_TRUE(run_on(ioc, client->create_task(body)));
  ASSERT_TRUE(run_on(ioc, client->get_asset("a/b?c")));
  auto seen = srv.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/api/v1/task");
  EXPECT_EQ(seen[0].body, body);
  EXPECT_EQ(seen[0].header("content-type"), "application/json");
  EXPECT_EQ(seen[1].target, "/api/v1/asset/a%2Fb%3Fc");
}

TEST(PiapiClientTransport, KeepAliveReusesOneConnection) {
  RawServer srv([](int, int, const RawRequest&) { return ok_task(); });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(run_on(ioc, client->get_task("t-1")));
  EXPECT_EQ(srv.requests(), 5);
  EXPECT_EQ(srv.connections(), 1);
}

TEST(PiapiClientTransport, ConnectionCloseThenNewConnection) {
  RawServer srv([](int conn, int, const RawRequest&) { return ok_task(/*close=*/conn == 0); });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(run_on(ioc, client->get_task("t-1")));
  EXPECT_EQ(srv.requests(), 4);
  EXPECT_EQ(srv.connections(), 2);  // one closed by the server, then one kept alive
}

TEST(PiapiClientTransport, ServerClosedIdleConnectionIsReplacedSilently) {
  // The server closes every connection right after its first reply (as a CDN
  // does with idle keep-alive connections), without saying Connection: close.
  RawServer srv([](int, int, const RawRequest&) {
    RawAction a = ok_task();
    a.close_after = true;
    return a;
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  for (int i = 0; i < 3; ++i) {
    auto t = run_on(ioc, client->get_task("t-1"));
    ASSERT_TRUE(t) << t.error().message;
  }
  EXPECT_EQ(srv.requests(), 3);
}

TEST(PiapiClientTransport, StaleConnectionRacingAGetIsRetriedOnce) {
  // The second request on the first connection is read and dropped without a
  // reply: the race where the server closes an idle connection just as the
  // client reuses it. A GET must be retried on a fresh connection.
  RawServer srv([](int conn, int req, const RawRequest&) {
    RawAction a = ok_task();
    a.drop = conn == 0 && req == 1;
    return a;
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  ASSERT_TRUE(run_on(ioc, client->get_task("t-1")));
  auto t = run_on(ioc, client->get_task("t-1"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(srv.connections(), 2);
  EXPECT_EQ(srv.requests(), 3);
}

TEST(PiapiClientTransport, StaleConnectionRacingAPostIsOutcomeUnknownNotRetried) {
  RawServer srv([](int conn, int req, const RawRequest&) {
    RawAction a = ok_task();
    a.drop = conn == 0 && req == 1;
    return a;
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  ASSERT_TRUE(run_on(ioc, client->get_task("t-1")));
  auto t = run_on(ioc, client->create_task("{}"));
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().transient());
  EXPECT_TRUE(t.error().maybe_processed);  // it was written: the server may have acted on it
  EXPECT_EQ(srv.requests(), 2);            // never sent twice
}

TEST(PiapiClientTransport, PoolBoundsConcurrentConnections) {
  RawServer srv([](int, int, const RawRequest&) {
    RawAction a = ok_task();
    a.delay_ms = 30;
    return a;
  });
  asio::io_context ioc;
  ClientOptions o;
  o.max_connections = 2;
  auto client = make_client(ioc, srv.base_url(), o);
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(ioc, client->get_task("t-1"),
                   [&](std::exception_ptr e, ApiResult<RemoteTask> r) {
                     if (!e && r) ++ok;
                   });
  }
  ioc.run();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(srv.requests(), 8);
  EXPECT_LE(srv.max_concurrent(), 2);
  EXPECT_LE(srv.connections(), 2);
}

TEST(PiapiClientTransport, RetryAfterAsHttpDateUsesTheInjectedClock) {
  RawServer srv([](int, int, const RawRequest&) {
    return RawAction{http_reply(429, R"({"code":429,"message":"slow down"})",
                                "retry-after: Sun, 06 Nov 1994 08:50:07 GMT\r\n")};
  });
  asio::io_context ioc;
  ManualClock clock(from_millis(int64_t{784111777} * 1000));  // 08:49:37
  ClientOptions o;
  o.clock = &clock;
  auto client = make_client(ioc, srv.base_url(), o);
  auto t = run_on(ioc, client->create_task("{}"));
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().transient());
  EXPECT_FALSE(t.error().maybe_processed);
  EXPECT_EQ(t.error().http_status, 429);
  EXPECT_EQ(t.error().message, "slow down");
  EXPECT_EQ(t.error().retry_after, Duration(30'000));
}

TEST(PiapiClientTransport, RedirectOnApiCallIsAnErrorNotFollowed) {
  RawServer srv([](int, int, const RawRequest&) {
    return RawAction{http_reply(301, "", "Location: https://elsewhere.example/\r\n", "")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto t = run_on(ioc, client->get_task("t-1"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(t.error().http_status, 301);
  EXPECT_EQ(srv.requests(), 1);
}

TEST(PiapiClientTransport, OversizedReplyIsAnError) {
  RawServer srv([](int, int, const RawRequest&) {
    return RawAction{http_reply(200, R"({"task_id":"t","pad":")" + std::string(4096, 'x') + "\"}")};
  });
  asio::io_context ioc;
  ClientOptions o;
  o.max_body_bytes = 1024;
  auto client = make_client(ioc, srv.base_url(), o);
  auto t = run_on(ioc, client->get_task("t"));
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().transient());
  EXPECT_NE(t.error().message.find("larger"), std::string::npos);
}

TEST(PiapiClientTransport, ApiKeyEchoedByServerIsRedacted) {
  RawServer srv([](int, int, const RawRequest& r) {
    return RawAction{http_reply(
        401, R"({"code":401,"message":"Invalid API key )" + r.header("x-api-key") + "\"}")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto t = run_on(ioc, client->get_task("t"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(t.error().message.find(kKey), std::string::npos) << t.error().message;
}

TEST(PiapiClientTransport, ReadTimeoutIsOutcomeUnknown) {
  RawServer srv([](int, int, const RawRequest&) {
    RawAction a = ok_task();
    a.delay_ms = 600;
    return a;
  });
  asio::io_context ioc;
  ClientOptions o;
  o.timeout = std::chrono::milliseconds(100);
  auto client = make_client(ioc, srv.base_url(), o);
  const auto start = std::chrono::steady_clock::now();
  auto t = run_on(ioc, client->create_task("{}"));
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().transient());
  EXPECT_TRUE(t.error().maybe_processed);
  EXPECT_NE(t.error().message.find("timed out"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(550));
}

// Waits (with a deadline) until the server has closed every connection.
bool server_closed_all(const RawServer& srv) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (srv.open_connections() > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(PiapiClientTransport, IdleConnectionClosedByServerDoesNotMakeAPostUncertain) {
  RawServer srv([](int, int, const RawRequest&) {
    RawAction a = ok_task();
    a.close_after = true;  // no Connection: close header: the client believes it is reusable
    return a;
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  ASSERT_TRUE(run_on(ioc, client->get_task("t-1")));
  ASSERT_TRUE(server_closed_all(srv));
  auto t = run_on(ioc, client->create_task("{}"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(srv.connections(), 2);
  EXPECT_EQ(srv.requests(), 2);
}

// --- asset list paging ---------------------------------------------------

// "?page=N" of a request target, 1 when absent.
int page_of(const std::string& target) {
  const size_t p = target.find("page=");
  return p == std::string::npos ? 1 : std::atoi(target.c_str() + p + 5);
}

std::string items(int from, int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i) out += ",";
    out += R"({"asset_id":"asset-)" + std::to_string(from + i) + R"(","status":"Active"})";
  }
  return out + "]";
}

TEST(PiapiClientList, FollowsTotalWhenTheServerCapsPageSize) {
  // The server ignores page_size=100 and serves 2 per page; 5 in total.
  RawServer srv([](int, int, const RawRequest& r) {
    const int page = page_of(r.target);
    const int n = std::max(0, std::min(2, 5 - (page - 1) * 2));
    return RawAction{http_reply(
        200, R"({"items":)" + items((page - 1) * 2, n) + R"(,"total":5,"page_size":2})")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto l = run_on(ioc, client->list_assets());
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->size(), 5u);
  EXPECT_EQ(srv.requests(), 3);
  EXPECT_NE(srv.seen()[0].target.find("page_size=100"), std::string::npos);
}

TEST(PiapiClientList, FollowsHasMoreInAnEnvelope) {
  RawServer srv([](int, int, const RawRequest& r) {
    const int page = page_of(r.target);
    const std::string more = page < 3 ? "true" : "false";
    return RawAction{http_reply(200, R"({"code":200,"data":{"items":)" + items(page * 10, 1) +
                                         R"(,"has_more":)" + more + "}}")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto l = run_on(ioc, client->list_assets());
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->size(), 3u);
  EXPECT_EQ(srv.requests(), 3);
}

TEST(PiapiClientList, ServerThatIgnoresPagingIsAnErrorNotALoop) {
  RawServer srv([](int, int, const RawRequest&) {
    return RawAction{http_reply(200, R"({"items":)" + items(0, 3) + R"(,"has_more":true})")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto l = run_on(ioc, client->list_assets());
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().transient());
  EXPECT_EQ(srv.requests(), 2);
}

TEST(PiapiClientList, ShortPageWithoutPagingInfoEnds) {
  RawServer srv([](int, int, const RawRequest&) {
    return RawAction{http_reply(200, R"({"items":)" + items(0, 3) + "}")};
  });
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto l = run_on(ioc, client->list_assets());
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->size(), 3u);
  EXPECT_EQ(srv.requests(), 1);
}

TEST(PiapiClientTransport, ShutdownFailsQueuedCallsAndLetsInFlightOnesFinish) {
  RawServer srv([](int, int, const RawRequest&) {
    RawAction a = ok_task();
    a.delay_ms = 100;
    return a;
  });
  asio::io_context ioc;
  ClientOptions o;
  o.max_connections = 1;
  auto client = make_client(ioc, srv.base_url(), o);
  std::optional<ApiResult<RemoteTask>> first, second;
  asio::co_spawn(ioc, client->get_task("t-1"),
                 [&](std::exception_ptr, ApiResult<RemoteTask> r) { first = std::move(r); });
  asio::co_spawn(ioc, client->get_task("t-1"),
                 [&](std::exception_ptr, ApiResult<RemoteTask> r) { second = std::move(r); });
  asio::steady_timer timer(ioc, std::chrono::milliseconds(30));
  timer.async_wait([&](boost::system::error_code) { client->shutdown(); });
  ioc.run();
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(*first) << first->error().message;
  ASSERT_FALSE(*second);
  EXPECT_FALSE(second->error().maybe_processed);
  EXPECT_NE(second->error().message.find("shutting down"), std::string::npos);
  EXPECT_EQ(srv.requests(), 1);
}

// --- downloads ---------------------------------------------------------

TEST(PiapiClientDownload, FollowsRedirectsAndWritesAtomically) {
  const std::string video(100'000, 'v');
  RawServer srv([&](int, int, const RawRequest& r) {
    if (r.target == "/a") return RawAction{http_reply(302, "", "Location: /b/c?sig=1\r\n", "")};
    if (r.target == "/b/c?sig=1")
      return RawAction{http_reply(307, "", "location: final.mp4\r\n", "")};
    if (r.target == "/b/final.mp4") return RawAction{http_reply(200, video, "", "video/mp4")};
    return RawAction{http_reply(404, "nope", "", "text/plain")};
  });
  test::ClientTempDir dir;
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto d = run_on(ioc, client->download(srv.base_url() + "/a", dir.file("out.mp4")));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->bytes, video.size());
  EXPECT_EQ(d->path, dir.file("out.mp4"));
  EXPECT_EQ(test::read_whole_file(dir.file("out.mp4")), video);
  EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"out.mp4"});
  for (const auto& r : srv.seen()) EXPECT_EQ(r.header("x-api-key"), "");  // never to a CDN
}

TEST(PiapiClientDownload, NotFoundIsPermanentAndLeavesNoFile) {
  RawServer srv([](int, int, const RawRequest&) {
    return RawAction{http_reply(404, "<html>gone</html>", "", "text/html")};
  });
  test::ClientTempDir dir;
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto d = run_on(ioc, client->download(srv.base_url() + "/v.mp4", dir.file("out.mp4")));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, ApiError::Kind::kPermanent);
  EXPECT_TRUE(d.error().not_found());
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(PiapiClientDownload, ServerErrorIsTransient) {
  RawServer srv([](int, int, const RawRequest&) { return RawAction{http_reply(502, "bad")}; });
  test::ClientTempDir dir;
  asio::io_context ioc;
  auto client = make_client(ioc, srv.base_url());
  auto d = run_on(ioc, client->download(srv.base_url() + "/v.mp4", dir.file("out.mp4")));
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().transient());
  EXPECT_EQ(d.error().http_status, 502);
}

TEST(PiapiClientDownload, SizeLimitAndTruncationRemoveThePartFile) {
  RawServer srv([](int, int, const RawRequest& r) {
    if (r.target == "/big")
      return RawAction{http_reply(200, std::string(5000, 'x'), "", "video/mp4")};
    // Chunked (no Content-Length up front), over the limit.
    if (r.target == "/bigchunked") {
      std::string body = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 10; ++i) body += "3e8\r\n" + std::string(1000, 'y') + "\r\n";
      body += "0\r\n\r\n";
      return RawAction{body};
    }
    // Promises 1500 bytes (within the limit), sends 100, closes.
    return RawAction{"HTTP/1.1 200 OK\r\nContent-Length: 1500\r\n\r\n" + std::string(100, 'z'), 0,
                     true};
  });
  test::ClientTempDir dir;
  asio::io_context ioc;
  ClientOptions o;
  o.max_download_bytes = 2000;
  auto client = make_client(ioc, srv.base_url(), o);
  for (const char* target : {"/big", "/bigchunked"}) {
    auto d = run_on(ioc, client->download(srv.base_url() + target, dir.file("out.mp4")));
    ASSERT_FALSE(d) << target;
    EXPECT_EQ(d.error().kind, ApiError::Kind::kPermanent) << target;
    EXPECT_TRUE(test::list_dir(dir.path()).empty()) << target;
  }
  auto cut = run_on(ioc, client->download(srv.base_url() + "/cut", dir.file("out.mp4")));
  ASSERT_FALSE(cut);
  EXPECT_TRUE(cut.error().transient());
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(PiapiClientDownload, RejectsPlainHttpToOtherHosts) {
  test::ClientTempDir dir;
  asio::io_context ioc;
  auto client = make_client(ioc, "http://127.0.0.1:1");
  auto d = run_on(ioc, client->download("http://example.com/v.mp4", dir.file("out.mp4")));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, ApiError::Kind::kPermanent);
  EXPECT_NE(d.error().message.find("loopback"), std::string::npos);
}

// --- TLS -----------------------------------------------------------------

TEST(PiapiClientTls, VerifiesAgainstGivenCaAndRejectsUnknownCert) {
  test::ClientTempDir dir;
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=seedanced-test -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed for this test";
  RawServer srv([](int, int, const RawRequest&) { return ok_task(); }, cert, key);
  {
    asio::io_context ioc;
    ClientOptions o;
    o.ca_file = cert;
    auto client = make_client(ioc, srv.base_url(), o);
    for (int i = 0; i < 2; ++i) {
      auto t = run_on(ioc, client->get_task("t-1"));
      ASSERT_TRUE(t) << t.error().message;
    }
    EXPECT_EQ(srv.connections(), 1);  // TLS connection kept alive and reused
  }
  {
    asio::io_context ioc;
    auto client = make_client(ioc, srv.base_url());
    auto t = run_on(ioc, client->create_task("{}"));
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().transient());
    EXPECT_FALSE(t.error().maybe_processed);  // failed at the handshake: never sent
    EXPECT_NE(t.error().message.find("TLS handshake"), std::string::npos) << t.error().message;
  }
  {
    // The certificate names 127.0.0.1 only: "localhost" must fail verification.
    asio::io_context ioc;
    ClientOptions o;
    o.ca_file = cert;
    auto client = make_client(ioc, "https://localhost:" + std::to_string(srv.port()), o);
    auto t = run_on(ioc, client->get_task("t-1"));
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("TLS handshake"), std::string::npos) << t.error().message;
  }
  EXPECT_EQ(srv.requests(), 2);
}

TEST(PiapiClientTls, IdleTlsConnectionClosedWithCloseNotifyIsNotReused) {
  test::ClientTempDir dir;
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=seedanced-test -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed for this test";
  RawServer srv(
      [](int, int, const RawRequest&) {
        RawAction a = ok_task();
        a.close_after = true;
        return a;
      },
      cert, key);
  asio::io_context ioc;
  ClientOptions o;
  o.ca_file = cert;
  auto client = make_client(ioc, srv.base_url(), o);
  ASSERT_TRUE(run_on(ioc, client->get_task("t-1")));
  ASSERT_TRUE(server_closed_all(srv));
  auto t = run_on(ioc, client->create_task("{}"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(srv.connections(), 2);
  EXPECT_EQ(srv.requests(), 2);
}

}  // namespace
}  // namespace sd
