// The one translation unit with Catch2's main(). Against the portable install it removes that
// install from the test database at the end, so that the suites that run next (which create the
// extension in public) find the database as they expect.
#define CATCH_CONFIG_RUNNER
#include <exception>
#include <iostream>

#include <catch2/catch.hpp>

#include "support/test_db.hpp"

int main(int argc, char* argv[]) {
  const int failed = Catch::Session().run(argc, argv);
  if (psycache::test::portable()) {
    try {
      psycache::test::remove_portable_install();
    } catch (const std::exception& e) {
      std::cerr << "could not remove the portable install: " << e.what() << '\n';
      return 1;
    }
  }
  return failed;
}
