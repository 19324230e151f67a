#include "speculative.hpp"

#include <cmath>

#include <fmt/format.h>

#include "error.hpp"
#include "memory.hpp"
#include "query.hpp"
#include "roofline.hpp"
#include "workload.hpp"

namespace ridge {

double expected_tokens_per_step(std::int64_t k, double alpha) {
  if (alpha >= 1) return static_cast<double>(k + 1);
  return (1 - std::pow(alpha, static_cast<double>(k + 1))) / (1 - alpha);
}

std::int64_t draw_step_tokens(Rng& rng, std::int64_t k, double alpha) {
  std::int64_t n = 1;  // the target's own token
  while (n <= k && rng.uniform() < alpha) ++n;
  return n;
}

ModelShapes mtp_shapes(const ModelSpec& m, const ModelShapes& target) {
  if (m.mtp_layers <= 0)
    throw InputError({}, "--mtp",
                     m.name + " has no multi-token-prediction module (num_nextn_predict_layers): use --draft-model");
  ModelShapes s = target;
  LayerGroup last = target.groups.back();
  last.count = m.mtp_layers;
  last.label = "mtp";
  // eh_proj: [h, 2h], stored in the format of the layer's own projections (bytes per element
  // taken from its first input projection).
  const GemmShape& first = last.attention_in.front();
  const double bytes_per_weight = first.weight_bytes / (first.n * first.k);
  GemmShape eh{"mtp.eh_proj", target.hidden, 2 * target.hidden, bytes_per_weight * 2 * target.hidden * target.hidden};
  last.attention_in.insert(last.attention_in.begin(), eh);
  last.norms += 2;  // enorm and hnorm
  s.groups = {last};
  return s;
}

Bytes shape_weight_bytes(const ModelShapes& s, bool with_embedding_and_head) {
  double bytes = 0;
  for (const LayerGroup& g : s.groups) {
    double layer =
        g.attention_out.weight_bytes + g.norm_weight_bytes / static_cast<double>(std::max<std::int64_t>(1, g.count));
    for (const GemmShape& x : g.attention_in) layer += x.weight_bytes;
    for (const GemmShape& x : g.mlp) layer += x.weight_bytes;
    if (g.moe) {
      layer += g.router.weight_bytes;
      for (const GemmShape& x : g.expert) layer += g.experts * x.weight_bytes;
    }
    bytes += static_cast<double>(g.count) * layer;
  }
  if (with_embedding_and_head) bytes += 2 * s.lm_head.weight_bytes + s.final_norm_bytes;
  return Bytes{static_cast<std::uint64_t>(bytes)};
}

Drafter make_drafter(const DrafterChoice& choice, const ModelSpec& target, const ModelShapes& target_shapes,
                     const GpuSpec& gpu, TimeBasis basis, const Topology& topology, AttentionImpl attention, DType kv,
                     std::int64_t tp) {
  Drafter dr;
  dr.config = choice.config;
  const double kv_bytes = bits_of(kv) / 8.0;
  if (!choice.draft_model) {
    const ModelShapes shapes = mtp_shapes(target, target_shapes);
    dr.name = fmt::format("model's MTP module ({} layer{})", target.mtp_layers, target.mtp_layers == 1 ? "" : "s");
    dr.weights_per_gpu = shape_weight_bytes(shapes, /*with_embedding_and_head=*/false);
    const AttentionShape& at = shapes.attention;
    const double per_layer =
        at.latent_dim > 0 ? at.latent_dim * kv_bytes : at.kv_heads * (at.qk_dim + at.v_dim) * kv_bytes;
    dr.kv_per_token_per_gpu = Bytes{static_cast<std::uint64_t>(per_layer * static_cast<double>(target.mtp_layers))};
    dr.cost = std::make_unique<StepCost>(shapes, ceilings_for(gpu, shapes, basis), topology, attention, kv);
    return dr;
  }
  const ModelSpec& draft = *choice.draft_model;
  const WeightFormat format = default_weight_format(draft);
  if (auto problem = sharding_problem(draft, tp, 1, &format))
    throw InputError({}, "--draft-model", draft.name + " at the target's TP: " + problem->message);
  const ModelShapes shapes = compile_shapes(draft, format, tp);
  dr.name = "draft model " + draft.name;
  dr.weights_per_gpu = stage_weights(draft, format, tp, 1).front();
  dr.kv_per_token_per_gpu = kv_cache_bytes(draft, kv, 1, 1, tp, 0, draft.layers);
  dr.cost = std::make_unique<StepCost>(shapes, ceilings_for(gpu, shapes, basis), topology, attention, kv);
  return dr;
}

SpeculativeEstimate estimate_speculative(StepCost& target, StepCost& drafter, std::int64_t batch, std::int64_t context,
                                         const SpeculativeConfig& c) {
  auto at = [&](std::int64_t b) {
    SpeculativeEstimate e;
    e.expected_tokens = expected_tokens_per_step(c.tokens, c.acceptance);
    e.plain_step_s = target.uniform_decode(b, 1, context).latency;
    e.verify_step_s = target.uniform_decode(b, c.tokens + 1, context + c.tokens).latency;
    // The drafts run at the contexts context .. context + K − 1: one pass at the middle.
    e.draft_s = static_cast<double>(c.tokens) * drafter.uniform_decode(b, 1, context + c.tokens / 2).latency;
    e.tpot_s = (e.draft_s + e.verify_step_s) / e.expected_tokens;
    e.plain_tpot_s = e.plain_step_s;
    return e;
  };
  SpeculativeEstimate e = at(batch);
  auto loses = [&](std::int64_t b) {
    const SpeculativeEstimate x = at(b);
    return x.tpot_s >= x.plain_tpot_s;
  };
  std::int64_t good = 0;  // largest batch known to gain
  for (std::int64_t b = 1; b <= 4096; b *= 2) {
    if (!loses(b)) {
      good = b;
      continue;
    }
    std::int64_t bad = b;
    while (bad - good > 1) {
      const std::int64_t mid = good + (bad - good) / 2;
      (loses(mid) ? bad : good) = mid;
    }
    e.loss_from_batch = bad;
    break;
  }
  return e;
}

}  // namespace ridge
