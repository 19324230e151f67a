#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "error.hpp"
#include "quantity.hpp"
#include "text.hpp"

namespace ridge {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}
/// Shortest decimal that reads back as v.
std::string exact_number(double v) { return fmt::format("{}", v); }

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
constexpr double kTwoPi = 6.283185307179586476925286766559;
}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform(), u2 = uniform();  // u1 in (0, 1]: log finite
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(kTwoPi * u2);
  has_spare_ = true;
  return r * std::cos(kTwoPi * u2);
}

double Rng::exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }

std::string LengthDistribution::text() const {
  auto n = [](double v) { return exact_number(v); };
  switch (kind) {
    case Kind::fixed:
      return n(a);
    case Kind::uniform:
      return "uniform:" + n(a) + ":" + n(b);
    case Kind::normal:
      return "normal:" + n(a) + ":" + n(b);
    case Kind::lognormal:
      return "lognormal:" + n(a) + ":" + n(b);
  }
  return n(a);
}

double LengthDistribution::mean() const { return kind == Kind::uniform ? (a + b) / 2 : a; }

std::int64_t LengthDistribution::max() const {
  if (kind == Kind::fixed) return static_cast<std::int64_t>(a);
  if (kind == Kind::uniform) return static_cast<std::int64_t>(b);
  return 0;
}

std::int64_t LengthDistribution::draw(Rng& rng) const {
  double x = a;
  switch (kind) {
    case Kind::fixed:
      return static_cast<std::int64_t>(a);
    case Kind::uniform:  // integers low..high, each equally likely
      return static_cast<std::int64_t>(a) + static_cast<std::int64_t>(std::floor(rng.uniform() * (b - a + 1)));
    case Kind::normal:
      x = a + b * rng.normal();
      break;
    case Kind::lognormal: {
      // The tokens' own mean m and deviation s: σ² = ln(1 + s²/m²), μ = ln m − σ²/2.
      const double sigma2 = std::log1p(b * b / (a * a));
      x = std::exp(std::log(a) - sigma2 / 2 + std::sqrt(sigma2) * rng.normal());
      break;
    }
  }
  return std::max<std::int64_t>(1, std::llround(std::min(x, 1e12)));
}

LengthDistribution parse_length_distribution(const std::string& option, const std::string& text) {
  const std::string shown = double_quoted(text);
  auto number = [&](std::string_view part, const char* what) {
    try {
      const double v = parse_number(part);
      if (v < 1 || v > 100'000'000)
        throw InputError({}, option, shown + ": the " + std::string(what) + " must be 1 to 100,000,000 tokens");
      return v;
    } catch (const QuantityError&) {
      throw InputError({}, option,
                       shown + ": a token count (512, 32k), or uniform:LOW:HIGH, normal:MEAN:SD, lognormal:MEAN:SD");
    }
  };
  const std::vector<std::string> parts = split(text, ':');
  LengthDistribution d;
  if (parts.size() == 1) {
    // Whole tokens, with the model-card k (32k = 32,768) as every token option takes.
    std::string digits = text;
    double scale = 1;
    if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
      digits.pop_back();
      scale = 1024;
    }
    try {
      d.a = static_cast<double>(parse_integer(digits)) * scale;
    } catch (const QuantityError&) {
      throw InputError({}, option,
                       shown + ": a token count (512, 32k), or uniform:LOW:HIGH, normal:MEAN:SD, lognormal:MEAN:SD");
    }
    if (d.a < 1 || d.a > 100'000'000) throw InputError({}, option, shown + ": must be 1 to 100,000,000 tokens");
    return d;
  }
  if (parts.size() != 3)
    throw InputError({}, option,
                     shown + ": a token count (512, 32k), or uniform:LOW:HIGH, normal:MEAN:SD, lognormal:MEAN:SD");
  if (parts[0] == "uniform") {
    d.kind = LengthDistribution::Kind::uniform;
    d.a = number(parts[1], "low");
    d.b = number(parts[2], "high");
    if (d.a != std::floor(d.a) || d.b != std::floor(d.b) || d.b < d.a)
      throw InputError({}, option, shown + ": uniform:LOW:HIGH takes whole tokens with LOW <= HIGH");
    return d;
  }
  if (parts[0] == "normal" || parts[0] == "lognormal") {
    d.kind = parts[0] == "normal" ? LengthDistribution::Kind::normal : LengthDistribution::Kind::lognormal;
    d.a = number(parts[1], "mean");
    try {
      d.b = parse_number(parts[2]);
    } catch (const QuantityError&) {
      throw InputError({}, option, shown + ": the standard deviation must be a number of tokens");
    }
    if (!(d.b >= 0) || d.b > 100'000'000)
      throw InputError({}, option, shown + ": the standard deviation must be 0 to 100,000,000 tokens");
    return d;
  }
  throw InputError({}, option,
                   shown + ": unknown distribution " + double_quoted(parts[0]) +
                       " (uniform:LOW:HIGH, normal:MEAN:SD, lognormal:MEAN:SD)");
}

RequestLoad generate_workload(std::int64_t count, double rate, const LengthDistribution& prompt,
                              const LengthDistribution& output, std::uint64_t seed) {
  RequestLoad w;
  w.requests.reserve(static_cast<std::size_t>(count));
  Rng arrivals(seed), lengths(seed ^ 0x5851f42d4c957f2dULL);  // independent streams
  double t = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    if (rate > 0 && i > 0) t += arrivals.exponential(rate);
    Request r;
    r.arrival_s = t;
    r.prompt = prompt.draw(lengths);
    r.output = output.draw(lengths);
    w.requests.push_back(r);
  }
  return w;
}

