// schema/jobs.schema.json stays in step with the parser's tables, and every
// example file validates against it (a small structural validator: type,
// properties, required, additionalProperties, items, enum, min/max,
// minLength/maxLength, maxItems, pattern, $ref into $defs).
// g++ 12 with -O2 and the sanitizers warns about std::regex internals
// (a known false positive, GCC bug 105562); it is not our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "config/json_source.hpp"
#include "config/validate.hpp"
#include "config_test_util.hpp"

namespace sd {
namespace {

using config::Json;

Json load_schema() {
  config::ParseFailure f;
  auto j = config::parse_json(
      test::read_text(std::string(SD_SOURCE_DIR) + "/schema/jobs.schema.json"), f);
  EXPECT_TRUE(j) << f.message;
  return j ? *j : Json::object();
}

std::set<std::string> keys_of(const Json& obj) {
  std::set<std::string> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) out.insert(it.key());
  return out;
}

std::set<std::string> names_of(const std::vector<config::FieldInfo>& fields, bool required_only) {
  std::set<std::string> out;
  for (const auto& f : fields) {
    if (!required_only || f.required) out.insert(std::string(f.name));
  }
  return out;
}

std::set<std::string> as_set(const std::vector<std::string_view>& v) {
  return {v.begin(), v.end()};
}

std::set<std::string> enum_of(const Json& j) {
  std::set<std::string> out;
  for (const auto& e : j.at("enum")) out.insert(e.get<std::string>());
  return out;
}

// Checks each field's JSON type in the schema against the parser's table.
void expect_types_match(const Json& props, const std::vector<config::FieldInfo>& fields,
                        const Json& defs) {
  for (const auto& f : fields) {
    const Json& p = props.at(std::string(f.name));
    const Json& resolved =
        p.contains("$ref")
            ? defs.at(p["$ref"].get<std::string>().substr(std::string("#/$defs/").size()))
            : p;
    if (resolved.contains("type")) {
      EXPECT_EQ(resolved["type"].get<std::string>(), f.json_type) << f.name;
    } else {
      EXPECT_EQ(f.json_type, "string") << f.name << ": an enum of strings";
    }
  }
}

TEST(Schema, MatchesTheParserTables) {
  Json s = load_schema();
  EXPECT_EQ(s.value("$schema", ""), "https://json-schema.org/draft/2020-12/schema");
  const Json& defs = s.at("$defs");
  EXPECT_EQ(keys_of(s.at("properties")), names_of(config::file_fields(), false));
  EXPECT_FALSE(s.at("additionalProperties").get<bool>());
  expect_types_match(s.at("properties"), config::file_fields(), defs);

  const Json& asset = defs.at("asset");
  EXPECT_EQ(keys_of(asset.at("properties")), names_of(config::asset_fields(), false));
  std::set<std::string> req(asset.at("required").begin(), asset.at("required").end());
  EXPECT_EQ(req, names_of(config::asset_fields(), true));
  EXPECT_FALSE(asset.at("additionalProperties").get<bool>());
  EXPECT_EQ(enum_of(asset.at("properties").at("type")), as_set(config::media_type_names()));
  expect_types_match(asset.at("properties"), config::asset_fields(), defs);

  const Json& task = defs.at("task");
  const Json& tp = task.at("properties");
  EXPECT_EQ(keys_of(tp), names_of(config::task_fields(), false));
  std::set<std::string> treq(task.at("required").begin(), task.at("required").end());
  EXPECT_EQ(treq, names_of(config::task_fields(), true));
  EXPECT_FALSE(task.at("additionalProperties").get<bool>());
  expect_types_match(tp, config::task_fields(), defs);
  EXPECT_EQ(enum_of(tp.at("task_type")), as_set(config::task_type_names()));
  EXPECT_EQ(enum_of(tp.at("aspect_ratio")), as_set(config::aspect_ratios()));
  EXPECT_EQ(enum_of(tp.at("resolution")), as_set(config::resolutions()));
  EXPECT_EQ(enum_of(tp.at("mode")), as_set(config::modes()));
  EXPECT_EQ(tp.at("duration").at("minimum").get<int>(), config::kMinDuration);
  EXPECT_EQ(tp.at("duration").at("maximum").get<int>(), config::kMaxDuration);
  EXPECT_EQ(tp.at("prompt").at("maxLength").get<size_t>(), config::kMaxPromptChars);
  EXPECT_EQ(tp.at("image_urls").at("maxItems").get<int>(), config::kMaxImages);
  EXPECT_EQ(tp.at("video_urls").at("maxItems").get<int>(), config::kMaxVideos);
  EXPECT_EQ(tp.at("audio_urls").at("maxItems").get<int>(), config::kMaxAudios);
  EXPECT_EQ(defs.at("name").at("maxLength").get<size_t>(), config::kMaxNameChars);
}

// A small JSON Schema validator: enough for this schema. Appends problems to `errs`.
class MiniValidator {
 public:
  explicit MiniValidator(const Json& root) : root_(root) {}

