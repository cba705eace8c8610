// MetricsEndpoint: GET /metrics over HTTP on standalone Asio.
#include <array>
#include <asio.hpp>
#include <chrono>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <psycache/errors.hpp>
#include <psycache/metrics_endpoint.hpp>

namespace psycache {
namespace {

constexpr std::size_t kMaxRequestHead = 8192;
constexpr std::chrono::seconds kRequestTimeout{10};
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kMaxDrain = std::size_t{1} << 20;
constexpr std::chrono::milliseconds kAcceptRetry{100};

std::string response(std::string_view status, std::string_view content_type, std::string_view body,
                     bool head_only) {
  std::string out = "HTTP/1.1 ";
  out += status;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size());
  out += "\r\nConnection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string plain(std::string_view status) {
  return response(status, "text/plain; charset=utf-8", std::string{status} + "\n", false);
}

// One connection: read the request head, answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, std::shared_ptr<metrics::Registry> registry,
          const std::string& path)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        buffer_(kMaxRequestHead),
        registry_(std::move(registry)),
        path_(path) {}

  void start() {
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self = shared_from_this()](const std::error_code& error) {
      if (!error) self->on_timeout();
    });
    asio::async_read_until(
        socket_, buffer_, "\r\n\r\n",
        [self = shared_from_this()](const std::error_code& error, std::size_t /*size*/) {
          self->on_head(error);
        });
  }

 private:
  void on_head(const std::error_code& error) {
    if (error == asio::error::not_found) {  // the head outgrew the buffer
      reply(plain("431 Request Header Fields Too Large"));
      return;
    }
    if (error) {
      close();
      return;
    }
    const auto data = buffer_.data();
    const std::string head{asio::buffers_begin(data), asio::buffers_end(data)};
    const std::string_view line = std::string_view{head}.substr(0, head.find("\r\n"));
    const std::size_t first = line.find(' ');
    const std::size_t second = line.find(' ', first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos ||
        !line.substr(second + 1).starts_with("HTTP/1.")) {
      reply(plain("400 Bad Request"));
      return;
    }
    const std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    target = target.substr(0, target.find('?'));
    if (target != path_) {
      reply(plain("404 Not Found"));
    } else if (method != "GET" && method != "HEAD") {
      reply(plain("405 Method Not Allowed"));
    } else {
      reply(response("200 OK", metrics::kContentType, registry_->render(), method == "HEAD"));
    }
  }

  void on_timeout() {
    if (replied_) {
      close();
    } else {
      reply(plain("408 Request Timeout"));
    }
  }

  void reply(std::string text) {
    if (replied_) return;
    replied_ = true;
    timer_.cancel();
    response_ = std::move(text);
    asio::async_write(
        socket_, asio::buffer(response_),
        [self = shared_from_this()](const std::error_code& error, std::size_t /*size*/) {
          if (error) {
            self->close();
          } else {
            self->linger();
          }
        });
  }

  // Closing with unread request bytes would make the kernel reset the
  // connection, and the client could lose the response: end the sending side,
  // then read and drop what the client still sends (bounded in bytes and time)
  // until it closes too.
  void linger() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    timer_.expires_after(kLingerTimeout);
    timer_.async_wait([self = shared_from_this()](const std::error_code& error) {
      if (!error) self->close();
    });
    drain();
  }

  void drain() {
    socket_.async_read_some(
        asio::buffer(discard_),
        [self = shared_from_this()](const std::error_code& error, std::size_t size) {
          self->drained_ += size;
          if (error || self->drained_ > kMaxDrain) {
            self->close();
          } else {
            self->drain();
          }
        });
  }

  void close() {
    timer_.cancel();
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  asio::streambuf buffer_;
  std::shared_ptr<metrics::Registry> registry_;
  const std::string& path_;
  std::string response_;
  bool replied_ = false;
  std::array<char, 4096> discard_{};
  std::size_t drained_ = 0;
};

}  // namespace

class MetricsEndpoint::Server {
 public:
  Server(std::shared_ptr<metrics::Registry> registry, MetricsEndpointOptions options)
      : registry_(std::move(registry)),
        options_(std::move(options)),
        acceptor_(context_),
        retry_timer_(context_) {
    if (!registry_) throw InvalidArgument("invalid metrics endpoint: the registry is null");
    std::error_code error;
    const asio::ip::address address = asio::ip::make_address(options_.address, error);
    if (error) {
      throw InvalidArgument("invalid metrics endpoint address \"" + options_.address +
                            "\": it is not an IP address");
    }
    const asio::ip::tcp::endpoint endpoint{address, options_.port};
    try {
      acceptor_.open(endpoint.protocol());
      acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
      acceptor_.bind(endpoint);
      acceptor_.listen();
    } catch (const std::system_error& e) {
      throw Error("the metrics endpoint cannot listen on " + options_.address + ":" +
                  std::to_string(options_.port) + ": " + e.code().message());
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread{[this] { run(); }};
  }

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  Server(Server&&) = delete;
  Server& operator=(Server&&) = delete;
  ~Server() { stop(); }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  void stop() {
    const std::lock_guard lock{stop_mutex_};
    if (!thread_.joinable()) return;
    asio::post(context_, [this] {
      std::error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
      context_.stop();  // drops open sessions with the context
    });
    thread_.join();
  }

 private:
  // An exception from a handler (say, bad_alloc while rendering) costs that
  // connection only, not the endpoint.
  void run() {
    for (;;) {
      try {
        context_.run();
        return;
      } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the session is gone
      }
    }
  }

  void accept() {
    acceptor_.async_accept([this](const std::error_code& error, asio::ip::tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (error) {
        // Out of file descriptors, say: try again shortly rather than spin.
        retry_timer_.expires_after(kAcceptRetry);
        retry_timer_.async_wait([this](const std::error_code& timer_error) {
          if (!timer_error) accept();
        });
        return;
      }
      std::make_shared<Session>(std::move(socket), registry_, options_.path)->start();
      accept();
    });
  }

  std::shared_ptr<metrics::Registry> registry_;
  MetricsEndpointOptions options_;
  asio::io_context context_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::uint16_t port_ = 0;
  std::mutex stop_mutex_;
  std::thread thread_;
};

MetricsEndpoint::MetricsEndpoint(std::shared_ptr<metrics::Registry> registry,
                                 MetricsEndpointOptions options)
    : server_(std::make_unique<Server>(std::move(registry), std::move(options))) {}

MetricsEndpoint::~MetricsEndpoint() = default;

std::uint16_t MetricsEndpoint::port() const noexcept { return server_->port(); }

void MetricsEndpoint::stop() { server_->stop(); }

}  // namespace psycache
