// Reading the Prometheus text format back, to check what the registry wrote.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace psycache::test {

// One sample line: name{labels} value.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // as written, unescaped
  std::string value;                                        // as written
};

// The sample lines of text (comments skipped); throws std::runtime_error on a
// line it cannot read.
std::vector<Sample> parse_samples(std::string_view text);

// The histogram invariants promtool does not check, for every histogram in
// text (a family whose TYPE is histogram): each series has buckets with
// strictly increasing `le` ending in "+Inf", cumulative (non-decreasing)
// counts, a `_count` equal to the +Inf bucket, and a `_sum`. Returns the
// problems found, empty when all hold.
std::vector<std::string> histogram_problems(std::string_view text);

}  // namespace psycache::test
