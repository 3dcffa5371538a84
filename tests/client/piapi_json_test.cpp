// Tolerant parsing of PiAPI bodies, error classification, Retry-After and
// URL handling (client/piapi_json.hpp, client/url.hpp). Fast, no network.
#include "client/piapi_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/url.hpp"

namespace sd::piapi {
namespace {

TimePoint at(int64_t unix_s) {
  return from_millis(unix_s * 1000);
}

// --- assets ------------------------------------------------------------

TEST(PiapiJson, AssetBareObject) {
  auto a = parse_asset(
      R"({"asset_id":"asset-20260607154123-6nxk8","status":"Processing",
          "upload_at":"2026-06-07T15:41:23Z","expires_at":"2026-06-22T15:41:23Z"})");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->asset_id, "asset-20260607154123-6nxk8");
  EXPECT_EQ(a->status, RemoteAssetStatus::kProcessing);
  EXPECT_EQ(a->status_text, "Processing");
  ASSERT_TRUE(a->expires_at);
  EXPECT_EQ(*a->expires_at, *parse_rfc3339("2026-06-22T15:41:23Z"));
}

TEST(PiapiJson, AssetEnvelopedAnyCasingUnknownFields) {
  auto a = parse_asset(
      R"({"code":200,"message":"success","data":{"asset_id":"asset-1","status":"ACTIVE",
          "name":"seedanced-hero-abc","new_field":{"x":[1,2]},"error":null}})");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->asset_id, "asset-1");
  EXPECT_EQ(a->status, RemoteAssetStatus::kActive);
  EXPECT_EQ(a->name, "seedanced-hero-abc");
  EXPECT_EQ(a->error, "");
  EXPECT_FALSE(a->expires_at);
}

TEST(PiapiJson, AssetFailedCarriesErrorAsStringOrObject) {
  auto a = parse_asset(R"({"asset_id":"a","status":"failed","error":"multi-face violation"})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, RemoteAssetStatus::kFailed);
  EXPECT_EQ(a->error, "multi-face violation");
  auto b = parse_asset(
      R"({"data":{"id":"b","status":"Failed","error":{"code":"X","message":"fetch failed"}}})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->asset_id, "b");
  EXPECT_EQ(b->error, "fetch failed");
}

TEST(PiapiJson, AssetUnknownStatusAndMissingOptionalFields) {
  auto a = parse_asset(R"({"asset_id":"a"})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, RemoteAssetStatus::kUnknown);
  EXPECT_EQ(a->name, "");
  auto b = parse_asset(R"({"asset_id":"a","status":"Purging","expires_at":1750000000})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, RemoteAssetStatus::kUnknown);
  EXPECT_EQ(b->status_text, "Purging");
  EXPECT_EQ(*b->expires_at, at(1750000000));
}

TEST(PiapiJson, AssetWithoutIdIsTransientError) {
  auto a = parse_asset(R"({"status":"Active"})");
  ASSERT_FALSE(a);
  EXPECT_TRUE(a.error().transient());
  EXPECT_TRUE(a.error().maybe_processed);
}

TEST(PiapiJson, ZeroTimestampMeansUnset) {
  auto a = parse_asset(R"({"asset_id":"a","expires_at":"0001-01-01T00:00:00Z"})");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->expires_at);
}

// --- tasks -------------------------------------------------------------

TEST(PiapiJson, TaskCreateReplyFromTheDocs) {
  auto t = parse_task(R"({"code":200,"message":"success","data":{"task_id":"07ed43de-1",
   "model":"seedance","task_type":"seedance-2-preview","status":"pending",
   "config":{"service_mode":"","webhook_config":{"endpoint":"https://x","secret":""}},
   "input":{"prompt":"p"},"output":null,
   "meta":{"created_at":"2026-02-27T13:33:26.10346684Z","started_at":"0001-01-01T00:00:00Z",
     "usage":{"type":"llm","frozen":0,"consume":7500000},"is_using_private_pool":false},
   "detail":null,"logs":[],"error":{"code":0,"raw_message":"","message":"","detail":null}}})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->task_id, "07ed43de-1");
  EXPECT_EQ(t->status, RemoteTaskStatus::kPending);
  EXPECT_EQ(t->video_url, "");
  EXPECT_EQ(t->error_code, 0);
  EXPECT_TRUE(t->logs.empty());
}

