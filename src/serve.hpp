// `ridge serve`: a discrete-event simulation of one serving engine under a request load, with
// the scheduler of vLLM v1 (REFERENCE.md "Serving engines"): each step takes the running
// requests first (a decode takes one token of the budget, an unfinished prompt its next chunk),
// then waiting requests in arrival order while the token budget, max_num_seqs and free KV
// blocks allow; a running request that needs a block when none is free preempts the most
// recently admitted one, which is later recomputed from scratch. Each step's time comes from
// StepCost: the operator engine at that step's real mix.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "energy.hpp"
#include "gpu.hpp"
#include "memory.hpp"
#include "parallel.hpp"
#include "speculative.hpp"
#include "step_cost.hpp"

namespace ridge {

/// One request: when it arrives and how many tokens it brings and asks for. Every request
/// generates exactly `output` tokens (benchmarks run with ignore_eos).
struct Request {
  double arrival_s = 0;
  std::int64_t prompt = 1;
  std::int64_t output = 1;
  /// Disaggregated serving: the prompt's cache arrives with the request (prefilled elsewhere,
  /// its first token already produced); the engine only decodes.
  bool prefilled = false;
};

/// What one engine is given.
struct RequestLoad {
  /// Open loop: in arrival order. Closed loop: in the order users send them (arrival ignored).
  std::vector<Request> requests;
  /// > 0: closed loop of this many users, each sending its next request when its last one
  /// finishes (no think time); 0: open loop.
  std::int64_t concurrency = 0;
};

/// The engine's limits (vLLM's names).
struct EngineLimits {
  std::int64_t max_num_batched_tokens = 8192;  ///< token budget of one step
  std::int64_t max_num_seqs = 1024;            ///< running requests at most
};

/// vLLM's defaults for its OpenAI server (EngineArgs.get_batch_defaults): 8192 tokens and 1024
/// sequences on a GPU with at least 70 GiB that is not an A100, else 2048 and 256.
EngineLimits default_engine_limits(const GpuSpec& g);

/// Percentiles as numpy.percentile computes them (linear between order statistics), and the mean.
struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
  double at(int percentile) const { return percentile == 50 ? p50 : percentile == 90 ? p90 : p99; }
};
/// Of the values given (sorted in place); zeros for none.
Percentiles percentiles_of(std::vector<double>& values);

/// Inter-token gaps, too many to keep one by one (a request of 256 tokens has 255): counted in
/// logarithmic bins 0.1 % wide, so percentiles are within 0.05 % and memory does not grow with
/// the tokens generated; the mean is exact.
class GapHistogram {
 public:
  void add(double seconds);
  void merge(const GapHistogram& other);
  std::uint64_t count() const { return count_; }
  /// Percentiles from the bins (the geometric middle of the bin holding the rank), mean exact.
  Percentiles percentiles() const;

 private:
  double quantile(double q) const;
  std::vector<std::uint64_t> bins_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

/// What the simulation measured, merged over replicas.
struct ServeResult {
  // Per completed request, in completion order.
  std::vector<double> ttft_s;  ///< arrival → first token (queueing included, as benchmarks measure it)
  std::vector<double> tpot_s;  ///< (e2e − ttft) / (output − 1), requests with more than one token
  std::vector<double> e2e_s;   ///< arrival → last token
  std::vector<std::int64_t> output_tokens;
  std::vector<std::size_t> request_ids;  ///< index of each completed request in the workload given
  GapHistogram itl;                      ///< every gap between consecutive tokens of a request

  std::int64_t completed = 0;
  std::int64_t prompt_tokens = 0;     ///< of completed requests
  std::int64_t generated_tokens = 0;  ///< of completed requests
  double first_arrival_s = 0;
  double last_arrival_s = 0;  ///< open-loop arrivals (0 for a closed loop, whose requests follow completions)
  double last_finish_s = 0;
  double duration_s() const { return last_finish_s - first_arrival_s; }

