// The metrics registry and its text exposition format (0.0.4).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <system_error>
#include <type_traits>
#include <variant>

#include <psycache/errors.hpp>
#include <psycache/metrics.hpp>

namespace psycache::metrics {
namespace {

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text: backslash and line feed escaped.
void append_help(std::string& out, std::string_view help) {
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// A label value: backslash, double quote and line feed escaped.
void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// name{label="value",...,extra="extra_value"} value\n; extra may be empty.
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& values, std::string_view extra_name,
                   std::string_view extra_value, double value) {
  out += name;
  out += suffix;
  if (!label_names.empty() || !extra_name.empty()) {
    out += '{';
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out += ',';
      out += label_names[i];
      out += "=\"";
      append_label_value(out, values[i]);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!label_names.empty()) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void render_metric(std::string& out, const std::string& name,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& values, const Counter& counter) {
  append_sample(out, name, "", label_names, values, "", "", counter.value());
}

void render_metric(std::string& out, const std::string& name,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& values, const Gauge& gauge) {
  append_sample(out, name, "", label_names, values, "", "", gauge.value());
}

// Buckets cumulative; _count is the +Inf bucket (so they always agree).
void render_metric(std::string& out, const std::string& name,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& values, const Histogram& histogram) {
  const std::span<const double> bounds = histogram.upper_bounds();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += histogram.bucket_count(i);
    append_sample(out, name, "_bucket", label_names, values, "le", format_value(bounds[i]),
                  static_cast<double>(cumulative));
  }
  append_sample(out, name, "_count", label_names, values, "", "", static_cast<double>(cumulative));
  append_sample(out, name, "_sum", label_names, values, "", "", histogram.sum());
}

// bounds made strictly increasing-checked and ending in +Inf.
std::vector<double> histogram_bounds(std::string_view name, std::span<const double> buckets) {
  std::vector<double> bounds(buckets.begin(), buckets.end());
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      throw InvalidArgument("invalid histogram " + std::string{name} +
                            ": its buckets must be strictly increasing numbers");
    }
  }
  if (bounds.empty() || bounds.back() != std::numeric_limits<double>::infinity()) {
    bounds.push_back(std::numeric_limits<double>::infinity());
  }
  return bounds;
}

}  // namespace

// --- the metrics -------------------------------------------------------------

void Counter::inc(double amount) {
  if (!(amount >= 0)) {
    throw InvalidArgument("invalid counter increment: it must be >= 0, not " +
                          format_value(amount));
  }
  value_.fetch_add(amount, std::memory_order_relaxed);
}

void Gauge::set_to_current_time() noexcept {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  set(std::chrono::duration<double>(now).count());
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size())) {}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  // The last bound is +Inf, so the search always ends inside.
  std::size_t i = 0;
  while (value > upper_bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

// --- families ----------------------------------------------------------------

namespace detail {

std::size_t LabelValuesHash::operator()(std::span<const std::string_view> values) const noexcept {
  std::size_t hash = values.size();
  for (const std::string_view value : values) {
    hash ^=
        std::hash<std::string_view>{}(value) + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
  }
  return hash;
}

bool LabelValuesEqual::operator()(std::span<const std::string_view> a,
                                  std::span<const std::string_view> b) const noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace detail

template <class Metric>
Family<Metric>::Family(MetricType type, std::string name, std::string help,
                       std::vector<std::string> label_names, std::vector<double> upper_bounds)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {
  if (label_names_.empty()) add_child({});
}

template <class Metric>
Metric& Family<Metric>::labels(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    throw InvalidArgument{"invalid label values for metric " + name_ + ": it has " +
                          std::to_string(label_names_.size()) + " labels, given " +
                          std::to_string(values.size()) + " values"};
  }
  {
    const std::shared_lock lock{mutex_};
    if (const auto found = index_.find(values); found != index_.end()) {
      return found->second->metric;
    }
  }
  const std::unique_lock lock{mutex_};
  if (const auto found = index_.find(values); found != index_.end()) {
    return found->second->metric;
  }
  return add_child(values).metric;
}

// Called with the exclusive lock held (or from the constructor).
template <class Metric>
typename Family<Metric>::Child& Family<Metric>::add_child(
    std::span<const std::string_view> values) {
  std::vector<std::string> copies(values.begin(), values.end());
  Child* child = nullptr;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    child = &children_.emplace_back(std::move(copies), std::span<const double>{upper_bounds_});
  } else {
    child = &children_.emplace_back(std::move(copies));
  }
  index_.emplace(child->key, child);
  return *child;
}

