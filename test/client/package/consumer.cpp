// Uses the installed headers and library; needs no server.
#include <iostream>

#include <psycache/psycache.hpp>

int main() {
  psycache::ConnectionPool pool{"host=127.0.0.1"};
  psycache::PostgresCache cache{pool, {.schema = "app_cache"}};
  std::cout << psycache::init_db_sql({.schema = cache.options().schema}) << '\n';
  return 0;
}
