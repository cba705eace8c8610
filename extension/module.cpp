// The loadable module's magic block: lets PostgreSQL check that psycache was built for it.
#include "pg.hpp"

extern "C" {
PG_MODULE_MAGIC;
}
