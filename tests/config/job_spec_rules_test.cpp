// Every per-file job-spec rule: a failing and a passing example each, and the
// diagnostic names the file, the job, the field and the line.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "config/job_spec.hpp"
#include "config/validate.hpp"
#include "config_test_util.hpp"

namespace sd {
namespace {

using OJson = nlohmann::ordered_json;
constexpr const char* kFile = "/etc/seedanced/jobs.d/rules.json";

OJson base_task() {
  return OJson{{"name", "t1"},
               {"task_type", "seedance-2-fast-less-restriction"},
               {"prompt", "Image 1 walks down a street."},
               {"image_urls", {"https://cdn.example.com/a.png"}},
               {"duration", 5},
               {"aspect_ratio", "16:9"},
               {"resolution", "720p"}};
}

OJson base_asset() {
  return OJson{{"name", "hero"}, {"url", "https://cdn.example.com/hero.png"}, {"type", "image"}};
}

std::vector<std::string> urls(const std::string& prefix, const std::string& ext, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i) + "." + ext);
  return out;
}

struct Rule {
  std::string name;
  bool asset;  // mutate the asset (true) or the task (false)
  std::function<void(OJson&)> bad;
  std::function<void(OJson&)> good;
  std::string field;     // the field the error must name
  std::string message;   // a substring of message + fix
  std::string line_key;  // the key whose line the error must carry; "" = the object's line
};

std::string file_text(const OJson& asset, const OJson& task) {
  OJson doc{{"assets", OJson::array({asset})}, {"tasks", OJson::array({task})}};
  return doc.dump(2);
}

