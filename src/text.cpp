#include "text.hpp"

#include <algorithm>
#include <cstdint>
#include <cctype>

namespace ridge {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same =
          std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A typo changes a few characters; beyond a third of the word it is another word.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : std::string{};
}

namespace {

std::vector<std::string_view> dash_tokens(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const std::size_t dash = s.find('-', start);
    out.push_back(s.substr(start, dash == std::string_view::npos ? dash : dash - start));
    if (dash == std::string_view::npos) return out;
    start = dash + 1;
  }
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (prefix.size() > s.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

}  // namespace

std::vector<std::string> likely_meant(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string> out;
  // A product family without its variant: "h100" -> h100-sxm, h100-pcie.
  for (const auto& c : candidates)
    if (c.size() > word.size() && c[word.size()] == '-' && starts_with_nocase(c, word)) out.push_back(c);
  if (!out.empty()) return out;
  // A version written short, part by part: "llama-3-70b" -> llama-3.1-70b, llama-3.3-70b (not
  // llama-2-70b, one edit away but another model).
  const auto parts = dash_tokens(word);
  if (parts.size() > 1)
    for (const auto& c : candidates) {
      const auto theirs = dash_tokens(c);
      bool all = theirs.size() == parts.size() && c.size() > word.size();
      for (std::size_t i = 0; all && i < parts.size(); ++i)
        all = !parts[i].empty() && starts_with_nocase(theirs[i], parts[i]);
      if (all) out.push_back(c);
    }
  if (!out.empty()) return out;
  const std::string best = closest_match(word, candidates);
  if (!best.empty()) out.push_back(best);
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string> meant = likely_meant(word, candidates);
  if (meant.empty()) return {};
  if (meant.size() > 4) meant.resize(4);
  std::string text = " (did you mean ";
  for (std::size_t i = 0; i < meant.size(); ++i) {
    if (i > 0) text += i + 1 == meant.size() ? " or " : ", ";
    text += "\"" + meant[i] + "\"";
  }
  return text + "?)";
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::string double_quoted(std::string_view s) {
  // The escapes JSON and YAML double-quoted scalars share: \" \\ \n \r \t and \u00XX for the
  // other control characters, so no name can break a line or the document.
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\')
      (out += '\\') += ch;
    else if (ch == '\n')
      out += "\\n";
    else if (ch == '\r')
      out += "\\r";
    else if (ch == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      (((out += "\\u00") += hex[u >> 4]) += hex[u & 15]);
    else
      out += ch;
  }
  return out + "\"";
}

std::size_t utf8_at(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  const char32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string xml_escaped(std::string_view s) {
  // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
  auto allowed = [](char32_t c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           c >= 0x10000;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t c = 0;
    const std::size_t n = utf8_at(s, i, c);
    if (n == 0 || !allowed(c)) {
      out += "\uFFFD";
      i += n == 0 ? 1 : n;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;  // kept through attribute normalisation
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string one_line(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_at(s, i, cp);
    const auto u = static_cast<unsigned char>(s[i]);
    if (n == 0 || (n == 1 && (u < 0x20 || u == 0x7f))) {
      ((out += "\\x") += hex[u >> 4]) += hex[u & 15];
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F, two bytes C2 80..C2 9F) act as terminal escapes too.
    if (n == 2 && u == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      out += "\\u00";
      out += hex[static_cast<unsigned char>(s[i + 1]) >> 4];
      out += hex[static_cast<unsigned char>(s[i + 1]) & 15];
      i += 2;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace ridge
