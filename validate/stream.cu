// Memory streaming: read, write and copy over buffers many times larger than L2, in 16-byte
// accesses from a grid of a few blocks per SM. The read kernel folds every word into a checksum
// (a real store, so the loads cannot be removed) compared with the host's; write and copy are
// checked word by word on the device against the generator.
#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kUnroll = 4;  // independent 16-byte loads in flight per thread

__device__ inline uint4 pattern(std::uint64_t seed, std::size_t i) {
  return make_uint4(hash32(seed, 4 * i), hash32(seed, 4 * i + 1), hash32(seed, 4 * i + 2), hash32(seed, 4 * i + 3));
}

__global__ void fill_pattern(uint4* p, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    p[i] = pattern(seed, i);
}

__global__ void read_kernel(const uint4* __restrict__ p, std::size_t n, unsigned long long* sum) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  unsigned long long acc = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += kUnroll * stride) {
    uint4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::size_t j = i + u * stride;
      v[u] = j < n ? p[j] : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) acc += static_cast<unsigned long long>(v[u].x) + v[u].y + v[u].z + v[u].w;
  }
  for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
  if (threadIdx.x % 32 == 0) atomicAdd(sum, acc);
}

__global__ void write_kernel(uint4* __restrict__ p, std::size_t n, std::uint64_t seed) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    p[i] = make_uint4(static_cast<unsigned>(i) ^ static_cast<unsigned>(seed), static_cast<unsigned>(i >> 32),
                      static_cast<unsigned>(seed), static_cast<unsigned>(seed >> 32));
}

__global__ void copy_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, std::size_t n) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += kUnroll * stride) {
    uint4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::size_t j = i + u * stride;
      if (j < n) v[u] = src[j];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::size_t j = i + u * stride;
      if (j < n) dst[j] = v[u];
    }
  }
}

/// Counts 16-byte words that differ from what write_kernel (copy: fill_pattern) produces.
__global__ void count_mismatch(const uint4* p, std::size_t n, std::uint64_t seed, bool copy, unsigned long long* bad) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const uint4 want =
        copy ? pattern(seed, i)
             : make_uint4(static_cast<unsigned>(i) ^ static_cast<unsigned>(seed), static_cast<unsigned>(i >> 32),
                          static_cast<unsigned>(seed), static_cast<unsigned>(seed >> 32));
    const uint4 got = p[i];
    local += (got.x != want.x || got.y != want.y || got.z != want.z || got.w != want.w) ? 1 : 0;
  }
  if (local) atomicAdd(bad, local);
}

/// The host's checksum of fill_pattern's words: an independent reference for the read kernel.
unsigned long long host_checksum(std::size_t words16, std::uint64_t seed) {
  unsigned long long s = 0;
  for (std::size_t i = 0; i < 4 * words16; ++i) s += hash32(seed, i);
  return s;
}

}  // namespace

Measurement run_stream(Context& c, const StreamShape& s, const RunConfig& cfg) {
  const std::size_t n = s.bytes / sizeof(uint4);
  const int blocks = c.info.sm_count * 4;
  Buffer a(n * sizeof(uint4));
  Buffer b(s.kind == StreamKind::copy ? n * sizeof(uint4) : 0);
  auto* sum = reinterpret_cast<unsigned long long*>(c.counters.as<char>() + 32);
  fill_pattern<<<c.info.sm_count * 8, 256, 0, c.stream>>>(a.as<uint4>(), n, cfg.seed);
  RIDGE_LAUNCHED();

  // Not rotated: the buffers are many times L2 already (stream_bytes), and write and copy write them.
  auto launch = [&](int /*set*/) {
    switch (s.kind) {
      case StreamKind::read:
        read_kernel<<<blocks, kThreads, 0, c.stream>>>(a.as<const uint4>(), n, sum);
        break;
      case StreamKind::write:
        write_kernel<<<blocks, kThreads, 0, c.stream>>>(a.as<uint4>(), n, cfg.seed + 1);
        break;
      case StreamKind::copy:
        copy_kernel<<<blocks, kThreads, 0, c.stream>>>(a.as<const uint4>(), b.as<uint4>(), n);
        break;
    }
    RIDGE_LAUNCHED();
  };

  // The checked run: poison the destination, run once, compare.
  Measurement m;
  unsigned long long got = 0;
  if (s.kind == StreamKind::copy) poison(c, b.as<void>(), b.bytes(), 0xFF);
  RIDGE_CUDA(cudaMemsetAsync(sum, 0, sizeof *sum, c.stream));
  launch(0);
  if (s.kind == StreamKind::read) {
    RIDGE_CUDA(cudaMemcpyAsync(&got, sum, sizeof got, cudaMemcpyDeviceToHost, c.stream));
    RIDGE_CUDA(cudaStreamSynchronize(c.stream));
    const unsigned long long want = host_checksum(n, cfg.seed);
    m.check.reference = "checksum of every 32-bit word computed on the host";
    m.check.rel_error = got == want ? 0.0 : 1.0;
    m.check.checked = 4 * n;
  } else {
    RIDGE_CUDA(cudaMemsetAsync(sum, 0, sizeof *sum, c.stream));
    const uint4* out = s.kind == StreamKind::copy ? b.as<const uint4>() : a.as<const uint4>();
    count_mismatch<<<c.info.sm_count * 8, 256, 0, c.stream>>>(
        out, n, s.kind == StreamKind::copy ? cfg.seed : cfg.seed + 1, s.kind == StreamKind::copy, sum);
    RIDGE_LAUNCHED();
    RIDGE_CUDA(cudaMemcpyAsync(&got, sum, sizeof got, cudaMemcpyDeviceToHost, c.stream));
    RIDGE_CUDA(cudaStreamSynchronize(c.stream));
    m.check.reference = "every 16-byte word compared with its generator on the device";
    m.check.rel_error = static_cast<double>(got) / static_cast<double>(n);
    m.check.non_finite = got;  // words nothing (or something wrong) wrote
    m.check.checked = n;
  }
  m.check.threshold = 0;
  if (!m.check.passed()) {
    m.status = Status::failed;
    m.note = "streamed data does not match";
    return m;
  }
  Timing timing = time_samples(c, cfg, launch);
  m.samples_s = std::move(timing.samples_s);
  m.cache_policy = "buffers " + std::to_string(s.bytes >> 20) +
                   " MiB = " + std::to_string(s.bytes / std::max<std::uint64_t>(c.info.l2_bytes, 1)) + "x L2; " +
                   timing.cache_policy;
  m.note = "grid " + std::to_string(blocks) + " x " + std::to_string(kThreads) + ", 16-byte accesses";
  return m;
}

}  // namespace ridge::validate::cuda