  // Time integrals over [first arrival, last finish], summed over replicas.
  double in_system_s = 0;      ///< ∫ requests arrived and not finished dt (Little's law: = Σ e2e)
  double running_s = 0;        ///< ∫ requests admitted to the running batch dt
  double kv_blocks_s = 0;      ///< ∫ KV blocks in use dt
  std::int64_t kv_blocks = 0;  ///< pool of one replica
  std::int64_t max_kv_blocks_used = 0;
  std::int64_t max_waiting = 0;  ///< largest queue of one replica (arrived, not running)
  std::int64_t preemptions = 0;
  std::int64_t replicas = 1;
  std::int64_t verify_steps = 0;     ///< speculative decoding: decode slices verified
  std::int64_t verified_tokens = 0;  ///< tokens those verifications yielded (mean: accepted + 1)

  // The steps.
  std::int64_t steps = 0;
  std::int64_t step_tokens = 0;    ///< Σ new tokens over the steps
  std::int64_t step_decodes = 0;   ///< Σ sequences taking one token
  std::int64_t step_prefills = 0;  ///< Σ prefill chunks
  std::int64_t mixed_steps = 0;    ///< steps with prefill chunks and decodes
  std::int64_t prefill_only_steps = 0;
  double busy_s = 0;  ///< Σ step busy time (one replica's engine, summed over replicas)

