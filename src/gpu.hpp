// A validated description of one GPU: datasheet figures in base units, with their sources.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "calibration.hpp"
#include "dtype.hpp"
#include "error.hpp"
#include "units.hpp"

namespace ridge {

struct Interconnect {
  std::string name;                ///< "NVLink 4", "PCIe 4.0 x16"
  BytesPerSecond bandwidth;        ///< per direction, per GPU
  std::optional<Seconds> latency;  ///< per hop, when known
  /// Full-mesh parts (MI300X): one peer link's bandwidth; `bandwidth` is all links together.
  std::optional<BytesPerSecond> per_peer_bandwidth;
};

struct GpuSpec {
  std::string name;
  std::string display_name;
  std::string vendor;
  std::string architecture;
  std::string source;  ///< file it was read from

  Bytes memory;               ///< usable device memory as the driver reports it
  std::string memory_source;  ///< where that figure comes from
  BytesPerSecond memory_bandwidth;
  Bytes l2_cache;
  std::map<DType, FlopsPerSecond> peak_flops;  ///< dense tensor-core peaks (fp32: CUDA cores)
  Interconnect interconnect;
  std::optional<Interconnect> pcie;
  std::optional<Interconnect> inter_node;  ///< network between nodes, per GPU (default: 400 Gb/s IB)
  std::int64_t gpus_per_node = 8;
  std::optional<double> usd_per_hour;  ///< rental price of one GPU-hour, for cost per token
  std::string price_date;              ///< when that price was read (empty: not said)
  std::string price_source;            ///< where from: a public list price, or "--price (user-given)"
  /// Board power for the energy estimate: the TDP (the ceiling) and the idle draw (the floor).
  std::optional<double> tdp_watts;
  std::optional<double> idle_watts;
  std::string power_source;
  Bytes runtime_overhead;  ///< default non-model memory per GPU (CUDA context, workspaces)
  /// Streaming multiprocessors (AMD: compute units): the efficiency model's waves and tiles.
  std::optional<std::int64_t> multiprocessors;
  /// Fitted efficiency model (`ridge calibrate`): expected times instead of bounds.
  std::optional<Calibration> calibration;
  /// Attainable fractions of the peaks (from measurement or calibration). Absent: the
  /// roofline uses datasheet peaks and its times are lower bounds.
  std::optional<double> attainable_memory;   ///< of memory_bandwidth
  std::optional<double> attainable_compute;  ///< of every tensor and vector peak
  /// Per compute type (measured GEMM ceilings from `ridge validate --calibrate`); a type listed
  /// here overrides attainable_compute for that type.
  std::map<DType, double> attainable_by_type;
  std::string attainable_source;  ///< where the fractions come from

  /// Fraction of the `t` peak that is attainable: per type, else the common compute fraction,
  /// else 1 (the datasheet peak).
  double attainable_fraction(DType t) const {
    auto it = attainable_by_type.find(t);
    if (it != attainable_by_type.end()) return it->second;
    return attainable_compute.value_or(1.0);
  }
  bool has_attainable() const { return attainable_memory || attainable_compute || !attainable_by_type.empty(); }

  /// Dense peak for a compute type, if the GPU has units for it.
  std::optional<FlopsPerSecond> peak(DType t) const {
    auto it = peak_flops.find(t);
    if (it == peak_flops.end()) return std::nullopt;
    return it->second;
  }
};

}  // namespace ridge
