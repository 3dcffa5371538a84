// SimModel unit tests: every endpoint, validation rule and state progression,
// driven with a ManualClock (no sockets, no sleeping).
#include "sim/model.hpp"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sd::sim {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// True when `s` matches `pattern`, where 'd' is a digit, 'a' [a-z0-9], 'h' [0-9a-f],
// 'v' [89ab] and any other character itself. (std::regex trips a g++ 12 warning under ASan.)
bool matches(const std::string& s, const std::string& pattern) {
  if (s.size() != pattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool digit = c >= '0' && c <= '9';
    const bool ok = pattern[i] == 'd'   ? digit
                    : pattern[i] == 'a' ? digit || (c >= 'a' && c <= 'z')
                    : pattern[i] == 'h' ? digit || (c >= 'a' && c <= 'f')
                    : pattern[i] == 'v' ? (c == '8' || c == '9' || c == 'a' || c == 'b')
                                        : c == pattern[i];
    if (!ok) return false;
  }
  return true;
}

struct Reply {
  int status = 0;
  json body;
  std::string raw;
  SimResponse response;
};

// A model plus a manual clock, with JSON helpers.
struct Sim {
  explicit Sim(SimOptions o = fast_options()) : model(o) {}

  static SimOptions fast_options() {
    SimOptions o;
    o.asset_processing_s = 10;
    o.task_queue_s = 9;
    o.task_render_s = 150;
    o.reject_after_s = 20;
    return o;
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& key = "sim-key") {
    SimRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    req.headers = {{"Host", "sim.test:8080"}};
    if (!key.empty()) req.headers.emplace_back("X-API-Key", key);
    Reply r;
    r.response = model.handle(req, clock.now());
    r.status = r.response.status;
    r.raw = r.response.body;
    r.body = json::parse(r.raw, nullptr, false);
    return r;
  }
  Reply post(const std::string& target, const json& body) {
    return call("POST", target, body.dump());
  }
  Reply get(const std::string& target) { return call("GET", target); }

  // Uploads `url` and returns the asset id (asserting success).
  std::string upload(const std::string& url, const std::string& name = "") {
    json body = {{"url", url}};
    if (!name.empty()) body["name"] = name;
    Reply r = post("/api/v1/asset/upload", body);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.value("asset_id", "");
  }

  // Uploads `url` and advances until it finished processing.
  std::string upload_active(const std::string& url) {
    const std::string id = upload(url);
    clock.advance(seconds(10));
    return id;
  }

  static json task_body(const std::string& type, json input) {
    return json{{"model", "seedance"}, {"task_type", type}, {"input", std::move(input)}};
  }

  Reply create(const std::string& type, json input) {
    return post("/api/v1/task", task_body(type, input));
  }

  std::string create_ok(const std::string& type, json input) {
    Reply r = create(type, std::move(input));
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["data"].value("task_id", "");
  }

  json task(const std::string& id) { return get("/api/v1/task/" + id).body["data"]; }
  json stats() { return model.stats(clock.now()); }

  ManualClock clock;
  SimModel model;
};

//------------------------------------------------------------------------------
// Options, auth, routing

TEST(SimModel, ValidateRejectsBadOptions) {
  SimOptions o;
  EXPECT_TRUE(SimModel::validate(o));
  o.plan = "gold";
  EXPECT_FALSE(SimModel::validate(o));
  o = SimOptions{};
  o.speed = 0;
  EXPECT_FALSE(SimModel::validate(o));
  o = SimOptions{};
  o.faults.http_5xx = 1.5;
  EXPECT_FALSE(SimModel::validate(o));
}

