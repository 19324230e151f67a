// The planner: searches GPU type × weight precision × KV precision × TP × PP (× EP for MoE
// models) × replicas × batch
// for the cheapest deployment that fits in memory and meets the latency and throughput targets,
// with the same memory and roofline engines as `ridge memory` and `ridge roofline`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "time_basis.hpp"
#include "dtype.hpp"
#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"
#include "speculative.hpp"
#include "units.hpp"

namespace ridge {

struct PlanRequest {
  std::vector<GpuSpec> gpus;
  std::int64_t prompt = 1024;
  std::int64_t gen = 256;
  std::optional<std::int64_t> batch;        ///< sequences per replica, fixed
  std::optional<std::int64_t> concurrency;  ///< sequences in flight over all replicas
  std::optional<Seconds> max_ttft;
  std::optional<Seconds> max_tpot;
  std::optional<double> min_throughput;  ///< generated tokens/s over all replicas
  std::int64_t max_gpus = 64;
  bool allow_int4 = false;
  std::vector<WeightFormat> weight_formats;  ///< empty: 16-bit, fp8 (where supported), int8 [, int4]
  std::vector<DType> kv_dtypes;              ///< empty: 16-bit, fp8, int8
  double memory_utilization = 0.9;
  AttentionImpl attention = AttentionImpl::flash;
  std::int64_t prefill_chunk = kDefaultPrefillChunk;  ///< tokens per prefill pass for activation memory (0: all)
  double inter_node_bandwidth = 0;                    ///< B/s; 0: each GPU file's (else 50 GB/s)
  double cost_tolerance = 0.10;                       ///< prefer lower quality risk within this of the cheapest
  /// Requests/s over all replicas (Poisson arrivals of prompt + gen tokens): plans are judged
  /// by simulating each candidate under its share of the load (`ridge serve`), the SLOs at
  /// `slo_percentile`; replicas are added until each one's share meets them.
  std::optional<double> rate;
  int slo_percentile = 99;
  std::int64_t sim_requests = 1000;  ///< requests per simulated run
  std::uint64_t seed = 0;
  std::size_t top_simulated = 10;
  /// Rank by dollars per million output tokens when every GPU has a price (else GPU-hours);
  /// false: by GPU-hours whatever the prices.
  bool rank_by_usd = true;  ///< plans found before cheaper-bound candidates stop being simulated
  /// Speculative decoding (a draft model or the model's MTP module): plans without pipeline
  /// parallelism carry the drafter's weights and cache and decode speculatively where that is
  /// faster (static batches) or always (planned by load, as a server configured for it does).
  std::optional<DrafterChoice> speculation;
  /// Planning by load: also search disaggregated prefill/decode pools (`ridge serve --disagg`)
  /// on the GPU types and formats of the best colocated plans.
  bool disaggregation = false;
  /// Times the plans are judged on: the calibrated estimate on GPUs that have one (a plan on
  /// lower bounds under-provisions), or the datasheet bound (--bound).
  TimeBasis basis = TimeBasis::expected;
};

/// Quality risk of a precision choice, lowest first.
/// KV before weights ("reduce KV precision before weight precision"), and 8-bit weights with a
/// 16-bit cache before 8-bit weights with an 8-bit cache: each step adds its own error.
enum class QualityRisk { baseline, kv8, weights8, weights8_kv8, int4 };
std::string_view quality_note(QualityRisk r);
/// `checkpoint`: the model's own stored format (gpt-oss's MXFP4 experts, DeepSeek's FP8): serving
/// it as shipped adds no weight-quantisation risk, whatever its bits.
QualityRisk quality_risk(const WeightFormat& f, DType kv, const std::optional<WeightFormat>& checkpoint = {});

/// Separate prefill and decode pools (one GPU type, pp 1): P replicas of TP a, D of TP b.
struct DisaggregatedLayout {
  std::int64_t prefill_replicas = 1, prefill_tp = 1;
  std::int64_t decode_replicas = 1, decode_tp = 1;
  std::int64_t gpus() const { return prefill_replicas * prefill_tp + decode_replicas * decode_tp; }
};

struct Plan {
  std::size_t gpu = 0;  ///< index into PlanRequest::gpus
  std::int64_t tp = 1, pp = 1, replicas = 1;
  /// Expert parallelism: the routed experts spread whole over `ep` GPUs (ep / tp attention
  /// groups); 1: experts split by TP like the rest.
  std::int64_t ep = 1;
  WeightFormat weights;
  DType kv_dtype = DType::bf16;
  std::int64_t batch = 1;  ///< sequences per replica
  Bytes per_gpu_memory;    ///< tightest stage
  Bytes budget_per_gpu;
  Seconds ttft, tpot, e2e;
  double throughput_tokens_per_s = 0;      ///< all replicas
  double gpu_hours_per_mtok = 0;           ///< GPUs × hours to generate a million tokens
  std::optional<double> usd_per_mtok;      ///< when the GPU file has usd_per_hour
  std::optional<double> joules_per_token;  ///< energy estimate per output token (GPU power figures)
  QualityRisk risk = QualityRisk::baseline;
  /// Other weight formats and KV types that give the same plan (same GPUs, layout, batch and
  /// quality risk, cost within 0.5 %): fp8 and int8 on a GPU with both, listed once.
  std::vector<std::string> equivalent_weights;
  std::vector<DType> equivalent_kv;
  /// Decodes speculatively (PlanRequest::speculation): tpot is the speculative one.
  bool speculative = false;
  double speculative_speedup = 0;  ///< plain TPOT / speculative TPOT at the plan's batch
  /// Planned by load (PlanRequest::rate): ttft/tpot/e2e are the SLO percentile of a simulation
  /// of one replica under its share of the rate, batch the mean running requests there.
  bool simulated = false;
  double capacity_per_replica = 0;          ///< each replica's share of the rate (req/s): the SLOs hold there
  double kv_use_max = 0;                    ///< peak fraction of the KV pool in use at the plan's load
  std::int64_t max_num_batched_tokens = 0;  ///< the engine's token budget per step (planned by load)
  std::int64_t max_num_seqs = 0;

