// The strict reader under hostile shapes the fuzzers' small inputs cannot reach.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "text.hpp"
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
    CHECK(std::string(e.what()) ==
          "wide.json:1:" + std::to_string(json.size() + 2) + ": k5: duplicate key (first given at line 1)");
  }
}

TEST_CASE("did-you-mean picks the product people mean") {
  const std::vector<std::string> gpus{"a100-40gb", "a100-80gb", "h100-pcie", "h100-sxm", "h200", "l40s"};
  CHECK(likely_meant("h100", gpus) == std::vector<std::string>{"h100-pcie", "h100-sxm"});  // not h200
  CHECK(did_you_mean("h100", gpus) == " (did you mean \"h100-pcie\" or \"h100-sxm\"?)");
  const std::vector<std::string> models{"llama-2-70b", "llama-3.1-70b", "llama-3.3-70b", "llama-3.1-8b"};
  CHECK(likely_meant("llama-3-70b", models) == std::vector<std::string>{"llama-3.1-70b", "llama-3.3-70b"});
  CHECK(likely_meant("lama-3.1-8b", models) == std::vector<std::string>{"llama-3.1-8b"});  // a typo
  CHECK(likely_meant("mistral", models).empty());
  CHECK(did_you_mean("mistral", models).empty());
}
