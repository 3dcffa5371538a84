// The helpers under the parsers: line map, comments, nesting, suggestions, URLs, prompt refs.
#include <gtest/gtest.h>

#include "config/json_source.hpp"
#include "config/validate.hpp"

namespace sd::config {
namespace {

TEST(LineMap, RecordsKeysElementsAndSkipsCommentsAndStrings) {
  std::string text =
      "// header { [ \"\n"               // 1
      "{\n"                              // 2
      "  /* a { comment\n"               // 3
      "     spanning */ \"tasks\": [\n"  // 4
      "    {\"name\": \"a}b\\\"c\",\n"   // 5
      "     \"image_urls\": [\"x\",\n"   // 6
      "        \"y\"]},\n"               // 7
      "    {\"name\": \"b\"}\n"          // 8
      "  ],\n"                           // 9
      "  \"a/b~c\": 1\n"                 // 10
      "}\n";
  LineMap m(text);
  EXPECT_EQ(m.line(""), 2);
  EXPECT_EQ(m.line("/tasks"), 4);
  EXPECT_EQ(m.line("/tasks/0"), 5);
  EXPECT_EQ(m.line("/tasks/0/name"), 5);
  EXPECT_EQ(m.line("/tasks/0/image_urls"), 6);
  EXPECT_EQ(m.line("/tasks/0/image_urls/0"), 6);
  EXPECT_EQ(m.line("/tasks/0/image_urls/1"), 7);
  EXPECT_EQ(m.line("/tasks/1"), 8);
  EXPECT_EQ(m.line("/tasks/1/name"), 8);
  EXPECT_EQ(m.line("/tasks/1/missing"), 8);  // falls back to the object
  EXPECT_EQ(m.line("/a~1b~0c"), 10);
  ParseFailure f;
  EXPECT_TRUE(parse_json(text, f).has_value()) << f.message;
}

TEST(ParseJson, SyntaxErrorLineAndDepthLimit) {
  ParseFailure f;
  EXPECT_FALSE(parse_json("{\n\"a\": 1,\n\"b\" 2\n}", f));
  EXPECT_EQ(f.line, 3);
  EXPECT_NE(f.message.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(f.message.find("json.exception"), std::string::npos) << f.message;

  std::string deep(100000, '[');
  EXPECT_FALSE(parse_json(deep, f, 32));
  EXPECT_NE(f.message.find("nested"), std::string::npos);
  EXPECT_EQ(max_nesting_depth("[[\"[[[\"], /* [[[ */ {}]"), 2);
}

TEST(DidYouMean, PicksCloseCandidatesOnly) {
  EXPECT_EQ(did_you_mean("duraton", {"duration", "prompt"}), "duration");
  EXPECT_EQ(did_you_mean("zzzzzz", {"duration", "prompt"}), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Url, ParsesHttpAndRejectsTheRest) {
  std::string why;
  auto u = parse_http_url("HTTPS://user@cdn.example.com:8443/a/b.PNG?x=1#f", why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "cdn.example.com");
  EXPECT_EQ(u->path, "/a/b.PNG");
  EXPECT_EQ(url_extension(*u), "png");
  EXPECT_TRUE(parse_http_url("http://[::1]:80/x", why));
  EXPECT_TRUE(parse_http_url("https://cdn.example.com", why));
  for (const char* bad : {"", "cdn.example.com/a.png", "ftp://x/a", "https://", "https://:80/x",
                          "https://a b/c", "https://host:99999/", "https://host:/x",
                          "javascript://alert(1)", "https://[::1/x", "https://-x/"}) {
    EXPECT_FALSE(parse_http_url(bad, why)) << bad;
    EXPECT_FALSE(why.empty());
  }
  auto noext = parse_http_url("https://cdn.example.com/render/7?fmt=png", why);
  ASSERT_TRUE(noext);
  EXPECT_EQ(url_extension(*noext), "");
}

TEST(PromptRefs, FindsEveryPlaceholderForm) {
  auto refs =
      prompt_refs("Image 1 and Image  2, @video1 then @AUDIO2. Imagery 3, Image 4x, xImage 5");
  ASSERT_EQ(refs.size(), 4u);
  EXPECT_EQ(refs[0].text, "Image 1");
  EXPECT_EQ(refs[1].text, "Image  2");
  EXPECT_EQ(refs[1].number, 2);
  EXPECT_EQ(refs[2].type, MediaType::kVideo);
  EXPECT_EQ(refs[3].type, MediaType::kAudio);
  EXPECT_EQ(refs[3].number, 2);
  EXPECT_EQ(prompt_refs("Image 99999999999")[0].number, 999999);
}

TEST(Names, FileNameRule) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("hero_2.v-1"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name(".x"));
  EXPECT_FALSE(is_valid_name("a/b"));
  EXPECT_FALSE(is_valid_name("a b"));
  EXPECT_FALSE(is_valid_name(std::string(101, 'a')));
  EXPECT_TRUE(is_valid_name(std::string(100, 'a')));
}

}  // namespace
}  // namespace sd::config