TEST(PiapiJson, TaskCompletedWithVideoOrVideoUrl) {
  auto a = parse_task(
      R"({"data":{"task_id":"t","status":"Completed","output":{"video":"https://s/v.mp4"}}})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, RemoteTaskStatus::kCompleted);
  EXPECT_EQ(a->video_url, "https://s/v.mp4");
  auto b =
      parse_task(R"({"task_id":"t","status":"COMPLETED","output":{"video_url":"https://s/w"}})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, RemoteTaskStatus::kCompleted);
  EXPECT_EQ(b->video_url, "https://s/w");
}

TEST(PiapiJson, TaskFailedKeepsCodeMessageAndLogs) {
  auto t = parse_task(R"({"code":200,"data":{"task_id":"t","status":"failed",
    "error":{"code":10003,"raw_message":"raw","message":"Your content violated community guidelines."},
    "logs":["The request was rejected due to copyright restrictions.",{"message":"m2"},7]}})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, RemoteTaskStatus::kFailed);
  EXPECT_EQ(t->error_code, 10003);
  EXPECT_EQ(t->error_message, "Your content violated community guidelines.");
  ASSERT_EQ(t->logs.size(), 3u);
  EXPECT_EQ(t->logs[0], "The request was rejected due to copyright restrictions.");
  EXPECT_EQ(t->logs[1], "m2");
  EXPECT_EQ(t->logs[2], "7");
}

TEST(PiapiJson, TaskStatusesInAnyCasing) {
  const std::pair<const char*, RemoteTaskStatus> cases[] = {
      {"staged", RemoteTaskStatus::kStaged},         {"Staged", RemoteTaskStatus::kStaged},
      {"PROCESSING", RemoteTaskStatus::kProcessing}, {"Pending", RemoteTaskStatus::kPending},
      {"failed", RemoteTaskStatus::kFailed},         {"queued", RemoteTaskStatus::kUnknown},
  };
  for (auto [text, want] : cases) {
    auto t = parse_task(std::string(R"({"task_id":"t","status":")") + text + "\"}");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, want) << text;
  }
}

TEST(PiapiJson, TaskFieldsOfWrongTypeAreDefaulted) {
  auto t =
      parse_task(R"({"task_id":"t","status":5,"output":[1],"error":[2],"logs":"nope","meta":"x"})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->status, RemoteTaskStatus::kUnknown);
  EXPECT_EQ(t->video_url, "");
  EXPECT_EQ(t->error_code, 0);
}

TEST(PiapiJson, EnvelopeErrorInsideA200IsAnError) {
  auto t = parse_task(R"({"code":404,"message":"task not found","data":null})");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(t.error().http_status, 404);
  EXPECT_EQ(t.error().message, "task not found");
}

TEST(PiapiJson, ApplicationCodeInsideA200IsPermanent) {
  auto t = parse_task(R"({"code":10003,"message":"Your content violated community guidelines."})");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(t.error().http_status, 200);
  EXPECT_EQ(t.error().api_code, 10003);
  EXPECT_EQ(t.error().message, "Your content violated community guidelines.");
  EXPECT_FALSE(t.error().maybe_processed);
  // A bare object that merely has a "code" field is not an envelope.
  auto a = parse_asset(R"({"code":7,"asset_id":"a","status":"Active"})");
  ASSERT_TRUE(a);
  // A payload wins over a non-200 code.
  auto b = parse_asset(R"({"code":500,"message":"x","data":{"asset_id":"b"}})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->asset_id, "b");
}

// --- malformed bodies ----------------------------------------------------

TEST(PiapiJson, MalformedBodiesAreTransientErrorsNeverExceptions) {
  const std::string bodies[] = {
      "",
      "<html><body>Cloudflare: checking your browser</body></html>",
      R"({"task_id":"t","status":"pen)",
      "null",
      "[1,2,3]",
      "42",
      "\"text\"",
      R"({"data":[]})",
      std::string("{\"task_id\":\"\xff\xfe\"}"),
      std::string(100000, '['),
  };
  for (const auto& b : bodies) {
    auto t = parse_task(b);
    ASSERT_FALSE(t) << b.substr(0, 40);
    EXPECT_TRUE(t.error().transient());
    EXPECT_TRUE(t.error().maybe_processed);
    auto a = parse_asset(b);
    ASSERT_FALSE(a);
    EXPECT_TRUE(a.error().transient());
  }
  auto html = parse_task("<!DOCTYPE html><html>");
  EXPECT_NE(html.error().message.find("HTML"), std::string::npos);
}

// --- asset list ----------------------------------------------------------

TEST(PiapiJson, AssetPageTopLevelItemsWithTotal) {
  auto p = parse_asset_page(
      R"({"items":[{"asset_id":"a","status":"Active"},{"asset_id":"b","status":"processing"},
                   {"status":"Active"},"junk"],"total":7,"page":2,"page_size":2})");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->items.size(), 2u);
  EXPECT_EQ(p->items[1].status, RemoteAssetStatus::kProcessing);
  EXPECT_EQ(p->total, 7);
  EXPECT_EQ(p->page, 2);
  EXPECT_EQ(p->page_size, 2);
  EXPECT_FALSE(p->has_more);
}

