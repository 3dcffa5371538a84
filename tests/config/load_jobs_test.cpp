// Cross-file rules, load_jobs over a directory, the SIGHUP `previous` rule and
// the quota warnings.
#include <gtest/gtest.h>

#include "config/job_spec.hpp"
#include "config_test_util.hpp"

namespace sd {
namespace {

using test::dump;
using test::errors_of;
using test::warnings_of;

const char* kHeroFile = R"({
  "assets": [
    {"name": "hero", "url": "https://cdn.example.com/hero.png", "type": "image"}
  ],
  "tasks": [
    {"name": "shot-1", "task_type": "seedance-2-fast-less-restriction",
     "prompt": "Image 1 runs.", "image_urls": ["asset://hero"]},
    {"name": "shot-2", "task_type": "seedance-2-fast-less-restriction",
     "prompt": "Image 1 jumps.", "image_urls": ["asset://hero"]}
  ]
})";

// A file with one task `name` whose `list` holds `ref`.
std::string ok_task_file(const std::string& name, const std::string& ref,
                         const std::string& list = "image_urls") {
  return R"({
  "tasks": [
    {"name": ")" +
         name + R"(", "task_type": "seedance-2-fast-less-restriction",
     "prompt": "A scene.",
     ")" +
         list + R"(": [")" + ref + R"("]}
  ]
})";
}

const Diagnostic* find(const std::vector<Diagnostic>& d, const std::string& file,
                       const std::string& needle) {
  for (const auto& x : d) {
    if (x.file == file && x.to_string().find(needle) != std::string::npos) return &x;
  }
  return nullptr;
}

TEST(LoadJobs, ExamplesAreValidWithoutWarnings) {
  MainConfig config;
  JobsLoad load = load_jobs(test::example_jobs_dir(), config);
  EXPECT_TRUE(load.diagnostics.empty()) << dump(load.diagnostics);
  EXPECT_EQ(load.files.size(), 3u);
  EXPECT_GE(load.specs.assets.size(), 5u);
  EXPECT_GE(load.specs.tasks.size(), 9u);
  for (const auto& t : load.specs.tasks) {
    EXPECT_GT(t.source.line, 0) << t.name;
    EXPECT_NE(t.source.file.find("examples/jobs.d/"), std::string::npos);
    EXPECT_EQ(t.prompt.find("forbidden"), std::string::npos) << "the simulator rejects it";
  }
  for (const auto& a : load.specs.assets) {
    EXPECT_EQ(a.url.find("fail"), std::string::npos) << "the simulator fails such assets";
  }
}

TEST(LoadJobs, DuplicateNameAcrossFilesNamesBothPlaces) {
  std::string other = R"({
  "assets": [
    {"name": "hero", "url": "https://cdn.example.com/hero2.png"}
  ]
})";
  MainConfig config;
  JobsLoad bad = load_jobs_from_texts({{"a.json", kHeroFile}, {"b.json", other}}, config);
  auto e = errors_of(bad.diagnostics);
  ASSERT_EQ(e.size(), 1u) << dump(bad.diagnostics);
  EXPECT_EQ(e[0].file, "b.json");
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[0].job, "hero");
  EXPECT_EQ(e[0].field, "name");
  EXPECT_NE(e[0].message.find("a.json:3"), std::string::npos) << e[0].to_string();
  EXPECT_FALSE(bad.files["b.json"].ok);
  EXPECT_TRUE(bad.files["a.json"].ok);
  EXPECT_EQ(bad.specs.assets.size(), 1u);
  EXPECT_EQ(bad.specs.assets[0].url, "https://cdn.example.com/hero.png");

  std::string renamed = other;
  renamed.replace(renamed.find("\"hero\""), 6, "\"hero-2\"");
  JobsLoad good = load_jobs_from_texts({{"a.json", kHeroFile}, {"b.json", renamed}}, config);
  EXPECT_TRUE(errors_of(good.diagnostics).empty()) << dump(good.diagnostics);
  EXPECT_EQ(good.specs.assets.size(), 2u);
}

TEST(LoadJobs, DuplicateNameWithinFileAndAcrossKinds) {
  std::string text = R"({
  "assets": [{"name": "x", "url": "https://cdn.example.com/x.png"}],
  "tasks": [{"name": "x", "task_type": "seedance-2", "prompt": "p"}]
})";
  std::vector<Diagnostic> d;
  FileSpecs fs = parse_job_file("f.json", text, d);
  EXPECT_FALSE(fs.ok);
  auto e = errors_of(d);
  ASSERT_EQ(e.size(), 1u) << dump(d);
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[0].job, "x");
  EXPECT_EQ(e[0].field, "name");
  EXPECT_NE(e[0].message.find("f.json:2"), std::string::npos) << e[0].to_string();
}

