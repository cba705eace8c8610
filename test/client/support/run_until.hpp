// Runs an io_context until a condition holds, for the async suites.
#pragma once

#include <chrono>
#include <functional>

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

namespace psycache::test {

// Runs io's handlers until done() holds, for at most 30 s; then requires it.
inline void run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds{50});
  }
  REQUIRE(done());
}

}  // namespace psycache::test