TEST(PiapiJson, AssetPageInDataWithHasMoreOrNextPage) {
  auto p = parse_asset_page(
      R"({"code":200,"data":{"items":[{"asset_id":"a"}],"has_more":true,"next_page":3}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->items.size(), 1u);
  EXPECT_EQ(p->has_more, true);
  EXPECT_EQ(p->next_page, 3);
  auto q = parse_asset_page(R"({"data":{"items":[],"next_page":null}})");
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->next_page_null);
  auto r = parse_asset_page(R"({"data":[{"asset_id":"x"}],"pagination":{"total":"1"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->total, 1);
}

TEST(PiapiJson, AssetPageWithoutItemsIsAnErrorUnlessTotalIsZero) {
  EXPECT_FALSE(parse_asset_page(R"({"code":200,"message":"ok"})"));
  auto empty = parse_asset_page(R"({"total":0})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->items.empty());
}

TEST(PiapiJson, DeleteAcceptsEmptyOrAnyObject) {
  EXPECT_TRUE(parse_delete(""));
  EXPECT_TRUE(parse_delete(R"({"asset_id":"a","deleted":true})"));
  EXPECT_FALSE(parse_delete("<html>"));
}

// --- error replies -------------------------------------------------------

TEST(PiapiJson, FourXxWithMessageIsPermanentVerbatim) {
  const std::string msg = "asset:// references require a -less-restriction task type";
  auto e =
      error_from_reply(422, R"({"code":422,"message":")" + msg + R"(","data":null})", std::nullopt);
  EXPECT_EQ(e.kind, ApiError::Kind::kPermanent);
  EXPECT_EQ(e.http_status, 422);
  EXPECT_EQ(e.api_code, 422);
  EXPECT_EQ(e.message, msg);
  EXPECT_FALSE(e.maybe_processed);
  auto nf = error_from_reply(404, R"({"code":404,"message":"task not found"})", std::nullopt);
  EXPECT_TRUE(nf.not_found());
  EXPECT_EQ(nf.kind, ApiError::Kind::kPermanent);
}

TEST(PiapiJson, FiveXxIsTransientAndOnlyGatewayErrorsLeaveTheOutcomeUnknown) {
  // PiAPI answered with its own error: refused, safe to resend.
  auto e = error_from_reply(500, R"({"code":500,"message":"internal error"})", std::nullopt);
  EXPECT_TRUE(e.transient());
  EXPECT_FALSE(e.maybe_processed);
  EXPECT_EQ(e.message, "internal error");
  // A Cloudflare challenge or overload page is answered at the edge.
  auto html = error_from_reply(503, "<html>Attention Required! | Cloudflare</html>", std::nullopt);
  EXPECT_TRUE(html.transient());
  EXPECT_FALSE(html.maybe_processed);
  EXPECT_EQ(html.http_status, 503);
  EXPECT_NE(html.message.find("503"), std::string::npos);
  // Gateway errors and a bare 500 page may follow work the origin did.
  for (int status : {502, 504, 520, 524}) {
    auto g = error_from_reply(status, "<html>Bad gateway</html>", std::nullopt);
    EXPECT_TRUE(g.transient()) << status;
    EXPECT_TRUE(g.maybe_processed) << status;
  }
  auto bare = error_from_reply(500, "<html>Internal Server Error</html>", std::nullopt);
  EXPECT_TRUE(bare.maybe_processed);
  // A 200 whose body cannot be read: the request was processed.
  auto bad = error_from_reply(200, "<html>", std::nullopt);
  EXPECT_TRUE(bad.transient());
  EXPECT_TRUE(bad.maybe_processed);
}

TEST(PiapiJson, TooManyRequestsIsTransientNotProcessedWithRetryAfter) {
  auto e = error_from_reply(429, R"({"code":429,"message":"too many tasks"})", Duration(15000));
  EXPECT_TRUE(e.transient());
  EXPECT_FALSE(e.maybe_processed);
  EXPECT_EQ(e.retry_after, Duration(15000));
  EXPECT_EQ(e.message, "too many tasks");
}

TEST(PiapiJson, CdnChallengeAndRedirectClassification) {
  EXPECT_TRUE(error_from_reply(403, "<html>error 1010</html>", std::nullopt).transient());
  auto key = error_from_reply(403, R"({"code":403,"message":"plan does not support assets"})",
                              std::nullopt);
  EXPECT_EQ(key.kind, ApiError::Kind::kPermanent);
  auto redirect = error_from_reply(301, "", std::nullopt);
  EXPECT_EQ(redirect.kind, ApiError::Kind::kPermanent);
  EXPECT_FALSE(redirect.maybe_processed);
  EXPECT_EQ(error_from_reply(401, "", std::nullopt).kind, ApiError::Kind::kPermanent);
}

// --- Retry-After -------------------------------------------------------

TEST(RetryAfter, DeltaSeconds) {
  EXPECT_EQ(parse_retry_after("15", at(0)), Duration(15000));
  EXPECT_EQ(parse_retry_after(" 0 ", at(0)), Duration(0));
  EXPECT_FALSE(parse_retry_after("-5", at(0)));
  EXPECT_FALSE(parse_retry_after("1.5", at(0)));
  EXPECT_FALSE(parse_retry_after("", at(0)));
  EXPECT_FALSE(parse_retry_after("soon", at(0)));
  EXPECT_TRUE(parse_retry_after("99999999999999999999", at(0)));  // capped, no overflow
}

TEST(RetryAfter, HttpDateFormats) {
  // 1994-11-06T08:49:37Z = 784111777.
  const TimePoint want = at(784111777);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), want);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), want);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), want);
  EXPECT_FALSE(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"));
  EXPECT_FALSE(parse_http_date("yesterday"));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", want), Duration(30000));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", want), Duration(0));  // past
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), at(0));
  EXPECT_EQ(parse_http_date("Mon, 29 Feb 2044 23:59:59 GMT"), at(2340403199));
}