TEST(LoadJobs, UnknownAssetNameSuggestsDeclaredOne) {
  MainConfig config;
  JobsLoad bad = load_jobs_from_texts(
      {{"a.json", kHeroFile}, {"b.json", ok_task_file("t", "asset://herro")}}, config);
  auto e = errors_of(bad.diagnostics);
  ASSERT_EQ(e.size(), 1u) << dump(bad.diagnostics);
  EXPECT_EQ(e[0].file, "b.json");
  EXPECT_EQ(e[0].line, 5);  // the entry's line, not the task's
  EXPECT_EQ(e[0].job, "t");
  EXPECT_EQ(e[0].field, "image_urls[0]");
  EXPECT_NE(e[0].to_string().find("did you mean 'hero'"), std::string::npos) << e[0].to_string();
  EXPECT_FALSE(bad.files["b.json"].ok);
  EXPECT_EQ(bad.specs.tasks.size(), 2u);

  JobsLoad good = load_jobs_from_texts(
      {{"a.json", kHeroFile}, {"b.json", ok_task_file("t", "asset://hero")}}, config);
  EXPECT_TRUE(errors_of(good.diagnostics).empty()) << dump(good.diagnostics);
  EXPECT_EQ(good.specs.tasks.size(), 3u);
}

TEST(LoadJobs, RemoteAssetIdPassesWithoutDeclaration) {
  MainConfig config;
  JobsLoad load = load_jobs_from_texts(
      {{"b.json", ok_task_file("t", "asset://asset-20260607154123-6nxk8")}}, config);
  EXPECT_TRUE(load.diagnostics.empty()) << dump(load.diagnostics);
  ASSERT_EQ(load.specs.tasks.size(), 1u);
  EXPECT_TRUE(load.specs.tasks[0].asset_names().empty());
}

TEST(LoadJobs, AssetUsedInTheWrongMediaList) {
  MainConfig config;
  JobsLoad bad = load_jobs_from_texts(
      {{"a.json", kHeroFile}, {"b.json", ok_task_file("t", "asset://hero", "video_urls")}}, config);
  auto e = errors_of(bad.diagnostics);
  ASSERT_EQ(e.size(), 1u) << dump(bad.diagnostics);
  EXPECT_EQ(e[0].field, "video_urls[0]");
  EXPECT_EQ(e[0].line, 5);
  EXPECT_EQ(e[0].job, "t");
  EXPECT_NE(e[0].to_string().find("move it to image_urls"), std::string::npos);
}

TEST(LoadJobs, MoreAssetsThanThePlanAllows) {
  MainConfig config;
  config.plan.max_assets = 1;
  std::string two = R"({
  "assets": [
    {"name": "a1", "url": "https://cdn.example.com/a1.png"},
    {"name": "a2", "url": "https://cdn.example.com/a2.png"}
  ]
})";
  JobsLoad bad = load_jobs_from_texts({{"m.json", two}}, config);
  auto e = errors_of(bad.diagnostics);
  ASSERT_EQ(e.size(), 1u) << dump(bad.diagnostics);
  EXPECT_EQ(e[0].file, "m.json");
  EXPECT_EQ(e[0].line, 4);
  EXPECT_EQ(e[0].job, "a2");
  EXPECT_NE(e[0].to_string().find("plan.max_assets = 1"), std::string::npos);
  EXPECT_TRUE(bad.specs.assets.empty());

  config.plan.max_assets = 2;
  JobsLoad good = load_jobs_from_texts({{"m.json", two}}, config);
  EXPECT_TRUE(errors_of(good.diagnostics).empty()) << dump(good.diagnostics);
}

