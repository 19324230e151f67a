// The operators of one forward pass, with their FLOPs and bytes, for prefill and decode.
// Shapes are compiled once per (model, weight format, TP) into ModelShapes, whose weight bytes
// come from the memory engine's tensor_bytes (one formula for both); evaluating a phase is then
// arithmetic only, so sweeps and the planner can call it millions of times.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dtype.hpp"
#include "memory.hpp"
#include "model.hpp"

namespace ridge {

enum class Phase { prefill, decode };
std::string_view to_string(Phase p);

/// Which hardware unit runs an op, and so which peak applies.
enum class OpUnit {
  gemm,    ///< tensor cores in the weight format's math type (weight GEMMs)
  gemm16,  ///< tensor cores in the activation type: QK^T, PV, router, LM head (16-bit weights)
  vector,  ///< CUDA cores (norms, softmax, activations, adds, gathers, cache writes)
};

/// One operator instance on one TP rank, repeated `count` times (identical layers).
struct Op {
  std::string_view name;
  Phase phase = Phase::prefill;
  OpUnit unit = OpUnit::vector;
  std::int64_t count = 1;    ///< identical instances (layers of one kind)
  double flops = 0;          ///< per instance; a multiply-add is 2
  double bytes_read = 0;     ///< per instance, from device memory
  double bytes_written = 0;  ///< per instance, to device memory
  /// Which kind of layer it belongs to when a model has more than one ("sliding"/"global" for
  /// Gemma-2, "dense"/"moe" for DeepSeek-V3); empty otherwise and outside the layers.
  std::string_view layers;
  int group = -1;  ///< index of its LayerGroup in ModelShapes::groups (-1 outside the layers)

  /// What the calibrated model (efficiency.hpp) reads: the kind of kernel and its shape.
  enum class Kernel : std::uint8_t { other, weight_gemm, flash_attention };
  Kernel kernel = Kernel::other;
  double m = 0, n = 0, k = 0;  ///< weight GEMM: rows, outputs, inputs (MoE: rows per expert)
  double fused_n = 0;          ///< GemmShape::fused_n
  double weight_bytes = 0;     ///< one GEMM's weight, scales included
  double experts = 1;          ///< MoE: expert GEMMs one grouped kernel runs
  double batch = 0, new_tokens = 0, keys = 0, window = 0, kv_bytes = 0;  ///< flash attention
  double pairs = 0;  ///< flash attention: query–key pairs, all sequences
  /// Kernels a serving engine launches per instance (vLLM: one RMSNorm kernel per norm, the
  /// residual add fused into the next norm, the cache write inside the attention layer's fitted
  /// fixed cost): what the calibrated per-kernel fixed cost multiplies for the small operators.
  double kernels = 1;

  double bytes() const { return bytes_read + bytes_written; }
  /// FLOP per byte moved.
  double intensity() const { return bytes() > 0 ? flops / bytes() : 0.0; }
};

/// y[T x n] = x[T x k] W^T on one rank; weight_bytes includes scales and bias.
struct GemmShape {
  std::string_view name;
  double n = 0;
  double k = 0;
  double weight_bytes = 0;
  /// Serving engines run GEMMs that read the same input as one (vLLM's qkv_proj, gate_up_proj,
  /// fused_qkv_a_proj): the n of that fused GEMM, 0 when this one runs alone. The calibrated
  /// model times the fused kernel and gives each part its share of n.
  double fused_n = 0;
};

/// Attention geometry per rank.
struct AttentionShape {
  double q_heads = 0;       ///< query heads on this rank
  double kv_heads = 0;      ///< KV heads on this rank (MHA/GQA); 0 for MLA
  double qk_dim = 0;        ///< per-head dimension of q·k
  double v_dim = 0;         ///< per-head dimension of values
  double latent_dim = 0;    ///< MLA: cached latent per token (kv_lora_rank + rope dims); 0 otherwise
  double latent_v_dim = 0;  ///< MLA: kv_lora_rank (values of the absorbed decode)
};

/// Layers that share one shape.
struct LayerGroup {
  std::int64_t count = 0;
  AttentionKind attention = AttentionKind::global;
  double window = 0;                    ///< sliding window or chunk, tokens (0: global)
  std::vector<GemmShape> attention_in;  ///< q/k/v, or MLA's projections (kv_b included)
  GemmShape attention_out;
  std::vector<GemmShape> mlp;  ///< dense MLP, or the shared experts of a MoE layer
  double mlp_width = 0;        ///< intermediate width of `mlp` per rank (summed)
  bool moe = false;
  GemmShape router;
  std::vector<GemmShape> expert;  ///< one routed expert's matrices
  double expert_width = 0;        ///< one routed expert's intermediate width per rank
  double experts = 0;
  double top_k = 0;
  double norms = 0;              ///< normalisation layers in the block
  double norm_weight_bytes = 0;  ///< their weights, all of them
  /// Names the kind when a model has several ("sliding"/"global", "dense"/"moe", "chunked
  /// moe"); else empty.
  std::string_view label;

