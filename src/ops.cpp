#include "ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace ridge {

std::string_view to_string(Phase p) { return p == Phase::prefill ? "prefill" : "decode"; }

namespace {
/// Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation, relative error
/// below 1.2e-9 over (0, 1)).
double inverse_normal_cdf(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  const double low = 0.02425;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -inverse_normal_cdf(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
}  // namespace

double expert_load_imbalance(double choices, double ranks) {
  if (ranks <= 1 || choices <= 0) return 1.0;
  const double mean = choices / ranks;
  const double sd = std::sqrt(choices * (1 / ranks) * (1 - 1 / ranks));
  const double z = inverse_normal_cdf((ranks - 0.375) / (ranks + 0.25));
  return std::min(ranks, (mean + z * sd) / mean);
}

double expected_distinct_experts(double experts, double top_k, double tokens) {
  if (experts <= 0) return 0;
  return experts * (1.0 - std::pow(1.0 - top_k / experts, tokens));
}

double causal_pairs(double tokens, double context, double window) {
  const double lo = context - tokens + 1;  // position (1-based) of the first new token
  if (window <= 0 || context <= window) return tokens * (lo + context) / 2.0;
  double pairs = 0;
  if (lo <= window) pairs += (window - lo + 1) * (lo + window) / 2.0;  // still inside the window
  const double beyond = context - std::max(lo, window + 1) + 1;        // each sees `window` keys
  return pairs + beyond * window;
}

double chunked_pairs(double tokens, double context, double chunk) {
  auto prefix = [&](double n) {  // Σ_{p=1..n} ((p − 1) mod C) + 1
    const double full = std::floor(n / chunk), r = n - full * chunk;
    return full * chunk * (chunk + 1) / 2 + r * (r + 1) / 2;
  };
  return prefix(context) - prefix(context - tokens);
}

double LayerGroup::span(double tokens, double context) const {
  switch (attention) {
    case AttentionKind::global:
      return context;
    case AttentionKind::sliding:
      return std::min(context, tokens + window - 1);
    case AttentionKind::chunked:
      return context - std::floor((context - tokens) / window) * window;
  }
  return context;
}

double LayerGroup::pairs(double tokens, double context) const {
  switch (attention) {
    case AttentionKind::global:
      return causal_pairs(tokens, context, 0);
    case AttentionKind::sliding:
      return causal_pairs(tokens, context, window);
    case AttentionKind::chunked:
      return chunked_pairs(tokens, context, window);
  }
  return causal_pairs(tokens, context, 0);
}

std::vector<DecodePiece> decode_pieces(const LayerGroup* g, std::int64_t first, std::int64_t last) {
  if (g && g->attention == AttentionKind::sliding) {
    const auto w = static_cast<std::int64_t>(g->window);
    if (first <= w && w < last) return {{first, w, 1}, {w + 1, last, 1}};
  }
  if (g && g->attention == AttentionKind::chunked) {
    const auto c = static_cast<std::int64_t>(g->window);
    const std::int64_t first_end = (first + c - 1) / c * c;  // end of the chunk holding `first`
    if (last <= first_end) return {{first, last, 1}};
    std::vector<DecodePiece> pieces{{first, first_end, 1}};
    const std::int64_t full_end = last / c * c;  // end of the last complete chunk in range
    if (full_end > first_end) pieces.push_back({first_end + 1, first_end + c, (full_end - first_end) / c});
    if (full_end < last) pieces.push_back({full_end + 1, last, 1});
    return pieces;
  }
  return {{first, last, 1}};
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

/// GEMMs of one list that read the same input (same k) run fused: each gets the fused n.
void mark_fused(std::vector<GemmShape>& gemms) {
  for (GemmShape& g : gemms) {
    double n = 0;
    int parts = 0;
    for (const GemmShape& other : gemms)
      if (other.k == g.k) {
        n += other.n;
        ++parts;
      }
    g.fused_n = parts > 1 ? n : 0;
  }
}

LayerGroup compile_layer(const ModelSpec& m, const WeightFormat& f, std::int64_t layer, std::int64_t tp,
                         std::int64_t ep) {
  const LayerSpec& spec = m.layer(layer);
  LayerGroup g;
  g.attention = spec.attention;
  g.window = static_cast<double>(spec.window);
  g.moe = spec.moe;
  for (const WeightTensor& t : layer_tensors(m, layer, tp, ep)) {
    const std::string_view name = t.name;
    // A routed expert's matrices describe each of the layer's experts (one copy); shared
    // experts run for every token, as one MLP of their summed width.
    const bool routed = starts_with(name, "moe.expert.");
    const double bytes = tensor_bytes(t, f).as_double() / (routed ? static_cast<double>(t.copies) : 1.0);
    const double widen = routed ? 1.0 : static_cast<double>(t.copies);
    const bool down = name.ends_with(".down");
    const GemmShape shape{name, static_cast<double>(t.rows) * (down ? 1.0 : widen),
                          static_cast<double>(t.cols) * (down ? widen : 1.0), bytes};
    if (name == "norms" || name == "attn.q_a_norm" || name == "attn.kv_a_norm" || name == "attn.qk_norm" ||
        name == "attn.sinks") {
      // Small per-layer vectors, read once per pass with the norms.
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
    } else if (routed) {
      if (name.ends_with("_bias"))
        add_bias(g.expert, nullptr, name, bytes);
      else
        g.expert.push_back(shape);
    } else if (starts_with(name, "moe.shared.") || starts_with(name, "mlp.")) {
      if (name.ends_with("_bias")) {
        add_bias(g.mlp, nullptr, name, bytes);
      } else {
        g.mlp.push_back(shape);
        if (name.ends_with(".up")) g.mlp_width += shape.n;
      }
    }
  }
  mark_fused(g.attention_in);
  mark_fused(g.mlp);
  mark_fused(g.expert);
  if (g.moe) {
    g.experts = static_cast<double>(m.moe->experts);
    g.top_k = static_cast<double>(m.moe->experts_per_token);
    for (const auto& e : g.expert)
      if (e.name == "moe.expert.up") g.expert_width = e.n;
  }
  return g;
}

/// Report label of a layer kind: the parts that vary between the model's layers.
std::string_view layer_label(AttentionKind attention, bool moe, bool attention_varies, bool mlp_varies) {
  static constexpr std::string_view kBoth[3][2] = {
      {"global dense", "global moe"}, {"sliding dense", "sliding moe"}, {"chunked dense", "chunked moe"}};
  static constexpr std::string_view kAttention[3] = {"global", "sliding", "chunked"};
  const auto a = static_cast<std::size_t>(attention);
  if (attention_varies && mlp_varies) return kBoth[a][moe ? 1 : 0];
  if (attention_varies) return kAttention[a];
  if (mlp_varies) return moe ? "moe" : "dense";
  return "";
}

}  // namespace

ModelShapes compile_shapes(const ModelSpec& m, const WeightFormat& f, std::int64_t tp, std::int64_t ep) {
  ModelShapes s;
  if (m.moe) s.top_k = static_cast<double>(m.moe->experts_per_token);
  if (ep > 1) {
    s.ep = static_cast<double>(ep);
    s.attention_groups = static_cast<double>(attention_groups(ep, tp));
  }
  s.hidden = static_cast<double>(m.hidden_size);
  s.gated = m.gated_mlp;
  s.layernorm = m.norm == NormKind::layernorm;
  s.parallel_attention = m.parallel_attention;
  s.activation_bytes = bits_of(f.unquantised) / 8.0;
  s.gemm_input_bytes = f.activations_quantised ? bits_of(f.compute) / 8.0 : s.activation_bytes;
  s.gemm_math = f.compute;
  s.attention_math = f.unquantised;
  s.fp4_weights = f.fp4_weights;
  s.experts_only = f.experts_only;
  s.format = f.name;

  AttentionShape& at = s.attention;
  at.q_heads = static_cast<double>(m.heads / tp);
  if (m.mla) {
    at.qk_dim = static_cast<double>(m.mla->qk_nope_head_dim + m.mla->qk_rope_head_dim);
    at.v_dim = static_cast<double>(m.mla->v_head_dim);
    at.latent_dim = static_cast<double>(m.mla->kv_lora_rank + m.mla->qk_rope_head_dim);
    at.latent_v_dim = static_cast<double>(m.mla->kv_lora_rank);
  } else {
    at.kv_heads = static_cast<double>(kv_heads_per_rank(m, tp));
    at.qk_dim = at.v_dim = static_cast<double>(m.head_dim);
  }

  // Group identical layers: the same LayerSpec compiles to the same shapes.
  std::vector<const LayerSpec*> kinds;
  for (std::int64_t i = 0; i < m.layers; ++i) {
    const LayerSpec& spec = m.layer(i);
    auto found = std::find_if(kinds.begin(), kinds.end(), [&](const LayerSpec* k) { return *k == spec; });
    if (found != kinds.end()) {
      ++s.groups[static_cast<std::size_t>(found - kinds.begin())].count;
    } else {
      kinds.push_back(&spec);
      s.groups.push_back(compile_layer(m, f, i, tp, ep));
      s.groups.back().count = 1;
    }
  }
  // Layer kinds worth naming in reports: whatever varies, the attention kind and dense vs MoE.
  bool attention_varies = false, mlp_varies = false;
  for (const LayerGroup& g : s.groups) {
    attention_varies = attention_varies || g.attention != s.groups.front().attention;
    mlp_varies = mlp_varies || g.moe != s.groups.front().moe;
  }
  for (LayerGroup& g : s.groups) g.label = layer_label(g.attention, g.moe, attention_varies, mlp_varies);

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
