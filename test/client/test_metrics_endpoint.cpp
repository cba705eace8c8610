// MetricsEndpoint: real HTTP over 127.0.0.1, several scrapes, clean stop.
#include <array>
#include <asio.hpp>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

namespace {

// Sends request to 127.0.0.1:port and returns everything the server sent
// until it closed the connection. A server that closes before reading all of
// a request makes the end a reset rather than EOF: allow_reset accepts that.
std::string http_exchange(std::uint16_t port, const std::string& request,
                          bool allow_reset = false) {
  asio::io_context context;
  asio::ip::tcp::socket socket{context};
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(request));
  std::string reply;
  std::error_code error;
  std::array<char, 4096> buffer{};
  while (!error) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), error);
    reply.append(buffer.data(), n);
  }
  CHECK((error == asio::error::eof || (allow_reset && error == asio::error::connection_reset)));
  return reply;
}

std::string get(std::uint16_t port, const std::string& target) {
  return http_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

std::string body_of(const std::string& reply) { return reply.substr(reply.find("\r\n\r\n") + 4); }

std::shared_ptr<psycache::metrics::Registry> sample_registry() {
  auto registry = std::make_shared<psycache::metrics::Registry>();
  registry->counter("sample_total", "A sample", {"span_name"}).labels({"x"}).inc(3);
  return registry;
}

}  // namespace

TEST_CASE("The endpoint serves the registry's text, scrape after scrape") {
  auto registry = sample_registry();
  psycache::MetricsEndpoint endpoint{registry};
  REQUIRE(endpoint.port() != 0);
  for (int i = 0; i < 3; ++i) {
    const std::string reply = get(endpoint.port(), "/metrics");
    CHECK(reply.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(reply.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    CHECK(reply.find("\r\nContent-Length: " + std::to_string(registry->render().size()) + "\r\n") !=
          std::string::npos);
    CHECK(body_of(reply) == registry->render());
    registry->counter("sample_total", "A sample", {"span_name"}).labels({"x"}).inc();
  }
  CHECK(body_of(get(endpoint.port(), "/metrics?name[]=x")) == registry->render());

  const std::string head = http_exchange(endpoint.port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(body_of(head).empty());
}

TEST_CASE("The endpoint serves scrapes at once") {
  psycache::MetricsEndpoint endpoint{sample_registry()};
  std::vector<std::future<std::string>> scrapes;
  for (int i = 0; i < 8; ++i) {
    scrapes.push_back(
        std::async(std::launch::async, [&] { return get(endpoint.port(), "/metrics"); }));
  }
  for (auto& scrape : scrapes) {
    const std::string reply = scrape.get();
    CHECK(reply.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(body_of(reply).find("sample_total{span_name=\"x\"} 3.0\n") != std::string::npos);
  }
}

TEST_CASE("The endpoint refuses what it does not serve") {
  psycache::MetricsEndpoint endpoint{sample_registry(), {.path = "/custom"}};
  CHECK(get(endpoint.port(), "/custom").starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(get(endpoint.port(), "/metrics").starts_with("HTTP/1.1 404 Not Found\r\n"));
  CHECK(http_exchange(endpoint.port(), "POST /custom HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  CHECK(http_exchange(endpoint.port(), "nonsense\r\n\r\n")
            .starts_with("HTTP/1.1 400 Bad Request\r\n"));
  const std::string huge =
      "GET /custom HTTP/1.1\r\nX-Filler: " + std::string(20000, 'x') + "\r\n\r\n";
  CHECK(http_exchange(endpoint.port(), huge, true).starts_with("HTTP/1.1 431 "));
  // Still serving after all that.
  CHECK(get(endpoint.port(), "/custom").starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("The endpoint stops cleanly and frees its port") {
  auto endpoint = std::make_unique<psycache::MetricsEndpoint>(sample_registry());
  const std::uint16_t port = endpoint->port();
  // A client that connects and sends nothing must not hold up the stop.
  asio::io_context context;
  asio::ip::tcp::socket idle{context};
  idle.connect({asio::ip::make_address("127.0.0.1"), port});
  endpoint->stop();
  endpoint->stop();
  CHECK_THROWS(get(port, "/metrics"));
  endpoint.reset();
  // The port can be taken again.
  psycache::MetricsEndpoint again{sample_registry(), {.port = port}};
  CHECK(get(again.port(), "/metrics").starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("The endpoint refuses a bad address, a taken port and a null registry") {
  CHECK_THROWS_AS(psycache::MetricsEndpoint(sample_registry(), {.address = "localhost"}),
                  psycache::InvalidArgument);
  CHECK_THROWS_AS(psycache::MetricsEndpoint(nullptr), psycache::InvalidArgument);
  psycache::MetricsEndpoint first{sample_registry()};
  CHECK_THROWS_AS(psycache::MetricsEndpoint(sample_registry(), {.port = first.port()}),
                  psycache::Error);
}
