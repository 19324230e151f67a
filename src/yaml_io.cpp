#include "yaml_io.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "text.hpp"

namespace ridge {
namespace {

/// Builds a Node tree from parser events, enforcing the rules yaml-cpp does not.
class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const std::string& file) : file_(file) {}

  Node take_root() { return std::move(root_); }
  bool has_root() const { return has_root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    check_anchor(mark, anchor);
    Node n;
    n.kind = Node::Kind::null;
    n.where = at(mark);
    add(std::move(n));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw InputError(at(mark), "", "YAML aliases (*name) are not supported; write the value out");
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    check_anchor(mark, anchor);
    check_tag(mark, tag);
    Node n;
    n.kind = Node::Kind::scalar;
    n.scalar = value;
    n.quoted = (tag == "!");
    n.where = at(mark);
    add(std::move(n));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, Node::Kind::sequence);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, Node::Kind::map);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    Node node;
    bool has_key = false;
    Node key;
    /// Keys seen so far and their lines: a hash lookup, since comparing each new key with all
    /// earlier ones made a 1 MB JSON object of 100,000 keys take most of a minute.
    std::unordered_map<std::string, int> key_lines;
  };

  Location at(const YAML::Mark& mark) const {
    return Location{file_, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0};
  }

  void check_anchor(const YAML::Mark& mark, YAML::anchor_t anchor) const {
    if (anchor != YAML::NullAnchor)
      throw InputError(at(mark), "", "YAML anchors (&name) are not supported; write the value out");
  }

  void check_tag(const YAML::Mark& mark, const std::string& tag) const {
    if (!tag.empty() && tag != "?" && tag != "!")
      throw InputError(at(mark), "", "YAML tags (" + tag + ") are not supported");
  }

  void count(const YAML::Mark& mark) {
    if (++nodes_ > kMaxNodes)
      throw InputError(at(mark), "",
                       "document has more than " + std::to_string(kMaxNodes) + " values; refusing to read it");
  }

  void open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, Node::Kind kind) {
    check_anchor(mark, anchor);
    check_tag(mark, tag);
    count(mark);
    if (static_cast<int>(stack_.size()) >= kMaxDepth)
      throw InputError(at(mark), "",
                       "nesting deeper than " + std::to_string(kMaxDepth) + " levels; refusing to read it");
    Frame f;
    f.node.kind = kind;
    f.node.where = at(mark);
    stack_.push_back(std::move(f));
  }

  void close() {
    Node done = std::move(stack_.back().node);
    stack_.pop_back();
    add(std::move(done));
  }

  void add(Node n) {
    if (n.kind == Node::Kind::scalar || n.kind == Node::Kind::null) {
      if (++nodes_ > kMaxNodes)
        throw InputError(n.where, "",
                         "document has more than " + std::to_string(kMaxNodes) + " values; refusing to read it");
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      has_root_ = true;
      return;
    }
    Frame& parent = stack_.back();
    if (parent.node.kind == Node::Kind::sequence) {
      parent.node.items.push_back(std::move(n));
      return;
    }
    if (!parent.has_key) {
      if (n.kind != Node::Kind::scalar) throw InputError(n.where, "", "map keys must be plain names");
      const auto [seen, fresh] = parent.key_lines.emplace(n.scalar, n.where.line);
      if (!fresh)
        throw InputError(n.where, n.scalar, "duplicate key (first given at line " + std::to_string(seen->second) + ")");
      parent.key = std::move(n);
      parent.has_key = true;
      return;
    }
    parent.node.entries.push_back(MapEntry{std::move(parent.key), std::move(n)});
    parent.has_key = false;
  }

  std::string file_;
  std::vector<Frame> stack_;
  Node root_;
  bool has_root_ = false;
  std::size_t nodes_ = 0;
};

}  // namespace

const Node* Node::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k.scalar == key) return &v;
  return nullptr;
}

Node parse_document(std::string_view text, const std::string& file) {
  if (text.size() > kMaxInputBytes)
    throw InputError(Location{file, 0, 0}, "", "file is larger than " + std::to_string(kMaxInputBytes) + " bytes");
  std::istringstream stream{std::string(text)};
  try {
    YAML::Parser parser(stream);
    TreeBuilder builder(file);
    // One document only. HandleNextDocument is called at most twice: repeated calls on some
    // malformed inputs (",") return empty documents forever.
    if (!parser.HandleNextDocument(builder) || !builder.has_root())
      throw InputError(Location{file, 1, 1}, "", "empty document");
    Node root = builder.take_root();
    TreeBuilder extra(file);
    if (parser.HandleNextDocument(extra) && extra.has_root() && !extra.take_root().is_null())
      throw InputError(Location{file, 0, 0}, "", "more than one YAML document in the file");
    if (!root.is_map())
      throw InputError(
          root.where, "",
          root.is_null() ? "empty document; expected a map of fields" : "expected a map of fields at the top level");
    return root;
  } catch (const YAML::Exception& e) {
    Location where{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    throw InputError(where, "", "malformed YAML/JSON: " + e.msg);
  }
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(Location{path, 0, 0}, "", "is a directory; name the files in it");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(Location{path, 0, 0}, "", "cannot open file");
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      throw InputError(Location{path, 0, 0}, "", "file is larger than " + std::to_string(max_bytes) + " bytes");
  }
  if (in.bad()) throw InputError(Location{path, 0, 0}, "", "cannot read file");
  return text;
}

Node load_file(const std::string& path) { return parse_document(read_text_file(path), path); }