TEST(Rfc3339, FractionsAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), at(0));
  EXPECT_EQ(parse_rfc3339("2026-02-27T13:33:26.10346684Z"),
            *parse_rfc3339("2026-02-27T13:33:26Z") + Duration(103));
  EXPECT_EQ(parse_rfc3339("2026-02-27T15:33:26+02:00"), parse_rfc3339("2026-02-27T13:33:26Z"));
  EXPECT_FALSE(parse_rfc3339("2026-02-27"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-02-27T13:33:26Zjunk"));
}

TEST(PiapiJson, UploadBodySpellsAssetTypeAsDocumented) {
  UploadAssetRequest r{"https://cdn/x.mp4", MediaType::kVideo, "seedanced-clip-0123"};
  auto j = nlohmann::json::parse(upload_asset_body(r));
  EXPECT_EQ(j["url"], "https://cdn/x.mp4");
  EXPECT_EQ(j["asset_type"], "Video");
  EXPECT_EQ(j["name"], "seedanced-clip-0123");
}

// --- URLs --------------------------------------------------------------

TEST(Url, ParsesHostPortTarget) {
  auto u = parse_url("https://API.piapi.ai");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.piapi.ai");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->host_header(), "api.piapi.ai");
  auto v = parse_url("http://127.0.0.1:8080/sim/files/a.mp4?x=1#frag");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->tls);
  EXPECT_EQ(v->port, 8080);
  EXPECT_EQ(v->target, "/sim/files/a.mp4?x=1");
  EXPECT_EQ(v->host_header(), "127.0.0.1:8080");
  auto w = parse_url("http://[::1]:9/x");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->host_header(), "[::1]:9");
  EXPECT_FALSE(parse_url("ftp://x/y"));
  EXPECT_FALSE(parse_url("https://user:pw@host/"));
  EXPECT_FALSE(parse_url("https://host:99999/"));
  EXPECT_FALSE(parse_url("https:///path"));
  EXPECT_FALSE(parse_url("no-scheme"));
}

TEST(Url, LoopbackOnlyForPlainHttp) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.255.3.4"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.com"));
  EXPECT_FALSE(is_loopback_host("localhost.evil.com"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_TRUE(check_allowed(*parse_url("http://localhost:1/")));
  EXPECT_FALSE(check_allowed(*parse_url("http://example.com/")));
  EXPECT_TRUE(check_allowed(*parse_url("https://example.com/")));
}

TEST(Url, ResolvesRedirectLocations) {
  const Url base = *parse_url("https://cdn.example.com/a/b/c.mp4?sig=1");
  EXPECT_EQ(resolve_location(base, "https://other.example/x")->host, "other.example");
  auto sr = resolve_location(base, "//edge.example/v.mp4");
  ASSERT_TRUE(sr);
  EXPECT_TRUE(sr->tls);
  EXPECT_EQ(sr->host, "edge.example");
  EXPECT_EQ(resolve_location(base, "/root/v.mp4")->target, "/root/v.mp4");
  EXPECT_EQ(resolve_location(base, "d.mp4")->target, "/a/b/d.mp4");
  EXPECT_EQ(resolve_location(base, "../d.mp4?s=2")->target, "/a/d.mp4?s=2");
  EXPECT_FALSE(resolve_location(base, ""));
}

}  // namespace
}  // namespace sd::piapi
