// The one error type users see for bad input. Thrown by loaders and option validation,
// caught once in main, printed as one line, exit code 2.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ridge {

/// Where a value came from: a file position (1-based line and column) or a command-line option.
struct Location {
  std::string file;  ///< file path, or empty for a command-line option
  int line = 0;      ///< 1-based; 0 when unknown (e.g. the file could not be read)
  int column = 0;    ///< 1-based; 0 when unknown
};

/// Bad input: "file:line:col: field: message" (or "field: message" for options).
class InputError : public std::runtime_error {
 public:
  InputError(Location where, std::string field, std::string message)
      : std::runtime_error(render(where, field, message)),
        where_(std::move(where)),
        field_(std::move(field)),
        message_(std::move(message)) {}

  const Location& where() const { return where_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  static std::string render(const Location& w, const std::string& field, const std::string& msg) {
    std::string out;
    if (!w.file.empty()) {
      out += w.file;
      if (w.line > 0) out += ":" + std::to_string(w.line);
      if (w.column > 0) out += ":" + std::to_string(w.column);
      out += ": ";
    }
    if (!field.empty()) out += field + ": ";
    return out + msg;
  }

  Location where_;
  std::string field_;
  std::string message_;
};

/// Several input errors of one file, in line order (as compilers report them): what() and the
/// accessors are the first one's, so a caller that shows one error shows the first.
class InputErrors : public InputError {
 public:
  explicit InputErrors(std::vector<InputError> all) : InputError(all.front()), all_(std::move(all)) {}
  const std::vector<InputError>& all() const { return all_; }

 private:
  std::vector<InputError> all_;
};

}  // namespace ridge
