// A service that a real Prometheus server scrapes (test/client/prometheus_scrape.sh):
// it runs known cache operations with PrometheusInstrumentation, serves /metrics
// on a free 127.0.0.1 port, prints "port <n>" and serves until SIGTERM or
// SIGINT (at most 300 seconds).
//
//   PSYCACHE_TEST_DSN=... metrics_scrape_server
//
// The operations: three hits and one miss under span_name "scrape".
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <pqxx/connection>

#include <psycache/psycache.hpp>

int main() {
  // Blocked before any thread starts, so every thread inherits the mask and
  // sigtimedwait below receives the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    const char* dsn = std::getenv("PSYCACHE_TEST_DSN");
    if (dsn == nullptr) {
      std::cerr << "PSYCACHE_TEST_DSN must be set\n";
      return 2;
    }
    std::string schema;
    {
      pqxx::connection connection{dsn};
      schema = psycache::init_db(connection);
    }
    auto registry = std::make_shared<psycache::metrics::Registry>();
    psycache::ConnectionPool pool{dsn};
    psycache::CacheOptions options;
    options.schema = schema;
    options.instrumentations = {std::make_shared<psycache::PrometheusInstrumentation>(registry)};
    psycache::PostgresCache cache{pool, options};

    const std::string key = "prometheus-scrape:" + std::to_string(::getpid());
    cache.put_raw(key, {{"scraped", true}}, 600);
    for (int i = 0; i < 3; ++i) {
      if (!cache.get_raw(key, "scrape")) throw std::runtime_error("the key was not found");
    }
    if (cache.get_raw(key + ":missing", "scrape"))
      throw std::runtime_error("a missing key was found");
    (void)cache.remove(key);

    psycache::MetricsEndpoint endpoint{registry};
    std::cout << "port " << endpoint.port() << std::endl;

    const timespec limit{.tv_sec = 300, .tv_nsec = 0};
    (void)sigtimedwait(&stop_signals, nullptr, &limit);
    endpoint.stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "metrics_scrape_server: " << e.what() << "\n";
    return 1;
  }
}
