#include "ops.hpp"

#include <cmath>
#include <cstring>
#include <string>

namespace ridge {

std::string_view to_string(Phase p) { return p == Phase::prefill ? "prefill" : "decode"; }

double expected_distinct_experts(double experts, double top_k, double tokens) {
  if (experts <= 0) return 0;
  return experts * (1.0 - std::pow(1.0 - top_k / experts, tokens));
}

double causal_pairs(double tokens, double context, double window) {
  const double lo = context - tokens + 1;  // position (1-based) of the first new token
  if (window <= 0 || context <= window) return tokens * (lo + context) / 2.0;
  double pairs = 0;
  if (lo <= window) pairs += (window - lo + 1) * (lo + window) / 2.0;  // still inside the window
  const double beyond = context - std::max(lo, window + 1) + 1;         // each sees `window` keys
  return pairs + beyond * window;
}

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// Adds a bias tensor's bytes to the GEMM it belongs to ("attn.q_bias" -> "attn.q_proj").
void add_bias(std::vector<GemmShape>& gemms, GemmShape* single, std::string_view bias, double bytes) {
  const std::string target = std::string(bias.substr(0, bias.size() - std::strlen("bias"))) + "proj";
  if (single && single->name == target) {
    single->weight_bytes += bytes;
    return;
  }
  for (auto& g : gemms) {
    std::string name(g.name);
    // "mlp.up" <- "mlp.up_bias"
    if (name == target || name + "_bias" == std::string(bias)) {
      g.weight_bytes += bytes;
      return;
    }
  }
}

LayerGroup compile_layer(const ModelSpec& m, const WeightFormat& f, std::int64_t layer, std::int64_t tp) {
  LayerGroup g;
  g.sliding = m.layer_attention(layer) == LayerAttention::sliding && m.sliding_window.has_value();
  g.moe = m.is_moe_layer(layer);
  bool expert_seen_down = false;
  for (const WeightTensor& t : layer_tensors(m, layer, tp)) {
    const std::string_view name = t.name;
    const double bytes = tensor_bytes(t, f).as_double();
    const GemmShape shape{name, static_cast<double>(t.rows), static_cast<double>(t.cols), bytes};
    if (name == "norms" || name == "attn.q_a_norm" || name == "attn.kv_a_norm") {
      g.norm_weight_bytes += bytes;
      g.norms += name == "norms" ? static_cast<double>(m.norms_per_layer) : 0.0;
    } else if (name == "attn.o_proj") {
      g.attention_out = shape;
    } else if (name == "attn.o_bias") {
      g.attention_out.weight_bytes += bytes;
    } else if (starts_with(name, "attn.") && name.ends_with("_bias")) {
      add_bias(g.attention_in, nullptr, name, bytes);
    } else if (starts_with(name, "attn.")) {
      g.attention_in.push_back(shape);
    } else if (name == "moe.router") {
      g.router = shape;
    } else if (name == "moe.router_bias") {
      g.router.weight_bytes += bytes;
    } else if (starts_with(name, "moe.expert.")) {
      // The layer lists every expert; one expert's matrices describe them all.
      if (!expert_seen_down) g.expert.push_back(shape);
      if (name == "moe.expert.down") expert_seen_down = true;
    } else if (starts_with(name, "moe.shared.") || starts_with(name, "mlp.")) {
      if (name.ends_with("_bias")) {
        add_bias(g.mlp, nullptr, name, bytes);
      } else {
        g.mlp.push_back(shape);
        if (name.ends_with(".up")) g.mlp_width += shape.n;
      }
    }
  }
  if (g.moe) {
    g.experts = static_cast<double>(m.moe->experts);
    g.top_k = static_cast<double>(m.moe->experts_per_token);
    for (const auto& e : g.expert)
      if (e.name == "moe.expert.up") g.expert_width = e.n;
  }
  return g;
}

}  // namespace

ModelShapes compile_shapes(const ModelSpec& m, const WeightFormat& f, std::int64_t tp) {
  ModelShapes s;
  s.hidden = static_cast<double>(m.hidden_size);
  s.gated = m.gated_mlp;
  s.layernorm = m.norm == NormKind::layernorm;
  s.parallel_attention = m.parallel_attention;
  s.window = m.sliding_window ? static_cast<double>(*m.sliding_window) : 0.0;
  s.activation_bytes = bits_of(f.unquantised) / 8.0;
  s.gemm_input_bytes = f.activations_quantised ? bits_of(f.compute) / 8.0 : s.activation_bytes;
  s.gemm_math = f.compute;
  s.attention_math = f.unquantised;

  AttentionShape& at = s.attention;
  at.q_heads = static_cast<double>(m.heads / tp);
  if (m.mla) {
    at.qk_dim = static_cast<double>(m.mla->qk_nope_head_dim + m.mla->qk_rope_head_dim);
    at.v_dim = static_cast<double>(m.mla->v_head_dim);
    at.latent_dim = static_cast<double>(m.mla->kv_lora_rank + m.mla->qk_rope_head_dim);
    at.latent_v_dim = static_cast<double>(m.mla->kv_lora_rank);
  } else {
    at.kv_heads = static_cast<double>(std::max<std::int64_t>(1, m.kv_heads / tp));
    at.qk_dim = at.v_dim = static_cast<double>(m.head_dim);
  }

  // Group identical layers: same kind (dense/MoE) and same attention (full/sliding).
  for (std::int64_t i = 0; i < m.layers; ++i) {
    const bool sliding = m.layer_attention(i) == LayerAttention::sliding && m.sliding_window.has_value();
    const bool moe = m.is_moe_layer(i);
    bool found = false;
    for (auto& g : s.groups) {
      if (g.sliding == sliding && g.moe == moe) {
        ++g.count;
        found = true;
        break;
      }
    }
    if (!found) {
      s.groups.push_back(compile_layer(m, f, i, tp));
      s.groups.back().count = 1;
    }
  }
  // Layer kinds worth naming in reports: MoE vs dense first, else sliding vs global attention.
  bool any_moe = false, any_dense = false, any_sliding = false, any_global = false;
  for (const LayerGroup& g : s.groups) {
    (g.moe ? any_moe : any_dense) = true;
    (g.sliding ? any_sliding : any_global) = true;
  }
  for (LayerGroup& g : s.groups)
    g.label = any_moe && any_dense         ? (g.moe ? "moe" : "dense")
              : any_sliding && any_global ? (g.sliding ? "sliding" : "global")
                                          : "";

  for (const WeightTensor& t : head_tensors(m, tp, /*separate_stage=*/true)) {
    const double bytes = tensor_bytes(t, f).as_double();
    if (std::string_view(t.name) == "lm_head")
      s.lm_head = GemmShape{"lm_head", static_cast<double>(t.rows), static_cast<double>(t.cols), bytes};
    else
      s.final_norm_bytes += bytes;
  }
  return s;
}

}  // namespace ridge
