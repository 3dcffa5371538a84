// URLs as the client needs them: scheme, host, port and request target, the
// loopback test that gates plain http, and relative redirect resolution.
// Pure, no IO. Owned by client/.
//
// Thread contract: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sd::piapi {

struct Url {
  bool tls = true;      // https (true) or http (false)
  std::string host;     // without brackets for IPv6 literals: "::1"
  uint16_t port = 443;  // explicit or the scheme's default
  std::string target;   // path + query, at least "/"

  // "host" or "host:port" (port omitted when it is the scheme's default),
  // IPv6 literals bracketed: the value of a Host header.
  std::string host_header() const;
  // "scheme://host[:port]" without the target, for error messages.
  std::string origin() const;
};

// Parses an absolute http(s) URL. Userinfo ("user:pass@") and fragments are
// rejected/dropped; anything but http/https is an error.
Result<Url> parse_url(std::string_view text);

// true for "localhost", 127.0.0.0/8 and ::1: the only hosts plain http may reach.
bool is_loopback_host(std::string_view host);

// Resolves a Location header value against the URL it came from: absolute
// URLs, scheme-relative ("//host/x"), absolute paths and relative paths.
Result<Url> resolve_location(const Url& base, std::string_view location);

// The combined rule: https anywhere, http only to loopback.
Result<void> check_allowed(const Url& url);

}  // namespace sd::piapi
