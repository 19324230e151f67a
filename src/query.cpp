#include "query.hpp"

namespace ridge {

WeightFormat default_weight_format(const ModelSpec& m) {
  if (m.checkpoint_format) return *m.checkpoint_format;
  return *weight_format(m.dtype == DType::fp16 ? "fp16" : "bf16");
}

DType auto_kv_dtype(const WeightFormat& f) { return f.unquantised; }

std::string kv_pool_owner(std::int64_t tp, std::int64_t ep) {
  const std::int64_t groups = attention_groups(ep, tp);
  return groups > 1 ? "per attention group (" + std::to_string(groups) + " per replica)" : "per replica";
}

std::optional<ParallelLayout> parallel_layout(std::optional<std::int64_t> gpus, std::int64_t tp, std::int64_t pp,
                                              bool tp_given, std::int64_t ep) {
  ParallelLayout l{.tp = tp, .pp = pp, .ep = ep, .replicas = 1};
  if (!gpus) return l;
  if (!tp_given && pp == 1 && ep == 1) {
    l.tp = *gpus;
    return l;
  }
  if (*gpus % l.replica_gpus() != 0) return std::nullopt;
  l.replicas = *gpus / l.replica_gpus();
  return l;
}

}  // namespace ridge
