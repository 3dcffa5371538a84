// SimServer over loopback: keep-alive, every fault mode at rate 1.0, /sim/stats,
// /sim/control, request limits, and the piapi-sim program. A tiny blocking
// HTTP/1.1 client on plain sockets lives here (no Beast in the tests).
#include "sim/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace sd::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

//------------------------------------------------------------------------------
// A blocking test HTTP client

struct Exchange {
  enum class Outcome {
    kOk,         // a complete reply
    kReset,      // ECONNRESET
    kClosed,     // EOF before any reply byte
    kTruncated,  // EOF inside the body
    kTimeout,    // nothing within the receive timeout
    kSendFailed,
  };
  Outcome outcome = Outcome::kOk;
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  size_t content_length = 0;
  json doc() const { return json::parse(body, nullptr, false); }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One client connection to 127.0.0.1:port.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return connected_; }

  // Sends one request and reads its reply.
  Exchange send(const std::string& method, const std::string& target, const std::string& body = "",
                const std::vector<std::string>& extra = {"X-API-Key: sim-key"}) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: sim.test:1234\r\n";
    for (const std::string& h : extra) req += h + "\r\n";
    if (!body.empty() || method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    return send_raw(req);
  }

  // Sends `req` verbatim and reads one reply.
  Exchange send_raw(const std::string& req) {
    Exchange x;
    size_t sent = 0;
    while (sent < req.size()) {
      const ssize_t n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        x.outcome = Exchange::Outcome::kSendFailed;
        return x;
      }
      sent += static_cast<size_t>(n);
    }
    return read_reply();
  }

  // True when the server closed the connection (EOF or reset) within 5 s.
  bool peer_closed() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  // Returns false on EOF/error, recording the outcome.
  bool fill(Exchange& x, bool in_body) {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      x.outcome =
          in_body || !buf_.empty() ? Exchange::Outcome::kTruncated : Exchange::Outcome::kClosed;
    } else if (errno == ECONNRESET) {
      x.outcome = Exchange::Outcome::kReset;
    } else {
      x.outcome = Exchange::Outcome::kTimeout;
    }
    return false;
  }

  Exchange read_reply() {
    Exchange x;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(x, false)) return x;
    }
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    x.status = std::stoi(head.substr(9, 3));
    while (line_end != std::string::npos) {
      const size_t next = head.find("\r\n", line_end + 2);
      const std::string line = head.substr(
          line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        x.headers[lower(line.substr(0, colon))] = value;
      }
      line_end = next;
    }
    x.content_length =
        x.headers.count("content-length") ? std::stoul(x.headers["content-length"]) : 0;
    while (buf_.size() < x.content_length) {
      if (!fill(x, true)) {
        x.body = buf_;
        buf_.clear();
        return x;
      }
    }
    x.body = buf_.substr(0, x.content_length);
    buf_.erase(0, x.content_length);
    return x;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// A clock tests move while the server thread reads it.
class AtomicClock final : public Clock {
 public:
  TimePoint now() const override { return from_millis(ms_.load()); }
  void advance(Duration d) { ms_ += d.count(); }

 private:
  std::atomic<int64_t> ms_{1'800'000'000'000};
};

std::unique_ptr<SimServer> start(SimOptions o = {}) {
  auto s = SimServer::start(std::move(o));
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

const std::string kCreate =
    R"({"model":"seedance","task_type":"seedance-2","input":{"prompt":"a cat","duration":5}})";

//------------------------------------------------------------------------------
// Lifecycle, keep-alive, limits

TEST(SimServer, StartsOnAFreePortAndStops) {
  auto server = start();
  ASSERT_TRUE(server);
  ASSERT_NE(server->port(), 0);
  EXPECT_EQ(server->base_url(), "http://127.0.0.1:" + std::to_string(server->port()));
  {
    Conn c(server->port());
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.send("GET", "/sim/stats").status, 200);
  }
  const uint16_t port = server->port();
  server->stop();
  server->stop();  // idempotent
  Conn after(port);
  EXPECT_FALSE(after.connected());
}

