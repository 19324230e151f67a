#include "query.hpp"

namespace ridge {

WeightFormat default_weight_format(const ModelSpec& m) {
  if (m.checkpoint_format) return *m.checkpoint_format;
  return *weight_format(m.dtype == DType::fp16 ? "fp16" : "bf16");
}

DType auto_kv_dtype(const WeightFormat& f) { return f.unquantised; }

std::optional<ParallelLayout> parallel_layout(std::optional<std::int64_t> gpus, std::int64_t tp, std::int64_t pp,
                                              bool tp_given) {
  ParallelLayout l{tp, pp, 1};
  if (!gpus) return l;
  if (!tp_given && pp == 1) {
    l.tp = *gpus;
    return l;
  }
  if (*gpus % (tp * pp) != 0) return std::nullopt;
  l.replicas = *gpus / (tp * pp);
  return l;
}

}  // namespace ridge
