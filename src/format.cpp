#include "format.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ridge {

std::string with_commas(std::uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string with_commas(std::int64_t v) {
  if (v < 0) return "-" + with_commas(static_cast<std::uint64_t>(-v));
  return with_commas(static_cast<std::uint64_t>(v));
}

std::string human_bytes(Bytes b) {
  const double v = b.as_double();
  if (v >= static_cast<double>(kGiB)) return fmt::format("{:.2f} GiB", v / kGiB);
  if (v >= static_cast<double>(kMiB)) return fmt::format("{:.2f} MiB", v / kMiB);
  if (v >= static_cast<double>(kKiB)) return fmt::format("{:.2f} KiB", v / kKiB);
  return fmt::format("{} B", b.value);
}

std::string gib(Bytes b) { return fmt::format("{:.2f}", b.as_double() / kGiB); }

std::string human_count(std::int64_t v) {
  const double d = static_cast<double>(v);
  if (d >= 1e12) return fmt::format("{:.2f} T", d / 1e12);
  if (d >= 1e9) return fmt::format("{:.2f} B", d / 1e9);
  if (d >= 1e6) return fmt::format("{:.1f} M", d / 1e6);
  return with_commas(v);
}

std::string human_rate(BytesPerSecond r) {
  if (r.value >= 1e12) return fmt::format("{:.2f} TB/s", r.value / 1e12);
  return fmt::format("{:.1f} GB/s", r.value / 1e9);
}

std::string human_flops(FlopsPerSecond r) { return fmt::format("{:.1f} TFLOP/s", r.value / 1e12); }

std::string human_seconds(Seconds t) {
  const double s = t.value;
  if (s >= 1) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.1f} us", s * 1e6);
}

std::string short_seconds(Seconds t) {
  return t.value >= 1 ? fmt::format("{:.2f} s", t.value) : fmt::format("{:.1f} ms", t.value * 1e3);
}

std::string exact_seconds(Seconds t) {
  const double s = t.value;
  if (s >= 1) return trimmed(s, 3) + " s";
  if (s >= 1e-3) return trimmed(s * 1e3, 3) + " ms";
  return trimmed(s * 1e6, 3) + " us";
}

std::string trimmed(double v, int digits) {
  std::string out = fmt::format("{:.{}f}", v, digits);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out == "-0" ? "0" : out;
}

std::string Table::text(const std::string& indent) const {
  std::vector<std::size_t> width(headers.size(), 0);
  for (std::size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = indent;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      const bool right = c < right_aligned.size() && right_aligned[c];
      out += right ? pad + cell : cell + pad;
      if (c + 1 < width.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string Table::markdown() const {
  auto escape = [](std::string s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') out += '\\';
      out += ch;
    }
    return out;
  };
  std::string out = "|";
  for (const auto& h : headers) out += " " + escape(h) + " |";
  out += "\n|";
  for (std::size_t c = 0; c < headers.size(); ++c)
    out += (c < right_aligned.size() && right_aligned[c]) ? "---:|" : "---|";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const auto& cell : row) out += " " + escape(cell) + " |";
    out += "\n";
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string Table::csv() const {
  auto line = [](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c) out += ',';
      out += csv_field(cells[c]);
    }
    return out + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace ridge
