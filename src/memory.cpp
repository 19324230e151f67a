#include "memory.hpp"

#include <algorithm>
#include <string>

namespace ridge {
namespace {

using u64 = std::uint64_t;

u64 u(std::int64_t v) { return static_cast<u64>(v); }
u64 ceil_div(u64 a, u64 b) { return (a + b - 1) / b; }
/// Product of counts, overflow-checked: element and byte counts can get large.
u64 mul(std::initializer_list<u64> factors) {
  u64 r = 1;
  for (u64 f : factors) r = checked_mul(r, f);
  return r;
}

void add_attention(std::vector<WeightTensor>& out, const ModelSpec& m, std::int64_t tp) {
  const std::int64_t h = m.hidden_size;
  if (m.mla) {
    const MlaSpec& a = *m.mla;
    const std::int64_t heads = m.heads / tp;
    const std::int64_t qk_dim = a.qk_nope_head_dim + a.qk_rope_head_dim;
    if (a.q_lora_rank > 0) {
      out.push_back({"attn.q_a_proj", a.q_lora_rank, h, true});
      out.push_back({"attn.q_a_norm", a.q_lora_rank, 1, false});
      out.push_back({"attn.q_b_proj", heads * qk_dim, a.q_lora_rank, true});
    } else {
      out.push_back({"attn.q_proj", heads * qk_dim, h, true});
    }
    out.push_back({"attn.kv_a_proj", a.kv_lora_rank + a.qk_rope_head_dim, h, true});
    out.push_back({"attn.kv_a_norm", a.kv_lora_rank, 1, false});
    out.push_back({"attn.kv_b_proj", heads * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank, true});
    out.push_back({"attn.o_proj", h, heads * a.v_head_dim, true});
    return;
  }
  const std::int64_t q_rows = m.heads / tp * m.head_dim;
  const std::int64_t kv_rows = kv_heads_per_rank(m, tp) * m.head_dim;
  out.push_back({"attn.q_proj", q_rows, h, true});
  out.push_back({"attn.k_proj", kv_rows, h, true});
  out.push_back({"attn.v_proj", kv_rows, h, true});
  out.push_back({"attn.o_proj", h, q_rows, true});
  if (m.attention_bias) {
    out.push_back({"attn.q_bias", q_rows, 1, false});
    out.push_back({"attn.k_bias", kv_rows, 1, false});
    out.push_back({"attn.v_bias", kv_rows, 1, false});
  }
  if (m.output_bias) out.push_back({"attn.o_bias", h, 1, false});  // row-parallel: replicated
}

/// Tensor names of one MLP (dense, a routed expert or a shared expert), for the ops compiler.
struct MlpNames {
  const char *gate, *up, *down, *gate_bias, *up_bias, *down_bias;
};
constexpr MlpNames kDenseMlp{"mlp.gate", "mlp.up", "mlp.down", "mlp.gate_bias", "mlp.up_bias", "mlp.down_bias"};
constexpr MlpNames kExpertMlp{"moe.expert.gate",      "moe.expert.up",      "moe.expert.down",
                              "moe.expert.gate_bias", "moe.expert.up_bias", "moe.expert.down_bias"};
constexpr MlpNames kSharedMlp{"moe.shared.gate",      "moe.shared.up",      "moe.shared.down",
                              "moe.shared.gate_bias", "moe.shared.up_bias", "moe.shared.down_bias"};

/// One MLP's tensors, standing for `copies` identical MLPs (the routed experts of a layer).
void add_mlp(std::vector<WeightTensor>& out, const ModelSpec& m, std::int64_t ffn_per_rank, const MlpNames& n,
             bool bias, bool expert = false, std::int64_t copies = 1) {
  const std::int64_t h = m.hidden_size;
  if (m.gated_mlp) out.push_back({n.gate, ffn_per_rank, h, true, expert, copies});
  out.push_back({n.up, ffn_per_rank, h, true, expert, copies});
  out.push_back({n.down, h, ffn_per_rank, true, expert, copies});
  if (bias) {
    if (m.gated_mlp) out.push_back({n.gate_bias, ffn_per_rank, 1, false, expert, copies});
    out.push_back({n.up_bias, ffn_per_rank, 1, false, expert, copies});
    out.push_back({n.down_bias, h, 1, false, expert, copies});
  }
}

std::int64_t norm_elements(const ModelSpec& m) {
  return m.norm == NormKind::layernorm ? 2 * m.hidden_size : m.hidden_size;  // weight (+ bias)
}

std::int64_t shared_expert_width(const MoeSpec& e) {
  return e.shared_expert_ffn_size > 0 ? e.shared_expert_ffn_size : e.expert_ffn_size;
}

}  // namespace

std::vector<WeightTensor> layer_tensors(const ModelSpec& m, std::int64_t layer, std::int64_t tp, std::int64_t ep) {
  const LayerSpec& spec = m.layer(layer);
  std::vector<WeightTensor> out;
  out.reserve(16);
  if (m.norms_per_layer > 0) out.push_back({"norms", norm_elements(m) * m.norms_per_layer, 1, false});
  add_attention(out, m, tp);
  // One RMSNorm weight of head_dim each for queries and keys, shared by the heads (Qwen3
  // q_norm/k_norm): replicated on every rank.
  if (m.qk_norm) out.push_back({"attn.qk_norm", 2 * m.head_dim, 1, false});
  if (spec.sinks) out.push_back({"attn.sinks", m.heads / tp, 1, false});  // one logit per query head
  if (spec.moe) {
    const MoeSpec& e = *m.moe;
    out.push_back({"moe.router", e.experts, m.hidden_size, false});
    if (e.router_bias) out.push_back({"moe.router_bias", e.experts, 1, false});
    if (ep > 1)  // whole experts, ceil(E / ep) of them on the fullest GPU
      add_mlp(out, m, e.expert_ffn_size, kExpertMlp, e.expert_bias, true, (e.experts + ep - 1) / ep);
    else
      add_mlp(out, m, e.expert_ffn_size / tp, kExpertMlp, e.expert_bias, true, e.experts);
    if (e.shared_experts > 0) add_mlp(out, m, shared_expert_width(e) / tp, kSharedMlp, false, false, e.shared_experts);
  } else {
    add_mlp(out, m, spec.ffn_size / tp, kDenseMlp, m.mlp_bias);
  }
  return out;
}

std::vector<WeightTensor> embedding_tensors(const ModelSpec& m, std::int64_t tp) {
  std::vector<WeightTensor> out;
  out.push_back({"embed_tokens", static_cast<std::int64_t>(ceil_div(u(m.vocab_size), u(tp))), m.hidden_size, false});
  if (m.learned_positions) out.push_back({"embed_positions", m.max_position, m.hidden_size, false});
  return out;
}

std::vector<WeightTensor> vision_tensors(const ModelSpec& m, std::int64_t tp) {
  if (m.vision_params == 0) return {};
  return {{"vision_tower", static_cast<std::int64_t>(ceil_div(u(m.vision_params), u(tp))), 1, false}};
}

std::vector<WeightTensor> head_tensors(const ModelSpec& m, std::int64_t tp, bool separate_stage) {
  std::vector<WeightTensor> out;
  out.push_back({"final_norm", norm_elements(m), 1, false});
  if (!m.tie_embeddings || separate_stage)
    out.push_back({"lm_head", static_cast<std::int64_t>(ceil_div(u(m.vocab_size), u(tp))), m.hidden_size, false});
  return out;
}

ParamCount count_params(const ModelSpec& m) {
  auto sum = [](const std::vector<WeightTensor>& ts) {
    std::int64_t s = 0;
    for (const auto& t : ts) s += t.elements() * t.copies;
    return s;
  };
  ParamCount c;
  c.embedding = sum(embedding_tensors(m, 1));
  c.total = c.embedding + sum(head_tensors(m, 1, false));
  std::int64_t idle = 0;  // routed-expert parameters a token does not use
  for (std::int64_t i = 0; i < m.layers; ++i) {
    const std::vector<WeightTensor> tensors = layer_tensors(m, i, 1);
    c.total += sum(tensors);
    if (!m.is_moe_layer(i)) continue;
    std::int64_t experts = 0;  // all routed experts of the layer, biases included
    for (const auto& t : tensors)
      if (std::string_view(t.name).starts_with("moe.expert.")) experts += t.elements() * t.copies;
    idle += experts / m.moe->experts * (m.moe->experts - m.moe->experts_per_token);
  }
  c.active = c.total - idle;
  c.vision = m.vision_params;
  if (m.mtp_layers > 0) {
    const std::int64_t h = m.hidden_size;
    c.mtp = m.mtp_layers * (sum(layer_tensors(m, m.layers - 1, 1)) + 3 * h + 2 * h * h);
  }
  return c;
}

namespace {
Bytes one_copy_bytes(const WeightTensor& t, const WeightFormat& f) {
  const u64 elements = mul({u(t.rows), u(t.cols)});
  const bool quantised = t.quantisable && (t.expert || !f.experts_only);
  if (!quantised || (f.scales == ScaleGranularity::none && f.weight_bits >= 16)) {
    const int bits = quantised ? f.weight_bits : bits_of(f.unquantised);
    return Bytes{mul({elements, u(bits)}) / 8};
  }
  u64 bits = checked_add(mul({elements, u(f.weight_bits)}), u(f.tensor_scale_bits));
  const u64 per_scale = u(f.scale_bits + f.zero_bits);
  switch (f.scales) {
    case ScaleGranularity::none:
      break;
    case ScaleGranularity::tensor:
      bits = checked_add(bits, per_scale);
      break;
    case ScaleGranularity::channel:
      bits = checked_add(bits, mul({u(t.rows), per_scale}));
      break;
    case ScaleGranularity::group:
      bits = checked_add(bits, mul({u(t.rows), ceil_div(u(t.cols), u(f.group_size)), per_scale}));
      break;
    case ScaleGranularity::block:
      bits = checked_add(bits,
                         mul({ceil_div(u(t.rows), u(f.group_size)), ceil_div(u(t.cols), u(f.group_size)), per_scale}));
      break;
  }
  return Bytes{ceil_div(bits, 8)};
}
}  // namespace

Bytes tensor_bytes(const WeightTensor& t, const WeightFormat& f) {
  return Bytes{checked_mul(one_copy_bytes(t, f).value, u(t.copies))};
}

namespace {
Bytes bytes_of(const std::vector<WeightTensor>& ts, const WeightFormat& f) {
  Bytes b;
  for (const auto& t : ts) b += tensor_bytes(t, f);
  return b;
}
}  // namespace

Bytes weight_bytes(const ModelSpec& m, const WeightFormat& f) {
  Bytes b =
      bytes_of(embedding_tensors(m, 1), f) + bytes_of(head_tensors(m, 1, false), f) + bytes_of(vision_tensors(m, 1), f);
  for (std::int64_t i = 0; i < m.layers; ++i) b += bytes_of(layer_tensors(m, i, 1), f);
  return b;
}

std::int64_t kv_heads_per_rank(const ModelSpec& m, std::int64_t tp) {
  return std::max<std::int64_t>(1, m.kv_heads / tp);
}

Bytes memory_budget(const GpuSpec& g, double utilization) {
  return Bytes{static_cast<std::uint64_t>(static_cast<double>(g.memory.value) * utilization)};
}

Bytes kv_bytes_per_token_in_layer(const ModelSpec& m, std::int64_t, DType kv, std::int64_t tp) {
  const u64 bits = u(bits_of(kv));
  if (m.mla) return Bytes{mul({u(m.mla->kv_lora_rank + m.mla->qk_rope_head_dim), bits}) / 8};
  return Bytes{mul({2, u(kv_heads_per_rank(m, tp)), u(m.head_dim), bits}) / 8};
}

std::int64_t cached_tokens(const ModelSpec& m, std::int64_t layer, std::int64_t context, std::int64_t block_size) {
  const LayerSpec& l = m.layer(layer);
  const std::int64_t bs = std::max<std::int64_t>(1, block_size);
  auto whole_blocks = [&](std::int64_t tokens) { return static_cast<std::int64_t>(ceil_div(u(tokens), u(bs))) * bs; };
  const std::int64_t all = whole_blocks(context);
  switch (l.attention) {
    case AttentionKind::global:
      return all;
    // The newest token sees W − 1 cached tokens and itself: W − 1 tokens on whole blocks that
    // need not start at a block boundary, so one block more (vLLM SlidingWindowSpec).
    case AttentionKind::sliding:
      return std::min(all, bs == 1 ? l.window : whole_blocks(l.window - 1) + bs);
    // Chunks start at multiples of C: at most one chunk, on whole blocks.
    case AttentionKind::chunked:
      return std::min(all, whole_blocks(l.window));
  }
  return all;
}

Bytes kv_bytes_per_token(const ModelSpec& m, DType kv) {
  Bytes b;
  for (std::int64_t i = 0; i < m.layers; ++i) b += kv_bytes_per_token_in_layer(m, i, kv, 1);
  return b;
}

Bytes kv_cache_bytes(const ModelSpec& m, DType kv, std::int64_t context, std::int64_t batch, std::int64_t tp,
                     std::int64_t first_layer, std::int64_t layer_count, std::int64_t block_size) {
  Bytes b;
  for (std::int64_t i = first_layer; i < first_layer + layer_count; ++i)
    b += kv_bytes_per_token_in_layer(m, i, kv, tp) * mul({u(cached_tokens(m, i, context, block_size)), u(batch)});
  return b;
}

KvPoolLayout kv_pool_layout(const ModelSpec& m, DType kv, std::int64_t tp, std::int64_t first_layer,
                            std::int64_t layer_count, std::int64_t block_size) {
  KvPoolLayout p;
  p.block_size = block_size;
  // Layers of one TP rank hold the same bytes per token whatever their kind (uniform page).
  p.page = kv_bytes_per_token_in_layer(m, first_layer, kv, tp) * u(block_size);
  // Kinds and groups are vLLM's for the whole model (built once for every pipeline worker).
  std::vector<std::size_t> kind_of(static_cast<std::size_t>(m.layers));
  std::vector<std::int64_t> index_in_kind(static_cast<std::size_t>(m.layers));
  for (std::int64_t i = 0; i < m.layers; ++i) {
    const LayerSpec& l = m.layer(i);
    auto same = [&](const KvPoolLayout::Kind& k) { return k.attention == l.attention && k.window == l.window; };
    auto it = std::find_if(p.kinds.begin(), p.kinds.end(), same);
    if (it == p.kinds.end()) it = p.kinds.insert(p.kinds.end(), {l.attention, l.window, 0, 0});
    kind_of[static_cast<std::size_t>(i)] = static_cast<std::size_t>(it - p.kinds.begin());
    index_in_kind[static_cast<std::size_t>(i)] = it->layers++;
  }
  std::int64_t fewest = m.layers, most = 0;
  for (const auto& k : p.kinds) {
    fewest = std::min(fewest, k.layers);
    most = std::max(most, k.layers);
  }
  // One kind: one group of all layers. Several: the smallest kind's count, or the largest's
  // when the kinds are nearly even (2 * most < 3 * fewest, i.e. most < 1.5 x fewest).
  p.group_size = p.kinds.size() == 1 || 2 * most < 3 * fewest ? most : fewest;
  std::vector<std::int64_t> first_group;  // index of each kind's first group
  for (auto& k : p.kinds) {
    k.groups = static_cast<std::int64_t>(ceil_div(u(k.layers), u(p.group_size)));
    first_group.push_back(p.groups);
    p.groups += k.groups;
  }
  // This worker's layers: the j-th layer of a kind sits in that kind's group j mod groups
  // (vLLM: layers[i::num_groups]); a block spans as many pages as the fullest group has here.
  std::vector<std::int64_t> here(static_cast<std::size_t>(p.groups), 0);
  for (std::int64_t i = first_layer; i < first_layer + layer_count; ++i) {
    const std::size_t k = kind_of[static_cast<std::size_t>(i)];
    ++here[static_cast<std::size_t>(first_group[k] + index_in_kind[static_cast<std::size_t>(i)] % p.kinds[k].groups)];
  }
  p.layers_per_block = std::max<std::int64_t>(1, *std::max_element(here.begin(), here.end()));
  return p;
}

std::int64_t KvPoolLayout::blocks(Bytes pool) const {
  return static_cast<std::int64_t>(pool.value / checked_mul(page.value, u(layers_per_block)));
}

std::int64_t KvPoolLayout::reported_tokens(Bytes pool) const { return blocks(pool) / groups * block_size; }

std::int64_t KvPoolLayout::blocks_per_request(std::int64_t max_model_len, std::int64_t chunk) const {
  if (chunk <= 0) chunk = max_model_len;  // no chunked prefill: a whole prompt in one step
  auto cdiv = [&](std::int64_t n) { return static_cast<std::int64_t>(ceil_div(u(n), u(block_size))); };
  std::int64_t blocks = 0;
  for (const auto& k : kinds) {
    std::int64_t per_group = cdiv(max_model_len);
    if (k.attention == AttentionKind::sliding) per_group = cdiv(std::min(k.window - 1 + chunk, max_model_len)) + 1;
    if (k.attention == AttentionKind::chunked) per_group = cdiv(std::min(k.window + chunk, max_model_len));
    blocks += k.groups * per_group;
  }
  return blocks;
}

std::int64_t KvPoolLayout::blocks_held(std::int64_t computed, std::int64_t new_tokens) const {
  const std::int64_t end = computed + new_tokens;  // tokens [0, end) may be attended
  if (end <= 0) return 0;
  // Blocks covering tokens [first, end): from the block of `first` to the block of end − 1.
  auto spanning = [&](std::int64_t first) { return (end - 1) / block_size - first / block_size + 1; };
  std::int64_t blocks = 0;
  for (const auto& k : kinds) {
    std::int64_t first = 0;
    if (k.attention == AttentionKind::sliding) first = std::max<std::int64_t>(0, computed - k.window + 1);
    if (k.attention == AttentionKind::chunked) first = computed / k.window * k.window;
    blocks += k.groups * spanning(std::min(first, end - 1));
  }
  return blocks;
}

std::int64_t tokens_per_pass(std::int64_t batch, std::int64_t context, std::int64_t prefill_chunk) {
  const u64 all = mul({u(batch), u(context)});
  if (prefill_chunk > 0) return static_cast<std::int64_t>(std::min(all, u(prefill_chunk)));
  return static_cast<std::int64_t>(all);
}

Bytes layer_activation_bytes(const ModelSpec& m, std::int64_t layer, const ActivationQuery& q) {
  const u64 T = u(tokens_per_pass(q));
  const u64 a = u(q.activation_bytes);
  const u64 h = u(m.hidden_size);
  const u64 heads = u(m.heads / q.tp);

  // Residual stream and the normalised copy fed to the block.
  const u64 residual = mul({2, T, h, a});

  // Attention intermediates: projections in, output out.
  u64 attention;
  if (m.mla) {
    const MlaSpec& x = *m.mla;
    const u64 qk = u(x.qk_nope_head_dim + x.qk_rope_head_dim);
    attention = mul({T, a,
                     checked_add(checked_add(mul({heads, qk}), u(x.kv_lora_rank + x.qk_rope_head_dim)),
                                 checked_add(mul({heads, qk + u(x.v_head_dim)}), mul({heads, u(x.v_head_dim)})))});
  } else {
    const u64 kv = u(kv_heads_per_rank(m, q.tp));
    attention = mul({T, a, u(m.head_dim), checked_add(mul({2, heads}), mul({2, kv}))});  // Q, O, K, V
  }
  // Scores: naive materialises scores and probabilities (T × keys per head); flash keeps them
  // on chip and stores one fp32 log-sum-exp per query row.
  const u64 keys = u(q.context);
  if (q.attention == AttentionImpl::naive)
    attention = checked_add(attention, mul({2, heads, T, keys, a}));
  else
    attention = checked_add(attention, mul({heads, T, 4}));

  // MLP intermediates: gate and up outputs and their product (gated), or up and act (plain).
  const u64 per_token_matrices = m.gated_mlp ? 3 : 2;
  u64 mlp;
  if (m.is_moe_layer(layer)) {
    const MoeSpec& e = *m.moe;
    const u64 width = checked_add(mul({u(e.experts_per_token), u(e.expert_ffn_size / q.tp)}),
                                  mul({u(e.shared_experts), u(shared_expert_width(e) / q.tp)}));
    const u64 routed = mul({T, width, per_token_matrices, a});
    mlp = checked_add(routed, mul({T, u(e.experts), 4}));  // + fp32 router logits
  } else {
    mlp = mul({T, u(m.layer(layer).ffn_size / q.tp), per_token_matrices, a});
  }
  return Bytes{checked_add(residual, std::max(attention, mlp))};
}

Bytes logits_bytes(const ModelSpec& m, const ActivationQuery& q) {
  return Bytes{mul({u(q.batch), ceil_div(u(m.vocab_size), u(q.tp)), 4})};
}

std::vector<std::int64_t> pipeline_split(std::int64_t layers, std::int64_t pp) {
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(pp), layers / pp);
  for (std::int64_t i = 0; i < layers % pp; ++i) ++sizes[static_cast<std::size_t>(i)];
  return sizes;
}