std::vector<Rule> rules() {
  auto img = [](int n) { return urls("https://cdn.example.com/i", "png", n); };
  auto vid = [](int n) { return urls("https://cdn.example.com/v", "mp4", n); };
  auto aud = [](int n) { return urls("https://cdn.example.com/a", "mp3", n); };
  return {
      {"1080pOnFast", false, [](OJson& t) { t["resolution"] = "1080p"; },
       [](OJson& t) { t["resolution"] = "720p"; }, "resolution", "does not render 1080p",
       "resolution"},
      {"1080pOnMini", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2-mini";
         t["resolution"] = "1080p";
       },
       [](OJson& t) {
         t["task_type"] = "seedance-2";
         t["resolution"] = "1080p";
       },
       "resolution", "seedance-2-mini", "resolution"},
      {"UnknownResolution", false, [](OJson& t) { t["resolution"] = "720"; },
       [](OJson& t) { t["resolution"] = "480p"; }, "resolution", "did you mean '720p'",
       "resolution"},
      {"TextToVideoTakesNoReferences", false, [](OJson& t) { t["mode"] = "text_to_video"; },
       [](OJson& t) { t["mode"] = "omni_reference"; }, "mode", "text_to_video takes no references",
       "mode"},
      {"FirstLastFramesTakesTwoImagesAtMost", false,
       [img](OJson& t) {
         t["mode"] = "first_last_frames";
         t["image_urls"] = img(3);
       },
       [img](OJson& t) {
         t["mode"] = "first_last_frames";
         t["image_urls"] = img(2);
       },
       "mode", "1 or 2 images", "mode"},
      {"FirstLastFramesTakesNoVideo", false,
       [vid](OJson& t) {
         t["mode"] = "first_last_frames";
         t["video_urls"] = vid(1);
       },
       [](OJson& t) { t["mode"] = "first_last_frames"; }, "mode", "no video or audio", "mode"},
      {"OmniReferenceNeedsAReference", false,
       [](OJson& t) {
         t.erase("image_urls");
         t["prompt"] = "A calm sea.";
         t["mode"] = "omni_reference";
       },
       [](OJson& t) {
         t.erase("image_urls");
         t["prompt"] = "A calm sea.";
         t["mode"] = "text_to_video";
       },
       "mode", "at least one reference", "mode"},
      {"Seedance25StrictNamesTwin", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2.5";
         t["image_urls"] = {"asset://hero"};
       },
       [](OJson& t) {
         t["task_type"] = "seedance-2.5-less-restriction";
         t["image_urls"] = {"asset://hero"};
         t["resolution"] = "1080p";
       },
       "image_urls[0]", "seedance-2.5-less-restriction", "image_urls"},
      {"AtMostNineImages", false, [img](OJson& t) { t["image_urls"] = img(10); },
       [img](OJson& t) { t["image_urls"] = img(9); }, "image_urls", "at most 9", "image_urls"},
      {"AtMostThreeVideos", false, [vid](OJson& t) { t["video_urls"] = vid(4); },
       [vid](OJson& t) { t["video_urls"] = vid(3); }, "video_urls", "at most 3", "video_urls"},
      {"AtMostThreeAudios", false, [aud](OJson& t) { t["audio_urls"] = aud(4); },
       [aud](OJson& t) { t["audio_urls"] = aud(3); }, "audio_urls", "at most 3", "audio_urls"},
      {"AtMostTwelveReferences", false,
       [img, vid, aud](OJson& t) {
         t["image_urls"] = img(9);
         t["video_urls"] = vid(3);
         t["audio_urls"] = aud(1);
       },
       [img, vid, aud](OJson& t) {
         t["image_urls"] = img(8);
         t["video_urls"] = vid(3);
         t["audio_urls"] = aud(1);
       },
       "image_urls", "at most 12", ""},
      {"AudioNeedsImageOrVideo", false,
       [aud](OJson& t) {
         t.erase("image_urls");
         t["prompt"] = "A song.";
         t["audio_urls"] = aud(1);
       },
       [vid, aud](OJson& t) {
         t.erase("image_urls");
         t["prompt"] = "A song.";
         t["video_urls"] = vid(1);
         t["audio_urls"] = aud(1);
       },
       "audio_urls", "at least one image or video", "audio_urls"},
      {"AutoUploadOnlyOnLessRestriction", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2-fast";
         t["auto_upload_assets"] = true;
       },
       [](OJson& t) { t["auto_upload_assets"] = true; }, "auto_upload_assets",
       "seedance-2-fast-less-restriction", "auto_upload_assets"},
      {"AutoUploadFieldEvenFalseOnStrict", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2";
         t["auto_upload_assets"] = false;
       },
       [](OJson& t) { t["task_type"] = "seedance-2"; }, "auto_upload_assets",
       "seedance-2-less-restriction", "auto_upload_assets"},
      {"AssetRefOnStrictNamesTwin", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2";
         t["image_urls"] = {"asset://hero"};
       },
       [](OJson& t) {
         t["task_type"] = "seedance-2-less-restriction";
         t["image_urls"] = {"asset://hero"};
       },
       "image_urls[0]", "use task_type 'seedance-2-less-restriction'", "image_urls"},
      {"AssetIdOnStrictMini", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2-mini";
         t["image_urls"] = {"asset://asset-20260607154123-6nxk8"};
       },
       [](OJson& t) { t["image_urls"] = {"asset://asset-20260607154123-6nxk8"}; }, "image_urls[0]",
       "seedance-2-mini-less-restriction", "image_urls"},
      {"AssetRefOnDeprecatedAlias", false,
       [](OJson& t) {
         t["task_type"] = "seedance-2-fast-preview";
         t["image_urls"] = {"asset://hero"};
       },
       [](OJson& t) { t["image_urls"] = {"asset://hero"}; }, "image_urls[0]",
       "seedance-2-fast-less-restriction", "image_urls"},
      {"AssetRefGarbage", false, [](OJson& t) { t["image_urls"] = {"asset://not valid!"}; },
       [](OJson& t) { t["image_urls"] = {"asset://asset-20260607154123-6nxk8"}; }, "image_urls[0]",
       "invalid asset reference", "image_urls"},
      {"TaskNameUsableAsFileName", false, [](OJson& t) { t["name"] = "bad/name"; },
       [](OJson& t) { t["name"] = "good.name_2-x"; }, "name", "A-Z a-z 0-9 . _ -", "name"},
      {"TaskNameNoLeadingDot", false, [](OJson& t) { t["name"] = ".hidden"; },
       [](OJson& t) { t["name"] = "visible"; }, "name", "starts with '.'", "name"},
      {"TaskNameAtMost100Chars", false, [](OJson& t) { t["name"] = std::string(101, 'a'); },
       [](OJson& t) { t["name"] = std::string(100, 'a'); }, "name", "longer than 100", "name"},
      {"PromptImageBeyondAttached", false, [](OJson& t) { t["prompt"] = "Image 1 meets Image 2."; },
       [](OJson& t) { t["prompt"] = "Image 1 meets a friend."; }, "prompt", "'Image 2'", "prompt"},
      {"PromptAtImageBeyondAttached", false, [](OJson& t) { t["prompt"] = "@image1 and @Image3"; },
       [](OJson& t) { t["prompt"] = "@image1 alone"; }, "prompt", "'@Image3'", "prompt"},
      {"PromptVideoWithoutVideos", false, [](OJson& t) { t["prompt"] = "Image 1 in Video 1."; },
       [vid](OJson& t) {
         t["prompt"] = "Image 1 in Video 1.";
         t["video_urls"] = vid(1);
       },
       "prompt", "no video is attached", "prompt"},
      {"PromptAudioWithoutAudios", false, [](OJson& t) { t["prompt"] = "Image 1 to @audio1"; },
       [aud](OJson& t) {
         t["prompt"] = "Image 1 to @audio1";
         t["audio_urls"] = aud(1);
       },
       "prompt", "'@audio1'", "prompt"},
      {"PromptImageZero", false, [](OJson& t) { t["prompt"] = "Image 0 walks."; },
       [](OJson& t) { t["prompt"] = "Image 1 walks."; }, "prompt", "starts at 1", "prompt"},
      {"DurationTooShort", false, [](OJson& t) { t["duration"] = 3; },
       [](OJson& t) { t["duration"] = 4; }, "duration", "outside 4-15", "duration"},
      {"DurationTooLong", false, [](OJson& t) { t["duration"] = 16; },
       [](OJson& t) { t["duration"] = 15; }, "duration", "outside 4-15", "duration"},
      {"DurationWholeNumber", false, [](OJson& t) { t["duration"] = 8.5; },
       [](OJson& t) { t["duration"] = 8; }, "duration", "whole number", "duration"},
      {"DurationNotString", false, [](OJson& t) { t["duration"] = "8"; },
       [](OJson& t) { t["duration"] = 8; }, "duration", "without quotes", "duration"},
      {"AspectRatioInList", false, [](OJson& t) { t["aspect_ratio"] = "16:10"; },
       [](OJson& t) { t["aspect_ratio"] = "9:16"; }, "aspect_ratio", "21:9, 16:9", "aspect_ratio"},
      {"PromptNotEmpty", false, [](OJson& t) { t["prompt"] = "  "; },
       [](OJson& t) { t["prompt"] = "A calm sea."; }, "prompt", "empty", "prompt"},
      {"PromptAtMost4000Chars", false, [](OJson& t) { t["prompt"] = std::string(4001, 'x'); },
       [](OJson& t) { t["prompt"] = std::string(3998, 'x') + "\xc3\xa9"; }, "prompt",
       "at most 4000", "prompt"},
      {"PromptRequired", false, [](OJson& t) { t.erase("prompt"); },
       [](OJson& t) { t["prompt"] = "Image 1."; }, "prompt", "required", ""},
      {"UrlSchemeHttpOnly", false,
       [](OJson& t) { t["image_urls"] = {"ftp://cdn.example.com/a.png"}; },
       [](OJson& t) { t["image_urls"] = {"http://cdn.example.com/a.png"}; }, "image_urls[0]",
       "not http or https", "image_urls"},
      {"UrlNeedsHost", false, [](OJson& t) { t["image_urls"] = {"https:///a.png"}; },
       [](OJson& t) { t["image_urls"] = {"https://cdn.example.com:8443/a.png?x=1"}; },
       "image_urls[0]", "no host", "image_urls"},
      {"UrlNotRelative", false, [](OJson& t) { t["image_urls"] = {"/srv/a.png"}; },
       [](OJson& t) { t["image_urls"] = {"https://cdn.example.com/a"}; }, "image_urls[0]",
       "not an absolute URL", "image_urls"},
      {"UrlExtensionMatchesList", false,
       [](OJson& t) { t["image_urls"] = {"https://cdn.example.com/clip.MP4"}; },
       [](OJson& t) { t["image_urls"] = {"https://cdn.example.com/still.HEIC"}; }, "image_urls[0]",
       "move it to video_urls", "image_urls"},
      {"UnknownTaskFieldSuggests", false, [](OJson& t) { t["durations"] = 5; },
       [](OJson& t) { t["duration"] = 6; }, "durations", "did you mean 'duration'", "durations"},
      {"MediaListMustBeArray", false,
       [](OJson& t) { t["image_urls"] = "https://cdn.example.com/a.png"; },
       [](OJson& t) { t["image_urls"] = {"https://cdn.example.com/a.png"}; }, "image_urls",
       "must be an array", "image_urls"},
      {"MediaListEntryMustBeString", false, [](OJson& t) { t["image_urls"] = {42}; },
       [](OJson& t) { t["image_urls"] = {"https://cdn.example.com/42.png"}; }, "image_urls[0]",
       "must be a URL string", "image_urls"},
      {"UnknownMode", false, [](OJson& t) { t["mode"] = "omni_refrence"; },
       [](OJson& t) { t["mode"] = "omni_reference"; }, "mode", "did you mean 'omni_reference'",
       "mode"},
      {"UnknownTaskType", false,
       [](OJson& t) { t["task_type"] = "seedance-2-fast-less-restrictions"; },
       [](OJson& t) { t["task_type"] = "seedance-2-fast-less-restriction"; }, "task_type",
       "did you mean 'seedance-2-fast-less-restriction'", "task_type"},
      {"AudioFlagIsBoolean", false, [](OJson& t) { t["audio"] = "yes"; },
       [](OJson& t) { t["audio"] = false; }, "audio", "true or false", "audio"},
      {"AssetTypeMatchesExtension", true, [](OJson& a) { a["type"] = "video"; },
       [](OJson& a) { a["type"] = "image"; }, "url", "which is image", "url"},
      {"AssetTypeNeededWithoutExtension", true,
       [](OJson& a) {
         a.erase("type");
         a["url"] = "https://cdn.example.com/render?id=7";
       },
       [](OJson& a) {
         a["type"] = "image";
         a["url"] = "https://cdn.example.com/render?id=7";
       },
       "type", "add \"type\"", ""},
      {"AssetTypeKnown", true, [](OJson& a) { a["type"] = "imagee"; },
       [](OJson& a) {
         a["type"] = "audio";
         a["url"] = "https://cdn.example.com/x.wav";
       },
       "type", "did you mean 'image'", "type"},
      {"AssetUrlNotAssetRef", true,
       [](OJson& a) { a["url"] = "asset://asset-20260607154123-6nxk8"; },
       [](OJson& a) { a["url"] = "https://cdn.example.com/hero.jpeg"; }, "url", "asset://", "url"},
      {"AssetUrlHttp", true, [](OJson& a) { a["url"] = "file:///srv/hero.png"; },
       [](OJson& a) { a["url"] = "https://cdn.example.com/hero.png"; }, "url", "not http", "url"},
      {"AssetNameUsableAsFileName", true, [](OJson& a) { a["name"] = "h ero"; },
       [](OJson& a) { a["name"] = "h_ero"; }, "name", "A-Z a-z 0-9 . _ -", "name"},
      {"AssetUrlRequired", true, [](OJson& a) { a.erase("url"); },
       [](OJson& a) { a["url"] = "https://cdn.example.com/x.png"; }, "url", "required", ""},
      {"UnknownAssetFieldSuggests", true, [](OJson& a) { a["urll"] = "x"; }, [](OJson&) {}, "urll",
       "did you mean 'url'", "urll"},
  };
}

