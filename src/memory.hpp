// The memory engine: parameter counts, weight bytes per format, KV cache, activations,
// runtime overhead, sharding and what fits. Pure functions over validated specs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dtype.hpp"
#include "gpu.hpp"
#include "model.hpp"
#include "query.hpp"
#include "units.hpp"

namespace ridge {

// ---------------------------------------------------------------------------------------------
// Parameters

/// One stored tensor as held by one tensor-parallel rank: a rows x cols matrix (cols = 1 for
/// vectors such as norms and biases).
struct WeightTensor {
  const char* name;
  std::int64_t rows;        ///< output features
  std::int64_t cols;        ///< input features
  bool quantisable;         ///< a linear weight of a decoder layer (what AWQ/GPTQ/FP8 quantise)
  bool expert = false;      ///< a routed expert's matrix (what experts-only formats quantise)
  std::int64_t copies = 1;  ///< identical tensors it stands for (one per routed expert)
  std::int64_t elements() const { return rows * cols; }  ///< of one copy
};

/// Tensors of decoder layer `layer` on one of `tp` tensor-parallel ranks. Attention heads and
/// MLP columns are split; KV projections keep max(1, kv_heads / tp) heads (replicated once
/// tp > kv_heads); norms, the router and MLA's down-projections are replicated.
/// With expert parallelism over `ep` GPUs (> 1) each GPU holds ceil(E / ep) whole routed experts
/// instead of a 1/tp slice of every one; everything else stays TP-sharded.
std::vector<WeightTensor> layer_tensors(const ModelSpec& m, std::int64_t layer, std::int64_t tp, std::int64_t ep = 1);

/// Token embedding (vocab-parallel: ceil(V / tp) rows) and, for GPT-2, the learned positions.
std::vector<WeightTensor> embedding_tensors(const ModelSpec& m, std::int64_t tp);

/// A multimodal checkpoint's vision tower and projector, on the first pipeline stage, split
/// over the TP ranks as vLLM's default mm_encoder_tp_mode "weights" does: ceil(params / tp)
/// elements in the unquantised type (quantisation configs leave the vision tower alone).
std::vector<WeightTensor> vision_tensors(const ModelSpec& m, std::int64_t tp);

/// Final norm and LM head. A tied head shares the embedding, so it is stored again only when
/// it lives on another pipeline stage (`separate_stage`).
std::vector<WeightTensor> head_tensors(const ModelSpec& m, std::int64_t tp, bool separate_stage);

/// Parameters of the language model. The vision tower of a multimodal checkpoint and MTP
/// modules are not in `total`: `vision` is listed apart (its weights are in memory all the same).
struct ParamCount {
  std::int64_t total = 0;      ///< every stored parameter of the language model, one copy
  std::int64_t active = 0;     ///< used per token: MoE counts top-k routed experts (+ shared);
                               ///< the input embedding and the LM head included
  std::int64_t embedding = 0;  ///< input embedding (and learned positions): subtract it for the
                               ///< "active without embedding" convention some model cards use
  std::int64_t vision = 0;     ///< vision tower and projector of a multimodal checkpoint
  /// Multi-token-prediction modules stored in the checkpoint (not served by default): per
  /// module one decoder layer like the last, enorm and hnorm, eh_proj [h, 2h] and the shared
  /// head's norm; its embedding and head are the main model's (vLLM shares them).
  std::int64_t mtp = 0;
};

/// total = embeddings + Σ layers + final norm + untied LM head;
/// active = total − Σ over MoE layers (experts − top-k) × (one routed expert's params).
ParamCount count_params(const ModelSpec& m);

/// Bytes of one tensor in a weight format: ceil((elements × weight_bits + scales) / 8), where
/// scales = 1 per tensor, 1 per output row, or rows × ceil(cols / group) groups of
/// (scale_bits + zero_bits). Non-quantisable tensors use the format's unquantised type.
/// All `copies` of the tensor: copies × its one-copy bytes.
Bytes tensor_bytes(const WeightTensor& t, const WeightFormat& f);

/// Weights of the whole model (one copy, no sharding) in a format, vision tower included.
Bytes weight_bytes(const ModelSpec& m, const WeightFormat& f);

// ---------------------------------------------------------------------------------------------
// KV cache

/// Bytes of KV cache one token adds to layer `layer` on one TP rank:
/// MHA/GQA/MQA: 2 (K and V) × kv_heads_per_rank × head_dim × bytes(kv);
/// MLA: (kv_lora_rank + qk_rope_head_dim) × bytes(kv), one latent, replicated on every rank
/// (DeepSeek-V2 paper §2.1.2; vLLM's MLA backend).
Bytes kv_bytes_per_token_in_layer(const ModelSpec& m, std::int64_t layer, DType kv, std::int64_t tp);

/// KV heads one TP rank holds: split when tp divides them, one (replicated) when tp exceeds them.
std::int64_t kv_heads_per_rank(const ModelSpec& m, std::int64_t tp);

/// What a GPU may use: its memory x the utilization (vLLM's gpu_memory_utilization).
Bytes memory_budget(const GpuSpec& g, double utilization);

/// Tokens layer `layer` keeps for a sequence that has reached `context` tokens, in whole paged
/// blocks of `block_size` tokens (1: exact tokens): global layers every token, ceil(n/bs)·bs;
/// sliding layers the last W (the window need not start on a block: ceil((W−1)/bs)·bs + bs,
/// as vLLM's SlidingWindowSpec); chunked layers their current chunk, ceil(C/bs)·bs. Never more
/// than the global figure. With bs = 1: context, min(context, W), min(context, C).
std::int64_t cached_tokens(const ModelSpec& m, std::int64_t layer, std::int64_t context, std::int64_t block_size = 1);

/// KV bytes per token for the whole model, one sequence, no window applied, no sharding:
/// Σ_layers kv_bytes_per_token_in_layer. Llama-3.1-70B bf16: 2·80·8·128·2 = 327,680 B.
Bytes kv_bytes_per_token(const ModelSpec& m, DType kv);

/// KV cache of `batch` sequences of `context` tokens over layers [first, first + count) on one
/// TP rank: Σ_layers kv_bytes_per_token_in_layer × cached_tokens(block_size) × batch.
Bytes kv_cache_bytes(const ModelSpec& m, DType kv, std::int64_t context, std::int64_t batch, std::int64_t tp,
                     std::int64_t first_layer, std::int64_t layer_count, std::int64_t block_size = 1);

/// How vLLM's paged pool serves layers [first, first + count) on one GPU (vLLM v1
/// kv_cache_utils: the hybrid KV-cache manager). Layers of one kind (global, sliding W, chunked
/// C) share a spec; every kind is cut into groups of `group_size` layers (the smallest kind's
/// layer count, or the largest's when it is under 1.5x the smallest, vLLM PR #36684), the last
/// group of a kind padded; groups are the whole model's, a pipeline worker holding its layers
/// of each. Each block holds `block_size` tokens of one group, so a block costs page × (the
/// worker's layers in its fullest group) bytes whatever its kind. "GPU KV cache size" follows
/// vLLM 0.10–0.12's report (blocks / groups × block_size).
struct KvPoolLayout {
  struct Kind {
    AttentionKind attention = AttentionKind::global;
    std::int64_t window = 0;
    std::int64_t layers = 0;
    std::int64_t groups = 0;  ///< ceil(layers / group_size)
  };
  std::vector<Kind> kinds;
  std::int64_t group_size = 0;
  std::int64_t groups = 0;  ///< Σ kinds' groups
  std::int64_t block_size = 16;
  Bytes page;                         ///< one layer's block: block_size × KV bytes per token of a layer
  std::int64_t layers_per_block = 0;  ///< this worker's most layers in one group (group_size at PP 1)