TEST(SimModel, MissingOrWrongKeyIs401WithErrorBody) {
  Sim sim;
  Reply wrong = sim.call("GET", "/api/v1/asset/list", "", "nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, json::parse(R"({"code":401,"message":"Invalid API key","data":null})"));
  EXPECT_EQ(sim.call("GET", "/api/v1/task/x", "", "").status, 401);
  EXPECT_EQ(sim.stats()["rejections"]["unauthorized"], 2);
}

TEST(SimModel, ApiKeyHeaderNameIsCaseInsensitive) {
  Sim sim;
  SimRequest req;
  req.method = "GET";
  req.target = "/api/v1/asset/list";
  req.headers = {{"x-api-key", "sim-key"}};
  EXPECT_EQ(sim.model.handle(req, sim.clock.now()).status, 200);
  req.headers = {{"X-API-KEY", "sim-key"}};
  EXPECT_EQ(sim.model.handle(req, sim.clock.now()).status, 200);
}

TEST(SimModel, UnknownRouteIs404AndWrongMethodIs405) {
  Sim sim;
  EXPECT_EQ(sim.get("/api/v2/nothing").status, 404);
  EXPECT_EQ(sim.get("/api/v1/task").status, 405);
  EXPECT_EQ(sim.call("PUT", "/api/v1/asset/upload").status, 405);
}

TEST(SimModel, FormatTimeIsRfc3339Utc) {
  EXPECT_EQ(format_time(from_millis(1'780'847'283'000)), "2026-06-07T15:48:03Z");
  EXPECT_EQ(format_time(from_millis(1'780'847'283'123), true), "2026-06-07T15:48:03.123Z");
  EXPECT_EQ(format_time(TimePoint{}), "0001-01-01T00:00:00Z");
}

//------------------------------------------------------------------------------
// Assets

TEST(SimModel, UploadReturnsProcessingAssetInRealIdFormat) {
  Sim sim;
  Reply r = sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/cast/hero.png"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const std::string id = r.body["asset_id"];
  EXPECT_TRUE(matches(id, "asset-dddddddddddddd-aaaaa")) << id;
  EXPECT_EQ(id.substr(6, 14), "20270115080000");  // ManualClock's default start, UTC
  EXPECT_EQ(r.body["status"], "Processing");
  EXPECT_EQ(r.body["name"], "hero.png");
  EXPECT_EQ(r.body["asset_type"], "Image");
  EXPECT_EQ(r.body["upload_at"], format_time(sim.clock.now()));
  EXPECT_EQ(r.body["expires_at"], format_time(sim.clock.now() + hours(72)));  // hobbyist: 3 days
  EXPECT_FALSE(r.body.contains("code"));                                      // not enveloped
}

TEST(SimModel, UploadBecomesActiveAfterProcessingTime) {
  Sim sim;
  const std::string id = sim.upload("https://cdn.example/a.png", "hero");
  sim.clock.advance(milliseconds(9'999));
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).body["status"], "Processing");
  sim.clock.advance(milliseconds(1));
  Reply r = sim.get("/api/v1/asset/" + id);
  EXPECT_EQ(r.body["status"], "Active");
  EXPECT_EQ(r.body["name"], "hero");
  EXPECT_FALSE(r.body.contains("error"));
}

TEST(SimModel, ProcessingTimeIsScaledBySpeed) {
  SimOptions o = Sim::fast_options();
  o.speed = 100;
  Sim sim(o);
  const std::string id = sim.upload("https://cdn.example/a.png");
  sim.clock.advance(milliseconds(99));
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).body["status"], "Processing");
  sim.clock.advance(milliseconds(1));
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).body["status"], "Active");
}

TEST(SimModel, UploadMatchingFailPatternEndsFailedWithError) {
  Sim sim;
  const std::string id = sim.upload("https://cdn.example/will-fail.png");
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).body["status"], "Processing");
  sim.clock.advance(seconds(10));
  Reply r = sim.get("/api/v1/asset/" + id);
  EXPECT_EQ(r.body["status"], "Failed");
  EXPECT_NE(r.body.value("error", ""), "");
}

TEST(SimModel, UploadWithWrongExtensionOrTypeFails) {
  Sim sim;
  const std::string unknown = sim.upload("https://cdn.example/doc.pdf");
  Reply mismatch = sim.post("/api/v1/asset/upload",
                            {{"url", "https://cdn.example/clip.mp4"}, {"asset_type", "Audio"}});
  const std::string video = sim.upload("https://cdn.example/clip.MOV?sig=1");
  sim.clock.advance(seconds(10));
  EXPECT_EQ(sim.get("/api/v1/asset/" + unknown).body["status"], "Failed");
  EXPECT_EQ(sim.get("/api/v1/asset/" + mismatch.body["asset_id"].get<std::string>()).body["status"],
            "Failed");
  Reply v = sim.get("/api/v1/asset/" + video);
  EXPECT_EQ(v.body["status"], "Active");
  EXPECT_EQ(v.body["asset_type"], "Video");
}

TEST(SimModel, UploadRejectsBadRequests) {
  Sim sim;
  EXPECT_EQ(sim.call("POST", "/api/v1/asset/upload", "not json").status, 400);
  EXPECT_EQ(sim.post("/api/v1/asset/upload", json::object()).status, 400);
  EXPECT_EQ(sim.post("/api/v1/asset/upload", {{"url", "ftp://x/a.png"}}).status, 400);
  EXPECT_EQ(
      sim.post("/api/v1/asset/upload", {{"url", "https://x/a.png"}, {"asset_type", "Picture"}})
          .status,
      400);
  EXPECT_EQ(sim.stats()["uploads"], 0);
}

