// Error values and Result<T>, used across every module boundary.
//
// An Error is a code plus a human message that already names what went wrong
// (file, field, entity). Result<T> is tl::expected<T, Error>: check with
// `if (!r)` and read `r.error()`, else use `*r`. Nothing in seedanced throws
// across a module boundary; exceptions are for bugs.
//
// Thread contract: plain values; const methods may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace sd {

class Error {
 public:
  enum class Code : int {
    kInvalidArgument = 1,  // bad input from a user: config, job spec, command line
    kNotFound = 2,         // a named thing does not exist
    kIo = 3,               // a file, socket or database operation failed
    kCorruption = 4,       // stored data cannot be read back
    kParse = 5,            // malformed JSON / body
    kConflict = 6,         // the operation contradicts current state
    kUnsupported = 7,      // e.g. a state DB written by a newer seedanced
    kInternal = 8,         // a bug
  };

  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Error InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Error NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Error Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Error Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Error Parse(std::string m) { return {Code::kParse, std::move(m)}; }
  static Error Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Error Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Error Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>".
  Error With(std::string_view context) const {
    return {code_, std::string(context) + ": " + message_};
  }

 private:
  Code code_;
  std::string message_;
};

template <class T>
using Result = tl::expected<T, Error>;

// The value to return from a Result<void> function on success: `return Ok();`.
inline Result<void> Ok() {
  return {};
}

inline tl::unexpected<Error> Fail(Error e) {
  return tl::unexpected<Error>(std::move(e));
}

}  // namespace sd