  /// Blocks the pool of `pool` bytes splits into: pool / (page × layers_per_block).
  std::int64_t blocks(Bytes pool) const;
  /// vLLM's "GPU KV cache size: N tokens": blocks / groups × block_size, i.e. tokens if every
  /// layer were global.
  std::int64_t reported_tokens(Bytes pool) const;
  /// Blocks one request of `max_model_len` tokens may need (vLLM max_memory_usage_bytes), with
  /// `chunk` = max_num_batched_tokens (≤ 0: n, no chunked prefill): global cdiv(n, bs); sliding
  /// cdiv(min(W − 1 + chunk, n), bs) + 1; chunked cdiv(min(C + chunk, n), bs); summed over the
  /// groups.
  std::int64_t blocks_per_request(std::int64_t max_model_len, std::int64_t chunk) const;
  /// Blocks a running request holds once `computed` tokens are cached and `new_tokens` more are
  /// scheduled (vLLM v1's managers after remove_skipped_blocks): global groups every token,
  /// cdiv(computed + new, bs); sliding groups the blocks from the first key the first new token
  /// sees, computed − W + 1; chunked groups from the start of that token's chunk.
  std::int64_t blocks_held(std::int64_t computed, std::int64_t new_tokens) const;
};

/// The layout of layers [first, first + count) with `tp`-way sharding and a KV type.
KvPoolLayout kv_pool_layout(const ModelSpec& m, DType kv, std::int64_t tp, std::int64_t first_layer,
                            std::int64_t layer_count, std::int64_t block_size);

// ---------------------------------------------------------------------------------------------
// Activations

enum class AttentionImpl { flash, naive };

/// Tokens per prefill forward pass when the user names none: serving engines prefill in chunks
/// (vLLM's chunked prefill, max_num_batched_tokens = 8192 on large GPUs; SGLang's
/// chunked_prefill_size 8192), never a whole large batch of long prompts at once. Every
/// command and the deployment file share this default; 0 asks for the whole batch in one pass.
inline constexpr std::int64_t kDefaultPrefillChunk = 8192;

struct ActivationQuery {
  std::int64_t batch = 1;
  std::int64_t context = 1;        ///< prompt tokens per sequence in the prefill
  std::int64_t prefill_chunk = 0;  ///< max tokens per forward pass (0: whole batch at once)
  AttentionImpl attention = AttentionImpl::flash;
  std::int64_t tp = 1;
  int activation_bytes = 2;  ///< bytes per activation element (2 for 16-bit, 4 for fp32)
};

/// Tokens in one prefill forward pass: batch × context, capped by the chunk when given (> 0).
std::int64_t tokens_per_pass(std::int64_t batch, std::int64_t context, std::int64_t prefill_chunk);
inline std::int64_t tokens_per_pass(const ActivationQuery& q) {
  return tokens_per_pass(q.batch, q.context, q.prefill_chunk);
}

/// Peak transient bytes inside decoder layer `layer` during a prefill pass of T tokens:
/// residual stream (2·T·h) + max(attention, MLP) intermediates, where attention holds Q, K, V
/// and its output, plus naive: the T × context score and probability matrices per head
/// (O(n²)); flash: only a fp32 log-sum-exp per query row (O(n)).
Bytes layer_activation_bytes(const ModelSpec& m, std::int64_t layer, const ActivationQuery& q);

/// Logits of the last token of each sequence in fp32: batch × ceil(V / tp) × 4.
Bytes logits_bytes(const ModelSpec& m, const ActivationQuery& q);

// ---------------------------------------------------------------------------------------------
// Whole deployment

struct MemoryQuery {
  WeightFormat weights;
  DType kv_dtype = DType::bf16;
  std::int64_t batch = 1;
  std::int64_t context = 4096;  ///< tokens per sequence held in the KV cache
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  double memory_utilization = 0.9;  ///< fraction of device memory the engine may use (vLLM)
  Bytes overhead;                   ///< non-model memory per GPU
  AttentionImpl attention = AttentionImpl::flash;
  std::int64_t prefill_chunk = 0;
  std::int64_t block_size = 16;  ///< paged-KV block, tokens
  /// max_num_batched_tokens for vLLM's per-request KV sizing (0: the prefill chunk; with no
  /// chunk either, a whole request's length).
  std::int64_t max_num_batched_tokens = 0;
  /// Expert parallelism (1: the experts are TP-sharded like the rest): GPUs the routed experts
  /// spread over, a multiple of TP; the replica's stage then has `ep` GPUs, ep / tp attention
  /// groups each holding its share of the batch's KV cache.
  std::int64_t ep = 1;
};

/// One pipeline stage: layers [first_layer, first_layer + layers), per GPU of the stage.
struct StageMemory {
  std::int64_t first_layer = 0;
  std::int64_t layers = 0;
  Bytes weights, kv_cache, activations, overhead;
  Bytes total() const { return weights + kv_cache + activations + overhead; }
};

struct MemoryEstimate {
  ParamCount params;
  Bytes weights;       ///< whole model, one copy
  Bytes kv_cache;      ///< whole model, batch × context, one copy
  Bytes kv_per_token;  ///< whole model, one token, no window
  std::vector<StageMemory> stages;
  std::size_t worst_stage = 0;  ///< stage with the largest per-GPU total
  Bytes budget_per_gpu;         ///< memory × utilization
  Bytes total;                  ///< Σ over all GPUs (tp × Σ stages)
  bool fits = false;
  Bytes kv_pool_per_gpu;                ///< on the tightest stage: budget − weights − activations − overhead
  std::int64_t kv_capacity_tokens = 0;  ///< vLLM's "GPU KV cache size" (tokens if all layers global)
  std::int64_t kv_capacity_blocks = 0;  ///< blocks of the tightest stage's pool
  std::size_t kv_pool_stage = 0;        ///< the stage whose pool holds the fewest tokens
  std::int64_t kv_groups = 1;           ///< vLLM KV-cache groups on the tightest stage
  std::int64_t kv_group_size = 0;       ///< layers per group
  /// Largest max_model_len vLLM would start with: one request of it fits the pool
  /// (blocks_per_request ≤ blocks on every stage); capped at the model's max_position.
  std::int64_t max_model_len_limit = 0;
  /// vLLM's "Maximum concurrency for `context` tokens per request": blocks / blocks_per_request.
  double max_concurrency = 0;
  std::int64_t max_batch = 0;              ///< largest batch at `context` that fits
  std::int64_t max_context = 0;            ///< largest context at `batch` that fits (≤ max_position)
  bool max_context_model_limited = false;  ///< max_context is the model's max_position