template <class Metric>
void Family<Metric>::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
  const std::shared_lock lock{mutex_};
  for (const Child& child : children_) {
    render_metric(out, name_, label_names_, child.values, child.metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- the registry --------------------------------------------------------------

struct Registry::Entry {
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
};

template <class Metric>
Family<Metric>& Registry::add(MetricType type, std::string_view name, std::string_view help,
                              std::vector<std::string> label_names,
                              std::vector<double> upper_bounds) {
  if (!valid_metric_name(name)) {
    throw InvalidArgument("invalid metric name \"" + std::string{name} +
                          "\": it must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (const std::string& label : label_names) {
    if (!valid_label_name(label) || (type == MetricType::histogram && label == "le")) {
      throw InvalidArgument("invalid label name \"" + label + "\" for metric " + std::string{name} +
                            ": it must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and "
                            "not be \"le\" on a histogram");
    }
    if (std::count(label_names.begin(), label_names.end(), label) > 1) {
      throw InvalidArgument("invalid label names for metric " + std::string{name} + ": \"" + label +
                            "\" appears twice");
    }
  }
  const std::lock_guard lock{mutex_};
  for (const auto& entry : entries_) {
    const bool same_name =
        std::visit([&](const auto& f) { return f->name() == name; }, entry->family);
    if (!same_name) continue;
    if (auto* existing = std::get_if<std::unique_ptr<Family<Metric>>>(&entry->family)) {
      Family<Metric>& family = **existing;
      if (family.type() == type && family.help() == help && family.label_names() == label_names &&
          family.upper_bounds() == upper_bounds) {
        return family;
      }
    }
    throw InvalidArgument("invalid metric " + std::string{name} +
                          ": it is already registered with another type, help text, labels or "
                          "buckets");
  }
  auto family = std::make_unique<Family<Metric>>(type, std::string{name}, std::string{help},
                                                 std::move(label_names), std::move(upper_bounds));
  Family<Metric>& result = *family;
  entries_.push_back(std::make_shared<Entry>(Entry{std::move(family)}));
  return result;
}

CounterFamily& Registry::counter(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names) {
  return add<Counter>(MetricType::counter, name, help, std::move(label_names), {});
}

GaugeFamily& Registry::gauge(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names) {
  return add<Gauge>(MetricType::gauge, name, help, std::move(label_names), {});
}

HistogramFamily& Registry::histogram(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names,
                                     std::span<const double> buckets) {
  return add<Histogram>(MetricType::histogram, name, help, std::move(label_names),
                        histogram_bounds(name, buckets));
}

std::string Registry::render() const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    const std::lock_guard lock{mutex_};
    entries = entries_;
  }
  std::string out;
  for (const auto& entry : entries) {
    std::visit([&](const auto& family) { family->render(out); }, entry->family);
  }
  return out;
}

std::shared_ptr<Registry> default_registry() {
  static const std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  return registry;
}

// --- numbers -------------------------------------------------------------------

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest digits that read back as value, and the decimal exponent.
  char buffer[64];
  const auto [end, error] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view scientific{buffer, static_cast<std::size_t>(end - buffer)};
  const std::size_t e = scientific.find('e');
  const bool negative = scientific.front() == '-';
  std::string digits;
  for (const char c : scientific.substr(negative ? 1 : 0, e - (negative ? 1 : 0))) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::from_chars(scientific.data() + e + 1 + (scientific[e + 1] == '+' ? 1 : 0),
                  scientific.data() + scientific.size(), exponent);

  // Python's repr: positional for 1e-4 <= |value| < 1e16, else d.ddde+XX.
  std::string repr = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    repr += digits[0];
    if (digits.size() > 1) {
      repr += '.';
      repr += digits.substr(1);
    }
    repr += exponent < 0 ? "e-" : "e+";
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) repr += '0';
    repr += std::to_string(magnitude);
    return repr;
  }
  if (exponent < 0) {
    repr += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto integer_digits = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= integer_digits) {
      repr += digits + std::string(integer_digits - digits.size(), '0') + ".0";
    } else {
      repr += digits.substr(0, integer_digits) + "." + digits.substr(integer_digits);
    }
  }

  // Go writes an exponent from 1e7 on; prometheus_client imitates it for
  // positive values: mantissa without trailing zeros, then "e+0" and the
  // exponent (so 1e10 becomes "1e+010", as it does there).
  const std::size_t dot = repr.find('.');
  if (value > 0 && dot != std::string::npos && dot > 6) {
    std::string mantissa = repr.substr(0, 1) + "." + repr.substr(1, dot - 1) + repr.substr(dot + 1);
    while (!mantissa.empty() && (mantissa.back() == '0' || mantissa.back() == '.')) {
      mantissa.pop_back();
    }
    return mantissa + "e+0" + std::to_string(dot - 1);
  }
  return repr;
}

}  // namespace psycache::metrics