  void validate(const Json& v, const Json& schema, const std::string& at,
                std::vector<std::string>& errs) const {
    if (schema.contains("$ref")) {
      std::string ref = schema["$ref"].get<std::string>();
      validate(v, root_.at("$defs").at(ref.substr(std::string("#/$defs/").size())), at, errs);
    }
    if (schema.contains("type")) {
      std::string t = schema["type"].get<std::string>();
      bool ok = (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
                (t == "string" && v.is_string()) || (t == "boolean" && v.is_boolean()) ||
                (t == "integer" && (v.is_number_integer() || v.is_number_unsigned())) ||
                (t == "number" && v.is_number());
      if (!ok) {
        errs.push_back(at + ": not " + t);
        return;
      }
    }
    if (schema.contains("enum")) {
      bool found = false;
      for (const auto& e : schema["enum"]) found = found || e == v;
      if (!found) errs.push_back(at + ": not in enum");
    }
    if (v.is_string()) {
      size_t n = config::utf8_length(v.get<std::string>());
      if (schema.contains("minLength") && n < schema["minLength"].get<size_t>())
        errs.push_back(at + ": too short");
      if (schema.contains("maxLength") && n > schema["maxLength"].get<size_t>())
        errs.push_back(at + ": too long");
      if (schema.contains("pattern") &&
          !std::regex_search(v.get<std::string>(),
                             std::regex(schema["pattern"].get<std::string>()))) {
        errs.push_back(at + ": does not match the pattern");
      }
    }
    if (v.is_number()) {
      if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>())
        errs.push_back(at + ": below minimum");
      if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>())
        errs.push_back(at + ": above maximum");
    }
    if (v.is_array()) {
      if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>())
        errs.push_back(at + ": too many items");
      if (schema.contains("items")) {
        for (size_t i = 0; i < v.size(); ++i)
          validate(v[i], schema["items"], at + "/" + std::to_string(i), errs);
      }
    }
    if (v.is_object()) {
      const Json empty = Json::object();
      const Json& props = schema.contains("properties") ? schema["properties"] : empty;
      if (schema.contains("required")) {
        for (const auto& r : schema["required"]) {
          if (!v.contains(r.get<std::string>()))
            errs.push_back(at + ": missing " + r.get<std::string>());
        }
      }
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (props.contains(it.key())) {
          validate(it.value(), props[it.key()], at + "/" + it.key(), errs);
        } else if (schema.contains("additionalProperties") &&
                   !schema["additionalProperties"].get<bool>()) {
          errs.push_back(at + ": unknown property " + it.key());
        }
      }
    }
  }

 private:
  const Json& root_;
};

TEST(Schema, ExamplesValidate) {
  Json s = load_schema();
  MiniValidator val(s);
  auto files = test::example_files();
  ASSERT_EQ(files.size(), 3u);
  for (const auto& [path, text] : files) {
    config::ParseFailure f;
    auto doc = config::parse_json(text, f);
    ASSERT_TRUE(doc) << path << ": " << f.message;
    std::vector<std::string> errs;
    val.validate(*doc, s, path, errs);
    EXPECT_TRUE(errs.empty()) << errs.front();
  }
}

TEST(Schema, ValidatorCatchesWhatTheParserRejects) {
  // The validator is not vacuous: structural errors the parser reports are caught.
  Json s = load_schema();
  MiniValidator val(s);
  for (
      const char* bad : {
          R"({"tasks": [{"name": "a", "task_type": "seedance-3", "prompt": "p"}]})",
          R"({"tasks": [{"name": ".a", "task_type": "seedance-2", "prompt": "p"}]})",
          R"({"tasks": [{"name": "a", "task_type": "seedance-2", "prompt": "p", "duration": 3}]})",
          R"({"tasks": [{"name": "a", "task_type": "seedance-2", "prompt": "p", "image_urls": ["ftp://x/y"]}]})",
          R"({"tasks": [{"name": "a", "task_type": "seedance-2", "prompt": "p", "durations": 5}]})",
          R"({"assets": [{"name": "a", "url": "asset://x"}]})",
          R"({"assets": [{"name": "a"}]})",
          R"({"asset": []})",
      }) {
    std::vector<std::string> errs;
    val.validate(Json::parse(bad), s, "", errs);
    EXPECT_FALSE(errs.empty()) << bad;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(parse_job_file("x.json", bad, diags).ok) << bad;
  }
}

}  // namespace
}  // namespace sd
