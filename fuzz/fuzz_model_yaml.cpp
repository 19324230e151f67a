// libFuzzer harness: ridge's model YAML loader (models/*.yaml schema).
#include "fuzz_common.hpp"
#include "loaders.hpp"
#include "memory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ridge::fuzz::run_loader(data, size, [](const ridge::Node& root) {
    const ridge::ModelSpec m = ridge::model_from_yaml(root, "fuzz-input");
    ridge::fuzz::exercise_model(m);
  });
}