TEST(LoadJobs, WarnsAboutAssetsUsedByOneTaskOrNone) {
  std::string text = R"({
  "assets": [
    {"name": "once", "url": "https://cdn.example.com/once.png"},
    {"name": "never", "url": "https://cdn.example.com/never.png"},
    {"name": "twice", "url": "https://cdn.example.com/twice.png"}
  ],
  "tasks": [
    {"name": "t1", "task_type": "seedance-2-fast-less-restriction", "prompt": "Image 1 Image 2",
     "image_urls": ["asset://once", "asset://twice"]},
    {"name": "t2", "task_type": "seedance-2-fast-less-restriction", "prompt": "Image 1",
     "image_urls": ["asset://twice"]}
  ]
})";
  MainConfig config;
  JobsLoad load = load_jobs_from_texts({{"w.json", text}}, config);
  EXPECT_FALSE(load.has_errors());
  auto w = warnings_of(load.diagnostics);
  ASSERT_EQ(w.size(), 2u) << dump(load.diagnostics);
  EXPECT_EQ(w[0].job, "once");
  EXPECT_EQ(w[0].line, 3);
  EXPECT_NE(w[0].message.find("only task 't1'"), std::string::npos);
  EXPECT_NE(w[0].to_string().find("w.json:3: warning: job 'once': "), std::string::npos);
  EXPECT_EQ(w[1].job, "never");
  EXPECT_EQ(w[1].line, 4);
  EXPECT_NE(w[1].message.find("no task references"), std::string::npos);
  EXPECT_EQ(load.specs.assets.size(), 3u);
  EXPECT_EQ(load.specs.tasks.size(), 2u);
}

TEST(LoadJobs, WarnsAboutAssetUrlsWithoutAKnownExtension) {
  std::string text = R"({
  "assets": [
    {"name": "gen", "url": "https://cdn.example.com/render?id=7", "type": "image"},
    {"name": "php", "url": "https://cdn.example.com/img.php", "type": "image"}
  ],
  "tasks": [
    {"name": "t1", "task_type": "seedance-2-fast-less-restriction", "prompt": "Image 1 Image 2",
     "image_urls": ["asset://gen", "asset://php"]},
    {"name": "t2", "task_type": "seedance-2-fast-less-restriction", "prompt": "Image 1 Image 2",
     "image_urls": ["asset://gen", "asset://php"]}
  ]
})";
  JobsLoad load = load_jobs_from_texts({{"x.json", text}}, MainConfig{});
  EXPECT_FALSE(load.has_errors()) << dump(load.diagnostics);
  auto w = warnings_of(load.diagnostics);
  ASSERT_EQ(w.size(), 2u) << dump(load.diagnostics);
  EXPECT_EQ(w[0].job, "gen");
  EXPECT_EQ(w[0].field, "url");
  EXPECT_EQ(w[0].line, 3);
  EXPECT_NE(w[0].message.find("no file extension"), std::string::npos);
  EXPECT_EQ(w[1].job, "php");
  EXPECT_NE(w[1].message.find(".php"), std::string::npos);
  EXPECT_EQ(load.specs.assets.size(), 2u);
}

TEST(LoadJobs, DeprecatedTaskTypeIsAWarning) {
  std::string text = R"({"tasks": [
    {"name": "old", "task_type": "seedance-2-fast-preview", "prompt": "A sea."}
  ]})";
  JobsLoad load = load_jobs_from_texts({{"d.json", text}}, MainConfig{});
  EXPECT_FALSE(load.has_errors());
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_EQ(load.diagnostics[0].field, "task_type");
  EXPECT_EQ(load.diagnostics[0].line, 2);
  EXPECT_NE(load.diagnostics[0].fix.find("'seedance-2-fast'"), std::string::npos);
  EXPECT_EQ(load.specs.tasks.size(), 1u);
}

