// libFuzzer harness: ridge's GPU YAML loader (hardware/*.yaml schema).
#include "fuzz_common.hpp"
#include "loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ridge::fuzz::run_loader(data, size,
                                 [](const ridge::Node& root) { (void)ridge::gpu_from_yaml(root, "fuzz-input"); });
}