TEST(SimModel, BatchUploadReportsEachItem) {
  Sim sim;
  Reply r =
      sim.post("/api/v1/asset/upload", {{"items",
                                         {{{"url", "https://cdn.example/a.png"}, {"name", "a"}},
                                          {{"url", "ftp://bad"}},
                                          {{"url", "https://cdn.example/b.mp3"}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["total"], 3);
  EXPECT_EQ(r.body["success"], 2);
  EXPECT_EQ(r.body["failed"], 1);
  ASSERT_EQ(r.body["results"].size(), 3u);
  EXPECT_EQ(r.body["results"][0]["status"], "Processing");
  EXPECT_TRUE(r.body["results"][1].contains("error"));
  EXPECT_EQ(r.body["results"][2]["asset_type"], "Audio");
  const json s = sim.stats();
  EXPECT_EQ(s["uploads"], 2);
  EXPECT_EQ(s["uploads_by_name"]["a"], 1);
  EXPECT_EQ(s["uploads_by_name"]["b.mp3"], 1);
  EXPECT_EQ(s["rejections"]["invalid_url"], 1);
}

TEST(SimModel, ListFiltersByExactCaseStatusAndPages) {
  Sim sim;
  for (int i = 0; i < 5; ++i) sim.upload("https://cdn.example/" + std::to_string(i) + ".png");
  sim.upload("https://cdn.example/fail.png");
  sim.clock.advance(seconds(10));
  sim.upload("https://cdn.example/late.png");

  Reply all = sim.get("/api/v1/asset/list");
  EXPECT_EQ(all.body["total"], 7);
  EXPECT_EQ(all.body["items"].size(), 7u);
  EXPECT_EQ(all.body["page"], 1);
  EXPECT_EQ(all.body["page_size"], 20);

  EXPECT_EQ(sim.get("/api/v1/asset/list?status=Active").body["total"], 5);
  EXPECT_EQ(sim.get("/api/v1/asset/list?status=Failed").body["total"], 1);
  EXPECT_EQ(sim.get("/api/v1/asset/list?status=Processing").body["total"], 1);
  EXPECT_EQ(sim.get("/api/v1/asset/list?status=active").body["total"], 0);  // exact case

  Reply p1 = sim.get("/api/v1/asset/list?page=1&page_size=3");
  Reply p3 = sim.get("/api/v1/asset/list?page=3&page_size=3");
  Reply p4 = sim.get("/api/v1/asset/list?page=4&page_size=3");
  EXPECT_EQ(p1.body["items"].size(), 3u);
  EXPECT_EQ(p1.body["total"], 7);
  EXPECT_EQ(p3.body["items"].size(), 1u);
  EXPECT_EQ(p3.body["items"][0]["name"], "late.png");
  EXPECT_TRUE(p4.body["items"].empty());
  const json item = p1.body["items"][0];
  for (const char* f :
       {"asset_id", "name", "asset_type", "status", "upload_at", "expires_at", "last_used_at"}) {
    EXPECT_TRUE(item.contains(f)) << f;
  }
  EXPECT_EQ(sim.get("/api/v1/asset/list?page=0").status, 400);
  EXPECT_EQ(sim.get("/api/v1/asset/list?page_size=101").status, 400);
  EXPECT_EQ(sim.get("/api/v1/asset/list?page=x").status, 400);
  EXPECT_EQ(sim.stats()["polls"]["asset_list"], 11);
}

TEST(SimModel, GetAndDeleteAsset) {
  Sim sim;
  const std::string id = sim.upload("https://cdn.example/a.png");
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).body["asset_id"], id);
  EXPECT_EQ(sim.get("/api/v1/asset/asset-20260101000000-zzzzz").status, 404);
  Reply del = sim.call("DELETE", "/api/v1/asset/" + id);
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.body, (json{{"asset_id", id}, {"deleted", true}}));
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).status, 404);
  EXPECT_EQ(sim.call("DELETE", "/api/v1/asset/" + id).status, 404);
  const json s = sim.stats();
  EXPECT_EQ(s["deletes"], 1);
  EXPECT_EQ(s["polls"]["asset_get"], 3);
  EXPECT_EQ(s["assets"][0]["status"], "Deleted");
}

