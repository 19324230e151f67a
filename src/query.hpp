// Decisions shared by every way of describing a deployment (command-line options, deployment
// files): which weight format runs when none is named, what "auto" KV means, and how a GPU
// count splits into TP x PP x replicas. One place each, so `ridge memory` and `ridge check`
// read the same words the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dtype.hpp"
#include "model.hpp"

namespace ridge {

/// The weight format when none is asked for: the checkpoint's own quantization
/// (HF quantization_config), else 16-bit like the checkpoint (fp16 stays fp16, else bf16).
WeightFormat default_weight_format(const ModelSpec& m);

/// KV type for "auto": the weights' unquantised (activation) type, as vLLM's kv_cache_dtype=auto.
DType auto_kv_dtype(const WeightFormat& f);

/// Expert parallelism as vLLM runs it (--enable-expert-parallel, EP = TP x DP): the routed
/// experts of a MoE layer spread over `ep` GPUs, whole; attention and the dense parts run on
/// ep / tp data-parallel groups of TP `tp`, each serving its share of the sequences.
inline std::int64_t attention_groups(std::int64_t ep, std::int64_t tp) { return ep > 1 ? ep / tp : 1; }
/// Sequences one data-parallel group serves: ceil(batch / groups).
inline std::int64_t group_batch(std::int64_t batch, std::int64_t groups) { return (batch + groups - 1) / groups; }

/// GPUs of one replica: TP x PP, or EP x PP under expert parallelism.
inline std::int64_t replica_gpus(std::int64_t tp, std::int64_t pp, std::int64_t ep) { return (ep > tp ? ep : tp) * pp; }

/// Who owns one KV pool, for reports: "per replica", or under expert parallelism "per attention
/// group (8 per replica)": each data-parallel group keeps its own sequences' cache.
std::string kv_pool_owner(std::int64_t tp, std::int64_t ep);

/// GPUs of one deployment: TP x PP (EP x PP under expert parallelism) per replica, times
/// data-parallel replicas.
struct ParallelLayout {
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  std::int64_t ep = 1;
  std::int64_t replicas = 1;
  std::int64_t replica_gpus() const { return ridge::replica_gpus(tp, pp, ep); }
  std::int64_t gpus() const { return replica_gpus() * replicas; }
};

/// `gpus` alone (no TP given, PP 1, no EP) means one tensor-parallel group of that size; with TP
/// given (even `tp: 1`: replicas of one GPU), PP > 1 or EP > 1 it must be a multiple of one
/// replica's GPUs (TP x PP, or EP x PP), the quotient being replicas. nullopt when it is not.
std::optional<ParallelLayout> parallel_layout(std::optional<std::int64_t> gpus, std::int64_t tp, std::int64_t pp,
                                              bool tp_given, std::int64_t ep = 1);

}  // namespace ridge