namespace {

std::optional<ShardingProblem> format_problem(const ModelSpec& m, const WeightFormat& f, std::int64_t tp,
                                              bool experts_whole) {
  if (f.experts_only && !m.moe)
    return ShardingProblem{"--precision", f.name + " quantises routed experts only and " + m.name +
                                              " has none: nothing would be quantised (use mxfp4)"};
  if (f.scales != ScaleGranularity::block) return std::nullopt;
  const std::int64_t block = f.group_size;
  auto split = [&](const std::string& what, std::int64_t width) -> std::optional<ShardingProblem> {
    if ((width / tp) % block == 0) return std::nullopt;
    return ShardingProblem{"--tp", std::to_string(tp) + " leaves " + std::to_string(width / tp) + " of the " + what +
                                       " " + std::to_string(width) + " per GPU, not whole " + f.name + " blocks of " +
                                       std::to_string(block) + " (vLLM refuses to load it)"};
  };
  for (const LayerSpec& l : m.layer_specs)
    if (!l.moe)
      if (auto p = split("FFN width", l.ffn_size)) return p;
  if (m.moe) {
    if (!experts_whole)
      if (auto p = split("expert FFN width", m.moe->expert_ffn_size)) return p;
    // vLLM runs the shared experts as one MLP of their summed width.
    if (m.moe->shared_experts > 0)
      if (auto p = split("shared-expert width", m.moe->shared_experts * shared_expert_width(*m.moe))) return p;
  }
  if (!m.mla)
    if (auto p = split("query width", m.heads * m.head_dim)) return p;
  return std::nullopt;
}

}  // namespace

