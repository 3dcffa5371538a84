// Seeded random mutations of the example files (byte flips, deletions,
// insertions, truncations, splices, value swaps, binary files, deep nesting)
// through parse_job_file and load_jobs_from_texts: no crash, no exception,
// and always either a valid result or at least one error.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "config/job_spec.hpp"
#include "config/json_source.hpp"
#include "config/validate.hpp"
#include "config_test_util.hpp"

namespace sd {
namespace {

using config::Json;

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

  std::string random_bytes(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(pick(256));
    return s;
  }

  std::string token() {
    static const char* kTokens[] = {"{",
                                    "}",
                                    "[",
                                    "]",
                                    ",",
                                    ":",
                                    "\"",
                                    "\\",
                                    "//",
                                    "/*",
                                    "*/",
                                    "null",
                                    "true",
                                    "-0",
                                    "1e999",
                                    "99999999999999999999",
                                    "\"asset://\"",
                                    "\"asset://hero\"",
                                    "\"Image 99\"",
                                    "\"@video7\"",
                                    "\"https://\"",
                                    "\"\\u0000\"",
                                    "\"\xff\xfe\"",
                                    "\"name\"",
                                    "\"tasks\"",
                                    "\"assets\"",
                                    "\"duration\"",
                                    "4.5",
                                    "-1",
                                    "\"1080p\"",
                                    "\"text_to_video\"",
                                    "\n",
                                    " "};
    return kTokens[pick(std::size(kTokens))];
  }

  // A random JSON value for structural mutations.
  Json value(int depth = 0) {
    switch (pick(depth > 2 ? 6 : 8)) {
      case 0:
        return nullptr;
      case 1:
        return static_cast<int64_t>(pick(40)) - 10;
      case 2:
        return pick(2) == 1;
      case 3:
        return 3.75;
      case 4:
        return std::string(pick(2) ? "asset://mika" : "https://cdn.example.com/x.mp4");
      case 5:
        return random_bytes(pick(6)).empty() ? std::string("") : std::string("Image 3 @audio2");
      case 6: {
        Json a = Json::array();
        for (size_t i = pick(14); i > 0; --i) a.push_back(value(depth + 1));
        return a;
      }
      default: {
        Json o = Json::object();
        o["name"] = "x" + std::to_string(pick(5));
        o["prompt"] = value(depth + 1);
        return o;
      }
    }
  }

  // Replaces a random node of `j` (walking objects and arrays) with a random value.
  void mutate_json(Json& j) {
    Json* node = &j;
    for (int steps = static_cast<int>(pick(5)); steps > 0; --steps) {
      if (node->is_object() && !node->empty()) {
        auto it = node->begin();
        std::advance(it, static_cast<long>(pick(node->size())));
        node = &it.value();
      } else if (node->is_array() && !node->empty()) {
        node = &(*node)[pick(node->size())];
      } else {
        break;
      }
    }
    switch (pick(3)) {
      case 0:
        *node = value();
        break;
      case 1:
        if (node->is_object() && !node->empty()) {
          auto it = node->begin();
          std::advance(it, static_cast<long>(pick(node->size())));
          node->erase(it);
        } else {
          *node = value();
        }
        break;
      default:
        if (node->is_object()) {
          (*node)[pick(2) ? "mode" : "image_urls"] = value();
        } else if (node->is_array()) {
          node->push_back(value());
        } else {
          *node = value();
        }
    }
  }