TEST(LoadJobs, OneBadFileIsReportedAndSkipped) {
  test::ScratchDir dir;
  test::write_text(dir.file("a.json"), kHeroFile);
  test::write_text(dir.file("b.json"), "{ \"tasks\": [ {\"name\": \"x\",, } ] }");
  test::write_text(dir.file("c.json"), ok_task_file("c-task", "https://cdn.example.com/c.png"));
  test::write_text(dir.file("notes.txt"), "not a job file");
  test::write_text(dir.file(".hidden.json"), "garbage");
  MainConfig config;
  JobsLoad load = load_jobs(dir.path(), config);
  auto e = errors_of(load.diagnostics);
  ASSERT_EQ(e.size(), 1u) << dump(load.diagnostics);
  EXPECT_EQ(e[0].file, dir.file("b.json"));
  EXPECT_EQ(e[0].line, 1);
  EXPECT_NE(e[0].message.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(load.files.size(), 3u);
  EXPECT_TRUE(load.files[dir.file("a.json")].ok);
  EXPECT_FALSE(load.files[dir.file("b.json")].ok);
  EXPECT_TRUE(load.files[dir.file("c.json")].ok);
  EXPECT_EQ(load.specs.tasks.size(), 3u);
}

TEST(LoadJobs, MissingDirIsOneClearError) {
  test::ScratchDir dir;
  MainConfig config;
  JobsLoad load = load_jobs(dir.file("nope"), config);
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_TRUE(load.diagnostics[0].is_error());
  EXPECT_EQ(load.diagnostics[0].file, dir.file("nope"));
  EXPECT_NE(load.diagnostics[0].to_string().find("jobs_dir does not exist"), std::string::npos);
}

TEST(LoadJobs, EmptyDirIsAWarningOnly) {
  test::ScratchDir dir;
  MainConfig config;
  JobsLoad load = load_jobs(dir.path(), config);
  EXPECT_FALSE(load.has_errors());
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_NE(load.diagnostics[0].message.find("no *.json"), std::string::npos);
}

TEST(LoadJobs, BrokenFileKeepsPreviousDeclarationsOnReload) {
  MainConfig config;
  JobsLoad first = load_jobs_from_texts({{"a.json", kHeroFile}}, config);
  ASSERT_FALSE(first.has_errors()) << dump(first.diagnostics);
  ASSERT_EQ(first.specs.tasks.size(), 2u);

  // The file becomes broken: the error is reported, the old jobs stay.
  JobsLoad second = load_jobs_from_texts({{"a.json", "{ \"assets\": [ "}}, config, &first);
  EXPECT_TRUE(second.has_errors());
  EXPECT_NE(find(second.diagnostics, "a.json", "invalid JSON"), nullptr)
      << dump(second.diagnostics);
  EXPECT_NE(find(second.diagnostics, "a.json", "previous declarations"), nullptr);
  EXPECT_FALSE(second.files["a.json"].ok);
  EXPECT_TRUE(second.files["a.json"].kept_previous);
  EXPECT_EQ(second.specs.assets, first.specs.assets);
  EXPECT_EQ(second.specs.tasks, first.specs.tasks);

  // Still broken on the next reload: still kept.
  JobsLoad third = load_jobs_from_texts({{"a.json", "[]"}}, config, &second);
  EXPECT_EQ(third.specs.tasks, first.specs.tasks);

  // Without `previous` a broken file contributes nothing.
  JobsLoad fresh = load_jobs_from_texts({{"a.json", "[]"}}, config);
  EXPECT_TRUE(fresh.specs.tasks.empty());

  // A removed file is not kept.
  JobsLoad removed = load_jobs_from_texts({}, config, &first);
  EXPECT_TRUE(removed.specs.tasks.empty());
  EXPECT_FALSE(removed.has_errors());
}

TEST(LoadJobs, ReloadBlamesTheNewFileForAConflict) {
  MainConfig config;
  JobsLoad first = load_jobs_from_texts({{"m.json", kHeroFile}}, config);
  ASSERT_FALSE(first.has_errors());
  // A new file sorting before m.json declares "hero" again.
  std::string dup = R"({"assets": [{"name": "hero", "url": "https://cdn.example.com/h.png"}]})";
  JobsLoad second = load_jobs_from_texts({{"a.json", dup}, {"m.json", kHeroFile}}, config, &first);
  auto e = errors_of(second.diagnostics);
  ASSERT_EQ(e.size(), 1u) << dump(second.diagnostics);
  EXPECT_EQ(e[0].file, "a.json");
  EXPECT_TRUE(second.files["m.json"].ok);
  EXPECT_EQ(second.specs.tasks.size(), 2u);
  EXPECT_EQ(second.specs.assets[0].url, "https://cdn.example.com/hero.png");
}

TEST(LoadJobs, ChangedValidFileReplacesDeclarations) {
  MainConfig config;
  JobsLoad first = load_jobs_from_texts({{"a.json", kHeroFile}}, config);
  std::string changed = kHeroFile;
  changed.replace(changed.find("Image 1 runs."), 13, "Image 1 sprints.");
  JobsLoad second = load_jobs_from_texts({{"a.json", changed}}, config, &first);
  EXPECT_FALSE(second.has_errors());
  ASSERT_EQ(second.specs.tasks.size(), 2u);
  EXPECT_EQ(second.specs.tasks[0].prompt, "Image 1 sprints.");
  EXPECT_NE(second.specs.tasks[0].content_hash(), first.specs.tasks[0].content_hash());
}

TEST(LoadJobs, FileDroppedWhenTheAssetsItNeedsAreInABrokenFile) {
  MainConfig config;
  JobsLoad load = load_jobs_from_texts(
      {{"a.json", "{ broken"}, {"b.json", ok_task_file("t", "asset://hero")}}, config);
  EXPECT_EQ(errors_of(load.diagnostics).size(), 2u) << dump(load.diagnostics);
  EXPECT_TRUE(load.specs.tasks.empty());
}

}  // namespace
}  // namespace sd
