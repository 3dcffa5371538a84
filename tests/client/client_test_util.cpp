#include "client_test_util.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace sd::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

ClientTempDir::ClientTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sd-client-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

ClientTempDir::~ClientTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string RawRequest::header(const std::string& name) const {
  const std::string want = lower(name);
  std::istringstream in(head);
  std::string line;
  std::getline(in, line);  // request line
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (lower(line.substr(0, colon)) == want) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
  }
  return "";
}

std::string http_reply(int status, const std::string& body, const std::string& extra_headers,
                       const std::string& content_type) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += extra_headers;
  r += "\r\n";
  r += body;
  return r;
}

struct RawServer::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<asio::ssl::context> tls;
  Script script;
  std::thread accept_thread;
  std::mutex mu;
  std::vector<std::thread> threads;  // GUARDED_BY(mu)
  std::vector<int> fds;              // GUARDED_BY(mu): open connection sockets
  std::vector<RawRequest> seen;      // GUARDED_BY(mu)
  bool stopped = false;              // GUARDED_BY(mu)
};

namespace {

// Reads one request from `s` (head + Content-Length body). false on EOF/error.
template <class Stream>
bool read_request(Stream& s, asio::streambuf& buf, RawRequest* out) {
  boost::system::error_code ec;
  const size_t n = asio::read_until(s, buf, "\r\n\r\n", ec);
  if (ec) return false;
  std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
  buf.consume(n);
  out->head = head;
  std::istringstream line(head);
  line >> out->method >> out->target;
  const std::string len = out->header("content-length");
  const size_t want = len.empty() ? 0 : std::stoul(len);
  if (buf.size() < want) {
    asio::read(s, buf, asio::transfer_exactly(want - buf.size()), ec);
    if (ec) return false;
  }
  out->body.assign(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + want);
  buf.consume(want);
  return true;
}

}  // namespace

struct RawServerAccess {
  template <class Stream>
  static void serve(RawServer* self, Stream& s, int conn) {
    asio::streambuf buf;
    for (int req = 0;; ++req) {
      RawRequest r;
      if (!read_request(s, buf, &r)) return;
      self->requests_++;
      {
        std::lock_guard lock(self->impl_->mu);
        self->impl_->seen.push_back(r);
      }
      RawAction a = self->impl_->script(conn, req, r);
      if (a.drop) return;
      if (a.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(a.delay_ms));
      boost::system::error_code ec;
      if (!a.reply.empty()) asio::write(s, asio::buffer(a.reply), ec);
      if (ec || a.close_after) return;
    }
  }

  static void connection(RawServer* self, tcp::socket sock, int conn) {
    const int open = ++self->open_;
    int prev = self->max_concurrent_.load();
    while (open > prev && !self->max_concurrent_.compare_exchange_weak(prev, open)) {
    }
    if (self->tls_) {
      asio::ssl::stream<tcp::socket&> s(sock, *self->impl_->tls);
      boost::system::error_code ec;
      s.handshake(asio::ssl::stream_base::server, ec);
      if (ec) {
        self->handshake_failures_++;
      } else {
        serve(self, s, conn);
        // Send close_notify without waiting for the peer's, as servers do.
        ::SSL_shutdown(s.native_handle());
      }
    } else {
      serve(self, sock, conn);
    }
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    {
      std::lock_guard lock(self->impl_->mu);
      auto& fds = self->impl_->fds;
      fds.erase(std::remove(fds.begin(), fds.end(), sock.native_handle()), fds.end());
    }
    sock.close(ec);
    --self->open_;
  }
};

RawServer::RawServer(Script script, std::string cert_file, std::string key_file)
    : impl_(std::make_unique<Impl>()) {
  impl_->script = std::move(script);
  if (!cert_file.empty()) {
    tls_ = true;
    impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(cert_file);
    impl_->tls->use_private_key_file(key_file, asio::ssl::context::pem);
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] {
    for (int conn = 0;; ++conn) {
      boost::system::error_code ec;
      tcp::socket sock(impl_->ioc);
      impl_->acceptor.accept(sock, ec);
      if (ec) return;
      std::lock_guard lock(impl_->mu);
      if (impl_->stopped) return;
      connections_++;
      impl_->fds.push_back(sock.native_handle());
      impl_->threads.emplace_back([this, conn, s = std::move(sock)]() mutable {
        RawServerAccess::connection(this, std::move(s), conn);
      });
    }
  });
}

RawServer::~RawServer() {
  stop();
}

std::string RawServer::base_url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::vector<RawRequest> RawServer::seen() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen;
}

void RawServer::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
    for (int fd : impl_->fds) ::shutdown(fd, SHUT_RDWR);
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  {
    std::lock_guard lock(impl_->mu);
    threads = std::move(impl_->threads);
  }
  for (auto& t : threads) t.join();
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace sd::test
