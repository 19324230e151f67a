// The CUDA Device: probe, handles, shared helpers (random inputs, poisoning, output checks,
// L2 flush) and the dispatch that turns any CUDA error inside a case into a failed result.
#include <dlfcn.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {

void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + cudaGetErrorString(e) + " (" +
                  cudaGetErrorName(e) + ")");
}

void throw_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " +
                  blas().cublasGetStatusString(s) + " (cuBLAS status " + std::to_string(static_cast<int>(s)) + ")");
}

namespace {

constexpr int kThreads = 256;

int grid_for(const Context& c, std::size_t n) {
  const std::size_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(std::min<std::size_t>(blocks, static_cast<std::size_t>(c.info.sm_count) * 16));
}

template <class T>
__global__ void fill_kernel(T* p, std::size_t n, std::uint64_t seed, float scale) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<T, std::int8_t>) {
      p[i] = static_cast<std::int8_t>(static_cast<int>(hash32(seed, i) % 127u) - 63);
    } else {
      p[i] = T(uniform_pm1(seed, i) * scale);
    }
  }
}

__device__ inline double value_of(float x) { return x; }
__device__ inline double value_of(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ inline double value_of(__half x) { return __half2float(x); }
__device__ inline double value_of(std::int32_t x) { return static_cast<double>(x); }

__device__ inline bool bad(__nv_bfloat16 x) { return !isfinite(__bfloat162float(x)); }
__device__ inline bool bad(__half x) { return !isfinite(__half2float(x)); }
__device__ inline bool bad(std::int32_t x) { return static_cast<std::uint32_t>(x) == 0x80808080u; }

/// Block-wide sum of one double per thread; the result is valid in thread 0.
__device__ double block_sum(double v) {
  __shared__ double part[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = 0;
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / 32) ? part[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  }
  __syncthreads();
  return v;
}

template <class TO, class TR>
__global__ void compare_kernel(const TO* out, const TR* ref, std::size_t n, const std::int64_t* rows,
                               std::size_t row_len, double* acc) {
  double e2 = 0, r2 = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t oi = rows ? static_cast<std::size_t>(rows[i / row_len]) * row_len + i % row_len : i;
    const double o = value_of(out[oi]), r = value_of(ref[i]);
    e2 += (o - r) * (o - r);
    r2 += r * r;
  }
  e2 = block_sum(e2);
  r2 = block_sum(r2);
  if (threadIdx.x == 0) {
    atomicAdd(&acc[0], e2);
    atomicAdd(&acc[1], r2);
  }
}

template <class TO>
__global__ void nonfinite_kernel(const TO* out, std::size_t n, unsigned long long* count) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    local += bad(out[i]) ? 1 : 0;
  const double total = block_sum(static_cast<double>(local));
  if (threadIdx.x == 0 && total > 0) atomicAdd(count, static_cast<unsigned long long>(total));
}

}  // namespace

template <class T>
void fill_uniform(Context& c, T* p, std::size_t n, std::uint64_t seed, float scale) {
  fill_kernel<T><<<grid_for(c, n), kThreads, 0, c.stream>>>(p, n, seed, scale);
  RIDGE_LAUNCHED();
}
template void fill_uniform<float>(Context&, float*, std::size_t, std::uint64_t, float);
template void fill_uniform<__nv_bfloat16>(Context&, __nv_bfloat16*, std::size_t, std::uint64_t, float);
template void fill_uniform<__half>(Context&, __half*, std::size_t, std::uint64_t, float);
template void fill_uniform<__nv_fp8_e4m3>(Context&, __nv_fp8_e4m3*, std::size_t, std::uint64_t, float);
template void fill_uniform<std::int8_t>(Context&, std::int8_t*, std::size_t, std::uint64_t, float);

void poison(Context& c, void* p, std::size_t bytes, int byte) { RIDGE_CUDA(cudaMemsetAsync(p, byte, bytes, c.stream)); }

