#include "pqxx_handle.hpp"

#include <pqxx/version>

// libpqxx 6 has the handle in a private member function, connection_base::raw_connection(), which
// it opens only to its large objects. An explicit instantiation may name a private member (C++20
// [temp.spec.general]/6), so the template below is instantiated with a pointer to it, and its
// friend function calls it. Other libpqxx versions lay the class out differently: they are
// refused here rather than misread.
static_assert(PQXX_VERSION_MAJOR == 6,
              "psycache reads the libpq handle of a libpqxx 6 connection; see pqxx_handle.cpp");

namespace psycache::detail {
namespace {

using RawConnection = pqxx::internal::pq::PGconn* (pqxx::connection_base::*)() const;

PGconn* call_raw_connection(const pqxx::connection_base& connection) noexcept;

template <RawConnection raw_connection>
struct RawConnectionCaller {
  friend PGconn* call_raw_connection(const pqxx::connection_base& connection) noexcept {
    return (connection.*raw_connection)();
  }
};
template struct RawConnectionCaller<&pqxx::connection_base::raw_connection>;

}  // namespace

PGconn* libpq_handle(const pqxx::connection_base& connection) noexcept {
  return call_raw_connection(connection);
}

}  // namespace psycache::detail
