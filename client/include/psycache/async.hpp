// psycache's asynchronous client, on standalone Asio (1.22) with C++20
// coroutines: the one header to include for AsyncPostgresCache. It needs Asio
// and libpq's headers; psycache/psycache.hpp does not include it, so the
// synchronous client does not need Asio.
#pragma once

#include <psycache/async_cache.hpp>
#include <psycache/async_cleanup_service.hpp>
#include <psycache/async_connection_pool.hpp>
#include <psycache/async_pool.hpp>
#include <psycache/psycache.hpp>