  const StageMemory& per_gpu() const { return stages[worst_stage]; }
};

/// Layers per pipeline stage: sizes differ by at most one, earlier stages take the extra.
std::vector<std::int64_t> pipeline_split(std::int64_t layers, std::int64_t pp);

/// Why `tp`/`pp` cannot shard `m` (heads, KV heads, FFN columns, layers), if they cannot.
struct ShardingProblem {
  std::string option;   ///< "--tp" or "--pp"
  std::string message;  ///< "3 does not divide the 32 attention heads of llama-3.1-8b"
};
/// With a weight format, also what the format forbids: block-scaled weights need every width a
/// TP rank holds (dense, expert and shared-expert MLP widths, query heads x head_dim) to be whole
/// blocks (vLLM refuses "... is not divisible by weight quantization block_n"); an experts-only
/// format needs routed experts. Under expert parallelism (`ep` > 1) routed experts stay whole on
/// their GPU, so their width is not split by TP.
std::optional<ShardingProblem> sharding_problem(const ModelSpec& m, std::int64_t tp, std::int64_t pp,
                                                const WeightFormat* format = nullptr, std::int64_t ep = 1);
/// Throws InputError naming the option when sharding_problem finds one.
void check_sharding(const ModelSpec& m, std::int64_t tp, std::int64_t pp, const WeightFormat* format = nullptr,
                    std::int64_t ep = 1);

/// Weights per GPU of each pipeline stage (embedding on the first, head on the last).
std::vector<Bytes> stage_weights(const ModelSpec& m, const WeightFormat& f, std::int64_t tp, std::int64_t pp,
                                 std::int64_t ep = 1);

/// Why `ep` cannot spread `m`'s experts at TP `tp` (nullopt: it can; ep 1 always can).
std::optional<ShardingProblem> expert_parallel_problem(const ModelSpec& m, std::int64_t tp, std::int64_t ep);

/// Per-stage memory for a given batch and context (no capacity search).
std::vector<StageMemory> stage_memory(const ModelSpec& m, const MemoryQuery& q);
/// The same with the stage weights already computed (they depend only on format, TP and PP).
std::vector<StageMemory> stage_memory(const ModelSpec& m, const MemoryQuery& q, const std::vector<Bytes>& weights);

/// Everything `ridge memory` reports.
MemoryEstimate estimate_memory(const ModelSpec& m, const GpuSpec& g, const MemoryQuery& q);

}  // namespace ridge
