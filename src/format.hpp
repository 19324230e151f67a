// Turning base-unit quantities into text: GiB for memory (2^30), decimal units for rates,
// thousands separators for counts. Only the report layer prints; engines never format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "units.hpp"

namespace ridge {

/// "6,738,415,616"
std::string with_commas(std::int64_t v);
std::string with_commas(std::uint64_t v);
/// "12.55 GiB" (two decimals; KiB/MiB below 1 GiB)
std::string human_bytes(Bytes b);
/// GiB with two decimals, no unit: "12.55"
std::string gib(Bytes b);
/// "6.74 B", "124.4 M"
std::string human_count(std::int64_t v);
/// "3.35 TB/s"
std::string human_rate(BytesPerSecond r);
/// "989.4 TFLOP/s"
std::string human_flops(FlopsPerSecond r);
/// "1.592 s", "268.083 ms", "682.4 us"
std::string human_seconds(Seconds t);
/// Latencies in plan tables and messages: "2.00 s", "865.4 ms"
std::string short_seconds(Seconds t);
/// A limit as the user wrote it, no trailing zeros: "1 s", "50 ms", "12.5 us"
std::string exact_seconds(Seconds t);
/// "0.9" or "12.5%": a fraction with up to `digits` decimals and no trailing zeros
std::string trimmed(double v, int digits);

/// A plain table rendered as aligned text, Markdown or CSV.
struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right_aligned;  ///< per column; numbers right-aligned

  std::string text(const std::string& indent = "") const;
  std::string markdown() const;
  std::string csv() const;
};

/// Items side by side (several GPUs): a first column of labels, one column per item.
template <class Item>
struct SideBySide {
  const std::vector<Item>& items;
  Table table;
  template <class Name>
  SideBySide(const std::vector<Item>& all, Name name) : items(all) {
    table.headers = {""};
    table.right_aligned = {false};
    for (const Item& i : items) {
      table.headers.push_back(name(i));
      table.right_aligned.push_back(true);
    }
  }
  /// A row: `label`, then cell(item) for each item.
  template <class Cell>
  void row(const std::string& label, Cell cell) {
    std::vector<std::string> r{label};
    for (const Item& i : items) r.push_back(cell(i));
    table.rows.push_back(std::move(r));
  }
};

/// RFC 4180 quoting for one CSV field.
std::string csv_field(const std::string& s);

}  // namespace ridge
