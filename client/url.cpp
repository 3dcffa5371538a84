#include "client/url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sd::piapi {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_dotted_quad(std::string_view s, int* first_octet) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j - i > 3) return false;
    int v = 0;
    std::from_chars(s.data() + i, s.data() + j, v);
    if (v > 255) return false;
    if (parts == 0 && first_octet) *first_octet = v;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

// Removes "." and ".." segments (RFC 3986 §5.2.4), keeping the query intact.
std::string normalize_target(std::string_view target) {
  const size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q);
  std::vector<std::string_view> segs;
  size_t i = 1;  // path starts with '/'
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    const bool last = j == path.size();
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      if (last) segs.emplace_back();
    } else if (seg == ".") {
      if (last) segs.emplace_back();
    } else {
      segs.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (auto s : segs) {
    out += '/';
    out += s;
  }
  if (out.empty()) out = "/";
  out += query;
  return out;
}

}  // namespace

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

std::string Url::origin() const {
  return std::string(tls ? "https://" : "http://") + host_header();
}

Result<Url> parse_url(std::string_view text) {
  const size_t colon = text.find("://");
  if (colon == std::string_view::npos) {
    return Fail(Error::InvalidArgument("URL has no scheme (expected http:// or https://)"));
  }
  const std::string scheme = lower(text.substr(0, colon));
  Url url;
  if (scheme == "https") {
    url.tls = true;
    url.port = 443;
  } else if (scheme == "http") {
    url.tls = false;
    url.port = 80;
  } else {
    return Fail(Error::InvalidArgument("unsupported URL scheme '" + scheme + "'"));
  }
  std::string_view rest = text.substr(colon + 3);
  const size_t frag = rest.find('#');
  if (frag != std::string_view::npos) rest = rest.substr(0, frag);
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string target =
      path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (!target.empty() && target[0] == '?') target = "/" + target;
  if (authority.find('@') != std::string_view::npos) {
    return Fail(Error::InvalidArgument("URL must not carry credentials"));
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Fail(Error::InvalidArgument("bad IPv6 literal"));
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Fail(Error::InvalidArgument("bad text after IPv6 literal"));
      port = after.substr(1);
    }
  } else {
    const size_t c = authority.rfind(':');
    host = authority.substr(0, c);
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (host.empty()) return Fail(Error::InvalidArgument("URL has no host"));
  for (char ch : host) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isspace(u) || std::iscntrl(u) || ch == '/' || ch == '\\') {
      return Fail(Error::InvalidArgument("URL host has invalid characters"));
    }
  }
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      return Fail(Error::InvalidArgument("bad port in URL"));
    }
    url.port = static_cast<uint16_t>(v);
  }
  for (char ch : target) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::iscntrl(u) || ch == ' ') {
      return Fail(Error::InvalidArgument("URL path has invalid characters"));
    }
  }
  url.host = lower(host);
  url.target = std::move(target);
  return url;
}

bool is_loopback_host(std::string_view host) {
  if (!host.empty() && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string h = lower(host);
  if (h == "localhost" || h == "localhost." || h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
  int first = -1;
  return is_dotted_quad(h, &first) && first == 127;
}

Result<Url> resolve_location(const Url& base, std::string_view location) {
  if (location.empty()) return Fail(Error::InvalidArgument("empty Location header"));
  if (location.find("://") != std::string_view::npos) {
    // An absolute URL (only when the scheme comes before any '/').
    const size_t slash = location.find('/');
    if (slash == std::string_view::npos || location.find("://") < slash) {
      return parse_url(location);
    }
  }
  if (location.substr(0, 2) == "//") {
    return parse_url(std::string(base.tls ? "https:" : "http:") + std::string(location));
  }
  Url out = base;
  if (location[0] == '/') {
    out.target = normalize_target(location);
  } else if (location[0] == '?') {
    out.target = base.target.substr(0, base.target.find('?')) + std::string(location);
  } else {
    std::string dir = base.target.substr(0, base.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    out.target = normalize_target(dir + std::string(location));
  }
  for (char ch : out.target) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::iscntrl(u) || ch == ' ') {
      return Fail(Error::InvalidArgument("Location has invalid characters"));
    }
  }
  return out;
}

Result<void> check_allowed(const Url& url) {
  if (url.tls || is_loopback_host(url.host)) return Ok();
  return Fail(Error::InvalidArgument(
      "plain http is only allowed to loopback hosts; use https for " + url.host));
}

}  // namespace sd::piapi