namespace {

/// One trace row's field: a number, checked.
struct TraceRow {
  std::optional<double> arrival;
  std::optional<std::int64_t> prompt, output;
};

Request checked_row(const TraceRow& row, const std::string& path, int line) {
  auto missing = [&](const char* field) {
    return InputError({path, line, 0}, field, "missing (a trace row has arrival_s, prompt_tokens, output_tokens)");
  };
  if (!row.arrival) throw missing("arrival_s");
  if (!row.prompt) throw missing("prompt_tokens");
  if (!row.output) throw missing("output_tokens");
  if (*row.arrival < 0 || *row.arrival > 1e9)
    throw InputError({path, line, 0}, "arrival_s", exact_number(*row.arrival) + ": must be 0 to 1e9 seconds");
  if (*row.prompt < 1 || *row.prompt > 100'000'000)
    throw InputError({path, line, 0}, "prompt_tokens",
                     std::to_string(*row.prompt) + ": must be 1 to 100,000,000 tokens");
  if (*row.output < 1 || *row.output > 100'000'000)
    throw InputError({path, line, 0}, "output_tokens",
                     std::to_string(*row.output) + ": must be 1 to 100,000,000 tokens");
  return Request{*row.arrival, *row.prompt, *row.output};
}

double trace_number(std::string_view text, const std::string& path, int line, const std::string& field) {
  try {
    return parse_number(trim(text));
  } catch (const QuantityError&) {
    throw InputError({path, line, 0}, field, double_quoted(trim(text)) + " is not a number");
  }
}

std::int64_t trace_integer(std::string_view text, const std::string& path, int line, const std::string& field) {
  try {
    return parse_integer(trim(text));
  } catch (const QuantityError&) {
    throw InputError({path, line, 0}, field, double_quoted(trim(text)) + " is not a whole number of tokens");
  }
}

}  // namespace

RequestLoad read_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError({path, 0, 0}, "--trace", "cannot read the file");
  RequestLoad w;
  std::string text;
  int line_no = 0;
  bool jsonl = false, header_seen = false;
  int col_arrival = -1, col_prompt = -1, col_output = -1;
  while (std::getline(in, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    const std::string_view line = trim(text);
    if (line.empty() || line.front() == '#') continue;
    if (!header_seen) {
      header_seen = true;
      if (line.front() == '{') {
        jsonl = true;
      } else {
        const std::vector<std::string> names = split(std::string(line), ',');
        for (std::size_t i = 0; i < names.size(); ++i) {
          const std::string_view n = trim(names[i]);
          if (n == "arrival_s") col_arrival = static_cast<int>(i);
          if (n == "prompt_tokens") col_prompt = static_cast<int>(i);
          if (n == "output_tokens") col_output = static_cast<int>(i);
        }
        if (col_arrival < 0 || col_prompt < 0 || col_output < 0)
          throw InputError({path, line_no, 0}, "header",
                           "a CSV trace starts with a header naming arrival_s, prompt_tokens and output_tokens "
                           "(or is JSON Lines with those keys)");
        continue;
      }
    }
    TraceRow row;
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        throw InputError({path, line_no, 0}, "trace", "not a JSON object (JSON Lines: one object per line)");
      }
      if (!j.is_object()) throw InputError({path, line_no, 0}, "trace", "not a JSON object (one per line)");
      for (const char* key : {"arrival_s", "prompt_tokens", "output_tokens"}) {
        if (!j.contains(key)) continue;
        const auto& v = j[key];
        const bool integer = std::string_view(key) != "arrival_s";
        if (integer ? !v.is_number_integer() : !v.is_number())
          throw InputError({path, line_no, 0}, key, integer ? "must be a whole number of tokens" : "must be a number");
        if (integer)
          (std::string_view(key) == "prompt_tokens" ? row.prompt : row.output) = v.get<std::int64_t>();
        else
          row.arrival = v.get<double>();
      }
    } else {
      const std::vector<std::string> cells = split(std::string(line), ',');
      auto cell = [&](int col, const char* field) -> std::optional<std::string_view> {
        if (col >= static_cast<int>(cells.size()) || trim(cells[static_cast<std::size_t>(col)]).empty())
          throw InputError({path, line_no, 0}, field, "missing");
        return std::string_view(cells[static_cast<std::size_t>(col)]);
      };
      row.arrival = trace_number(*cell(col_arrival, "arrival_s"), path, line_no, "arrival_s");
      row.prompt = trace_integer(*cell(col_prompt, "prompt_tokens"), path, line_no, "prompt_tokens");
      row.output = trace_integer(*cell(col_output, "output_tokens"), path, line_no, "output_tokens");
    }
    w.requests.push_back(checked_row(row, path, line_no));
    if (w.requests.size() > 10'000'000) throw InputError({path, line_no, 0}, "trace", "more than 10,000,000 requests");
  }
  if (w.requests.empty()) throw InputError({path, line_no, 0}, "trace", "no requests in the file");
  std::stable_sort(w.requests.begin(), w.requests.end(),
                   [](const Request& a, const Request& b) { return a.arrival_s < b.arrival_s; });
  return w;
}

}  // namespace ridge