TEST(SimServer, StopClosesOpenConnections) {
  auto server = start();
  Conn c(server->port());
  ASSERT_EQ(c.send("GET", "/sim/stats").status, 200);
  server->stop();
  EXPECT_TRUE(c.peer_closed());
}

TEST(SimServer, StartFailsOnBadOptionsOrBusyPort) {
  SimOptions bad;
  bad.plan = "platinum";
  EXPECT_FALSE(SimServer::start(bad));
  auto first = start();
  SimOptions same;
  same.port = first->port();
  auto second = SimServer::start(same);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("cannot listen"), std::string::npos);
}

TEST(SimServer, KeepAliveServesManyRequestsOnOneConnection) {
  auto server = start();
  Conn c(server->port());
  Exchange up = c.send("POST", "/api/v1/asset/upload", R"({"url":"https://cdn.example/a.png"})");
  ASSERT_EQ(up.status, 200) << up.body;
  const std::string id = up.doc()["asset_id"];
  for (int i = 0; i < 5; ++i) {
    Exchange x = c.send("GET", "/api/v1/asset/" + id);
    ASSERT_EQ(x.outcome, Exchange::Outcome::kOk);
    EXPECT_EQ(x.status, 200);
    EXPECT_EQ(x.doc()["asset_id"], id);
  }
  EXPECT_EQ(server->stats()["polls"]["asset_get"], 5);
}

TEST(SimServer, ConnectionCloseIsHonoured) {
  auto server = start();
  Conn c(server->port());
  Exchange x = c.send("GET", "/api/v1/asset/list", "", {"X-API-Key: sim-key", "Connection: close"});
  EXPECT_EQ(x.status, 200);
  EXPECT_TRUE(c.peer_closed());
}

TEST(SimServer, IdleKeepAliveConnectionsAreClosed) {
  SimOptions o;
  o.idle_timeout_s = 1;
  auto server = start(o);
  Conn c(server->port());
  ASSERT_EQ(c.send("GET", "/sim/stats").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.peer_closed());  // blocks until the server closes (receive timeout 5 s)
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
}

TEST(SimServer, ApiKeyIsChecked) {
  auto server = start();
  Conn c(server->port());
  Exchange x = c.send("GET", "/api/v1/asset/list", "", {"x-api-key: wrong"});
  EXPECT_EQ(x.status, 401);
  EXPECT_EQ(x.doc(), json::parse(R"({"code":401,"message":"Invalid API key","data":null})"));
  EXPECT_EQ(c.send("GET", "/api/v1/asset/list", "", {"X-Api-Key: sim-key"}).status, 200);
}

TEST(SimServer, OversizedBodyGets413) {
  auto server = start();
  Conn c(server->port());
  // Announce a body over the 1 MiB limit; the server answers after the headers.
  Exchange x = c.send_raw(
      "POST /api/v1/task HTTP/1.1\r\nHost: x\r\nX-API-Key: sim-key\r\n"
      "Content-Length: 2000000\r\n\r\n");
  EXPECT_EQ(x.status, 413);
  EXPECT_TRUE(c.peer_closed());
}

TEST(SimServer, OutputUrlUsesHostHeaderAndServesTheVideo) {
  AtomicClock clock;
  SimOptions o;
  o.clock = &clock;
  o.video_bytes = 300'000;
  auto server = start(o);
  Conn c(server->port());
  Exchange created = c.send("POST", "/api/v1/task", kCreate);
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = created.doc()["data"]["task_id"];
  clock.advance(200s);
  Exchange polled = c.send("GET", "/api/v1/task/" + id);
  ASSERT_EQ(polled.doc()["data"]["status"], "completed") << polled.body;
  EXPECT_EQ(polled.doc()["data"]["output"]["video"],
            "http://sim.test:1234/sim/files/" + id + ".mp4");
  Exchange file = c.send("GET", "/sim/files/" + id + ".mp4", "", {});
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.headers["content-type"], "video/mp4");
  EXPECT_EQ(file.body.size(), 300'000u);
  EXPECT_EQ(c.send("GET", "/sim/files/nope.mp4", "", {}).status, 404);
  EXPECT_EQ(server->stats()["downloads"], 1);
}

TEST(SimServer, StatsMatchesTheStatsEndpoint) {
  auto server = start();
  Conn c(server->port());
  c.send("POST", "/api/v1/task", kCreate);
  c.send("POST", "/api/v1/task", kCreate);
  Exchange x = c.send("GET", "/sim/stats", "", {});
  ASSERT_EQ(x.status, 200);
  const json doc = x.doc();
  EXPECT_EQ(doc["task_creates"], 2);
  EXPECT_EQ(doc["duplicate_creates"], 1);
  EXPECT_EQ(server->stats()["task_creates"], doc["task_creates"]);
  EXPECT_EQ(server->stats()["tasks"], doc["tasks"]);
}

//------------------------------------------------------------------------------
// Faults at rate 1.0

SimOptions with_fault(double FaultRates::*field) {
  SimOptions o;
  o.faults.*field = 1.0;
  return o;
}

TEST(SimServer, Fault5xxAnswers500WithoutProcessing) {
  auto server = start(with_fault(&FaultRates::http_5xx));
  Conn c(server->port());
  Exchange x = c.send("POST", "/api/v1/task", kCreate);
  EXPECT_EQ(x.status, 500);
  EXPECT_EQ(x.doc()["code"], 500);
  EXPECT_EQ(c.send("GET", "/api/v1/asset/list").status, 500);  // keep-alive survives
  const json s = server->stats();
  EXPECT_EQ(s["task_creates"], 0);
  EXPECT_EQ(s["faults"]["http_5xx"], 2);
}

TEST(SimServer, Fault429SendsRetryAfter) {
  SimOptions o = with_fault(&FaultRates::http_429);
  o.faults.retry_after_s = 7;
  auto server = start(o);
  Conn c(server->port());
  Exchange x = c.send("POST", "/api/v1/task", kCreate);
  EXPECT_EQ(x.status, 429);
  EXPECT_EQ(x.headers["retry-after"], "7");
  EXPECT_EQ(server->stats()["task_creates"], 0);
  EXPECT_EQ(server->stats()["faults"]["http_429"], 1);
}

TEST(SimServer, FaultResetBeforeDropsTheRequest) {
  auto server = start(with_fault(&FaultRates::reset_before));
  Conn c(server->port());
  Exchange x = c.send("POST", "/api/v1/task", kCreate);
  EXPECT_EQ(x.outcome, Exchange::Outcome::kReset);
  const json s = server->stats();
  EXPECT_EQ(s["task_creates"], 0);
  EXPECT_EQ(s["faults"]["reset_before"], 1);
}

TEST(SimServer, FaultResetAfterCreatesTheTaskButLosesTheReply) {
  auto server = start(with_fault(&FaultRates::reset_after));
  Conn c(server->port());
  Exchange x = c.send("POST", "/api/v1/task", kCreate);
  EXPECT_EQ(x.outcome, Exchange::Outcome::kReset);
  EXPECT_EQ(x.status, 0);
  const json s = server->stats();
  EXPECT_EQ(s["task_creates"], 1);  // the dangerous case
  EXPECT_EQ(s["faults"]["reset_after"], 1);
}

TEST(SimServer, FaultHtmlBodyIsA503Page) {
  auto server = start(with_fault(&FaultRates::html_body));
  Conn c(server->port());
  Exchange x = c.send("GET", "/api/v1/asset/list");
  EXPECT_EQ(x.status, 503);
  EXPECT_EQ(x.headers["content-type"].rfind("text/html", 0), 0u);
  EXPECT_EQ(x.body.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(x.doc().is_discarded());
  EXPECT_EQ(server->stats()["faults"]["html_body"], 1);
}

TEST(SimServer, FaultTruncatedBodyClosesEarly) {
  auto server = start(with_fault(&FaultRates::truncated_body));
  Conn c(server->port());
  Exchange x = c.send("POST", "/api/v1/task", kCreate);
  EXPECT_EQ(x.outcome, Exchange::Outcome::kTruncated);
  EXPECT_EQ(x.status, 200);
  EXPECT_LT(x.body.size(), x.content_length);
  EXPECT_GT(x.body.size(), 0u);
  EXPECT_EQ(server->stats()["task_creates"], 1);  // processed
  EXPECT_EQ(server->stats()["faults"]["truncated_body"], 1);
}

TEST(SimServer, FaultLatencyDelaysTheReply) {
  SimOptions o = with_fault(&FaultRates::latency);
  o.faults.latency_ms = 300;
  auto server = start(o);
  Conn c(server->port());
  const auto t0 = std::chrono::steady_clock::now();
  Exchange x = c.send("GET", "/api/v1/asset/list");
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(x.status, 200);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_EQ(c.send("GET", "/sim/stats").status, 200);
  EXPECT_EQ(server->stats()["faults"]["latency"], 1);  // /sim/stats is never delayed
}

TEST(SimServer, StatsAreNeverFaulted) {
  SimOptions o = with_fault(&FaultRates::reset_before);
  o.faults.http_5xx = 1;
  auto server = start(o);
  Conn c(server->port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.send("GET", "/sim/stats").status, 200);
}

TEST(SimServer, FaultPathsLimitFaultsToCreates) {
  SimOptions o = with_fault(&FaultRates::reset_after);
  o.faults.paths = {"POST /api/v1/task"};
  auto server = start(o);
  {
    Conn c(server->port());
    EXPECT_EQ(c.send("POST", "/api/v1/task", kCreate).outcome, Exchange::Outcome::kReset);
  }
  const std::string id = server->stats()["tasks"][0]["task_id"];
  Conn c(server->port());
  Exchange x = c.send("GET", "/api/v1/task/" + id);
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(x.doc()["data"]["status"], "pending");
}

TEST(SimServer, ControlSwitchesFaultsAtRuntime) {
  auto server = start(with_fault(&FaultRates::http_5xx));
  Conn c(server->port());
  EXPECT_EQ(c.send("GET", "/api/v1/asset/list").status, 500);
  EXPECT_EQ(c.send("POST", "/sim/control", R"({"faults":"off"})", {}).status, 200);
  EXPECT_EQ(c.send("GET", "/api/v1/asset/list").status, 200);
  EXPECT_EQ(c.send("POST", "/sim/control", R"({"faults":{"http_429":1}})", {}).status, 200);
  EXPECT_EQ(c.send("GET", "/api/v1/asset/list").status, 429);
  EXPECT_EQ(c.send("POST", "/sim/control", R"({"faults":{"http_429":5}})", {}).status, 400);
  EXPECT_EQ(c.send("GET", "/sim/control").status, 405);
  server->set_faults(FaultRates{});
  EXPECT_EQ(c.send("GET", "/api/v1/asset/list").status, 200);
}

//------------------------------------------------------------------------------
// The piapi-sim program

TEST(PiapiSimProgram, PrintsItsUrlServesAndExitsOnSigterm) {
  const std::string exe = std::string(SD_BINARY_DIR) + "/sim/piapi-sim";
  ASSERT_EQ(::access(exe.c_str(), X_OK), 0) << exe << " not built";
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(exe.c_str(), exe.c_str(), "--port", "0", "--api-key", "k2", "--speed", "50", "--seed",
            "3", "--plan", "developer", "--fault-5xx", "0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char ch;
  while (::read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  ::close(out[0]);
  const std::string prefix = "listening on http://127.0.0.1:";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  const auto port = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
  {
    Conn c(port);
    EXPECT_EQ(c.send("GET", "/api/v1/asset/list", "", {"X-API-Key: k2"}).status, 200);
    EXPECT_EQ(c.send("GET", "/api/v1/asset/list", "", {"X-API-Key: sim-key"}).status, 401);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(5ms);  // polling the child's exit with a deadline
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace sd::sim
