#include "model.hpp"

#include <algorithm>
#include <string>

namespace ridge {

std::string_view to_string(AttentionKind k) {
  switch (k) {
    case AttentionKind::global:
      return "global";
    case AttentionKind::sliding:
      return "sliding";
    case AttentionKind::chunked:
      return "chunked";
  }
  return "?";
}

std::int64_t ModelSpec::moe_layer_count() const {
  return std::count_if(layer_specs.begin(), layer_specs.end(), [](const LayerSpec& l) { return l.moe; });
}

bool ModelSpec::has_local_attention() const {
  return std::any_of(layer_specs.begin(), layer_specs.end(),
                     [](const LayerSpec& l) { return l.attention != AttentionKind::global; });
}

std::string describe_layout(const ModelSpec& m) {
  struct Kind {
    AttentionKind attention;
    std::int64_t window;
    bool rope;
    std::int64_t count;
  };
  std::vector<Kind> kinds;
  for (const LayerSpec& l : m.layer_specs) {
    auto it = std::find_if(kinds.begin(), kinds.end(), [&](const Kind& k) {
      return k.attention == l.attention && k.window == l.window && k.rope == l.rope;
    });
    if (it != kinds.end())
      ++it->count;
    else
      kinds.push_back({l.attention, l.window, l.rope, 1});
  }
  std::string out;
  for (const Kind& k : kinds) {
    if (!out.empty()) out += " + ";
    out += std::to_string(k.count) + " " + std::string(to_string(k.attention));
    if (k.attention != AttentionKind::global) out += " (" + std::to_string(k.window) + ")";
    if (!k.rope) out += " NoPE";
  }
  if (m.mla) out += " MLA";
  out += "; ";
  const std::int64_t moe = m.moe_layer_count(), dense = m.layers - moe;
  if (moe == 0) return out + "dense";
  if (dense > 0) out += std::to_string(dense) + " dense + ";
  out += std::to_string(moe) + " MoE (" + std::to_string(m.moe->experts) + " experts, top-" +
         std::to_string(m.moe->experts_per_token);
  if (m.moe->shared_experts > 0) out += ", " + std::to_string(m.moe->shared_experts) + " shared";
  return out + ")";
}

std::vector<LayerSpec> repeat_layout(const std::vector<LayerSpec>& pattern, std::int64_t layers) {
  std::vector<LayerSpec> out;
  if (pattern.empty()) return out;
  out.reserve(static_cast<std::size_t>(layers));
  for (std::int64_t i = 0; i < layers; ++i) out.push_back(pattern[static_cast<std::size_t>(i) % pattern.size()]);
  return out;
}

void validate_model(const ModelSpec& m) {
  auto bad = [&](const std::string& field, const std::string& message) {
    throw InputError(m.location_of(field), m.key_of(field), message);
  };
  if (!m.mla && m.heads % m.kv_heads != 0)
    bad("kv_heads",
        std::to_string(m.kv_heads) + " does not divide " + m.key_of("heads") + " (" + std::to_string(m.heads) + ")");
  if (m.kv_heads > m.heads)
    bad("kv_heads",
        std::to_string(m.kv_heads) + " exceeds " + m.key_of("heads") + " (" + std::to_string(m.heads) + ")");
  if (m.layer_specs.size() != static_cast<std::size_t>(m.layers))
    bad("layout",
        "describes " + std::to_string(m.layer_specs.size()) + " layers; the model has " + std::to_string(m.layers));
  for (const LayerSpec& l : m.layer_specs) {
    if (l.attention != AttentionKind::global && l.window <= 0)
      bad("layout", std::string(to_string(l.attention)) + " attention needs a window of at least 1 token");
    if (l.moe && !m.moe) bad("layout", "names an MoE layer but the model has no moe block");
    if (!l.moe && l.ffn_size <= 0) bad("layout", "a dense layer needs ffn_size of at least 1");
  }
  if (m.moe) {
    if (m.moe->experts_per_token > m.moe->experts)
      bad("moe.experts_per_token",
          std::to_string(m.moe->experts_per_token) + " exceeds moe.experts (" + std::to_string(m.moe->experts) + ")");
    if (m.moe_layer_count() == 0)
      bad("moe", "no layer of the layout is an MoE layer: give layers mlp: moe, or drop the moe block");
  }
}

}  // namespace ridge