template <class TO, class TR>
Check compare_outputs(Context& c, const TO* out, const TR* ref, std::size_t total, const std::int64_t* rows,
                      std::size_t row_count, std::size_t row_len) {
  const std::size_t n = rows ? row_count * row_len : total;
  double* acc = c.counters.as<double>();
  auto* bad_count = reinterpret_cast<unsigned long long*>(c.counters.as<char>() + 16);
  RIDGE_CUDA(cudaMemsetAsync(c.counters.as<void>(), 0, 32, c.stream));
  compare_kernel<TO, TR><<<grid_for(c, n), kThreads, 0, c.stream>>>(out, ref, n, rows, row_len, acc);
  RIDGE_LAUNCHED();
  nonfinite_kernel<TO><<<grid_for(c, total), kThreads, 0, c.stream>>>(out, total, bad_count);
  RIDGE_LAUNCHED();
  double host[2];
  unsigned long long host_bad = 0;
  RIDGE_CUDA(cudaMemcpyAsync(host, acc, sizeof host, cudaMemcpyDeviceToHost, c.stream));
  RIDGE_CUDA(cudaMemcpyAsync(&host_bad, bad_count, sizeof host_bad, cudaMemcpyDeviceToHost, c.stream));
  RIDGE_CUDA(cudaStreamSynchronize(c.stream));
  Check k;
  k.checked = n;
  k.non_finite = host_bad;
  k.rel_error = host[1] > 0 ? std::sqrt(host[0] / host[1]) : (host[0] > 0 ? INFINITY : 0.0);
  if (std::isnan(host[0])) k.rel_error = NAN;
  return k;
}
template Check compare_outputs<__nv_bfloat16, float>(Context&, const __nv_bfloat16*, const float*, std::size_t,
                                                     const std::int64_t*, std::size_t, std::size_t);
template Check compare_outputs<__half, float>(Context&, const __half*, const float*, std::size_t, const std::int64_t*,
                                              std::size_t, std::size_t);
template Check compare_outputs<std::int32_t, std::int32_t>(Context&, const std::int32_t*, const std::int32_t*,
                                                           std::size_t, const std::int64_t*, std::size_t, std::size_t);

namespace {

/// Reads every 16 bytes of the flush buffer. The result is stored only in the practically
/// impossible case that it equals a constant, which keeps the loads from being optimised away.
__global__ void read_flush_kernel(const uint4* p, std::size_t n, unsigned* sink) {
  unsigned acc = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const uint4 v = p[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9E3779B9u) atomicAdd(sink, 1u);
}

}  // namespace

void flush_l2(Context& c, int /*sample*/) {
  // A read, not a memset: a write-back L2 left full of dirty lines would make the timed kernel
  // pay their write-back (up to ~15 us on an H100); reading 2x L2 of clean data evicts the
  // previous kernel's dirty lines here, outside the timed region.
  const std::size_t n = c.flush.bytes() / sizeof(uint4);
  read_flush_kernel<<<grid_for(c, n), kThreads, 0, c.stream>>>(c.flush.as<const uint4>(), n,
                                                               reinterpret_cast<unsigned*>(c.counters.as<char>() + 32));
  RIDGE_LAUNCHED();
}

EventPair::EventPair() {
  RIDGE_CUDA(cudaEventCreate(&start));
  const cudaError_t e = cudaEventCreate(&stop);
  if (e != cudaSuccess) {
    cudaEventDestroy(start);  // the destructor does not run when the constructor throws
    throw_cuda(e, "cudaEventCreate(&stop)", __FILE__, __LINE__);
  }
}
EventPair::~EventPair() {
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}
double EventPair::elapsed_s() const {
  RIDGE_CUDA(cudaEventSynchronize(stop));
  float ms = 0;
  RIDGE_CUDA(cudaEventElapsedTime(&ms, start, stop));
  return static_cast<double>(ms) * 1e-3;
}

Graph::~Graph() {
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
}

std::uint64_t Rotation::bytes() const {
  std::uint64_t b = 0;
  for (const Buffer* in : inputs_) b += in->bytes();
  return b;
}

void Rotation::make(Context& c, int sets) {
  for (int s = 1; s < sets; ++s) {
    std::vector<Buffer> set;
    for (const Buffer* in : inputs_) {
      set.emplace_back(in->bytes());
      RIDGE_CUDA(
          cudaMemcpyAsync(set.back().as<void>(), in->as<void>(), in->bytes(), cudaMemcpyDeviceToDevice, c.stream));
    }
    copies_.push_back(std::move(set));
  }
}

void abandon_capture(Context& c) {
  cudaGraph_t partial = nullptr;
  cudaStreamEndCapture(c.stream, &partial);
  if (partial) cudaGraphDestroy(partial);
  cudaGetLastError();
}