  double requests_per_s() const { return duration_s() > 0 ? static_cast<double>(completed) / duration_s() : 0; }
  double output_tokens_per_s() const {
    return duration_s() > 0 ? static_cast<double>(generated_tokens) / duration_s() : 0;
  }
  double mean_in_system() const { return duration_s() > 0 ? in_system_s / duration_s() : 0; }
  double mean_running() const { return duration_s() > 0 ? running_s / duration_s() : 0; }
  /// Mean requests waiting (arrived, not in the running batch).
  double mean_waiting() const { return mean_in_system() - mean_running(); }
  /// Mean fraction of one replica's KV blocks in use.
  double kv_use_mean() const {
    return duration_s() > 0 && kv_blocks > 0 ? kv_blocks_s / duration_s() / static_cast<double>(kv_blocks * replicas)
                                             : 0;
  }
};

/// Everything one replica's engine needs besides its workload.
struct ServeEngine {
  EngineLimits limits;
  KvPoolLayout kv_layout;      ///< how a request's tokens map to blocks
  std::int64_t kv_blocks = 0;  ///< the paged pool (the tightest pipeline stage's)
  /// Speculative decoding: each decode takes 1 + K tokens of the budget (its last token and K
  /// drafts), the drafter runs K passes per step, and the step yields a random 1..K+1 tokens.
  SpeculativeConfig spec;
  StepCost* drafter = nullptr;  ///< the draft model or MTP module (needed when spec is enabled)
  std::uint64_t seed = 0;       ///< of the acceptance draws
};

/// The engine of a deployment: the paged pool of its tightest pipeline stage, as vLLM sizes it.
ServeEngine serve_engine(const ModelSpec& m, const MemoryQuery& q, const MemoryEstimate& memory, EngineLimits limits);

/// Speculative decoding in an engine: the drafter's weights come out of the KV pool and its cache
/// shares the pool's blocks with the target's (the target keeps t / (t + d) of what is left).
/// InputError ("--spec-tokens") when its weights leave no cache. `drafter` must outlive `e`.
void add_drafter(ServeEngine& e, const ModelSpec& m, const GpuSpec& g, const MemoryQuery& q,
                 const MemoryEstimate& memory, const Drafter& drafter);

/// Simulates one engine on `w` and adds what it measured to `into`. Throws InputError when a
/// request can never fit the pool (the engine would refuse to start with it).
void simulate_engine(StepCost& cost, const ServeEngine& engine, const RequestLoad& w, ServeResult& into);

/// The workload spread over `replicas` engines round robin (requests, and closed-loop users),
/// each simulated, the results merged.
ServeResult simulate(StepCost& cost, const ServeEngine& engine, const RequestLoad& w, std::int64_t replicas);

/// Disaggregated serving: a prefill pool and a decode pool, each of its own replicas.
struct DisaggregatedPools {
  StepCost* prefill_cost = nullptr;
  const ServeEngine* prefill_engine = nullptr;
  std::int64_t prefill_replicas = 1;
  StepCost* decode_cost = nullptr;
  const ServeEngine* decode_engine = nullptr;
  std::int64_t decode_replicas = 1;
  /// Seconds to move a request's prompt cache from its prefill replica to its decode replica.
  std::function<double(std::int64_t prompt_tokens)> transfer_s;
};
/// Every request is prefilled in the prefill pool (its first token there), its cache sent over
/// the link, and decoded in the decode pool. TTFT = prefill done + transfer − arrival; the
/// result's time integrals and steps are the two pools' together; queue, KV and step figures
/// of the decode pool are in `decode`, of the prefill pool in `prefill`.
struct DisaggregatedResult {
  ServeResult combined;  ///< per-request latencies of the whole path
  ServeResult prefill, decode;
  double mean_transfer_s = 0;
};
DisaggregatedResult simulate_disaggregated(const DisaggregatedPools& pools, const RequestLoad& w);
/// DisaggregatedPools::transfer_s for a prefill replica of `senders` GPUs each sending its shard
/// of a request's cache (all layers, `kv` bytes per element) at once over `link`.
std::function<double(std::int64_t prompt_tokens)> kv_transfer_time(const ModelSpec& m, DType kv, std::int64_t senders,
                                                                   const Link& link);

/// Service-level objectives on per-request latencies, judged at one percentile.
struct LatencySlo {
  std::optional<double> ttft_s;
  std::optional<double> tpot_s;
  int percentile = 99;  ///< 50, 90 or 99
  bool any() const { return ttft_s || tpot_s; }
};
/// Requests that met every SLO given (each request on its own), per second of the run.
double goodput_requests_per_s(const ServeResult& r, const LatencySlo& slo);
/// The run's percentiles meet the SLOs.
bool meets(const Percentiles& ttft, const Percentiles& tpot, const LatencySlo& slo);

/// What a run's report shows, computed once from its ServeResult.
struct ServeSummary {
  double offered_rate = 0;  ///< requests/s offered (0: all at t = 0, closed loop or a trace)
  Percentiles ttft, tpot, itl, e2e;
  std::int64_t completed = 0;
  std::int64_t generated_tokens = 0;
  double duration_s = 0;
  double requests_per_s = 0;
  double output_tokens_per_s = 0;
  double goodput_requests_per_s = 0;  ///< requests meeting every SLO given, per second (all when none)
  bool meets_slo = true;              ///< the percentiles meet the SLOs
  /// Completions over the run less a median request's drain (what the server keeps up with).
  double sustained_requests_per_s = 0;
  /// Sustained under 90 % of the offered rate: a backlog grew.
  bool saturated = false;
  double mean_in_system = 0, mean_running = 0, mean_waiting = 0;
  double little_lambda_w = 0;  ///< λ · W: completed / duration × mean e2e (Little's law: = mean_in_system)
  std::int64_t max_waiting = 0;
  double kv_use_mean = 0, kv_use_max = 0;  ///< fractions of one replica's blocks
  std::int64_t preemptions = 0;
  std::int64_t steps = 0;
  double mean_step_tokens = 0, mean_step_decodes = 0, mean_step_prefills = 0;
  double mixed_step_fraction = 0, prefill_only_step_fraction = 0;
  double mean_step_busy_s = 0;
  double mean_transfer_s = 0;          ///< disaggregated: the prompt cache's trip between pools
  std::int64_t verify_steps = 0;       ///< speculative decoding: verifications
  double tokens_per_verification = 0;  ///< measured mean (expected: (1 − α^(K+1)) / (1 − α), less near the ends)
  double busy_fraction = 0;            ///< share of the run the engines were stepping (Σ busy / engines / duration)
  std::optional<EnergyEstimate> energy;  ///< set by the caller that knows the power model's inputs
};
/// Sorts the result's per-request vectors.
ServeSummary summarize(ServeResult& r, const LatencySlo& slo, double offered_rate);

/// The energy estimate of a colocated run (estimate_served_energy): power at a replica's mean
/// running batch and the run's mean lengths, busy as the run was, on `gpus` GPUs in all.
std::optional<EnergyEstimate> served_energy(const GpuSpec& g, const ModelShapes& shapes, const Ceilings& ceilings,
                                            const Topology& topology, AttentionImpl attention, DType kv,
                                            std::int64_t replicas, std::int64_t gpus, const ServeResult& r,
                                            const ServeSummary& s);

}  // namespace ridge