class JobSpecRule : public ::testing::TestWithParam<Rule> {};

TEST_P(JobSpecRule, FailsWithFileJobFieldAndLineAndPassesWhenFixed) {
  const Rule& r = GetParam();
  OJson asset = base_asset();
  OJson task = base_task();
  r.bad(r.asset ? asset : task);
  std::string text = file_text(asset, task);
  std::vector<Diagnostic> diags;
  FileSpecs fs = parse_job_file(kFile, text, diags);
  auto errors = test::errors_of(diags);
  ASSERT_FALSE(errors.empty()) << text;
  EXPECT_FALSE(fs.ok);
  EXPECT_TRUE(fs.assets.empty() && fs.tasks.empty());
  const Diagnostic* hit = nullptr;
  for (const auto& d : errors) {
    if (d.field == r.field && (d.message + "; " + d.fix).find(r.message) != std::string::npos) {
      hit = &d;
    }
  }
  ASSERT_NE(hit, nullptr) << "want field '" << r.field << "' with '" << r.message << "', got:\n"
                          << test::dump(diags) << text;
  EXPECT_EQ(hit->file, kFile);
  std::string job = r.asset ? asset["name"].get<std::string>() : task["name"].get<std::string>();
  EXPECT_EQ(hit->job, config::is_valid_name(job) ? job : (r.asset ? "assets[0]" : "tasks[0]"));
  // The line: of the key in this job's object, or of the object itself.
  std::string section = r.asset ? "\"assets\"" : "\"tasks\"";
  size_t obj = text.find('{', text.find(section));
  int want = r.line_key.empty() ? test::line_of(text, "{", obj)
                                : test::line_of(text, "\"" + r.line_key + "\"", obj);
  if (auto br = r.field.find('['); br != std::string::npos && !r.line_key.empty()) {
    // dump(2) puts each element of a list on its own line after the key.
    want += 1 + std::stoi(r.field.substr(br + 1));
  }
  EXPECT_EQ(hit->line, want) << hit->to_string() << "\n" << text;
  std::string s = hit->to_string();
  EXPECT_EQ(s.rfind(std::string(kFile) + ":" + std::to_string(want) + ": ", 0), 0u) << s;
  EXPECT_NE(s.find("field '" + r.field + "'"), std::string::npos) << s;

  OJson asset2 = base_asset();
  OJson task2 = base_task();
  r.good(r.asset ? asset2 : task2);
  std::string good = file_text(asset2, task2);
  std::vector<Diagnostic> diags2;
  FileSpecs fs2 = parse_job_file(kFile, good, diags2);
  EXPECT_TRUE(fs2.ok) << test::dump(diags2) << good;
  EXPECT_TRUE(test::errors_of(diags2).empty()) << test::dump(diags2);
}

