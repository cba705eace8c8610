// Uses the installed headers and library; needs no server.
#include <iostream>

#include <asio/io_context.hpp>

#include <psycache/async.hpp>
#include <psycache/psycache.hpp>

int main() {
  psycache::ConnectionPool pool{"host=127.0.0.1"};
  psycache::PostgresCache cache{pool, {.schema = "app_cache"}};
  std::cout << psycache::init_db_sql({.schema = cache.options().schema}) << '\n';
  asio::io_context io;
  psycache::AsyncConnectionPool async_pool{io.get_executor(), "host=127.0.0.1"};
  psycache::AsyncPostgresCache async_cache{async_pool, {.schema = "app_cache"}};
  return async_cache.options().schema == "app_cache" ? 0 : 1;
}