std::optional<ShardingProblem> sharding_problem(const ModelSpec& m, std::int64_t tp, std::int64_t pp,
                                                const WeightFormat* format, std::int64_t ep) {
  if (format) {
    if (auto problem = sharding_problem(m, tp, pp, nullptr, ep)) return problem;
    return format_problem(m, *format, tp, ep > 1);
  }
  const std::string where = " of " + m.name;
  if (m.heads % tp != 0)
    return ShardingProblem{
        "--tp", std::to_string(tp) + " does not divide the " + std::to_string(m.heads) + " attention heads" + where};
  if (!m.mla && m.kv_heads % tp != 0 && tp % m.kv_heads != 0)
    return ShardingProblem{"--tp", std::to_string(tp) + " neither divides nor is a multiple of the " +
                                       std::to_string(m.kv_heads) + " KV heads" + where};
  for (const LayerSpec& l : m.layer_specs)
    if (!l.moe && l.ffn_size % tp != 0)
      return ShardingProblem{
          "--tp", std::to_string(tp) + " does not divide the FFN size " + std::to_string(l.ffn_size) + where};
  if (m.moe && ep == 1 && m.moe->expert_ffn_size % tp != 0)
    return ShardingProblem{"--tp", std::to_string(tp) + " does not divide the expert FFN size " +
                                       std::to_string(m.moe->expert_ffn_size) + where};
  if (m.moe && m.moe->shared_experts > 0 && shared_expert_width(*m.moe) % tp != 0)
    return ShardingProblem{"--tp", std::to_string(tp) + " does not divide the shared-expert FFN size " +
                                       std::to_string(shared_expert_width(*m.moe)) + where};
  if (pp > m.layers)
    return ShardingProblem{"--pp", std::to_string(pp) + " stages for " + std::to_string(m.layers) + " layers" + where};
  return std::nullopt;
}

