// Small text helpers shared by loaders and the CLI.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ridge {

/// Edit distance between two strings (insert, delete, substitute each cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The closest candidate to `word` when it is a plausible typo of it, else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// " (did you mean \"x\"?)" or "" when nothing is close.
/// Text for XML/SVG/HTML content and attributes (JUnit, plots): & < > " ' escaped, tab, CR and
/// newline as character references (kept through attribute normalisation), characters XML 1.0
/// does not allow and invalid UTF-8 bytes replaced by U+FFFD.
std::string xml_escaped(std::string_view s);

/// Text for one line on a terminal or in a CI log: control characters (newline, escape, ...)
/// and invalid UTF-8 shown as \xNN, so that no name from a file can start a new line (a
/// GitHub "::workflow-command::") or send a terminal escape.
std::string one_line(std::string_view s);

/// Decodes one UTF-8 sequence at s[i]; returns its length and sets `cp`, or 0 when invalid
/// (overlong forms, surrogates and values past U+10FFFF included).
std::size_t utf8_at(std::string_view s, std::size_t i, char32_t& cp);

/// What a mistyped name most likely meant: every variant of a product named without its variant
/// ("h100" -> h100-sxm, h100-pcie), every name whose dash-separated parts the word abbreviates
/// ("llama-3-70b" -> llama-3.1-70b, llama-3.3-70b), else the closest by edit distance; empty
/// when nothing is close.
std::vector<std::string> likely_meant(std::string_view word, const std::vector<std::string>& candidates);
/// " (did you mean "a" or "b"?)" for likely_meant, or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// "a, b, c" for messages listing what is allowed.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

/// `s` in double quotes with `"` and `\` escaped: a JSON string, and a YAML double-quoted
/// scalar, for text without control characters.
std::string double_quoted(std::string_view s);

}  // namespace ridge
