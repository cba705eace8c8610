#include "support/exposition.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace psycache::test {
namespace {

double parse_number(const std::string& text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  std::size_t used = 0;
  const double value = std::stod(text, &used);
  if (used != text.size()) throw std::runtime_error("not a number: " + text);
  return value;
}

Sample parse_line(std::string_view line) {
  Sample sample;
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = std::string{line.substr(0, i)};
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
        throw std::runtime_error("bad labels in: " + std::string{line});
      }
      std::string name{line.substr(i, eq - i)};
      std::string value;
      std::size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) throw std::runtime_error("unterminated label in: " + std::string{line});
      sample.labels.emplace_back(std::move(name), std::move(value));
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) throw std::runtime_error("unterminated labels in: " + std::string{line});
    ++i;
  }
  if (i >= line.size() || line[i] != ' ') {
    throw std::runtime_error("no value in: " + std::string{line});
  }
  sample.value = std::string{line.substr(i + 1)};
  (void)parse_number(sample.value);
  return sample;
}

std::string series_key(const Sample& sample) {
  std::string key;
  for (const auto& [name, value] : sample.labels) {
    if (name == "le") continue;
    key.append(name).append("=").append(value).append(",");
  }
  return key;
}

}  // namespace

std::vector<Sample> parse_samples(std::string_view text) {
  std::vector<Sample> samples;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    samples.push_back(parse_line(line));
  }
  return samples;
}

std::vector<std::string> histogram_problems(std::string_view text) {
  std::set<std::string> histograms;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    constexpr std::string_view kType = "# TYPE ";
    if (line.starts_with(kType) && line.ends_with(" histogram")) {
      histograms.insert(std::string{line.substr(kType.size(), line.size() - kType.size() - 10)});
    }
  }

  struct Series {
    std::vector<std::pair<double, double>> buckets;  // (le, count)
    bool has_count = false, has_sum = false;
    double count = 0;
  };
  std::map<std::string, Series> series;  // "name|labels"
  std::vector<std::string> problems;
  for (const Sample& sample : parse_samples(text)) {
    for (const std::string& histogram : histograms) {
      if (!sample.name.starts_with(histogram)) continue;
      const std::string suffix = sample.name.substr(histogram.size());
      Series& s = series[histogram + "|" + series_key(sample)];
      if (suffix == "_bucket") {
        std::string le;
        for (const auto& [name, value] : sample.labels) {
          if (name == "le") le = value;
        }
        if (le.empty()) problems.push_back(sample.name + " has a bucket without le");
        s.buckets.emplace_back(parse_number(le), parse_number(sample.value));
      } else if (suffix == "_count") {
        s.has_count = true;
        s.count = parse_number(sample.value);
      } else if (suffix == "_sum") {
        s.has_sum = true;
      }
    }
  }
  for (const auto& [key, s] : series) {
    if (s.buckets.empty() || s.buckets.back().first != std::numeric_limits<double>::infinity()) {
      problems.push_back(key + ": the last bucket is not +Inf");
    }
    for (std::size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i - 1].first < s.buckets[i].first)) {
        problems.push_back(key + ": le not strictly increasing");
      }
      if (s.buckets[i - 1].second > s.buckets[i].second) {
        problems.push_back(key + ": bucket counts not cumulative");
      }
    }
    if (!s.has_count) problems.push_back(key + ": no _count");
    if (!s.has_sum) problems.push_back(key + ": no _sum");
    if (!s.buckets.empty() && s.has_count && s.buckets.back().second != s.count) {
      problems.push_back(key + ": +Inf bucket differs from _count");
    }
  }
  return problems;
}

}  // namespace psycache::test