void check_sharding(const ModelSpec& m, std::int64_t tp, std::int64_t pp, const WeightFormat* format, std::int64_t ep) {
  if (auto problem = sharding_problem(m, tp, pp, format, ep)) throw InputError({}, problem->option, problem->message);
}

std::vector<Bytes> stage_weights(const ModelSpec& m, const WeightFormat& f, std::int64_t tp, std::int64_t pp,
                                 std::int64_t ep) {
  std::vector<Bytes> weights;
  std::int64_t first = 0;
  const auto sizes = pipeline_split(m.layers, pp);
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    Bytes w;
    const bool is_first = s == 0, is_last = s + 1 == sizes.size();
    if (is_first) w += bytes_of(embedding_tensors(m, tp), f) + bytes_of(vision_tensors(m, tp), f);
    for (std::int64_t i = first; i < first + sizes[s]; ++i) w += bytes_of(layer_tensors(m, i, tp, ep), f);
    if (is_last) w += bytes_of(head_tensors(m, tp, !is_first), f);
    weights.push_back(w);
    first += sizes[s];
  }
  return weights;
}

std::vector<StageMemory> stage_memory(const ModelSpec& m, const MemoryQuery& q) {
  return stage_memory(m, q, stage_weights(m, q.weights, q.tp, q.pp, q.ep));
}

