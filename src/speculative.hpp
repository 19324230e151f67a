// Speculative decoding: a drafter proposes K tokens per sequence, the target model verifies them
// in one pass over K + 1 tokens per sequence and keeps the longest accepted prefix plus one token
// of its own. With i.i.d. per-token acceptance α the tokens one step yields are 1..K+1 with
// P(n) = α^(n−1)(1 − α) for n ≤ K and α^K for n = K + 1, expected (1 − α^(K+1)) / (1 − α)
// (Leviathan et al., 2023, eq. 1). The drafter is a small model, or the target's own
// multi-token-prediction module (DeepSeek-V3's MTP: one decoder layer, sharing the embedding
// and the LM head).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dtype.hpp"
#include "gpu.hpp"
#include "model.hpp"
#include "ops.hpp"
#include "step_cost.hpp"
#include "units.hpp"

namespace ridge {

class Rng;

struct SpeculativeConfig {
  std::int64_t tokens = 0;  ///< K: draft tokens per step (0: no speculation)
  double acceptance = 0;    ///< α: probability each draft token is accepted, independently
  bool enabled() const { return tokens > 0; }
};

/// E[tokens per step] = (1 − α^(K+1)) / (1 − α); K + 1 when α = 1, 1 when α = 0.
double expected_tokens_per_step(std::int64_t k, double alpha);

/// Tokens one verification step yields, drawn from P(n) above (at most `k` drafts).
std::int64_t draw_step_tokens(Rng& rng, std::int64_t k, double alpha);

/// The MTP module as a model of its own, per TP rank: `mtp_layers` decoder layers shaped like
/// the target's last layer, each with its eh_proj [h x 2h] (the previous hidden state and the
/// next token's embedding projected to h) counted as an input projection; the target's
/// embedding and LM head. Throws InputError when the model has no MTP module.
ModelShapes mtp_shapes(const ModelSpec& m, const ModelShapes& target);

/// Weight bytes one TP rank holds for these shapes: every GEMM (experts × experts), the norms,
/// the embedding table once (tied or not, a separate drafter's own) and the LM head.
Bytes shape_weight_bytes(const ModelShapes& s, bool with_embedding_and_head);

/// Which drafter speculates: a draft model (served in its checkpoint's format at the target's TP)
/// or, without one, the target's own MTP module.
struct DrafterChoice {
  SpeculativeConfig config;
  std::optional<ModelSpec> draft_model;
};

/// A drafter built for one deployment of the target: its time model and the bytes it adds.
struct Drafter {
  SpeculativeConfig config;
  std::string name;  ///< "model's MTP module (1 layer)" or "draft model llama-3.2-1b"
  std::unique_ptr<StepCost> cost;
  Bytes weights_per_gpu;       ///< its weights on each GPU of the replica
  Bytes kv_per_token_per_gpu;  ///< its cache per token on each GPU
};

/// The drafter beside `target` (its shapes at TP `tp`) on `gpu`, timed on the same basis and
/// links. InputError (option "--draft-model" or "--mtp") when the draft model does not shard at
/// that TP or the target has no MTP module.
Drafter make_drafter(const DrafterChoice& choice, const ModelSpec& target, const ModelShapes& target_shapes,
                     const GpuSpec& gpu, TimeBasis basis, const Topology& topology, AttentionImpl attention, DType kv,
                     std::int64_t tp);

/// One decode step with and without speculation at one batch and context.
struct SpeculativeEstimate {
  double expected_tokens = 1;  ///< (1 − α^(K+1)) / (1 − α)
  double plain_step_s = 0;     ///< an ordinary decode step: one token per sequence
  double verify_step_s = 0;    ///< the target over K + 1 tokens per sequence
  double draft_s = 0;          ///< K drafter passes of one token per sequence
  double tpot_s = 0;           ///< (draft + verify) / expected tokens
  double plain_tpot_s = 0;     ///< = plain_step_s
  double speedup() const { return tpot_s > 0 ? plain_tpot_s / tpot_s : 0; }
  /// The smallest batch (up to 4096) from which speculation costs more than it saves: the
  /// verification's K + 1 tokens per sequence turn the step compute-bound as the batch grows.
  std::optional<std::int64_t> loss_from_batch;
};
SpeculativeEstimate estimate_speculative(StepCost& target, StepCost& drafter, std::int64_t batch, std::int64_t context,
                                         const SpeculativeConfig& c);

/// What a report shows about speculation for one deployment.
struct SpeculativeSummary {
  std::string drafter;  ///< "MTP module (1 layer)" or the draft model's name
  SpeculativeConfig config;
  SpeculativeEstimate estimate;
  std::int64_t batch = 1, context = 1;  ///< where the estimate is taken (the roofline's decode step)
  Bytes weights_per_gpu;                ///< the drafter's weights on each GPU
  Bytes kv_per_gpu;                     ///< its cache for the batch at the full context
};

}  // namespace ridge
