#include "speculative.hpp"

#include <cmath>

#include "error.hpp"
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
