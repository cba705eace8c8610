// psycache: the command-line tool for a psycache cache. See cli.hpp.
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return psycache::cli::run(args, std::cin, std::cout, std::cerr);
}