  /// Disaggregated serving (PlanRequest::disaggregation): the pools; tp/replicas are then the
  /// decode pool's, and the times are the whole path's (TTFT includes the cache transfer).
  std::optional<DisaggregatedLayout> disaggregated;
  double mean_transfer_s = 0;  ///< disaggregated: a prompt cache's trip between the pools

  std::int64_t gpus() const { return disaggregated ? disaggregated->gpus() : replica_gpus(tp, pp, ep) * replicas; }
};

enum class Rejection { sharding, does_not_fit, misses_ttft, misses_tpot, misses_throughput };
std::string_view to_string(Rejection r);

/// What a rejected candidate measured against its limit, as data; reports word it
/// (plan_report's rejection_text). Units by `what`: bytes per GPU, seconds, tokens/s or req/s.
struct RejectionDetail {
  enum class What {
    none,
    message,             ///< another engine's reason (a sharding problem, a drafter that cannot shard)
    memory,              ///< bytes per GPU at `batch` > budget
    memory_one_request,  ///< bytes per GPU for one request of `tokens` > budget
    ttft,                ///< seconds at `batch` (0: a request alone) > limit
    tpot,
    throughput,           ///< tokens/s of `replicas` replicas at `batch` < limit
    gpus_for_throughput,  ///< `replicas` replicas (`gpus` GPUs) needed at `measured` tokens/s each > max GPUs
    capacity,             ///< one replica serves at most `measured` req/s: `limit` req/s needs more than max GPUs
    slo_at_most_gpus,     ///< `replicas` replicas (`gpus` GPUs) at `measured` req/s each still miss the SLOs
  };
  What what = What::none;
  std::string message = {};
  double measured = 0, limit = 0;
  std::int64_t batch = 0, replicas = 0, gpus = 0, tokens = 0, max_gpus = 0;
};

/// One (GPU, weights, KV, TP, PP) family that produced no feasible plan, with the reason of the
/// candidate that came closest (the last check it failed, in the order of Rejection).
struct RejectedFamily {
  std::size_t gpu = 0;
  std::string weights;
  DType kv_dtype = DType::bf16;
  std::int64_t tp = 1, pp = 1, ep = 1;
  Rejection reason = Rejection::does_not_fit;
  RejectionDetail detail;  ///< the measured value against the limit
};

struct PlanResult {
  std::vector<Plan> plans;  ///< feasible; the recommendation first, then by cost
  std::vector<RejectedFamily> rejected;
  std::int64_t candidates = 0;   ///< evaluated (memory + roofline) points
  std::int64_t simulations = 0;  ///< serving simulations run (planning by load)
  bool cost_in_usd = false;      ///< every GPU searched has a price
  bool int4_fallback = false;    ///< int4 considered because nothing else fits
  std::size_t feasible = 0;      ///< feasible plans before equivalent ones were grouped
  /// The cheapest plan, when the first one was moved above it for lower quality risk.
  std::optional<Plan> cheapest;
  /// Planning by load with disaggregation searched: the cheapest of each kind, for the verdict
  /// (whether separate pools beat colocated serving at these SLOs).
  std::optional<Plan> best_colocated, best_disaggregated;
  std::int64_t disaggregated_searched = 0;  ///< prefill/decode TP pairs simulated
  /// The first plan costs more than the second: it was moved up for its lower quality risk
  /// (within the cost tolerance). Said next to the table.
  bool recommended_above_cheaper = false;
};

/// Searches; throws InputError for an impossible request (no GPU, a limit out of range).
PlanResult make_plan(const ModelSpec& m, const PlanRequest& r);

}  // namespace ridge