std::vector<StageMemory> stage_memory(const ModelSpec& m, const MemoryQuery& q, const std::vector<Bytes>& weights) {
  // Under expert parallelism each attention group holds its share of the sequences.
  const std::int64_t batch = group_batch(q.batch, attention_groups(q.ep, q.tp));
  const ActivationQuery act{batch, q.context, q.prefill_chunk, q.attention, q.tp, bits_of(q.weights.unquantised) / 8};
  std::vector<StageMemory> stages;
  std::int64_t first = 0;
  const auto sizes = pipeline_split(m.layers, q.pp);
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    StageMemory st;
    st.first_layer = first;
    st.layers = sizes[s];
    st.weights = weights[s];
    Bytes peak;
    for (std::int64_t i = first; i < first + st.layers; ++i) peak = std::max(peak, layer_activation_bytes(m, i, act));
    if (s + 1 == sizes.size()) peak += logits_bytes(m, act);
    st.activations = peak;
    st.kv_cache = kv_cache_bytes(m, q.kv_dtype, q.context, batch, q.tp, first, st.layers, q.block_size);
    st.overhead = q.overhead;
    stages.push_back(st);
    first += st.layers;
  }
  return stages;
}

namespace {

bool all_fit(const std::vector<StageMemory>& stages, Bytes budget) {
  for (const auto& s : stages)
    if (s.total() > budget) return false;
  return true;
}

/// Largest v in [lo, hi] with ok(v), given ok is monotone (true then false); lo - 1 if none.
template <class Pred>
std::int64_t largest_true(std::int64_t lo, std::int64_t hi, Pred ok) {
  std::int64_t best = lo - 1;
  while (lo <= hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (ok(mid)) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

/// Fits, treating byte-count overflow at absurd sizes as "does not fit".
bool fits_at(const ModelSpec& m, const MemoryQuery& q, const std::vector<Bytes>& weights, Bytes budget) {
  try {
    return all_fit(stage_memory(m, q, weights), budget);
  } catch (const OverflowError&) {
    return false;
  }
}

}  // namespace

std::optional<ShardingProblem> expert_parallel_problem(const ModelSpec& m, std::int64_t tp, std::int64_t ep) {
  if (ep == 1) return std::nullopt;
  if (!m.moe) return ShardingProblem{"--ep", m.name + " has no routed experts to spread"};
  if (ep % tp != 0)
    return ShardingProblem{"--ep", std::to_string(ep) + " is not a multiple of TP " + std::to_string(tp) +
                                       " (EP = TP x attention data-parallel groups, as vLLM's)"};
  if (ep > m.moe->experts)
    return ShardingProblem{"--ep", std::to_string(ep) + " GPUs for " + std::to_string(m.moe->experts) + " experts of " +
                                       m.name + ": some would hold none"};
  return std::nullopt;
}

MemoryEstimate estimate_memory(const ModelSpec& m, const GpuSpec& g, const MemoryQuery& q) {
  check_sharding(m, q.tp, q.pp, &q.weights, q.ep);
  if (auto problem = expert_parallel_problem(m, q.tp, q.ep)) throw InputError({}, problem->option, problem->message);
  const std::int64_t groups = attention_groups(q.ep, q.tp);
  MemoryEstimate e;
  e.params = count_params(m);
  e.weights = weight_bytes(m, q.weights);
  e.kv_per_token = kv_bytes_per_token(m, q.kv_dtype);
  e.kv_cache = kv_cache_bytes(m, q.kv_dtype, q.context, q.batch, 1, 0, m.layers, q.block_size);
  const std::vector<Bytes> weights = stage_weights(m, q.weights, q.tp, q.pp, q.ep);
  e.stages = stage_memory(m, q, weights);
  e.budget_per_gpu = memory_budget(g, q.memory_utilization);
  for (std::size_t s = 0; s < e.stages.size(); ++s) {
    e.total += e.stages[s].total() * u(q.tp * groups);
    if (e.stages[s].total() > e.stages[e.worst_stage].total()) e.worst_stage = s;
  }
  e.fits = all_fit(e.stages, e.budget_per_gpu);

  // Paged KV capacity as vLLM reports it: each stage's pool in blocks of its layout; the
  // deployment holds what its tightest stage holds (vLLM takes the smallest num_blocks).
  // vLLM's max_num_batched_tokens: the prefill chunk; without chunking (0) a whole request's
  // prompt, which blocks_per_request takes as the request's own length.
  const std::int64_t chunk = q.max_num_batched_tokens > 0 ? q.max_num_batched_tokens : q.prefill_chunk;
  std::vector<std::pair<KvPoolLayout, std::int64_t>> pools;  // layout and blocks per stage
  bool first_stage = true;
  for (const auto& s : e.stages) {
    const auto stage_index = static_cast<std::size_t>(&s - e.stages.data());
    const Bytes used = s.weights + s.activations + s.overhead;
    const Bytes pool = saturating_sub(e.budget_per_gpu, used);
    const KvPoolLayout layout = kv_pool_layout(m, q.kv_dtype, q.tp, s.first_layer, s.layers, q.block_size);
    const std::int64_t tokens = layout.reported_tokens(pool);
    if (first_stage || tokens < e.kv_capacity_tokens) {
      e.kv_capacity_tokens = tokens;
      e.kv_capacity_blocks = layout.blocks(pool);
      e.kv_pool_per_gpu = pool;
      e.kv_pool_stage = stage_index;
      e.kv_groups = layout.groups;
      e.kv_group_size = layout.group_size;
    }
    pools.emplace_back(layout, layout.blocks(pool));
    first_stage = false;
  }
  auto starts_with = [&](std::int64_t max_model_len) {
    for (const auto& [layout, blocks] : pools)
      if (layout.blocks_per_request(max_model_len, chunk) > blocks) return false;
    return true;
  };
  e.max_model_len_limit = std::max<std::int64_t>(0, largest_true(1, m.max_position, starts_with));
  e.max_concurrency = 1e300;
  for (const auto& [layout, blocks] : pools)
    e.max_concurrency =
        std::min(e.max_concurrency, static_cast<double>(groups) * static_cast<double>(blocks) /
                                        static_cast<double>(layout.blocks_per_request(q.context, chunk)));

  // Capacity searches evaluate the same stage model, so "fits" and the limits agree.
  // Sequences occupy whole blocks: a context rounds up to the block size.
  auto rounded = [&](std::int64_t n) {
    return static_cast<std::int64_t>(ceil_div(u(n), u(q.block_size))) * q.block_size;
  };
  MemoryQuery probe = q;
  probe.context = rounded(q.context);
  e.max_batch = std::max<std::int64_t>(0, largest_true(1, 1'000'000'000, [&](std::int64_t b) {
                                         probe.batch = b;
                                         return fits_at(m, probe, weights, e.budget_per_gpu);
                                       }));
  probe = q;
  e.max_context = std::max<std::int64_t>(0, largest_true(1, m.max_position, [&](std::int64_t n) {
                                           probe.context = rounded(n);
                                           return fits_at(m, probe, weights, e.budget_per_gpu);
                                         }));
  e.max_context_model_limited = e.max_context == m.max_position;
  return e;
}

}  // namespace ridge
