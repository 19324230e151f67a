// for_each_op: the operator list of one phase. A template so that callers that only sum
// (sweeps, the planner, benchmarks) pay no allocation. Included by ops.hpp only.
#pragma once

#include <algorithm>

namespace ridge {

template <class Sink>
void group_attention_ops(const ModelShapes& s, const LayerGroup& g, Phase phase, double batch, double new_tokens,
                         double keys, double pairs, AttentionImpl impl, double kv_bytes, Sink&& sink) {
  const AttentionShape& at = s.attention;
  const double a = s.activation_bytes;
  const double B = batch, T = batch * new_tokens, H = at.q_heads;
  auto out = [&](Op op) {
    op.layers = g.label;
    op.group = static_cast<int>(&g - s.groups.data());
    sink(static_cast<const Op&>(op));
  };
  if (at.latent_dim > 0 && phase == Phase::decode) {
    // Absorbed MLA decode (DeepSeek-V2 §2.1.3, FlashMLA): scores over the cached latent,
    // values in the latent space; the cache is read once per sequence for all heads.
    Op op;
    op.name = "attention_mla";
    op.phase = phase;
    op.unit = OpUnit::gemm16;
    op.count = g.count;
    op.flops = 2.0 * H * pairs * (at.latent_dim + at.latent_v_dim);
    op.bytes_read = B * keys * at.latent_dim * kv_bytes + T * H * at.latent_dim * a;
    op.bytes_written = T * H * at.latent_v_dim * a;
    out(op);
    return;
  }
  const AttentionPass pass{B,        new_tokens, keys, pairs, attention_kv_read_bytes(at, B, keys, a, kv_bytes),
                           g.window, kv_bytes};
  attention_ops(at, phase, g.count, pass, impl, a, out);
}

template <class Sink>
void for_each_op(const ModelShapes& s, const PhaseQuery& q, Sink&& sink) {
  const double B = static_cast<double>(q.batch);
  const double new_tokens = static_cast<double>(q.tokens);
  const double context = static_cast<double>(q.context);
  const double T = B * new_tokens;  // tokens through the weights in this pass
  const double a = s.activation_bytes;
  const double kv_bytes = bits_of(q.kv_dtype) / 8.0;
  const double h = s.hidden;
  const AttentionShape& at = s.attention;
  const bool mla = at.latent_dim > 0;
  const Phase phase = q.phase;

  std::string_view layers;  // the current layer group's label (empty outside the layers)
  int group = -1;           // and its index
  // Every operator leaves through here, tagged with its layer kind.
  auto out = [&](Op op) {
    op.layers = layers;
    op.group = group;
    sink(static_cast<const Op&>(op));
  };
  auto emit = [&](std::string_view name, OpUnit unit, std::int64_t count, double flops, double read, double written,
                  double kernels = 1.0) {
    Op op;
    op.kernels = kernels;
    op.name = name;
    op.phase = phase;
    op.unit = unit;
    op.count = count;
    op.flops = flops;
    op.bytes_read = read;
    op.bytes_written = written;
    out(op);
  };
  // A weight GEMM over `tokens` rows; `weight_reads` copies of the weights are read (MoE: the
  // expected distinct experts).
  auto gemm = [&](const GemmShape& g, std::int64_t count, double tokens, OpUnit unit, double weight_reads = 1.0) {
    const double input_bytes = unit == OpUnit::gemm ? s.gemm_input_bytes : a;
    out(gemm_op(g, phase, unit, count, tokens, input_bytes, a, weight_reads));
  };

  // Weight GEMMs outside the routed experts: 16-bit when only the experts are quantised.
  const OpUnit dense_unit = s.experts_only ? OpUnit::gemm16 : OpUnit::gemm;

  emit("embed_gather", OpUnit::vector, 1, 0.0, T * h * a, T * h * a);

  for (const LayerGroup& g : s.groups) {
    const std::int64_t n = g.count;
    layers = g.label;
    group = static_cast<int>(&g - s.groups.data());
    const double norm_flops = s.layernorm ? 8.0 : 4.0;  // per element: mean/var or rms, scale
    emit("norms", OpUnit::vector, n, g.norms * norm_flops * T * h, g.norms * T * h * a + g.norm_weight_bytes,
         g.norms * T * h * a, g.norms);

    for (const GemmShape& proj : g.attention_in) gemm(proj, n, T, dense_unit);

    // New keys/values (or MLA latents) stored in the KV cache in its own type.
    const double cached_per_token = mla ? at.latent_dim : at.kv_heads * (at.qk_dim + at.v_dim);
    emit("kv_cache_write", OpUnit::vector, n, 0.0, T * cached_per_token * a, T * cached_per_token * kv_bytes,
         /*kernels=*/0.0);

    if (q.with_attention)
      group_attention_ops(s, g, phase, B, new_tokens, g.span(new_tokens, context), B * g.pairs(new_tokens, context),
                          q.attention, kv_bytes, sink);
    gemm(g.attention_out, n, T, dense_unit);
    emit("residual_add", OpUnit::vector, 2 * n, T * h, 2.0 * T * h * a, T * h * a, /*kernels=*/0.0);

    const double act_flops = s.gated ? 4.0 : 8.0;  // silu·mul vs tanh-GELU, per element
    const double act_inputs = s.gated ? 2.0 : 1.0;
    if (g.moe) {
      gemm(g.router, n, T, OpUnit::gemm16);
      double routed = T * g.top_k;
      double touched = expected_distinct_experts(g.experts, g.top_k, T);
      if (s.ep > 1) {
        // Expert parallelism: this GPU runs its ceil(E / ep) experts for every group's tokens
        // that chose them; the step waits for the most loaded GPU.
        const double all = T * s.attention_groups;
        routed = all * g.top_k / s.ep * expert_load_imbalance(all * g.top_k, s.ep);
        touched = expected_distinct_experts(g.experts, g.top_k, all) / s.ep;
      }
      for (const GemmShape& e : g.expert) gemm(e, n, routed, OpUnit::gemm, touched);
      emit("expert_activation", OpUnit::vector, n, act_flops * routed * g.expert_width,
           act_inputs * routed * g.expert_width * a, routed * g.expert_width * a);
    }
    if (!g.mlp.empty()) {
      for (const GemmShape& proj : g.mlp) gemm(proj, n, T, dense_unit);
      emit("mlp_activation", OpUnit::vector, n, act_flops * T * g.mlp_width, act_inputs * T * g.mlp_width * a,
           T * g.mlp_width * a);
    }
  }

  layers = "";
  group = -1;
  emit("final_norm", OpUnit::vector, 1, (s.layernorm ? 8.0 : 4.0) * T * h, T * h * a + s.final_norm_bytes, T * h * a);
  // Logits only for the last token of each sequence (what serving engines compute), in fp32.
  const double logit_rows = q.logit_rows >= 0 ? static_cast<double>(q.logit_rows) : phase == Phase::prefill ? B : T;
  out(gemm_op(s.lm_head, phase, OpUnit::gemm16, 1, logit_rows, a, 4.0));
  // The next token of each sequence from its fp32 logits (greedy: one read of the row; top-p
  // and top-k sort it again, not counted).
  emit("sampling", OpUnit::vector, 1, logit_rows * s.lm_head.n, logit_rows * s.lm_head.n * 4.0, logit_rows * 8.0);
}

}  // namespace ridge
