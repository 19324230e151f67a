// Device names as the CUDA driver reports them (cudaDeviceProp::name, nvidia-smi -L) in public
// logs, mapped to the bundled GPU descriptions.
#include <doctest/doctest.h>

#include "validate/match.hpp"

using ridge::validate::bundled_gpu_for_device;

namespace {
constexpr std::uint64_t MiB = 1ull << 20;
}

TEST_CASE("CUDA device names map to the bundled GPU they are") {
  CHECK(bundled_gpu_for_device("NVIDIA H100 80GB HBM3", 81079 * MiB) == "h100-sxm");
  CHECK(bundled_gpu_for_device("NVIDIA H100 PCIe", 81008 * MiB) == "h100-pcie");
  CHECK(bundled_gpu_for_device("NVIDIA H200", 143156 * MiB) == "h200");
  CHECK(bundled_gpu_for_device("NVIDIA A100-SXM4-80GB", 81050 * MiB) == "a100-80gb");
  CHECK(bundled_gpu_for_device("NVIDIA A100-SXM4-40GB", 40339 * MiB) == "a100-40gb");
  CHECK(bundled_gpu_for_device("NVIDIA B200", 182640 * MiB) == "b200");
  CHECK(bundled_gpu_for_device("NVIDIA L40S", 45373 * MiB) == "l40s");
  CHECK(bundled_gpu_for_device("NVIDIA L4", 22518 * MiB) == "l4");
  CHECK(bundled_gpu_for_device("NVIDIA GeForce RTX 4090", 24563 * MiB) == "rtx-4090");
}

TEST_CASE("variants whose ceilings differ from the bundled part match nothing") {
  CHECK_FALSE(bundled_gpu_for_device("NVIDIA H100 NVL", 95830 * MiB));
  CHECK_FALSE(bundled_gpu_for_device("NVIDIA A100-PCIE-40GB", 40339 * MiB));
  CHECK_FALSE(bundled_gpu_for_device("NVIDIA GeForce RTX 4090 D", 24563 * MiB));
  CHECK_FALSE(bundled_gpu_for_device("NVIDIA GeForce RTX 3090", 24268 * MiB));
  CHECK_FALSE(bundled_gpu_for_device("Tesla V100-SXM2-32GB", 32510 * MiB));
  CHECK_FALSE(bundled_gpu_for_device("", 0));
}