  std::string mutate(const std::string& base) {
    std::string s = base;
    switch (pick(10)) {
      case 0:  // byte flips
        for (size_t i = pick(8) + 1; i > 0 && !s.empty(); --i)
          s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1: {  // delete a range
        size_t at = pick(s.size());
        s.erase(at, pick(64) + 1);
        break;
      }
      case 2:  // insert tokens
        for (size_t i = pick(4) + 1; i > 0; --i) s.insert(pick(s.size() + 1), token());
        break;
      case 3:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 4: {  // splice: duplicate a chunk elsewhere
        size_t from = pick(s.size());
        std::string chunk = s.substr(from, pick(200));
        s.insert(pick(s.size() + 1), chunk);
        break;
      }
      case 5:  // a random binary file
        s = random_bytes(pick(2048));
        break;
      case 6: {  // deep nesting
        size_t depth = pick(3) == 0 ? 20000 : pick(40);
        std::string open = pick(2) ? "[" : "{\"tasks\":";
        std::string deep;
        for (size_t i = 0; i < depth; ++i) deep += open;
        s = pick(2) ? deep : s.insert(pick(s.size() + 1), deep);
        break;
      }
      default: {  // structural: parse, replace values, print
        config::ParseFailure f;
        auto j = config::parse_json(base, f);
        if (!j) break;
        for (size_t i = pick(3) + 1; i > 0; --i) mutate_json(*j);
        s = j->dump(pick(2) ? 2 : -1, ' ', false, Json::error_handler_t::replace);
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

void expect_consistent(const FileSpecs& fs, const std::vector<Diagnostic>& diags,
                       const std::string& text) {
  bool has_error = !test::errors_of(diags).empty();
  EXPECT_NE(fs.ok, has_error) << test::dump(diags) << text.substr(0, 500);
  if (!fs.ok) {
    EXPECT_TRUE(fs.assets.empty() && fs.tasks.empty());
  }
  // A valid result holds only valid declarations.
  for (const auto& a : fs.assets) {
    EXPECT_TRUE(config::is_valid_name(a.name)) << a.name;
  }
  for (const auto& t : fs.tasks) {
    EXPECT_TRUE(config::is_valid_name(t.name)) << t.name;
    EXPECT_NE(config::find_task_type(t.task_type), nullptr) << t.task_type;
    EXPECT_FALSE(t.prompt.empty());
    if (t.duration) {
      EXPECT_TRUE(*t.duration >= 4 && *t.duration <= 15) << *t.duration;
    }
    EXPECT_LE(t.image_urls.size() + t.video_urls.size() + t.audio_urls.size(), 12u);
  }
  for (const auto& d : diags) {
    EXPECT_FALSE(d.message.empty());
    EXPECT_GE(d.line, 0);
  }
}

TEST(JobSpecFuzz, MutatedExamplesNeverCrashAndAlwaysDecide) {
  auto files = test::example_files();
  ASSERT_FALSE(files.empty());
  Mutator m(20261127);
  MainConfig config;
  int valid = 0, invalid = 0;
  auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 5000;
  for (int i = 0; i < kRounds; ++i) {
    const auto& [path, base] = files[m.pick(files.size())];
    std::string text = base;
    for (size_t k = m.pick(3) + 1; k > 0; --k) text = m.mutate(text);
    std::vector<Diagnostic> diags;
    FileSpecs fs = parse_job_file(path, text, diags);
    expect_consistent(fs, diags, text);
    (fs.ok ? valid : invalid)++;
    if (i % 50 == 0) {  // the cross-file rules too, with the other examples beside it
      std::map<std::string, std::string> all(files.begin(), files.end());
      all[path] = text;
      JobsLoad load = load_jobs_from_texts(all, config);
      JobsLoad again = load_jobs_from_texts(all, config, &load);
      EXPECT_EQ(load.files.size(), all.size());
      EXPECT_EQ(again.specs.tasks.size(), load.specs.tasks.size());
    }
    if (::testing::Test::HasFailure()) break;
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d valid, %d invalid in %.2f s\n", valid, invalid, secs);
  EXPECT_GT(valid, 50) << "the mutations should leave some files valid";
  EXPECT_GT(invalid, kRounds / 2);
}

}  // namespace
}  // namespace sd

namespace sd {
namespace {

TEST(JobSpecFuzz, LargeInputsAreRejectedOrBounded) {
  std::vector<Diagnostic> d;
  EXPECT_FALSE(parse_job_file("big.json", std::string(5u << 20, ' '), d).ok);
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d[0].message.find("larger than 4 MiB"), std::string::npos);

  // 120k entries in one list: one clear error, no blow-up.
  std::string many =
      "{\"tasks\": [{\"name\": \"t\", \"task_type\": \"seedance-2\", \"prompt\": \"p\","
      " \"image_urls\": [";
  for (int i = 0; i < 120000; ++i) many += i ? ",1" : "1";
  many += "]}]}";
  d.clear();
  EXPECT_FALSE(parse_job_file("many.json", many, d).ok);
  EXPECT_FALSE(test::errors_of(d).empty());
  EXPECT_LE(d.size(), 51u);
  EXPECT_NE(d.back().message.find("more problems"), std::string::npos);
}

}  // namespace
}  // namespace sd
