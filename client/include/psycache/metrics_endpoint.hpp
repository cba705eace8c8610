// MetricsEndpoint: a minimal HTTP server for `GET /metrics`, for services
// that have no HTTP server of their own to expose a metrics::Registry from.
//
//   auto registry = std::make_shared<psycache::metrics::Registry>();
//   psycache::MetricsEndpoint endpoint{registry, {.port = 9464}};
//   // ... Prometheus scrapes http://127.0.0.1:9464/metrics
//
// It listens on 127.0.0.1 unless told otherwise (metrics say much about a
// service: exposing them beyond the host is a decision to make explicitly),
// serves one request per connection (HTTP/1.0 and 1.1, `Connection: close`),
// answers GET and HEAD of the path with the registry's text, 404 for another
// path, 405 for another method, 431 for a request head over 8 KiB and 408 for
// a client that sends no complete head within 10 seconds. It runs on its own
// thread (Asio) and serves any number of scrapes, one after another or at
// once; the destructor (or stop()) closes the socket and joins the thread.
//
// Errors: the constructor throws InvalidArgument for an address that is not
// an IP address and Error when it cannot listen (the port is taken, say).
//
// Thread-safety: port() and stop() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <psycache/metrics.hpp>

namespace psycache {

struct MetricsEndpointOptions {
  // The IP address to listen on; "0.0.0.0" or "::" for every interface.
  std::string address = "127.0.0.1";
  // 0: a free port chosen by the system (see MetricsEndpoint::port()).
  std::uint16_t port = 0;
  // The path served; every other path gets 404.
  std::string path = "/metrics";
};

class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(std::shared_ptr<metrics::Registry> registry,
                           MetricsEndpointOptions options = {});
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  MetricsEndpoint(MetricsEndpoint&&) = delete;
  MetricsEndpoint& operator=(MetricsEndpoint&&) = delete;
  ~MetricsEndpoint();

  // The port it listens on.
  [[nodiscard]] std::uint16_t port() const noexcept;

  // Stops accepting, drops open connections and joins the thread; idempotent.
  void stop();

 private:
  class Server;
  std::unique_ptr<Server> server_;
};

}  // namespace psycache
