#include "model.hpp"

#include <string>

namespace ridge {

void validate_model(const ModelSpec& m) {
  auto bad = [&](const std::string& field, const std::string& message) {
    throw InputError(m.location_of(field), field, message);
  };
  if (!m.mla && m.heads % m.kv_heads != 0)
    bad("kv_heads", std::to_string(m.kv_heads) + " does not divide heads (" +
                        std::to_string(m.heads) + ")");
  if (m.kv_heads > m.heads)
    bad("kv_heads", std::to_string(m.kv_heads) + " exceeds heads (" + std::to_string(m.heads) + ")");
  for (auto kind : m.layer_pattern)
    if (kind == LayerAttention::sliding && !m.sliding_window)
      bad("layer_types", "names sliding layers but the model has no sliding_window");
  if (m.layer_pattern.size() > static_cast<std::size_t>(m.layers))
    bad("layer_types", "pattern is longer than the number of layers");
  if (m.moe) {
    if (m.moe->experts_per_token > m.moe->experts)
      bad("moe.experts_per_token", std::to_string(m.moe->experts_per_token) +
                                       " exceeds moe.experts (" + std::to_string(m.moe->experts) +
                                       ")");
    if (m.moe->first_dense_layers > m.layers)
      bad("moe.first_dense_layers", "exceeds the number of layers");
  }
}

}  // namespace ridge
