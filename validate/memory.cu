// The memory case: allocate, as the kernels lay them out, the KV cache of every layer and the
// transient tensors of one layer's prefill (residual stream, then attention — naive with its
// score and probability matrices, or flash with a log-sum-exp per row — and the MLP), and read
// what the device gives up with cudaMemGetInfo. The deltas are device-wide: another process
// allocating at the same time would show up here.
#include <algorithm>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

std::size_t free_bytes() {
  RIDGE_CUDA(cudaDeviceSynchronize());
  std::size_t f = 0, t = 0;
  RIDGE_CUDA(cudaMemGetInfo(&f, &t));
  return f;
}

/// Allocates and touches each size; returns the bytes asked for.
std::uint64_t allocate(Context& c, std::vector<Buffer>& keep, const std::vector<std::uint64_t>& sizes) {
  std::uint64_t asked = 0;
  for (std::uint64_t s : sizes) {
    keep.emplace_back(s);
    RIDGE_CUDA(cudaMemsetAsync(keep.back().as<void>(), 0x3c, s, c.stream));
    asked += s;
  }
  RIDGE_CUDA(cudaStreamSynchronize(c.stream));
  return asked;
}

}  // namespace

MemoryMeasurement run_memory(Context& c, const MemoryProblem& p) {
  MemoryMeasurement m;
  const std::uint64_t B = p.batch, n = p.context, T = B * n, h = p.hidden, H = p.q_heads, Hkv = p.kv_heads,
                      D = p.head_dim, F = p.mlp_width, bf16 = 2;
  {
    const std::size_t before = free_bytes();
    Buffer one(1);
    m.granularity_bytes = before - free_bytes();
  }
  {
    // K and V per layer: [batch, kv_heads, context, head_dim] bf16.
    std::vector<Buffer> kv;
    const std::size_t before = free_bytes();
    std::vector<std::uint64_t> sizes(2 * static_cast<std::size_t>(p.layers), B * Hkv * n * D * bf16);
    m.requested_kv_bytes = allocate(c, kv, sizes);
    m.kv_cache_bytes = before - free_bytes();
  }
  auto peak = [&](bool naive, std::uint64_t& requested) {
    std::vector<Buffer> residual;
    const std::size_t before = free_bytes();
    const std::uint64_t res = allocate(c, residual, {T * h * bf16, T * h * bf16});  // x and norm(x)
    std::uint64_t attn_req = 0, mlp_req = 0;
    std::size_t attn_peak = 0, mlp_peak = 0;
    {
      std::vector<Buffer> a;
      std::vector<std::uint64_t> sizes = {T * H * D * bf16, T * Hkv * D * bf16, T * Hkv * D * bf16, T * H * D * bf16};
      if (naive) {
        sizes.push_back(B * H * n * n * bf16);  // scores
        sizes.push_back(B * H * n * n * bf16);  // probabilities
      } else {
        sizes.push_back(B * H * n * 4);  // fp32 log-sum-exp per query row
      }
      attn_req = allocate(c, a, sizes);
      attn_peak = before - free_bytes();
    }
    {
      std::vector<Buffer> mlp;
      std::vector<std::uint64_t> sizes(p.gated ? 3 : 2, T * F * bf16);  // gate, up, product
      mlp_req = allocate(c, mlp, sizes);
      mlp_peak = before - free_bytes();
    }
    requested = res + std::max(attn_req, mlp_req);
    return std::max(attn_peak, mlp_peak);
  };
  m.naive_peak_bytes = peak(true, m.requested_naive_bytes);
  m.flash_peak_bytes = peak(false, m.requested_flash_bytes);
  m.note = "deltas of cudaMemGetInfo (device-wide) around cudaMalloc of each tensor as the kernels lay it out";
  return m;
}

}  // namespace ridge::validate::cuda