INSTANTIATE_TEST_SUITE_P(Rules, JobSpecRule, ::testing::ValuesIn(rules()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace sd

namespace sd {
namespace {

// File-level shape errors: the file, the line and the field are named.
TEST(JobSpecFile, ShapeErrors) {
  struct Case {
    std::string text;
    int line;
    std::string field;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"[\n]", 1, "", "must hold a JSON object, not an array"},
      {"{\n  \"task\": []\n}", 2, "task", "did you mean 'tasks'?"},
      {"{\n  \"assets\": {}\n}", 2, "assets", "must be an array, not an object"},
      {"{\n  \"tasks\": [\n    7\n  ]\n}", 3, "", "a task must be an object, not an integer"},
      {"{\n  \"tasks\": [],\n  \"tasks\": [\n", 3, "", "invalid JSON"},
      {"{\"tasks\": [{\"name\": \"a\", \"task_type\": \"seedance-2\", \"prompt\": \"\\u00zz\"}]}",
       1, "", "invalid JSON"},
  };
  for (const auto& c : cases) {
    std::vector<Diagnostic> d;
    FileSpecs fs = parse_job_file("f.json", c.text, d);
    EXPECT_FALSE(fs.ok) << c.text;
    auto e = test::errors_of(d);
    ASSERT_FALSE(e.empty()) << c.text;
    EXPECT_EQ(e[0].file, "f.json");
    EXPECT_EQ(e[0].line, c.line) << e[0].to_string();
    EXPECT_EQ(e[0].field, c.field) << e[0].to_string();
    EXPECT_NE(e[0].to_string().find(c.needle), std::string::npos) << e[0].to_string();
  }
}

TEST(JobSpecFile, EmptyObjectIsValidWithAWarning) {
  std::vector<Diagnostic> d;
  FileSpecs fs = parse_job_file("f.json", "// nothing yet\n{}", d);
  EXPECT_TRUE(fs.ok);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].is_error());
  EXPECT_NE(d[0].message.find("declares no assets and no tasks"), std::string::npos);
}

TEST(JobSpecFile, ParsesEveryFieldIntoTheSpec) {
  std::string text = R"({
  "assets": [
    {"name": "cast", "url": "https://cdn.example.com/cast.MOV"}
  ],
  "tasks": [
    {"name": "t", "task_type": "seedance-2-less-restriction", "prompt": "Video 1 with @image1",
     "image_urls": ["https://cdn.example.com/a.jpg"], "video_urls": ["asset://cast"],
     "audio_urls": ["asset://asset-20260607154123-6nxk8"], "duration": 15,
     "aspect_ratio": "3:4", "resolution": "1080p", "mode": "omni_reference", "audio": false,
     "auto_upload_assets": true}
  ]
})";
  std::vector<Diagnostic> d;
  FileSpecs fs = parse_job_file("f.json", text, d);
  ASSERT_TRUE(fs.ok) << test::dump(d);
  EXPECT_TRUE(d.empty()) << test::dump(d);
  ASSERT_EQ(fs.assets.size(), 1u);
  EXPECT_EQ(fs.assets[0].type, MediaType::kVideo);  // from the extension
  EXPECT_EQ(fs.assets[0].source.line, 3);
  EXPECT_EQ(fs.assets[0].source.file, "f.json");
  ASSERT_EQ(fs.tasks.size(), 1u);
  const TaskSpec& t = fs.tasks[0];
  EXPECT_EQ(t.source.line, 6);
  EXPECT_EQ(t.task_type, "seedance-2-less-restriction");
  EXPECT_EQ(t.video_urls, std::vector<std::string>{"asset://cast"});
  EXPECT_EQ(t.duration, 15);
  EXPECT_EQ(t.aspect_ratio, "3:4");
  EXPECT_EQ(t.resolution, "1080p");
  EXPECT_EQ(t.mode, "omni_reference");
  EXPECT_EQ(t.audio, false);
  EXPECT_EQ(t.auto_upload_assets, true);
  EXPECT_EQ(t.asset_names(), std::vector<std::string>{"cast"});
}

}  // namespace
}  // namespace sd
