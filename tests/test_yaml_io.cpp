// The strict reader under hostile shapes the fuzzers' small inputs cannot reach.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "yaml_io.hpp"

using namespace ridge;

TEST_CASE("a map of 99,999 keys is read in linear time; duplicates still found") {
  std::string json = "{";
  for (int i = 0; i < 99'999; ++i) json += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  const auto start = std::chrono::steady_clock::now();
  const Node root = parse_document(json + "}", "wide.json");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(root.entries.size() == 99'999);
  // Comparing every key with all earlier ones took ~25 s of CPU here; hashing takes well under
  // one (the bound is loose for sanitizer builds on a busy machine).
  CHECK(seconds < 10);
  try {
    parse_document(json + ",\"k5\":1}", "wide.json");
    FAIL("duplicate not found");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "wide.json:1:" + std::to_string(json.size() + 2) + ": k5: duplicate key (first given at line 1)");
  }
}