Buffer pick_rows(Context& c, std::int64_t total, std::int64_t max_rows, std::uint64_t seed, std::size_t& count) {
  std::vector<std::int64_t> rows;
  if (total <= max_rows) {
    for (std::int64_t i = 0; i < total; ++i) rows.push_back(i);
  } else {
    // One random row from each of max_rows equal strata, then the last row.
    for (std::int64_t s = 0; s < max_rows - 1; ++s) {
      const std::int64_t lo = s * total / (max_rows - 1), hi = (s + 1) * total / (max_rows - 1);
      rows.push_back(s == 0 ? 0
                            : lo + static_cast<std::int64_t>(hash32(seed, static_cast<std::uint64_t>(s)) % (hi - lo)));
    }
    rows.push_back(total - 1);
  }
  count = rows.size();
  Buffer b(rows.size() * sizeof(std::int64_t));
  RIDGE_CUDA(cudaMemcpyAsync(b.as<void>(), rows.data(), b.bytes(), cudaMemcpyHostToDevice, c.stream));
  RIDGE_CUDA(cudaStreamSynchronize(c.stream));  // `rows` dies at return
  return b;
}

Check check_attention(Context& c, const __nv_bfloat16* o, const __nv_bfloat16* q, const __nv_bfloat16* k,
                      const __nv_bfloat16* v, std::int64_t batch, std::int64_t q_heads, std::int64_t kv_heads,
                      std::int64_t nq, std::int64_t nk, std::int64_t d, bool causal, std::uint64_t seed,
                      double threshold) {
  const std::int64_t total_rows = batch * q_heads * nq;
  std::size_t count = 0;
  Buffer rows = pick_rows(c, total_rows, 4096, seed, count);
  Buffer ref(count * static_cast<std::size_t>(d) * sizeof(float));
  reference_attention(c, q, k, v, ref.as<float>(), rows.as<std::int64_t>(), count, q_heads, kv_heads, nq, nk, d,
                      causal);
  Check chk = compare_outputs(c, o, ref.as<const float>(), static_cast<std::size_t>(total_rows * d),
                              rows.as<const std::int64_t>(), count, static_cast<std::size_t>(d));
  chk.threshold = threshold;
  chk.reference = "fp32 GPU reference attention on " + std::to_string(count) + " of " + std::to_string(total_rows) +
                  " query rows (two-pass softmax, fp32 accumulation)";
  return chk;
}

namespace {

DeviceInfo query_info() {
  DeviceInfo i;
  cudaDeviceProp p{};
  RIDGE_CUDA(cudaGetDeviceProperties(&p, 0));
  i.name = p.name;
  char bus[32] = {0};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, 0) == cudaSuccess) i.pci_bus_id = bus;
  i.cc_major = p.major;
  i.cc_minor = p.minor;
  i.sm_count = p.multiProcessorCount;
  i.l2_bytes = static_cast<std::uint64_t>(p.l2CacheSize);
  std::size_t free_b = 0, total_b = 0;
  RIDGE_CUDA(cudaMemGetInfo(&free_b, &total_b));
  i.memory_bytes = total_b;
  i.free_memory_bytes = free_b;
  RIDGE_CUDA(cudaDriverGetVersion(&i.driver_version));
  RIDGE_CUDA(cudaRuntimeGetVersion(&i.runtime_version));
  i.cublas_version = static_cast<int>(blas().cublasLtGetVersion());
  int khz = 0;
  if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0) == cudaSuccess) i.sm_clock_hz = khz * 1e3;
  if (cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, 0) == cudaSuccess) i.memory_clock_hz = khz * 1e3;
  cudaDeviceGetAttribute(&i.memory_bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  cudaGetLastError();  // an attribute a driver does not report is not an error for us
  return i;
}

