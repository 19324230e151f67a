// Which bundled GPU description a CUDA device is, from the name the driver reports, so that
// `ridge validate` needs no -g on a known card. Pure: unit-tested without a device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ridge::validate {

/// The bundled GPU name (hardware/NAME.yaml) for a device called `cuda_name` (cudaDeviceProp::name,
/// e.g. "NVIDIA H100 80GB HBM3") with `total_memory_bytes` of device memory, or nothing when no
/// bundled description is that card. Variants whose bandwidth or clocks differ from the bundled
/// part (A100 PCIe, H100 NVL, RTX 4090 D, ...) deliberately match nothing: a near miss would
/// put the wrong ceilings under every prediction.
std::optional<std::string> bundled_gpu_for_device(std::string_view cuda_name, std::uint64_t total_memory_bytes);

}  // namespace ridge::validate
