// Shared by the validate/ kernels: error checking that throws with file:line, device buffers,
// counter-based random numbers, type conversions, the timing harness (warm-up, L2 flush, small
// kernels batched over rotated inputs in a CUDA graph), and the comparison of an output with
// its reference.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "validate/device.hpp"
#include "validate/timing.hpp"

namespace ridge::validate::cuda {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The cuBLAS entry points ridge uses, resolved at run time (cublas_loader.cu). Member names
/// are the exported symbols, so cublas_v2.h's macros (cublasCreate -> cublasCreate_v2) apply.
struct Blas {
  std::string error;  ///< empty when everything resolved
  decltype(&::cublasCreate_v2) cublasCreate_v2 = nullptr;
  decltype(&::cublasDestroy_v2) cublasDestroy_v2 = nullptr;
  decltype(&::cublasSetStream_v2) cublasSetStream_v2 = nullptr;
  // The exported C function (cublas_api.h also declares a C++ overload taking cudaDataType).
  cublasStatus_t (*cublasGemmStridedBatchedEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                               const void*, const void*, cudaDataType, int, long long, const void*,
                                               cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                               long long, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  decltype(&::cublasGetStatusString) cublasGetStatusString = nullptr;
  decltype(&::cublasLtCreate) cublasLtCreate = nullptr;
  decltype(&::cublasLtDestroy) cublasLtDestroy = nullptr;
  decltype(&::cublasLtGetVersion) cublasLtGetVersion = nullptr;
  decltype(&::cublasLtMatmul) cublasLtMatmul = nullptr;
  decltype(&::cublasLtMatmulAlgoGetHeuristic) cublasLtMatmulAlgoGetHeuristic = nullptr;
  decltype(&::cublasLtMatmulDescCreate) cublasLtMatmulDescCreate = nullptr;
  decltype(&::cublasLtMatmulDescDestroy) cublasLtMatmulDescDestroy = nullptr;
  decltype(&::cublasLtMatmulDescSetAttribute) cublasLtMatmulDescSetAttribute = nullptr;
  decltype(&::cublasLtMatmulPreferenceCreate) cublasLtMatmulPreferenceCreate = nullptr;
  decltype(&::cublasLtMatmulPreferenceDestroy) cublasLtMatmulPreferenceDestroy = nullptr;
  decltype(&::cublasLtMatmulPreferenceSetAttribute) cublasLtMatmulPreferenceSetAttribute = nullptr;
  decltype(&::cublasLtMatrixLayoutCreate) cublasLtMatrixLayoutCreate = nullptr;
  decltype(&::cublasLtMatrixLayoutDestroy) cublasLtMatrixLayoutDestroy = nullptr;
};
/// Loaded once; check `error` before use (open_device does).
const Blas& blas();

[[noreturn]] void throw_cuda(cudaError_t e, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas(cublasStatus_t s, const char* call, const char* file, int line);

#define RIDGE_CUDA(call)                                                                                   \
  do {                                                                                                     \
    cudaError_t ridge_e_ = (call);                                                                         \
    if (ridge_e_ != cudaSuccess) ::ridge::validate::cuda::throw_cuda(ridge_e_, #call, __FILE__, __LINE__); \
  } while (0)
#define RIDGE_CUBLAS(call)                                                                                             \
  do {                                                                                                                 \
    cublasStatus_t ridge_s_ = (call);                                                                                  \
    if (ridge_s_ != CUBLAS_STATUS_SUCCESS) ::ridge::validate::cuda::throw_cublas(ridge_s_, #call, __FILE__, __LINE__); \
  } while (0)
/// After every kernel launch: launch errors now, execution errors at the next synchronisation.
#define RIDGE_LAUNCHED() RIDGE_CUDA(cudaGetLastError())

/// Owning device allocation.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t bytes) : bytes_(bytes) { RIDGE_CUDA(cudaMalloc(&p_, bytes ? bytes : 1)); }
  ~Buffer() {
    if (p_) cudaFree(p_);
  }
  Buffer(Buffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      if (p_) cudaFree(p_);
      p_ = o.p_;
      bytes_ = o.bytes_;
      o.p_ = nullptr;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Handles and scratch shared by all cases on one device.
struct Context {
  DeviceInfo info;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  Buffer flush;      ///< 2 x L2, overwritten before each timed sample
  Buffer workspace;  ///< cuBLASLt workspace
  Buffer counters;   ///< 64 bytes of device scratch for reductions
};

/// splitmix64: a counter-based generator, so any element's value is known without a sequence.
__host__ __device__ inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
__host__ __device__ inline std::uint32_t hash32(std::uint64_t seed, std::uint64_t i) {
  return static_cast<std::uint32_t>(mix64(seed * 0x100000001B3ull ^ mix64(i)) >> 32);
}
/// Uniform in [-1, 1).
__host__ __device__ inline float uniform_pm1(std::uint64_t seed, std::uint64_t i) {
  return static_cast<float>(hash32(seed, i) >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

template <class T>
__device__ inline float to_float(T x);
template <>
__device__ inline float to_float<float>(float x) {
  return x;
}
template <>
__device__ inline float to_float<__nv_bfloat16>(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
template <>
__device__ inline float to_float<__half>(__half x) {
  return __half2float(x);
}
template <>
__device__ inline float to_float<__nv_fp8_e4m3>(__nv_fp8_e4m3 x) {
  return static_cast<float>(x);
}
template <>
__device__ inline float to_float<std::int8_t>(std::int8_t x) {
  return static_cast<float>(x);
}
template <>
__device__ inline float to_float<std::int32_t>(std::int32_t x) {
  return static_cast<float>(x);
}

/// Fills `n` elements with uniform values in [-scale, scale) (int8: integers in [-63, 63]).
template <class T>
void fill_uniform(Context& c, T* p, std::size_t n, std::uint64_t seed, float scale);
/// Writes a byte pattern over an output so that elements nothing wrote are caught (0xFF: NaN in
/// bf16/fp16/fp32; int32 outputs use 0x80, far outside any int8 GEMM's range).
void poison(Context& c, void* p, std::size_t bytes, int byte);

/// ||out − ref|| / ||ref|| over `n` elements (`rows` selects output rows of width `row_len`
/// when non-null), and the count of non-finite (or poisoned) elements among all `total` of out.
template <class TO, class TR>
Check compare_outputs(Context& c, const TO* out, const TR* ref, std::size_t total, const std::int64_t* rows,
                      std::size_t row_count, std::size_t row_len);

/// L2 flush: read a clean buffer twice the L2 size, outside the timed region (nvbench memsets
/// an L2-sized buffer instead; a read leaves no dirty lines for the timed kernel to write back).
void flush_l2(Context& c, int sample);

/// A pair of CUDA events, destroyed on every path.
struct EventPair {
  cudaEvent_t start = nullptr, stop = nullptr;
  EventPair();
  ~EventPair();
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  /// Seconds from `start` to `stop`, after waiting for `stop`.
  double elapsed_s() const;
};

/// An instantiated CUDA graph, destroyed on every path.
struct Graph {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  Graph() = default;
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
};

/// The read-only inputs of a case, which the harness may copy so that back-to-back launches of
/// a small kernel read memory that is not in L2 (set 0 is the case's own, checked buffers).
class Rotation {
 public:
  explicit Rotation(std::vector<const Buffer*> inputs) : inputs_(std::move(inputs)) {}
  /// Bytes of one input set.
  std::uint64_t bytes() const;
  /// Makes sets 1 .. sets − 1 as device-to-device copies of set 0 (same values: same work).
  void make(Context& c, int sets);
  /// Input `input` of set `set` (set 0 until make() is called).
  template <class T>
  T* at(std::size_t input, int set) const {
    return set == 0 ? inputs_[input]->as<T>() : copies_[static_cast<std::size_t>(set) - 1][input].as<T>();
  }

 private:
  std::vector<const Buffer*> inputs_;
  std::vector<std::vector<Buffer>> copies_;
};

/// Ends a capture that failed part-way and clears its error, so that c.stream is usable again.
void abandon_capture(Context& c);

/// Captures launch(0) .. launch(count − 1) on c.stream into `g`. Returns "" on success, else
/// the error, with the capture abandoned (the caller then issues plain launches).
template <class F>
std::string capture(Context& c, int count, F&& launch, Graph& g) {
  try {
    RIDGE_CUDA(cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal));
    try {
      for (int i = 0; i < count; ++i) launch(i);
      RIDGE_CUDA(cudaStreamEndCapture(c.stream, &g.graph));
    } catch (...) {
      abandon_capture(c);
      throw;
    }
    RIDGE_CUDA(cudaGraphInstantiate(&g.exec, g.graph, 0));
    return "";
  } catch (const CudaError& e) {
    cudaGetLastError();
    return e.what();
  }
}

/// Untimed launches of set 0 until cfg.warmup launches and cfg.warmup_s of device time have
/// passed (warmup_remaining decides each round; a round is timed as a whole).
template <class F>
void warm_up(Context& c, const RunConfig& cfg, const EventPair& ev, F&& launch) {
  int done = 0;
  double done_s = 0;
  for (int n = warmup_remaining(0, 0.0, cfg.warmup, cfg.warmup_s); n > 0;
       n = warmup_remaining(done, done_s, cfg.warmup, cfg.warmup_s)) {
    RIDGE_CUDA(cudaEventRecord(ev.start, c.stream));
    for (int i = 0; i < n; ++i) launch(0);
    RIDGE_CUDA(cudaEventRecord(ev.stop, c.stream));
    done_s += ev.elapsed_s();
    done += n;
  }
}

/// One launch of set 0 after an L2 flush, between the two events.
template <class F>
double time_flushed(Context& c, const EventPair& ev, F&& launch, int sample) {
  flush_l2(c, sample);
  RIDGE_CUDA(cudaEventRecord(ev.start, c.stream));
  launch(0);
  RIDGE_CUDA(cudaEventRecord(ev.stop, c.stream));
  return ev.elapsed_s();
}

/// Samples and what was done to the caches while taking them.
struct Timing {
  std::vector<double> samples_s;
  std::string cache_policy;
};

/// Times `launch(set)` (which enqueues work on c.stream over input set `set` and checks its
/// launches). Warm-up first (warm_up), then a pilot: the fastest of three flushed launches.
/// A kernel at least BatchLimits::small_s long, or one whose case passes no `rotation`, gets
/// cfg.samples flushed single launches. A shorter one is dominated by launch and event overhead:
/// each sample is R back-to-back launches rotating over copies of its inputs that together
/// exceed 2x L2 (so no flush is needed), captured in a CUDA graph, and reports total / R.
/// plan_batch (host side, tested) chooses R and the number of copies.
template <class F>
Timing time_samples(Context& c, const RunConfig& cfg, F&& launch, Rotation* rotation = nullptr) {
  EventPair ev;
  warm_up(c, cfg, ev, launch);
  double pilot_s = INFINITY;
  for (int i = 0; i < 3; ++i) pilot_s = std::min(pilot_s, time_flushed(c, ev, launch, i));
  std::size_t free_b = 0, total_b = 0;
  RIDGE_CUDA(cudaMemGetInfo(&free_b, &total_b));
  const std::uint64_t input_bytes = rotation ? rotation->bytes() : 0;
  const BatchPlan plan = plan_batch(pilot_s, input_bytes, c.info.l2_bytes, free_b);
  Timing t;
  if (plan.flush || !rotation) {  // plan_batch never batches without inputs to rotate
    for (int i = 0; i < cfg.samples; ++i) t.samples_s.push_back(time_flushed(c, ev, launch, i));
    t.cache_policy = batch_policy_text(plan, pilot_s, input_bytes, c.flush.bytes(), "");
    return t;
  }
  rotation->make(c, plan.copies);
  auto nth = [&](int i) { launch(i % plan.copies); };
  Graph g;
  const std::string capture_error = capture(c, plan.launches, nth, g);
  if (!capture_error.empty()) {
    // Host-issued launches of a few-microsecond kernel would time the host's issue rate, not
    // the GPU: keep one flushed launch per sample and say why.
    BatchPlan flushed;
    flushed.reason = "the launches could not be captured in a CUDA graph: " + capture_error;
    for (int i = 0; i < cfg.samples; ++i) t.samples_s.push_back(time_flushed(c, ev, launch, i));
    t.cache_policy = batch_policy_text(flushed, pilot_s, input_bytes, c.flush.bytes(), "");
    return t;
  }
  auto batch = [&] { RIDGE_CUDA(cudaGraphLaunch(g.exec, c.stream)); };
  // Allocating the copies and capturing left the GPU idle: warm up again through the graph
  // (rounds count graph launches here; the time criterion is what matters).
  warm_up(c, cfg, ev, [&](int) { batch(); });
  for (int i = 0; i < cfg.samples; ++i) {
    RIDGE_CUDA(cudaEventRecord(ev.start, c.stream));
    batch();
    RIDGE_CUDA(cudaEventRecord(ev.stop, c.stream));
    t.samples_s.push_back(ev.elapsed_s() / plan.launches);
  }
  t.cache_policy = batch_policy_text(plan, pilot_s, input_bytes, c.flush.bytes(), "CUDA graph");
  return t;
}

// Case implementations (one file each). They throw CudaError; the Device catches it.
Measurement run_stream(Context& c, const StreamShape& s, const RunConfig& cfg);
Measurement run_gemm(Context& c, const GemmProblem& p, const RunConfig& cfg);
Measurement run_attention_naive(Context& c, const AttentionProblem& p, const RunConfig& cfg);
Measurement run_attention_flash(Context& c, const AttentionProblem& p, const RunConfig& cfg);
Measurement run_decode(Context& c, const DecodeProblem& p, const RunConfig& cfg);
MemoryMeasurement run_memory(Context& c, const MemoryProblem& p);
/// Current clocks through NVML, opened with dlopen (nvml.cpp).
ClockReading read_clocks(const std::string& pci_bus_id);

/// fp32 reference attention for selected query rows: ref[r][d] for rows[r] of Q laid out
/// [batch, q_heads, nq, d]; K, V [batch, kv_heads, nk, d]; query i sees keys j <= i + nk − nq
/// when causal, all keys otherwise.
void reference_attention(Context& c, const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, float* ref,
                         const std::int64_t* rows, std::size_t row_count, std::int64_t q_heads, std::int64_t kv_heads,
                         std::int64_t nq, std::int64_t nk, std::int64_t d, bool causal);

/// Up to `max_rows` output rows out of `total`, stratified and random (all when total is small),
/// always including the first and last, uploaded to the device.
Buffer pick_rows(Context& c, std::int64_t total, std::int64_t max_rows, std::uint64_t seed, std::size_t& count);

/// Checks an attention output O [rows, d] (bf16) against the fp32 reference on picked rows.
Check check_attention(Context& c, const __nv_bfloat16* o, const __nv_bfloat16* q, const __nv_bfloat16* k,
                      const __nv_bfloat16* v, std::int64_t batch, std::int64_t q_heads, std::int64_t kv_heads,
                      std::int64_t nq, std::int64_t nk, std::int64_t d, bool causal, std::uint64_t seed,
                      double threshold);

}  // namespace ridge::validate::cuda