  /// Distinct keys that `tokens` new tokens ending at `context` attend together (what a pass
  /// reads from the cache): global all `context`; sliding min(context, tokens + W − 1); chunked
  /// from the start of the first new token's chunk. One new token: the keys it attends,
  /// min(context, W) or ((context − 1) mod C) + 1.
  double span(double tokens, double context) const;
  /// Query–key pairs for `tokens` new tokens whose last one attends `context` tokens.
  double pairs(double tokens, double context) const;
};

struct ModelShapes {
  std::vector<LayerGroup> groups;
  AttentionShape attention;
  GemmShape lm_head;
  double hidden = 0;
  double final_norm_bytes = 0;
  bool gated = true;
  bool layernorm = false;
  bool parallel_attention = false;  ///< attention and MLP side by side: one TP all-reduce per layer
  double activation_bytes = 2;      ///< bytes per activation element
  double gemm_input_bytes = 2;      ///< bytes per GEMM input element (1 for W8A8 formats)
  DType gemm_math = DType::bf16;
  DType attention_math = DType::bf16;
  bool fp4_weights = false;  ///< the format needs fp4 tensor cores for gemm_math
  /// Only routed experts run in gemm_math; attention and dense MLP GEMMs stay 16-bit (gpt-oss).
  bool experts_only = false;
  std::string format;  ///< the weight format's name ("bf16", "fp8-block128", ...)
  /// Expert parallelism (memory.hpp attention_groups): the GPUs the routed experts spread over
  /// and the attention groups; a phase's batch is then one group's, the MoE layers see all groups'.
  double ep = 1;
  double attention_groups = 1;
  double top_k = 0;  ///< routed experts per token (0: dense), for the EP all-to-all
};

/// Shapes per TP rank, grouped by layer kind (dense/MoE x full/sliding); with expert parallelism
/// over `ep` GPUs each holds ceil(E / ep) whole experts.
ModelShapes compile_shapes(const ModelSpec& m, const WeightFormat& f, std::int64_t tp, std::int64_t ep = 1);

/// The slowest of `ranks` GPUs' share of `choices` routed (token, expert) choices over its mean
/// share, for uniform top-k routing: each GPU's load is Binomial(choices, 1/ranks); the expected
/// maximum of `ranks` of them, by the normal approximation with Blom's expected maximum of
/// standard normals Φ⁻¹((n − 0.375)/(n + 0.25)), at most `ranks` (all on one GPU). Real routers
/// are skewed beyond this (load balancers such as DeepSeek's EPLB exist for that): a lower bound.
double expert_load_imbalance(double choices, double ranks);

struct PhaseQuery {
  Phase phase = Phase::prefill;
  std::int64_t batch = 1;
  std::int64_t tokens = 1;   ///< new tokens per sequence: the prompt in prefill, 1 in decode
  std::int64_t context = 1;  ///< tokens attended by the newest token (cached + new)
  AttentionImpl attention = AttentionImpl::flash;
  DType kv_dtype = DType::bf16;
  /// Rows of logits (and sampling): -1 for the phase's own (prefill: one per sequence, decode:
  /// every token); a serving step sets it to the sequences it schedules.
  std::int64_t logit_rows = -1;
  /// false: leave out the attention operators (a serving step adds them per sequence with
  /// group_attention_ops, since its sequences attend different contexts).
  bool with_attention = true;
};

/// Expected distinct experts touched when T tokens each pick k of E experts uniformly:
/// E (1 − (1 − k/E)^T). One token touches k; many touch all E.
double expected_distinct_experts(double experts, double top_k, double tokens);

/// Query–key pairs a causal layer computes for `tokens` new tokens whose last one attends
/// `context` tokens, under a window w (0: none): Σ over new tokens of min(position, w).
/// A prompt of n tokens from empty: n(n+1)/2.
double causal_pairs(double tokens, double context, double window);

/// The same for chunked local attention with chunks of C tokens (Llama 4): the token at
/// position p attends ((p − 1) mod C) + 1 keys. With F(n) = ⌊n/C⌋·C(C+1)/2 + r(r+1)/2,
/// r = n mod C, the pairs are F(context) − F(context − tokens).
double chunked_pairs(double tokens, double context, double chunk);

/// Decode contexts [first, last] cut where a layer group's keys stop being linear in the
/// context: `repeat` identical pieces of [first, last] each (the full chunks of a chunked
/// layer: its keys run 1..C in every one). Global layers: one piece; sliding: split after W;
/// chunked: the partial first chunk, one full chunk repeated, the partial last chunk.
struct DecodePiece {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::int64_t repeat = 1;
};
std::vector<DecodePiece> decode_pieces(const LayerGroup* g, std::int64_t first, std::int64_t last);

/// A weight GEMM y[tokens x n] = x[tokens x k] W^T: 2·tokens·n·k FLOPs; reads `weight_reads`
/// copies of the weights (MoE: expected distinct experts) and the input, writes the output.
/// The one formula for weight GEMMs: phases, `ridge validate` and the planner all use it.
inline Op gemm_op(const GemmShape& g, Phase phase, OpUnit unit, std::int64_t count, double tokens, double input_bytes,
                  double output_bytes, double weight_reads = 1.0) {
  Op op;
  op.name = g.name;
  op.phase = phase;
  op.unit = unit;
  op.count = count;
  op.flops = 2.0 * tokens * g.n * g.k;
  op.bytes_read = weight_reads * g.weight_bytes + tokens * g.k * input_bytes;
  op.bytes_written = tokens * g.n * output_bytes;
  op.kernel = Op::Kernel::weight_gemm;
  op.experts = std::max(1.0, weight_reads);
  op.m = tokens / op.experts;
  op.n = g.n;
  op.k = g.k;
  op.weight_bytes = g.weight_bytes;
  op.fused_n = g.fused_n;
  return op;
}

/// K and V bytes an attention kernel reads for `batch` sequences attending `keys` tokens: from
/// the cache in its own type (MHA/GQA: one read per KV head serves its whole query group), or,
/// for MLA prefill, expanded per query head in the activation type.
inline double attention_kv_read_bytes(const AttentionShape& at, double batch, double keys, double activation_bytes,
                                      double kv_bytes) {
  return at.latent_dim > 0 ? batch * keys * at.q_heads * (at.qk_dim + at.v_dim) * activation_bytes
                           : batch * keys * at.kv_heads * (at.qk_dim + at.v_dim) * kv_bytes;
}

/// One attention pass (not MLA's absorbed decode) over `batch` sequences of `new_tokens` queries
/// each attending `keys` keys, `pairs` query–key pairs in all (causal_pairs × batch for causal
/// attention; batch × new_tokens × keys without a mask).
struct AttentionPass {
  double batch = 1;
  double new_tokens = 1;
  double keys = 1;
  double pairs = 1;
  double kv_read_bytes = 0;  ///< attention_kv_read_bytes
  double window = 0;         ///< the layers' sliding window or chunk (0: global); for the calibrated model
  double kv_bytes = 2;       ///< bytes per cached K/V element; for the calibrated model
};

/// The attention operators, the one formula for them: flash is one op, 2·H·pairs·(qk + v)
/// FLOPs over Q, K, V and the output; naive is QK^T, softmax and PV with the score matrix
/// (T x keys per head, masked part included) written and read twice in the activation type.
/// FLOPs count `pairs` for both (the planner's convention; cuBLAS computes the masked half).
template <class Sink>
void attention_ops(const AttentionShape& at, Phase phase, std::int64_t count, const AttentionPass& p,
                   AttentionImpl impl, double activation_bytes, Sink&& sink) {
  const double H = at.q_heads, a = activation_bytes;
  const double T = p.batch * p.new_tokens;
  const double q_read = T * H * at.qk_dim * a;
  const double out_written = T * H * at.v_dim * a;
  auto emit = [&](std::string_view name, OpUnit unit, double flops, double read, double written) {
    Op op;
    op.name = name;
    op.phase = phase;
    op.unit = unit;
    op.count = count;
    op.flops = flops;
    op.bytes_read = read;
    op.bytes_written = written;
    sink(static_cast<const Op&>(op));
  };
  if (impl == AttentionImpl::flash) {
    Op op;
    op.name = "attention";
    op.phase = phase;
    op.unit = OpUnit::gemm16;
    op.count = count;
    op.flops = 2.0 * H * p.pairs * (at.qk_dim + at.v_dim);
    op.bytes_read = q_read + p.kv_read_bytes;
    op.bytes_written = out_written;
    op.kernel = Op::Kernel::flash_attention;
    op.batch = p.batch;
    op.new_tokens = p.new_tokens;
    op.keys = p.keys;
    op.pairs = p.pairs;
    op.window = p.window;
    op.kv_bytes = p.kv_bytes;
    sink(static_cast<const Op&>(op));
    return;
  }
  const double scores = p.batch * H * p.new_tokens * p.keys * a;
  const double k_share = at.qk_dim / (at.qk_dim + at.v_dim);
  emit("qk_scores", OpUnit::gemm16, 2.0 * H * p.pairs * at.qk_dim, q_read + p.kv_read_bytes * k_share, scores);
  emit("softmax", OpUnit::vector, 5.0 * p.batch * H * p.new_tokens * p.keys, scores, scores);
  emit("pv", OpUnit::gemm16, 2.0 * H * p.pairs * at.v_dim, scores + p.kv_read_bytes * (1.0 - k_share), out_written);
}

/// The attention operators of layer group `g`'s layers for `batch` sequences of `new_tokens`
/// new tokens each, whose last token attends `keys` distinct keys (the mean over the sequences
/// when they differ), `pairs` query–key pairs in all: flash or naive attention, or MLA's
/// absorbed decode. The one place for them: a phase and a serving step both call it.
template <class Sink>
void group_attention_ops(const ModelShapes& s, const LayerGroup& g, Phase phase, double batch, double new_tokens,
                         double keys, double pairs, AttentionImpl impl, double kv_bytes, Sink&& sink);

/// Calls sink(const Op&) for every operator of the phase, in execution order.
template <class Sink>
void for_each_op(const ModelShapes& s, const PhaseQuery& q, Sink&& sink);

}  // namespace ridge

#include "ops_impl.hpp"
