// Decisions shared by every way of describing a deployment (command-line options, deployment
// files): which weight format runs when none is named, what "auto" KV means, and how a GPU
// count splits into TP x PP x replicas. One place each, so `ridge memory` and `ridge check`
// read the same words the same way.
#pragma once

#include <cstdint>
#include <optional>

#include "dtype.hpp"
#include "model.hpp"

namespace ridge {

/// The weight format when none is asked for: the checkpoint's own quantization
/// (HF quantization_config), else 16-bit like the checkpoint (fp16 stays fp16, else bf16).
WeightFormat default_weight_format(const ModelSpec& m);

/// KV type for "auto": the weights' unquantised (activation) type, as vLLM's kv_cache_dtype=auto.
DType auto_kv_dtype(const WeightFormat& f);

/// GPUs of one deployment: TP x PP per replica, times data-parallel replicas.
struct ParallelLayout {
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  std::int64_t replicas = 1;
  std::int64_t gpus() const { return tp * pp * replicas; }
};

/// `gpus` alone (no TP given, PP 1) means one tensor-parallel group of that size; with TP given
/// (even `tp: 1`: replicas of one GPU) or PP > 1 it must be a multiple of TP x PP, the quotient
/// being replicas. nullopt when it is not a multiple.
std::optional<ParallelLayout> parallel_layout(std::optional<std::int64_t> gpus, std::int64_t tp, std::int64_t pp,
                                              bool tp_given);

}  // namespace ridge