class CudaDevice final : public Device {
 public:
  CudaDevice() {
    RIDGE_CUDA(cudaSetDevice(0));
    c_.info = query_info();
    RIDGE_CUDA(cudaStreamCreateWithFlags(&c_.stream, cudaStreamNonBlocking));
    RIDGE_CUBLAS(blas().cublasCreate(&c_.blas));
    RIDGE_CUBLAS(blas().cublasSetStream(c_.blas, c_.stream));
    RIDGE_CUBLAS(blas().cublasLtCreate(&c_.lt));
    c_.flush = Buffer(2 * std::max<std::uint64_t>(c_.info.l2_bytes, 1u << 20));
    RIDGE_CUDA(cudaMemsetAsync(c_.flush.as<void>(), 0x5A, c_.flush.bytes(), c_.stream));  // read by every flush
    c_.workspace = Buffer(32u << 20);
    c_.counters = Buffer(64);
    // What the cases may use: free memory after our own buffers.
    std::size_t free_b = 0, total_b = 0;
    RIDGE_CUDA(cudaMemGetInfo(&free_b, &total_b));
    c_.info.free_memory_bytes = free_b;
  }
  ~CudaDevice() override {
    if (c_.lt) blas().cublasLtDestroy(c_.lt);
    if (c_.blas) blas().cublasDestroy(c_.blas);
    if (c_.stream) cudaStreamDestroy(c_.stream);
  }
  const DeviceInfo& info() const override { return c_.info; }
  Measurement stream(const StreamShape& s, const RunConfig& cfg) override {
    return guarded([&] { return run_stream(c_, s, cfg); });
  }
  Measurement gemm(const GemmProblem& p, const RunConfig& cfg) override {
    return guarded([&] { return run_gemm(c_, p, cfg); });
  }
  Measurement attention(const AttentionProblem& p, const RunConfig& cfg) override {
    return guarded([&] {
      return p.kernel == AttentionKernel::naive ? run_attention_naive(c_, p, cfg) : run_attention_flash(c_, p, cfg);
    });
  }
  Measurement decode(const DecodeProblem& p, const RunConfig& cfg) override {
    return guarded([&] { return run_decode(c_, p, cfg); });
  }
  ClockReading clocks() override { return read_clocks(c_.info.pci_bus_id); }
  MemoryMeasurement memory(const MemoryProblem& p) override {
    return guarded([&] { return run_memory(c_, p); });
  }

 private:
  /// Runs a case unless the context is lost; a failure becomes a failed result of the case's
  /// own kind (Measurement or MemoryMeasurement).
  template <class F>
  auto guarded(F&& f) -> decltype(f()) {
    decltype(f()) m;
    if (!lost_.empty()) {
      m.status = Status::failed;
      m.note = not_run_note();
      m.context_lost = lost_;
      return m;
    }
    try {
      return f();
    } catch (const std::exception& e) {
      after_failure();
      m.status = Status::failed;
      m.note = failure_note(e);
      m.context_lost = lost_;
      return m;
    }
  }

  /// After a failed case: clears a non-sticky error (a bad argument, out of memory) so later
  /// cases can run. A sticky one (illegal address, launch failure, illegal instruction,
  /// misaligned address, hardware stack error) corrupts the context: cudaGetLastError does not
  /// clear it and every later synchronisation returns it again, so nothing more can run here.
  void after_failure() {
    cudaStreamSynchronize(c_.stream);
    cudaGetLastError();
    const cudaError_t again = cudaDeviceSynchronize();
    if (again != cudaSuccess) lost_ = std::string(cudaGetErrorString(again)) + " (" + cudaGetErrorName(again) + ")";
    cudaGetLastError();
  }
  std::string failure_note(const std::exception& e) const {
    return lost_.empty() ? std::string(e.what())
                         : std::string(e.what()) + "; the CUDA context is lost, later cases do not run";
  }
  std::string not_run_note() const { return "not run: the CUDA context was lost: " + lost_; }

  Context c_;
  std::string lost_;  ///< the sticky error that corrupted the context; empty while usable
};

}  // namespace

}  // namespace ridge::validate::cuda

namespace ridge::validate {

DeviceProbe open_device() {
  // Without the NVIDIA driver the runtime says "driver version is insufficient", which sends
  // people to upgrade a driver they do not have: look for the driver library first.
  if (void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL))
    dlclose(driver);
  else
    return {nullptr, "no NVIDIA driver on this machine (libcuda.so.1 not found)"};
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess)
    return {nullptr, std::string(cudaGetErrorString(e)) + " (cudaGetDeviceCount: " + cudaGetErrorName(e) + ")"};
  if (count == 0) return {nullptr, "cudaGetDeviceCount found no devices"};
  if (!cuda::blas().error.empty()) return {nullptr, cuda::blas().error};
  try {
    return {std::make_unique<cuda::CudaDevice>(), ""};
  } catch (const std::exception& ex) {
    return {nullptr, std::string("device 0 could not be opened: ") + ex.what()};
  }
}

}  // namespace ridge::validate