MapReader::MapReader(const Node& map, std::string path) : node_(map), path_(std::move(path)) {
  if (!map.is_map()) fail(map, path_, "expected a map of fields");
}

std::string MapReader::field(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const Node* MapReader::optional(std::string_view key) {
  known_.emplace_back(key);
  const Node* n = node_.find(key);
  // An explicit null ("key:" with nothing) counts as absent.
  return (n && !n->is_null()) ? n : nullptr;
}

const Node& MapReader::required(std::string_view key) {
  const Node* n = optional(key);
  if (!n) {
    // A missing field is often a misspelt one: point at the typo rather than the absence.
    for (const auto& [k, v] : node_.entries) {
      if (k.scalar != key && closest_match(k.scalar, {std::string(key)}) == key)
        fail(k, field(k.scalar), "unknown field (did you mean \"" + std::string(key) + "\"?)");
    }
    const Node* present = node_.find(key);
    fail(present ? *present : node_, field(key), present ? "a value is required" : "missing required field");
  }
  return *n;
}

void MapReader::finish() const {
  const auto unknown = unknown_keys();
  if (!unknown.empty()) throw unknown.front();
}

std::vector<InputError> MapReader::unknown_keys(const std::function<std::string(const std::string&)>& hint) const {
  std::vector<InputError> out;
  for (const auto& [key, value] : node_.entries) {
    bool known = false;
    for (const auto& k : known_) known = known || (k == key.scalar);
    if (known) continue;
    std::string message = hint ? hint(key.scalar) : std::string();
    if (message.empty()) message = "unknown field" + did_you_mean(key.scalar, known_);
    out.emplace_back(key.where, field(key.scalar), message);
  }
  return out;
}

void fail(const Node& at, const std::string& field, const std::string& message) {
  throw InputError(at.where, field, message);
}

std::string as_string(const Node& n, const std::string& field) {
  if (n.kind != Node::Kind::scalar) fail(n, field, "expected a text value");
  // Names reach terminals, CI logs, CSV, JSON, Markdown and SVG: no control characters (a
  // newline would forge a line of a log) and only valid UTF-8.
  for (std::size_t i = 0; i < n.scalar.size();) {
    char32_t cp = 0;
    const std::size_t len = utf8_at(n.scalar, i, cp);
    if (len == 0) fail(n, field, "is not valid UTF-8 (byte " + std::to_string(i + 1) + ")");
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
      fail(n, field, "holds a control character (" + one_line(n.scalar.substr(i, len)) + "); write plain text");
    i += len;
  }
  return n.scalar;
}

bool as_bool(const Node& n, const std::string& field) {
  if (n.kind == Node::Kind::scalar && !n.quoted) {
    if (n.scalar == "true") return true;
    if (n.scalar == "false") return false;
  }
  fail(n, field, "expected true or false, found \"" + n.scalar + "\"");
}

std::int64_t as_int(const Node& n, const std::string& field, std::int64_t min, std::int64_t max) {
  if (n.kind != Node::Kind::scalar) fail(n, field, "expected an integer");
  std::int64_t v = 0;
  try {
    v = parse_integer(n.scalar);
  } catch (const QuantityError& e) {
    fail(n, field, e.what());
  }
  if (v < min || v > max)
    fail(n, field,
         std::to_string(v) + " is out of range; expected " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

double as_number(const Node& n, const std::string& field, double min, double max) {
  if (n.kind != Node::Kind::scalar) fail(n, field, "expected a number");
  double v = 0;
  try {
    v = parse_number(n.scalar);
  } catch (const QuantityError& e) {
    fail(n, field, e.what());
  }
  if (v < min || v > max) {
    std::ostringstream range;
    range << n.scalar << " is out of range; expected " << min << " to " << max;
    fail(n, field, range.str());
  }
  return v;
}

std::string as_enum(const Node& n, const std::string& field, const std::vector<std::string>& allowed) {
  const std::string value = as_string(n, field);
  for (const auto& a : allowed)
    if (a == value) return value;
  fail(n, field, "\"" + value + "\" is not one of " + join(allowed) + did_you_mean(value, allowed));
}

double as_quantity(const Node& n, const std::string& field, QuantityKind kind, double min, double max) {
  if (n.kind != Node::Kind::scalar) fail(n, field, "expected a quantity with a unit");
  double v = 0;
  try {
    v = parse_quantity(n.scalar, kind);
  } catch (const QuantityError& e) {
    fail(n, field, e.what());
  }
  if (!(v >= min && v <= max)) {
    std::ostringstream range;
    range << "\"" << n.scalar << "\" is out of range (" << (v <= 0 ? "must be positive" : "too large") << ")";
    fail(n, field, range.str());
  }
  return v;
}

std::uint64_t as_size(const Node& n, const std::string& field, std::uint64_t min, std::uint64_t max) {
  if (n.kind != Node::Kind::scalar) fail(n, field, "expected a size such as \"80 GiB\"");
  std::uint64_t v = 0;
  try {
    v = parse_size_bytes(n.scalar);
  } catch (const QuantityError& e) {
    fail(n, field, e.what());
  }
  if (v < min && n.scalar.find(' ') == std::string::npos)
    fail(n, field,
         "a bare number means bytes: " + n.scalar + " B is below the minimum of " + std::to_string(min) +
             " B; write a unit, e.g. \"" + n.scalar + " GiB\"");
  if (v < min || v > max)
    fail(n, field, "\"" + n.scalar + "\" is out of range (" + (v < min ? "too small" : "too large") + ")");
  return v;
}

}  // namespace ridge