TEST(SimModel, QuotaExceededFailedAssetsDontCountAndDeleteFreesQuota) {
  Sim sim;  // hobbyist: 50
  std::string first;
  for (int i = 0; i < 50; ++i) {
    const std::string id = sim.upload("https://cdn.example/" + std::to_string(i) + ".png");
    if (i == 0) first = id;
  }
  Reply over = sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/x.png"}});
  EXPECT_EQ(over.status, 400);
  EXPECT_EQ(over.body["message"], "asset quota exceeded");
  EXPECT_EQ(sim.stats()["rejections"]["asset_quota_exceeded"], 1);
  EXPECT_EQ(sim.call("DELETE", "/api/v1/asset/" + first).status, 200);
  const std::string failing = sim.upload("https://cdn.example/fail.png");
  sim.clock.advance(seconds(10));  // it is Failed now and no longer counts
  EXPECT_EQ(sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/y.png"}}).status, 200);
  EXPECT_EQ(sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/z.png"}}).status, 400);
}

TEST(SimModel, DeveloperPlanQuotaAndTtl) {
  SimOptions o = Sim::fast_options();
  o.plan = "developer";
  Sim sim(o);
  Reply r = sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/a.png"}});
  EXPECT_EQ(r.body["expires_at"], format_time(sim.clock.now() + hours(7 * 24)));
  for (int i = 1; i < 200; ++i) sim.upload("https://cdn.example/" + std::to_string(i) + ".png");
  EXPECT_EQ(sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/x.png"}}).status, 400);
}

TEST(SimModel, FreePlanCannotUseAssets) {
  SimOptions o = Sim::fast_options();
  o.plan = "free";
  Sim sim(o);
  Reply r = sim.post("/api/v1/asset/upload", {{"url", "https://cdn.example/a.png"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["message"], "plan does not support assets");
  EXPECT_EQ(sim.get("/api/v1/asset/list").status, 403);
  EXPECT_EQ(sim.create("seedance-2", {{"prompt", "hi"}}).status, 200);  // tasks still work
}

TEST(SimModel, IdleAssetIsPurgedAfterTtl) {
  Sim sim;
  const std::string id = sim.upload("https://cdn.example/a.png");
  sim.clock.advance(hours(72));
  EXPECT_EQ(sim.stats()["assets_by_status"]["Active"], 1);  // stats do not refresh
  sim.clock.advance(milliseconds(1));
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).status, 404);
  const json s = sim.stats();
  EXPECT_EQ(s["purges"], 1);
  EXPECT_EQ(s["assets"][0]["status"], "Purged");
  EXPECT_EQ(sim.get("/api/v1/asset/list").body["total"], 0);
}

TEST(SimModel, GetListAndTaskReferencesRefreshTtl) {
  Sim sim;
  const std::string by_get = sim.upload("https://cdn.example/a.png");
  const std::string by_list = sim.upload("https://cdn.example/b.png");
  const std::string by_task = sim.upload("https://cdn.example/c.png");
  const std::string idle = sim.upload("https://cdn.example/d.png");
  sim.clock.advance(hours(48));
  EXPECT_EQ(sim.get("/api/v1/asset/" + by_get).status, 200);
  Reply page = sim.get("/api/v1/asset/list?page=2&page_size=1");  // refreshes only by_list
  ASSERT_EQ(page.body["items"][0]["asset_id"], by_list);
  EXPECT_EQ(page.body["items"][0]["expires_at"], format_time(sim.clock.now() + hours(72)));
  sim.create_ok("seedance-2-less-restriction",
                {{"prompt", "p"}, {"image_urls", {"asset://" + by_task}}});
  sim.clock.advance(hours(25));  // 73 h after upload, 25 h after the refresh
  EXPECT_EQ(sim.get("/api/v1/asset/" + idle).status, 404);
  EXPECT_EQ(sim.get("/api/v1/asset/" + by_get).status, 200);
  EXPECT_EQ(sim.get("/api/v1/asset/" + by_list).status, 200);
  EXPECT_EQ(sim.get("/api/v1/asset/" + by_task).status, 200);
}

TEST(SimModel, ConfiguredTtlIsScaledBySpeed) {
  SimOptions o = Sim::fast_options();
  o.asset_ttl_s = 100;
  o.speed = 10;
  Sim sim(o);
  const std::string id = sim.upload("https://cdn.example/a.png");
  sim.clock.advance(milliseconds(10'001));
  EXPECT_EQ(sim.get("/api/v1/asset/" + id).status, 404);
}

//------------------------------------------------------------------------------
// Task creation: validation

struct CreateCase {
  std::string name;
  std::string task_type;
  json input;
  int status;
  std::string reason;  // "" for success
};

TEST(SimModel, CreateTaskValidatesLikeTheRealApi) {
  const std::string img = "https://cdn.example/i.png";
  const std::string vid = "https://cdn.example/v.mp4";
  const std::string aud = "https://cdn.example/a.mp3";
  const json nine_images = json(std::vector<std::string>(9, img));
  const std::vector<CreateCase> cases = {
      {"text only", "seedance-2", {{"prompt", "a cat"}}, 200, ""},
      {"deprecated alias", "seedance-2-preview", {{"prompt", "a cat"}}, 200, ""},
      {"fast vip alias", "seedance-2-fast-preview-vip", {{"prompt", "a cat"}}, 200, ""},
      {"2.5", "seedance-2.5", {{"prompt", "a cat"}}, 200, ""},
      {"unknown type", "seedance-3", {{"prompt", "a cat"}}, 400, "invalid_task_type"},
      {"no prompt", "seedance-2", json::object(), 400, "invalid_prompt"},
      {"long prompt", "seedance-2", {{"prompt", std::string(4001, 'x')}}, 400, "invalid_prompt"},
      {"duration 3", "seedance-2", {{"prompt", "p"}, {"duration", 3}}, 400, "invalid_duration"},
      {"duration 16", "seedance-2", {{"prompt", "p"}, {"duration", 16}}, 400, "invalid_duration"},
      {"duration 0 on LR",
       "seedance-2-less-restriction",
       {{"prompt", "p"}, {"duration", 0}},
       400,
       "invalid_duration"},
      {"duration text",
       "seedance-2",
       {{"prompt", "p"}, {"duration", "5"}},
       400,
       "invalid_duration"},
      {"duration 4", "seedance-2", {{"prompt", "p"}, {"duration", 4}}, 200, ""},
      {"duration 15", "seedance-2", {{"prompt", "p"}, {"duration", 15}}, 200, ""},
      {"ratio 21:9", "seedance-2", {{"prompt", "p"}, {"aspect_ratio", "21:9"}}, 200, ""},
      {"ratio 2:1",
       "seedance-2",
       {{"prompt", "p"}, {"aspect_ratio", "2:1"}},
       400,
       "invalid_aspect_ratio"},
      {"ratio auto t2v",
       "seedance-2",
       {{"prompt", "p"}, {"aspect_ratio", "auto"}},
       400,
       "invalid_aspect_ratio"},
      {"ratio auto flf",
       "seedance-2",
       {{"prompt", "p"}, {"aspect_ratio", "auto"}, {"image_urls", {img}}},
       200,
       ""},
      {"1080p on seedance-2", "seedance-2", {{"prompt", "p"}, {"resolution", "1080p"}}, 200, ""},
      {"1080p on fast",
       "seedance-2-fast",
       {{"prompt", "p"}, {"resolution", "1080p"}},
       400,
       "invalid_resolution"},
      {"1080p on mini",
       "seedance-2-mini",
       {{"prompt", "p"}, {"resolution", "1080p"}},
       400,
       "invalid_resolution"},
      {"1080p on fast LR",
       "seedance-2-fast-less-restriction",
       {{"prompt", "p"}, {"resolution", "1080p"}},
       400,
       "invalid_resolution"},
      {"4k", "seedance-2", {{"prompt", "p"}, {"resolution", "4k"}}, 400, "invalid_resolution"},
      {"bad mode", "seedance-2", {{"prompt", "p"}, {"mode", "remix"}}, 400, "invalid_mode"},
      {"t2v with image",
       "seedance-2",
       {{"prompt", "p"}, {"mode", "text_to_video"}, {"image_urls", {img}}},
       400,
       "mode_references"},
      {"flf 3 images",
       "seedance-2",
       {{"prompt", "p"}, {"mode", "first_last_frames"}, {"image_urls", {img, img, img}}},
       400,
       "mode_references"},
      {"flf no images",
       "seedance-2",
       {{"prompt", "p"}, {"mode", "first_last_frames"}},
       400,
       "mode_references"},
      {"flf with video",
       "seedance-2",
       {{"prompt", "p"},
        {"mode", "first_last_frames"},
        {"image_urls", {img}},
        {"video_urls", {vid}}},
       400,
       "mode_references"},
      {"omni no refs",
       "seedance-2",
       {{"prompt", "p"}, {"mode", "omni_reference"}},
       400,
       "mode_references"},
      {"omni 9 images", "seedance-2", {{"prompt", "p"}, {"image_urls", nine_images}}, 200, ""},
      {"omni 10 images",
       "seedance-2",
       {{"prompt", "p"}, {"image_urls", json(std::vector<std::string>(10, img))}},
       400,
       "too_many_references"},
      {"omni 4 videos",
       "seedance-2",
       {{"prompt", "p"}, {"video_urls", {vid, vid, vid, vid}}},
       400,
       "too_many_references"},
      {"omni 4 audios",
       "seedance-2",
       {{"prompt", "p"}, {"image_urls", {img}}, {"audio_urls", {aud, aud, aud, aud}}},
       400,
       "too_many_references"},
      {"omni 13 refs",
       "seedance-2",
       {{"prompt", "p"},
        {"image_urls", nine_images},
        {"video_urls", {vid, vid}},
        {"audio_urls", {aud, aud}}},
       400,
       "too_many_references"},
      {"omni 12 refs",
       "seedance-2",
       {{"prompt", "p"},
        {"image_urls", nine_images},
        {"video_urls", {vid, vid}},
        {"audio_urls", {aud}}},
       200,
       ""},
      {"audio alone",
       "seedance-2",
       {{"prompt", "p"}, {"audio_urls", {aud}}},
       400,
       "audio_needs_visual"},
      {"audio with video",
       "seedance-2",
       {{"prompt", "p"}, {"video_urls", {vid}}, {"audio_urls", {aud}}},
       200,
       ""},
      {"urls not array", "seedance-2", {{"prompt", "p"}, {"image_urls", img}}, 400, "invalid_urls"},
      {"data uri",
       "seedance-2",
       {{"prompt", "p"}, {"image_urls", {"data:image/png;base64,AA"}}},
       400,
       "invalid_urls"},
      {"audio flag not bool",
       "seedance-2",
       {{"prompt", "p"}, {"audio", "yes"}},
       400,
       "invalid_audio"},
      {"auto upload strict",
       "seedance-2",
       {{"prompt", "p"}, {"auto_upload_assets", true}},
       400,
       "lr_only_field"},
      {"retention strict",
       "seedance-2",
       {{"prompt", "p"}, {"asset_retention_hours", 3}},
       400,
       "lr_only_field"},
      {"retention 9",
       "seedance-2-less-restriction",
       {{"prompt", "p"}, {"asset_retention_hours", 9}},
       400,
       "invalid_retention"},
      {"retention 8",
       "seedance-2-less-restriction",
       {{"prompt", "p"}, {"asset_retention_hours", 8}, {"auto_upload_assets", true}},
       200,
       ""},
      {"asset ref strict",
       "seedance-2",
       {{"prompt", "p"}, {"image_urls", {"asset://asset-20260101000000-aaaaa"}}},
       422,
       "asset_ref_strict_type"},
      {"asset ref strict 2.5",
       "seedance-2.5",
       {{"prompt", "p"}, {"image_urls", {"asset://asset-20260101000000-aaaaa"}}},
       422,
       "asset_ref_strict_type"},
      {"asset ref unknown",
       "seedance-2-fast-less-restriction",
       {{"prompt", "p"}, {"image_urls", {"asset://asset-20260101000000-aaaaa"}}},
       400,
       "asset_not_found"},
  };
  for (const CreateCase& c : cases) {
    Sim sim;
    Reply r = sim.create(c.task_type, c.input);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.raw;
    EXPECT_EQ(r.response.reason, c.reason) << c.name;
    if (c.status != 200) {
      EXPECT_EQ(r.body["code"], c.status) << c.name;
      EXPECT_TRUE(r.body["data"].is_null()) << c.name;
      EXPECT_EQ(sim.stats()["rejections"][c.reason], 1) << c.name;
      EXPECT_EQ(sim.stats()["task_creates"], 0) << c.name;
    }
  }
}

TEST(SimModel, CreateTaskRejectsBadEnvelope) {
  Sim sim;
  EXPECT_EQ(sim.call("POST", "/api/v1/task", "{").status, 400);
  EXPECT_EQ(
      sim.post("/api/v1/task",
               {{"model", "kling"}, {"task_type", "seedance-2"}, {"input", {{"prompt", "p"}}}})
          .status,
      400);
  EXPECT_EQ(sim.post("/api/v1/task", {{"model", "seedance"}, {"task_type", "seedance-2"}}).status,
            400);
}

TEST(SimModel, CreateRejectsProcessingOrFailedAsset) {
  Sim sim;
  const std::string processing = sim.upload("https://cdn.example/a.png");
  const std::string lr = "seedance-2-less-restriction";
  Reply r = sim.create(lr, {{"prompt", "p"}, {"image_urls", {"asset://" + processing}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["message"], "asset not active: " + processing);
  const std::string failed = sim.upload("https://cdn.example/fail.png");
  sim.clock.advance(seconds(10));
  r = sim.create(lr, {{"prompt", "p"}, {"image_urls", {"asset://" + failed}}});
  EXPECT_EQ(r.body["message"], "asset not active: " + failed);
  r = sim.create(lr, {{"prompt", "p"}, {"image_urls", {"asset://asset-20260101000000-zzzzz"}}});
  EXPECT_EQ(r.body["message"], "asset not found");
  const std::string id =
      sim.create_ok(lr, {{"prompt", "p"}, {"image_urls", {"asset://" + processing}}});
  const json s = sim.stats();
  EXPECT_EQ(s["creates_with_inactive_asset"], 3);
  EXPECT_EQ(s["rejections"]["asset_not_active"], 2);
  EXPECT_EQ(s["rejections"]["asset_not_found"], 1);
  EXPECT_EQ(s["task_creates"], 1);
  ASSERT_EQ(s["tasks"].size(), 1u);
  EXPECT_EQ(s["tasks"][0]["task_id"], id);
  EXPECT_EQ(s["tasks"][0]["assets"][0]["asset_id"], processing);
  EXPECT_EQ(s["tasks"][0]["assets"][0]["status_at_create"], "Active");
}

TEST(SimModel, CreateRejectsAssetInTheWrongList) {
  Sim sim;
  const std::string image = sim.upload_active("https://cdn.example/a.png");
  Reply r = sim.create("seedance-2-less-restriction",
                       {{"prompt", "p"}, {"video_urls", {"asset://" + image}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.response.reason, "asset_type_mismatch");
}

TEST(SimModel, CreateReturnsEnvelopedPendingTask) {
  Sim sim;
  json input = {{"prompt", "a cat"}, {"duration", 8}, {"resolution", "720p"}};
  Reply r = sim.post("/api/v1/task", {{"model", "seedance"},
                                      {"task_type", "seedance-2-preview"},
                                      {"input", input},
                                      {"config", {{"service_mode", "public"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["code"], 200);
  EXPECT_EQ(r.body["message"], "success");
  const json& d = r.body["data"];
  EXPECT_TRUE(matches(d["task_id"].get<std::string>(), "hhhhhhhh-hhhh-4hhh-vhhh-hhhhhhhhhhhh"))
      << d["task_id"];
  EXPECT_EQ(d["model"], "seedance");
  EXPECT_EQ(d["task_type"], "seedance-2-preview");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["input"], input);
  EXPECT_EQ(d["config"]["service_mode"], "public");
  EXPECT_TRUE(d["output"].is_null());
  EXPECT_EQ(d["meta"]["created_at"], format_time(sim.clock.now(), true));
  EXPECT_EQ(d["meta"]["started_at"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(d["meta"]["ended_at"], "0001-01-01T00:00:00Z");
  EXPECT_GT(d["meta"]["usage"]["consume"].get<int64_t>(), 0);
  EXPECT_EQ(d["logs"], json::array());
  EXPECT_EQ(d["error"]["code"], 0);
}

//------------------------------------------------------------------------------
// Task lifecycle

TEST(SimModel, TaskRunsPendingProcessingCompleted) {
  Sim sim;
  const std::string id = sim.create_ok("seedance-2", {{"prompt", "a cat"}});
  sim.clock.advance(milliseconds(8'999));
  EXPECT_EQ(sim.task(id)["status"], "pending");
  sim.clock.advance(milliseconds(1));
  json t = sim.task(id);
  EXPECT_EQ(t["status"], "processing");
  EXPECT_EQ(t["meta"]["started_at"], format_time(sim.clock.now(), true));
  EXPECT_TRUE(t["output"].is_null());
  sim.clock.advance(seconds(150));
  t = sim.task(id);
  EXPECT_EQ(t["status"], "completed");
  EXPECT_EQ(t["output"]["video"], "http://sim.test:8080/sim/files/" + id + ".mp4");
  EXPECT_EQ(t["meta"]["ended_at"], format_time(sim.clock.now(), true));
  EXPECT_EQ(t["error"]["code"], 0);
  EXPECT_EQ(sim.get("/api/v1/task/nope").status, 404);
  EXPECT_EQ(sim.get("/api/v1/task/nope").body["message"], "task not found");
  EXPECT_EQ(sim.stats()["polls"]["task_get"], 5);
  EXPECT_EQ(sim.stats()["polls_by_task"], (json{{id, 3}}));
}

TEST(SimModel, TaskTimingsAreScaledBySpeed) {
  SimOptions o = Sim::fast_options();
  o.speed = 1000;
  Sim sim(o);
  const std::string id = sim.create_ok("seedance-2", {{"prompt", "a cat"}});
  sim.clock.advance(milliseconds(9));
  EXPECT_EQ(sim.task(id)["status"], "processing");
  sim.clock.advance(milliseconds(150));
  EXPECT_EQ(sim.task(id)["status"], "completed");
}

TEST(SimModel, TasksBeyondConcurrencyAreStagedThenRun) {
  SimOptions o = Sim::fast_options();
  o.max_concurrent_tasks = 2;
  Sim sim(o);
  const std::string a = sim.create_ok("seedance-2", {{"prompt", "a"}});
  sim.clock.advance(seconds(1));
  const std::string b = sim.create_ok("seedance-2", {{"prompt", "b"}});
  const std::string c = sim.create_ok("seedance-2", {{"prompt", "c"}});
  sim.clock.advance(seconds(9));  // all queued: a, b run; c waits
  EXPECT_EQ(sim.task(a)["status"], "processing");
  EXPECT_EQ(sim.task(b)["status"], "processing");
  EXPECT_EQ(sim.task(c)["status"], "staged");
  Reply active = sim.get("/account/active_tasks");
  EXPECT_EQ(active.body["data"]["seedance"]["staged_count"], 1);
  EXPECT_EQ(active.body["data"]["seedance"]["processing_count"], 2);
  sim.clock.advance(seconds(149));  // a ends at 9 + 150 = 159 s after the start
  EXPECT_EQ(sim.task(a)["status"], "completed");
  json tc = sim.task(c);
  EXPECT_EQ(tc["status"], "processing");
  EXPECT_EQ(tc["meta"]["started_at"], format_time(sim.clock.now(), true));
  EXPECT_EQ(sim.stats()["max_processing"], 2);
}

TEST(SimModel, WithoutStagingCreatesOverTheLimitGet429) {
  SimOptions o = Sim::fast_options();
  o.max_concurrent_tasks = 1;
  o.staging = false;
  Sim sim(o);
  sim.create_ok("seedance-2", {{"prompt", "a"}});
  Reply r = sim.create("seedance-2", {{"prompt", "b"}});
  EXPECT_EQ(r.status, 429);
  ASSERT_EQ(r.response.headers.size(), 1u);
  EXPECT_EQ(r.response.headers[0].first, "Retry-After");
  EXPECT_EQ(r.response.headers[0].second, "15");
  sim.clock.advance(seconds(159));
  sim.create_ok("seedance-2", {{"prompt", "b"}});
}

TEST(SimModel, PromptWithRejectWordFailsWith10003) {
  Sim sim;
  const std::string id = sim.create_ok("seedance-2", {{"prompt", "something forbidden here"}});
  sim.clock.advance(seconds(9 + 20));
  const json t = sim.task(id);
  EXPECT_EQ(t["status"], "failed");
  EXPECT_EQ(t["error"]["code"], 10003);
  EXPECT_EQ(t["error"]["message"], "Your content violated community guidelines.");
  EXPECT_FALSE(t["logs"].empty());
  EXPECT_EQ(t["meta"]["usage"]["consume"], 0);
  EXPECT_TRUE(t["output"].is_null());
  EXPECT_EQ(sim.get("/sim/files/" + id + ".mp4").status, 404);
}

TEST(SimModel, DuplicateCreatesAreCounted) {
  Sim sim;
  sim.create_ok("seedance-2", {{"prompt", "one"}});
  sim.create_ok("seedance-2", {{"prompt", "two"}});
  sim.create_ok("seedance-2", {{"prompt", "one"}});
  sim.create_ok("seedance-2", {{"prompt", "one"}, {"duration", 6}});  // same prompt, other body
  const json s = sim.stats();
  EXPECT_EQ(s["task_creates"], 4);
  EXPECT_EQ(s["duplicate_creates"], 1);
  EXPECT_EQ(s["creates_by_prompt"]["one"], 3);
  EXPECT_EQ(s["duplicate_prompts"], (json{{"one", 3}}));
  EXPECT_EQ(s["creates_by_body_hash"].size(), 3u);
  EXPECT_EQ(s["tasks"].size(), 4u);
}

TEST(SimModel, AutoUploadRewritesUrlsAndEnforcesEphemeralCap) {
  SimOptions o = Sim::fast_options();
  o.ephemeral_cap = 3;
  Sim sim(o);
  const std::string lr = "seedance-2-less-restriction";
  const std::string img = "https://cdn.example/i.png";
  Reply r =
      sim.create(lr, {{"prompt", "p"}, {"image_urls", {img, img}}, {"auto_upload_assets", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& d = r.body["data"];
  for (const json& u : d["input"]["image_urls"]) {
    EXPECT_TRUE(u.get<std::string>().rfind("asset://asset-", 0) == 0) << u;
  }
  EXPECT_EQ(d["logs"].size(), 2u);
  Reply over =
      sim.create(lr, {{"prompt", "q"}, {"image_urls", {img, img}}, {"auto_upload_assets", true}});
  EXPECT_EQ(over.status, 400);
  EXPECT_EQ(over.body["message"], "ephemeral asset hard cap reached");
  sim.clock.advance(seconds(159) + hours(3));  // finished and past the 3 h retention
  EXPECT_EQ(
      sim.create(lr, {{"prompt", "q"}, {"image_urls", {img, img}}, {"auto_upload_assets", true}})
          .status,
      200);
}

//------------------------------------------------------------------------------
// Files and stats

TEST(SimModel, ServesDeterministicVideoBytesForCompletedTasks) {
  SimOptions o = Sim::fast_options();
  o.video_bytes = 1000;
  Sim sim(o);
  const std::string a = sim.create_ok("seedance-2", {{"prompt", "a"}});
  const std::string b = sim.create_ok("seedance-2", {{"prompt", "b"}});
  EXPECT_EQ(sim.get("/sim/files/" + a + ".mp4").status, 404);  // not completed yet
  sim.clock.advance(seconds(159));
  Reply fa = sim.call("GET", "/sim/files/" + a + ".mp4", "", "");  // no key needed
  Reply fa2 = sim.get("/sim/files/" + a + ".mp4");
  Reply fb = sim.get("/sim/files/" + b + ".mp4");
  EXPECT_EQ(fa.status, 200);
  EXPECT_EQ(fa.response.content_type, "video/mp4");
  EXPECT_EQ(fa.raw.size(), 1000u);
  EXPECT_EQ(fa.raw, fa2.raw);
  EXPECT_NE(fa.raw, fb.raw);
  EXPECT_EQ(fa.raw.substr(4, 4), "ftyp");
  EXPECT_EQ(sim.get("/sim/files/unknown.mp4").status, 404);
  const json s = sim.stats();
  EXPECT_EQ(s["downloads"], 3);
  EXPECT_EQ(s["download_bytes"], 3000);
}

TEST(SimModel, StatsEndpointMatchesStatsAndCountsFaults) {
  Sim sim;
  sim.model.note_fault("http_5xx");
  sim.model.note_fault("http_5xx");
  sim.upload("https://cdn.example/a.png");
  Reply r = sim.call("GET", "/sim/stats", "", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, sim.stats());
  EXPECT_EQ(r.body["faults"]["http_5xx"], 2);
  EXPECT_EQ(r.body["requests"]["asset_upload"], 1);
}

TEST(SimModel, IdsAreRepeatableForASeed) {
  Sim a, b;
  EXPECT_EQ(a.upload("https://cdn.example/a.png"), b.upload("https://cdn.example/a.png"));
  EXPECT_EQ(a.create_ok("seedance-2", {{"prompt", "p"}}),
            b.create_ok("seedance-2", {{"prompt", "p"}}));
}

}  // namespace
}  // namespace sd::sim
