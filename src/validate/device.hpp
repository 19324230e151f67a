// The one plain C++ interface between ridge and a GPU. The CUDA implementation lives in
// validate/ (ridge_cuda); without CUDA, src/validate/no_device.cpp reports that no device is
// usable. Nothing here includes a CUDA header: the core library and its tests stay host-only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ridge::validate {

/// What the device reports about itself, for provenance. Versions are as CUDA encodes them
/// (12080 = 12.8); clocks are the maximum clocks the driver reports (current ones: Device::clocks).
struct DeviceInfo {
  std::string name;
  std::string pci_bus_id;
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  std::uint64_t l2_bytes = 0;
  std::uint64_t memory_bytes = 0;       ///< total device memory (cudaMemGetInfo)
  std::uint64_t free_memory_bytes = 0;  ///< free when the device was opened
  int driver_version = 0;
  int runtime_version = 0;
  int cublas_version = 0;
  double sm_clock_hz = 0;
  double memory_clock_hz = 0;
  int memory_bus_bits = 0;
  /// fp8 (e4m3) tensor cores: compute capability 8.9 (Ada) or 9.0+ (Hopper and later).
  bool has_fp8() const { return cc_major > 8 || (cc_major == 8 && cc_minor >= 9); }
};

/// The clocks the GPU runs at one moment, and why they are below their maximum, as NVML
/// reports them (read just before and just after the cases: cudaDevAttrClockRate is the
/// maximum, not what the kernels got).
struct ClockReading {
  std::string unavailable = "not read";  ///< empty when read; else why not ("libnvidia-ml.so.1 ...")
  double sm_clock_hz = 0;
  double memory_clock_hz = 0;
  std::uint64_t throttle_reasons = 0;  ///< NVML's clocks event (throttle) reasons bitmask
  std::string reasons_unavailable;     ///< non-empty: the clocks were read, the reasons not (why)
};

enum class Status {
  ok,      ///< ran, output checked, timed
  waived,  ///< cannot run here (no fp8 units, not enough memory, unsupported shape): not a failure
  failed,  ///< ran but the output did not match the reference, or a CUDA call failed
};

/// The output of a kernel against a higher-precision reference: ||out − ref|| / ||ref|| over the
/// checked elements, plus how many elements were not finite (outputs are poisoned with NaN
/// before the checked run, so an element nothing wrote is counted here).
struct Check {
  double rel_error = 0;
  double threshold = 0;
  std::uint64_t checked = 0;     ///< elements compared with the reference
  std::uint64_t non_finite = 0;  ///< NaN/inf (or poison) among all output elements
  std::string reference;         ///< what the reference is ("fp32 GPU reference GEMM", ...)
  bool passed() const { return non_finite == 0 && checked > 0 && rel_error <= threshold; }
};

/// Raw result of one timed case. Times are seconds, one per sample, in run order.
struct Measurement {
  Status status = Status::ok;
  std::string note;  ///< why waived or failed; the algorithm/kernel used when ok
  std::vector<double> samples_s;
  Check check;
  /// What the caches saw: "L2 flushed before each sample (100 MiB read)", or for a small
  /// kernel "R=16 launches per sample over 4 rotated input sets (...), CUDA graph, no flush".
  std::string cache_policy;
  /// Non-empty when the CUDA context is unusable after this case: the sticky error
  /// ("an illegal memory access was encountered (cudaErrorIllegalAddress)"). No later case can run.
  std::string context_lost;
};

struct RunConfig {
  int warmup = 3;           ///< at least this many untimed launches after the checked one ...
  double warmup_s = 25e-3;  ///< ... and at least this much device time (clocks ramp up)
  int samples = 20;         ///< timed samples, each its own pair of CUDA events
  std::uint64_t seed = 1;   ///< inputs are regenerated from this for every case
};

// ---------------------------------------------------------------------------------------------
// Case shapes as the kernels see them.

enum class StreamKind { read, write, copy };

struct StreamShape {
  StreamKind kind = StreamKind::copy;
  std::uint64_t bytes = 0;  ///< per buffer (copy reads one buffer and writes another)
};

enum class GemmType { bf16, fp16, fp8, int8 };

