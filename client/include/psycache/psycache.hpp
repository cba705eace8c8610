// psycache: a key-value cache of JSON documents with a time-to-live, kept in
// PostgreSQL by the psycache extension. The one header to include.
#pragma once

#include <psycache/cache.hpp>
#include <psycache/cleanup_service.hpp>
#include <psycache/connection_pool.hpp>
#include <psycache/errors.hpp>
#include <psycache/init_db.hpp>
#include <psycache/instrumentation.hpp>
#include <psycache/metrics.hpp>
#include <psycache/metrics_endpoint.hpp>
#include <psycache/options.hpp>
#include <psycache/pool.hpp>
#include <psycache/prometheus.hpp>
#include <psycache/single_connection_pool.hpp>
#include <psycache/ttl.hpp>
