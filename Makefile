# The psycache extension, built with PGXS.
#   make && sudo make install     build and install into PostgreSQL
#   make installcheck             pg_regress against a running server
EXTENSION = psycache
MODULE_big = psycache
OBJS = $(patsubst %.cpp,%.o,$(wildcard extension/*.cpp))
DATA = $(wildcard extension/psycache--*.sql)
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))

# The release version is VERSION's major.minor.patch; the extension's SQL version is its
# major.minor (docs/versioning.md). psycache.control is made from psycache.control.in with it.
PSYCACHE_VERSION := $(shell cat VERSION)
EXTENSION_VERSION := $(basename $(PSYCACHE_VERSION))

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config \
                 && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)

CXX_STD = -std=c++17
PG_CXXFLAGS = $(CXX_STD) -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
# PGXS links with the C compiler, so the C++ runtime must be named.
SHLIB_LINK += -lstdc++

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The LLVM bitcode (for JIT inlining) is compiled by clang: same language level.
override BITCODE_CXXFLAGS += $(CXX_STD)

# PGXS tracks no header dependencies: every object depends on every header.
$(OBJS) $(OBJS:.o=.bc): $(wildcard extension/*.hpp)

# The control file, with the version of VERSION; PGXS installs it.
all: psycache.control
psycache.control: psycache.control.in VERSION
	sed 's/@EXTENSION_VERSION@/$(EXTENSION_VERSION)/' $< >$@
