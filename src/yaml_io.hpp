// The only place that sees yaml-cpp. Reads YAML (and JSON, which yaml-cpp parses as YAML flow
// style) into a small tree that keeps every value's position, and rejects what yaml-cpp lets
// through silently: duplicate keys, aliases/anchors, multiple documents, non-scalar keys,
// excessive depth or size. Typed readers turn nodes into validated values or throw InputError
// naming file, line, column and field.
#pragma once

#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "error.hpp"
#include "quantity.hpp"

namespace ridge {

/// Largest input file read (bytes). Model, GPU and HF config files are a few KiB.
inline constexpr std::size_t kMaxInputBytes = 4 * 1024 * 1024;
/// Deepest nesting accepted; real files nest 3 levels.
inline constexpr int kMaxDepth = 32;
/// Most nodes in one document; bounds work on hostile input.
inline constexpr std::size_t kMaxNodes = 200000;

struct MapEntry;

struct Node {
  enum class Kind { null, scalar, sequence, map };
  Kind kind = Kind::null;
  std::string scalar;   ///< the text of a scalar
  bool quoted = false;  ///< scalar was quoted ("80" is a string, 80 a number)
  Location where;
  std::vector<MapEntry> entries;  ///< map: key, value in file order
  std::vector<Node> items;        ///< sequence

  bool is_map() const { return kind == Kind::map; }
  bool is_null() const { return kind == Kind::null; }
  /// The value for `key` in a map, or nullptr.
  const Node* find(std::string_view key) const;
};

/// One key and its value. A named struct rather than std::pair<Node, Node>: with clang,
/// libstdc++'s pair traits cannot be evaluated while Node is still incomplete.
struct MapEntry {
  Node key;
  Node value;
};

/// Parses one YAML/JSON document. `file` names it in errors.
Node parse_document(std::string_view text, const std::string& file);

/// Reads a file (size-capped) and parses it.
Node load_file(const std::string& path);

/// Reads a whole file, size-capped; InputError if missing or too large.
std::string read_text_file(const std::string& path, std::size_t max_bytes = kMaxInputBytes);

/// Reads fields of one map, remembering which keys were asked for so that `finish()` can
/// reject the rest as unknown ("did you mean").
class MapReader {
 public:
  /// `path` is the dotted path of this map in the document ("" for the root).
  MapReader(const Node& map, std::string path);

  const Node* optional(std::string_view key);
  const Node& required(std::string_view key);
  bool has(std::string_view key) const { return node_.find(key) != nullptr; }

  /// Dotted field name for messages: "moe.experts".
  std::string field(std::string_view key) const;
  const Node& node() const { return node_; }

  /// Throws for the first key that was never asked for.
  void finish() const;
  /// Every key that was never asked for, as errors in document order; `hint(key)` may replace
  /// the default message ("unknown field (did you mean ...)") for a key it recognises.
  std::vector<InputError> unknown_keys(const std::function<std::string(const std::string&)>& hint = {}) const;

 private:
  const Node& node_;
  std::string path_;
  std::vector<std::string> known_;
};

[[noreturn]] void fail(const Node& at, const std::string& field, const std::string& message);

std::string as_string(const Node& n, const std::string& field);
bool as_bool(const Node& n, const std::string& field);
std::int64_t as_int(const Node& n, const std::string& field, std::int64_t min, std::int64_t max);
double as_number(const Node& n, const std::string& field, double min, double max);
/// One of `allowed`; anything else is an error listing them with "did you mean".
std::string as_enum(const Node& n, const std::string& field, const std::vector<std::string>& allowed);
/// A quantity with a unit, in base units, within [min, max].
double as_quantity(const Node& n, const std::string& field, QuantityKind kind, double min, double max);
/// A size in whole bytes, within [min, max].
std::uint64_t as_size(const Node& n, const std::string& field, std::uint64_t min, std::uint64_t max);

}  // namespace ridge