/// Y[m x n] = X[m x k] W^T, W stored n x k (a weight matrix, as in the model). Inputs are
/// `type`; outputs bf16 for fp8, int32 for int8, else the input type.
struct GemmProblem {
  GemmType type = GemmType::bf16;
  std::int64_t m = 1;
  std::int64_t n = 1;
  std::int64_t k = 1;
};

enum class AttentionKernel {
  naive,  ///< QK^T and PV through cuBLAS with the score matrix in memory, plus a softmax kernel
  flash,  ///< one fused tiled kernel, online softmax, tensor cores (WMMA bf16)
};

/// Prefill attention from an empty cache: `batch` sequences of `seq` tokens, bf16.
struct AttentionProblem {
  AttentionKernel kernel = AttentionKernel::flash;
  std::int64_t batch = 1;
  std::int64_t seq = 1;
  std::int64_t q_heads = 1;
  std::int64_t kv_heads = 1;
  std::int64_t head_dim = 128;
  bool causal = true;
};

/// One decode step: one query per sequence and head over `context` cached tokens, bf16.
struct DecodeProblem {
  std::int64_t batch = 1;
  std::int64_t context = 1;
  std::int64_t q_heads = 1;
  std::int64_t kv_heads = 1;
  std::int64_t head_dim = 128;
};

/// One model shape for the memory case: the KV cache of all layers and the transient tensors
/// of one layer's prefill pass, allocated as the kernels lay them out.
struct MemoryProblem {
  std::int64_t layers = 1;
  std::int64_t batch = 1;
  std::int64_t context = 1;
  std::int64_t hidden = 1;
  std::int64_t q_heads = 1;
  std::int64_t kv_heads = 1;
  std::int64_t head_dim = 128;
  std::int64_t mlp_width = 1;  ///< intermediate width (gate and up each)
  bool gated = true;
};

/// cudaMemGetInfo deltas (bytes of free memory that disappeared) for each allocation set.
struct MemoryMeasurement {
  Status status = Status::ok;
  std::string note;
  std::uint64_t kv_cache_bytes = 0;      ///< the KV cache of all layers
  std::uint64_t naive_peak_bytes = 0;    ///< residual stream + max(naive attention, MLP) tensors
  std::uint64_t flash_peak_bytes = 0;    ///< residual stream + max(flash attention, MLP) tensors
  std::uint64_t requested_kv_bytes = 0;  ///< what the allocations asked for (before rounding)
  std::uint64_t requested_naive_bytes = 0;
  std::uint64_t requested_flash_bytes = 0;
  std::uint64_t granularity_bytes = 0;  ///< smallest nonzero delta seen for a 1-byte allocation
  std::string context_lost;             ///< as Measurement::context_lost
};

/// A GPU that runs the cases. Every method checks each CUDA/cuBLAS call; a failure inside a
/// case comes back as Status::failed with the error text, never as a crash. After a sticky
/// error (the context is corrupted) every later call returns Status::failed without running,
/// with `context_lost` set.
class Device {
 public:
  virtual ~Device() = default;
  virtual const DeviceInfo& info() const = 0;
  virtual Measurement stream(const StreamShape& s, const RunConfig& cfg) = 0;
  virtual Measurement gemm(const GemmProblem& p, const RunConfig& cfg) = 0;
  virtual Measurement attention(const AttentionProblem& p, const RunConfig& cfg) = 0;
  virtual Measurement decode(const DecodeProblem& p, const RunConfig& cfg) = 0;
  virtual MemoryMeasurement memory(const MemoryProblem& p) = 0;
  /// The current clocks (NVML); only reads, never changes a GPU setting.
  virtual ClockReading clocks() {
    ClockReading r;
    r.unavailable = "this device does not report clocks";
    return r;
  }
};

/// A usable device, or why there is none ("ridge was built without CUDA", "CUDA driver version
/// is insufficient for CUDA runtime version (cudaGetDeviceCount: error 35)", ...).
struct DeviceProbe {
  std::unique_ptr<Device> device;
  std::string reason;
};

/// Opens device 0. Implemented by validate/ (CUDA) or src/validate/no_device.cpp.
DeviceProbe open_device();

}  // namespace ridge::validate
