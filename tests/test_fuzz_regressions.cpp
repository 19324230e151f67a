// Every input a fuzzer ever crashed on (tests/data/fuzz-regressions/<harness>/) goes through its
// loader again: each must load or be refused with InputError, never anything else.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gate.hpp"
#include "loaders.hpp"
#include "memory.hpp"

using namespace ridge;
namespace fs = std::filesystem;

namespace {
const fs::path kDir = fs::path(RIDGE_SOURCE_DIR) / "tests/data/fuzz-regressions";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs `load` on each file of the harness folder; returns how many files were fed.
template <class Load>
int feed(const char* harness, Load load) {
  int n = 0;
  if (!fs::exists(kDir / harness)) return 0;
  for (const auto& entry : fs::directory_iterator(kDir / harness)) {
    if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
    CAPTURE(entry.path().string());
    const std::string text = slurp(entry.path());
    try {
      load(text);
    } catch (const InputError&) {
    } catch (const OverflowError&) {}
    ++n;
  }
  return n;
}

void model_engines(const ModelSpec& m) {
  (void)count_params(m);
  (void)weight_bytes(m, *weight_format("bf16"));
  (void)kv_bytes_per_token(m, DType::bf16);
}
}  // namespace

TEST_CASE("fuzz regressions load or fail with InputError") {
  int fed = 0;
  fed += feed("model_yaml",
              [](const std::string& t) { model_engines(model_from_yaml(parse_document(t, "r.yaml"), "r.yaml")); });
  fed += feed("gpu_yaml", [](const std::string& t) { (void)gpu_from_yaml(parse_document(t, "r.yaml"), "r.yaml"); });
  fed += feed("hf_config",
              [](const std::string& t) { model_engines(model_from_hf_config(parse_document(t, "r.json"), "r.json")); });
  fed += feed("deploy_yaml", [](const std::string& t) {
    // check_file reports bad input as findings; it must not throw at all.
    (void)check_file("r.yaml", std::nullopt, &t, /*follow_paths=*/false);
  });
  MESSAGE(fed << " regression inputs fed");
}
