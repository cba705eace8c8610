#include <poll.h>

#include <psycache/pool.hpp>

namespace psycache::detail {

void close_if_server_gone(pqxx::connection_base& connection) noexcept {
  // An idle connection has nothing to read unless the server sent something
  // on its own: a notification, a parameter change, or, when it is shutting
  // down or terminated the backend, an error and end of file. Reading that
  // makes libpq notice a closed connection; a few rounds get past the
  // messages that precede the end of file.
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    if (!connection.is_open()) break;
    pollfd socket{.fd = connection.sock(), .events = POLLIN, .revents = 0};
    if (socket.fd < 0 || ::poll(&socket, 1, 0) <= 0) return;
    if ((socket.revents & (POLLERR | POLLNVAL)) != 0) break;
    try {
      connection.get_notifs();
    } catch (...) {
      break;
    }
  }
  if (!connection.is_open()) connection.disconnect();
}

}  // namespace psycache::detail
