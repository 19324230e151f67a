// The cases `ridge validate` runs, each with the shape its kernel computes and the prediction
// for that exact shape from the planner's own functions (gemm_op, attention_ops, op_time,
// ceilings_for, kv_cache_bytes, layer_activation_bytes): never a second formula.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"
#include "ops.hpp"
#include "roofline.hpp"
#include "validate/device.hpp"

namespace ridge::validate {

enum class Family { stream, gemm, attention, decode, memory };
std::string_view to_string(Family f);
std::optional<Family> parse_family(std::string_view name);
std::vector<std::string> family_names();

std::string_view to_string(GemmType t);
std::string_view to_string(StreamKind k);
std::string_view to_string(AttentionKernel k);

/// A time prediction: the planner's operators for the shape, the ceilings they run against,
/// and their roofline terms summed over the operators (a multi-kernel case such as naive
/// attention is the sum of its operators, as a phase is).
struct Prediction {
  std::vector<Op> ops;
  Ceilings ceilings;
  PhaseTotals totals;  ///< phase_totals(ops, ceilings): time, FLOPs, bytes, verdict
  Seconds compute;     ///< Σ FLOPs / peak over the operators
  Seconds memory;      ///< Σ bytes / bandwidth over the operators
};

/// Sums the roofline of `ops` on `c`.
Prediction predict(std::vector<Op> ops, const Ceilings& c);

/// The memory engine's figures for a MemoryProblem.
struct MemoryPrediction {
  Bytes kv_cache;           ///< kv_cache_bytes over all layers
  Bytes naive_activations;  ///< layer_activation_bytes with naive attention
  Bytes flash_activations;  ///< layer_activation_bytes with flash attention
};

using Problem = std::variant<StreamShape, GemmProblem, AttentionProblem, DecodeProblem, MemoryProblem>;

struct Case {
  Family family = Family::stream;
  std::string name;   ///< unique, stable: "gemm.bf16.mlp.gate.m4096"
  std::string shape;  ///< for people: "M=4096 N=14336 K=4096"
  std::string dtype;  ///< element type of the inputs
  Problem problem;
  Prediction prediction;    ///< time families
  MemoryPrediction memory;  ///< memory family
  std::string waived;       ///< non-empty: cannot run here, and why
};

/// Decode GEMM rows: batch 1, 2, 4, … 256 (one token per sequence).
std::vector<std::int64_t> decode_rows();
/// Prefill GEMM rows: 512, 1,024, … 16,384 tokens.
std::vector<std::int64_t> prefill_rows();

/// The distinct weight GEMMs (N x K) of one decoder layer, in layer order, each named after the
/// first projection with that shape ("attn.q_proj" also stands for o_proj in Llama).
std::vector<GemmShape> distinct_layer_gemms(const ModelShapes& s);

/// The prediction for Y[m x n] = X[m x k] W^T of `type` on `gpu`, from gemm_op with the
/// weights' bytes as the memory engine counts them for that format, and the bytes the kernel
/// writes (bf16 for bf16/fp8, fp16, int32 for int8).
Prediction predict_gemm(const ModelSpec& model, const GpuSpec& gpu, GemmType type, const GemmShape& w, std::int64_t m);
/// Bytes per output element the GEMM kernel writes.
double gemm_output_bytes(GemmType t);
/// ridge's weight format for a GEMM type ("bf16", "fp16", "fp8", "int8").
std::string_view weight_format_name(GemmType t);

/// Prefill attention from attention_ops (pairs: n(n+1)/2 per sequence causal, n² otherwise).
Prediction predict_attention(const GpuSpec& gpu, const ModelSpec& model, const AttentionProblem& p);
/// One decode step of attention: attention_ops with one query over `context` keys.
Prediction predict_decode(const GpuSpec& gpu, const ModelSpec& model, const DecodeProblem& p);
/// Streaming: an operator that only moves bytes (read: n, write: n, copy: n + n).
Prediction predict_stream(const GpuSpec& gpu, const ModelSpec& model, const StreamShape& s);
/// KV cache and one layer's prefill activations from the memory engine.
MemoryPrediction predict_memory(const ModelSpec& model, const MemoryProblem& p);

/// What the device offers, for sizing and filtering cases.
struct PlanOptions {
  bool quick = false;
  std::vector<Family> families;  ///< empty: all
  std::uint64_t l2_bytes = 50ull << 20;
  std::uint64_t free_bytes = 80ull << 30;
  bool device_fp8 = true;
};

/// Streaming buffer size: 64 x L2 (so no pass is served from cache), within [256 MiB, 2 GiB]
/// and at most a sixth of free memory (copy holds two buffers).
std::uint64_t stream_bytes(std::uint64_t l2_bytes, std::uint64_t free_bytes);

/// All cases for a model on a GPU description, in run order.
std::vector<Case> make_cases(const ModelSpec& model, const GpuSpec& gpu, const PlanOptions& o);

}  // namespace ridge::validate
