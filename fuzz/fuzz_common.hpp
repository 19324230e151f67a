// Shared harness contract for the loader fuzzers: any input may be refused with InputError
// (that is the loaders' job); any other exception, crash, leak, UB or hang is a finding.
// OverflowError is an absurd-but-valid combination the CLI maps to exit 2 as well, so it is
// also an accepted outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "error.hpp"
#include "units.hpp"
#include "yaml_io.hpp"

namespace ridge::fuzz {

/// Runs `load(root)` on the parsed input, swallowing the two documented refusals.
template <class Load>
int run_loader(const std::uint8_t* data, std::size_t size, Load&& load) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Node root = parse_document(text, "fuzz-input");
    load(root);
  } catch (const InputError&) {
  } catch (const OverflowError&) {}
  return 0;
}

}  // namespace ridge::fuzz

#include "memory.hpp"

namespace ridge::fuzz {

/// What `ridge models` and `ridge memory` compute first from any model they accept: a model
/// the loader lets through must not overflow or trip UB in the engines.
inline void exercise_model(const ModelSpec& m) {
  (void)count_params(m);
  (void)weight_bytes(m, *weight_format("bf16"));
  (void)kv_bytes_per_token(m, DType::bf16);
  (void)describe_layout(m);
  if (m.checkpoint_format) (void)weight_bytes(m, *m.checkpoint_format);
  (void)kv_cache_bytes(m, DType::bf16, 100'000, 1, 1, 0, m.layers, 16);
  const KvPoolLayout pool = kv_pool_layout(m, DType::bf16, 1, 0, m.layers, 16);
  (void)pool.blocks_per_request(m.max_position, 8192);
  (void)pool.blocks(Bytes{1ULL << 36});
}

}  // namespace ridge::fuzz
