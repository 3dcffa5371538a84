#include "config/json_source.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cstdio>
#include <fstream>

namespace sd::config {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Skips a comment starting at text[i] == '/', counting newlines. Returns the
// index after it; i + 1 when it is not a comment.
size_t skip_comment(std::string_view text, size_t i, int& line) {
  if (i + 1 >= text.size()) return i + 1;
  if (text[i + 1] == '/') {
    i += 2;
    while (i < text.size() && text[i] != '\n') ++i;
    return i;
  }
  if (text[i + 1] == '*') {
    i += 2;
    while (i < text.size()) {
      if (text[i] == '\n') ++line;
      if (text[i] == '*' && i + 1 < text.size() && text[i + 1] == '/') return i + 2;
      ++i;
    }
    return i;
  }
  return i + 1;
}

// Reads a string token starting at text[i] == '"'; returns the index after
// the closing quote (or the end) and the decoded simple escapes in `out`.
size_t read_string(std::string_view text, size_t i, std::string& out, int& line) {
  out.clear();
  ++i;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') return i + 1;
    if (c == '\n') ++line;  // invalid JSON, but keep counting
    if (c == '\\' && i + 1 < text.size()) {
      char e = text[i + 1];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u':
          out += "\\u";  // kept raw: only ASCII keys are looked up
          break;
        default:
          out += e;
      }
      i += 2;
      continue;
    }
    out += c;
    ++i;
  }
  return i;
}

}  // namespace

Result<std::string> read_file_capped(const std::string& path, size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(Error::NotFound(path + ": cannot open: no such file or directory"));
  }
  if (!S_ISREG(st.st_mode)) return Fail(Error::Io(path + ": not a regular file"));
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Fail(Error::InvalidArgument(path + ": file is too large (" + std::to_string(st.st_size) +
                                       " bytes; the limit is " + std::to_string(max_bytes) + ")"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Error::Io(path + ": cannot open for reading (permission denied?)"));
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) return Fail(Error::Io(path + ": read error"));
  return text;
}

int max_nesting_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  int line = 1;
  std::string scratch;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      i = read_string(text, i, scratch, line);
      continue;
    }
    if (c == '/') {
      i = skip_comment(text, i, line);
      continue;
    }
    if (c == '{' || c == '[') deepest = std::max(deepest, ++depth);
    if ((c == '}' || c == ']') && depth > 0) --depth;
    ++i;
  }
  return deepest;
}

std::optional<Json> parse_json(std::string_view text, ParseFailure& failure, int max_depth) {
  if (int depth = max_nesting_depth(text); depth > max_depth) {
    failure.line = 0;
    failure.message = "JSON is nested " + std::to_string(depth) + " levels deep; at most " +
                      std::to_string(max_depth) + " are allowed";
    return std::nullopt;
  }
  try {
    return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const Json::parse_error& e) {
    size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    if (byte >= text.size()) {
      // "unexpected end of input": point at the last line with content.
      size_t last = text.find_last_not_of(" \t\r\n");
      byte = last == std::string_view::npos ? 0 : last;
    }
    failure.line = line_of_byte(text, byte);
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: ".
    if (auto col = what.find("column "); col != std::string::npos) {
      if (auto colon = what.find(": ", col); colon != std::string::npos) {
        what = what.substr(colon + 2);
      }
    } else if (auto close = what.find("] "); close != std::string::npos) {
      what = what.substr(close + 2);
    }
    failure.message = "invalid JSON: " + what;
  } catch (const std::exception& e) {
    failure.line = 0;
    failure.message = std::string("invalid JSON: ") + e.what();
  }
  return std::nullopt;
}

LineMap::LineMap(std::string_view text) {
  struct Frame {
    bool object = false;
    bool want_key = false;
    size_t index = 0;
    std::string key;
  };
  std::vector<Frame> frames;
  int line = 1;
  std::string token;

  auto record = [&](int at) {
    if (frames.size() > static_cast<size_t>(kMaxDepth) || lines_.size() >= kMaxEntries) return;
    std::string ptr;
    for (const auto& f : frames) {
      ptr += '/';
      ptr += f.object ? pointer_token(f.key) : std::to_string(f.index);
    }
    lines_.emplace(std::move(ptr), at);
  };

  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == '/') {
      i = skip_comment(text, i, line);
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        record(line);
        frames.push_back(Frame{c == '{', c == '{', 0, {}});
        ++i;
        continue;
      case '}':
      case ']':
        if (!frames.empty()) frames.pop_back();
        ++i;
        continue;
      case ',':
        if (!frames.empty()) {
          if (frames.back().object) {
            frames.back().want_key = true;
          } else {
            ++frames.back().index;
          }
        }
        ++i;
        continue;
      case ':':
        if (!frames.empty()) frames.back().want_key = false;
        ++i;
        continue;
      case '"': {
        int at = line;
        i = read_string(text, i, token, line);
        if (!frames.empty() && frames.back().object && frames.back().want_key) {
          frames.back().key = token;
          record(at);
        } else {
          record(at);
        }
        continue;
      }
      default:
        record(line);
        while (i < text.size() && !is_space(text[i]) && text[i] != ',' && text[i] != ':' &&
               text[i] != '}' && text[i] != ']' && text[i] != '{' && text[i] != '[' &&
               text[i] != '"' && text[i] != '/') {
          ++i;
        }
        continue;
    }
  }
}

int LineMap::line(std::string_view pointer) const {
  std::string p(pointer);
  while (true) {
    if (auto it = lines_.find(p); it != lines_.end()) return it->second;
    if (p.empty()) return 0;
    auto slash = p.rfind('/');
    p.resize(slash == std::string::npos ? 0 : slash);
  }
}

std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

int line_of_byte(std::string_view text, size_t byte) {
  byte = std::min(byte, text.size());
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(byte), '\n'));
}

std::string quoted(std::string_view s, size_t max_chars) {
  std::string out = "'";
  size_t n = 0;
  for (char ch : s) {
    if (n >= max_chars) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
    ++n;
  }
  out += "'";
  return out;
}

std::string json_kind(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  if (word.size() > 200) return "";
  std::string best;
  size_t best_d = SIZE_MAX;
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  size_t limit = std::max<size_t>(2, std::max(word.size(), best.size()) / 3);
  return best_d <= limit ? best : "";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace sd::config
