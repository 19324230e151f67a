#include "plan.hpp"

#include "format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <tuple>

#include "energy.hpp"
#include "error.hpp"
#include "parallel.hpp"
#include "roofline.hpp"
#include "serve.hpp"
#include "workload.hpp"

namespace ridge {

std::string_view quality_note(QualityRisk r) {
  switch (r) {
    case QualityRisk::baseline:
      return "baseline: the checkpoint's weights as shipped, or widened without loss (fp8 held in bf16)";
    case QualityRisk::kv8:
      return "8-bit KV cache: < 1% loss with calibrated scales";
    case QualityRisk::weights8:
      return "8-bit weights: < 1% loss calibrated, 3-7% uncalibrated";
    case QualityRisk::weights8_kv8:
      return "8-bit weights and KV cache: < 1% loss each calibrated, 3-7% uncalibrated";
    case QualityRisk::int4:
      return "int4 weights: RISK, an 8.7% MMLU drop is reported for a 70B model";
  }
  return "";
}

QualityRisk quality_risk(const WeightFormat& f, DType kv, const std::optional<WeightFormat>& checkpoint) {
  if (checkpoint && checkpoint->name == f.name) return bits_of(kv) <= 8 ? QualityRisk::kv8 : QualityRisk::baseline;
  if (f.weight_bits <= 4) return QualityRisk::int4;
  if (f.weight_bits <= 8) return bits_of(kv) <= 8 ? QualityRisk::weights8_kv8 : QualityRisk::weights8;
  if (bits_of(kv) <= 8) return QualityRisk::kv8;
  return QualityRisk::baseline;
}

std::string_view to_string(Rejection r) {
  switch (r) {
    case Rejection::sharding:
      return "TP/PP does not divide the model";
    case Rejection::does_not_fit:
      return "does not fit";
    case Rejection::misses_ttft:
      return "misses TTFT";
    case Rejection::misses_tpot:
      return "misses TPOT";
    case Rejection::misses_throughput:
      return "misses throughput";
  }
  return "";
}

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// The search space of one (GPU, weights, TP, PP) after the per-shape work is done once.
struct Family {
  const ModelSpec* model = nullptr;
  const GpuSpec* gpu = nullptr;
  std::size_t gpu_index = 0;
  WeightFormat weights;
  DType kv = DType::bf16;
  std::int64_t tp = 1, pp = 1, ep = 1;
  const ModelShapes* shapes = nullptr;
  const Ceilings* ceilings = nullptr;
  const std::vector<Bytes>* stage_weights = nullptr;
  Topology topology;
  /// Speculative decoding: the drafter beside this layout (none under PP), and the target's
  /// step model it is weighed against.
  std::shared_ptr<const Drafter> drafter;
  std::shared_ptr<StepCost> target_steps;
};

struct Outcome {
  Rejection furthest = Rejection::sharding;
  RejectionDetail detail;
  bool any_fit = false;
  bool deferred = false;  ///< planning by load: a candidate for simulation, judged later
  /// Keeps the furthest check failed; within it, the first candidate (smallest batch, the
  /// nearest miss for memory and latency).
  void reject(Rejection r, RejectionDetail why) {
    if (r > furthest || (r == furthest && detail.what == RejectionDetail::What::none)) {
      furthest = r;
      detail = std::move(why);
    }
  }
};

/// A plan's layout, formats and quality risk; the caller adds its batch, memory and times.
Plan plan_of(const Family& f, std::int64_t replicas) {
  Plan p;
  p.gpu = f.gpu_index;
  p.tp = f.tp;
  p.pp = f.pp;
  p.ep = f.ep;
  p.replicas = replicas;
  p.weights = f.weights;
  p.kv_dtype = f.kv;
  p.risk = quality_risk(f.weights, f.kv, f.model->checkpoint_format);
  return p;
}

class Search {
 public:
  Search(const ModelSpec& m, const PlanRequest& r)
      : m_(m), r_(r), usd_(r.rank_by_usd && std::all_of(r.gpus.begin(), r.gpus.end(), [](const GpuSpec& g) {
                             return g.usd_per_hour.has_value();
                           })) {}

  /// One candidate: does it fit, meet the SLOs, and at how many replicas. False: it does not fit.
  /// With --concurrency the replica count is fixed (the sequences are split among them); without
  /// it, a throughput target adds replicas of `batch` sequences each.
  bool evaluate(const Family& f, std::int64_t batch, std::int64_t min_replicas, bool replicas_fixed, Outcome& out) {
    ++result.candidates;
    MemoryQuery mq;
    mq.weights = f.weights;
    mq.kv_dtype = f.kv;
    mq.batch = batch;
    mq.context = r_.prompt + r_.gen;
    mq.tp = f.tp;
    mq.pp = f.pp;
    mq.ep = f.ep;
    mq.memory_utilization = r_.memory_utilization;
    mq.overhead = f.gpu->runtime_overhead;
    mq.attention = r_.attention;
    mq.prefill_chunk = r_.prefill_chunk;
    const Bytes budget = memory_budget(*f.gpu, r_.memory_utilization);
    Bytes worst;
    for (const StageMemory& s : stage_memory(m_, mq, *f.stage_weights)) worst = std::max(worst, s.total());
    if (f.drafter) {
      // Its weights, and its cache for the sequences one GPU's attention group holds.
      const std::int64_t held = group_batch(batch, attention_groups(f.ep, f.tp)) * (r_.prompt + r_.gen);
      worst += f.drafter->weights_per_gpu + f.drafter->kv_per_token_per_gpu * static_cast<std::uint64_t>(held);
    }
    if (worst > budget) {
      out.reject(Rejection::does_not_fit, {.what = RejectionDetail::What::memory,
                                           .measured = worst.as_double(),
                                           .limit = budget.as_double(),
                                           .batch = batch});
      return false;
    }
    out.any_fit = true;
    const ServiceQuery sq{batch, r_.prompt, r_.gen, r_.attention, f.kv, f.topology, 0};
    ServiceEstimate e = estimate_service(*f.shapes, *f.ceilings, sq);
    std::optional<double> speedup;
    if (f.drafter && r_.gen > 1) {
      // Speculation where it is faster at this batch, as `ridge roofline --spec-tokens` weighs it.
      const SpeculativeEstimate s =
          estimate_speculative(*f.target_steps, *f.drafter->cost, batch, e.decode_ops_context, f.drafter->config);
      if (s.speedup() > 1) {
        speedup = s.speedup();
        e.tpot = Seconds{s.tpot_s};
        e.e2e = Seconds{e.ttft.value + e.tpot.value * static_cast<double>(r_.gen - 1)};
        e.throughput_tokens_per_s = static_cast<double>(batch * r_.gen) / e.e2e.value;
      }
    }
    if (r_.max_ttft && e.ttft.value > r_.max_ttft->value) {
      out.reject(
          Rejection::misses_ttft,
          {.what = RejectionDetail::What::ttft, .measured = e.ttft.value, .limit = r_.max_ttft->value, .batch = batch});
      return true;
    }
    if (r_.max_tpot && e.tpot.value > r_.max_tpot->value) {
      out.reject(
          Rejection::misses_tpot,
          {.what = RejectionDetail::What::tpot, .measured = e.tpot.value, .limit = r_.max_tpot->value, .batch = batch});
      return true;
    }
    std::int64_t replicas = min_replicas;
    const std::int64_t per_replica = replica_gpus(f.tp, f.pp, f.ep);
    if (r_.min_throughput) {
      const auto needed = static_cast<std::int64_t>(std::ceil(*r_.min_throughput / e.throughput_tokens_per_s));
      if (replicas_fixed && needed > replicas) {
        out.reject(Rejection::misses_throughput, {.what = RejectionDetail::What::throughput,
                                                  .measured = e.throughput_tokens_per_s * static_cast<double>(replicas),
                                                  .limit = *r_.min_throughput,
                                                  .batch = batch,
                                                  .replicas = replicas});
        return true;
      }
      replicas = std::max(replicas, needed);
    }
    if (replicas * per_replica > r_.max_gpus) {
      out.reject(Rejection::misses_throughput, {.what = RejectionDetail::What::gpus_for_throughput,
                                                .measured = e.throughput_tokens_per_s,
                                                .batch = batch,
                                                .replicas = replicas,
                                                .gpus = replicas * per_replica,
                                                .max_gpus = r_.max_gpus});
      return true;
    }
    Plan p = plan_of(f, replicas);
    p.batch = batch;
    if (auto energy = estimate_energy(*f.gpu, e, batch, r_.gen, per_replica, replicas))
      p.joules_per_token = energy->joules_per_output_token;
    p.speculative = speedup.has_value();
    p.speculative_speedup = speedup.value_or(0);
    p.per_gpu_memory = worst;
    p.budget_per_gpu = budget;
    p.ttft = e.ttft;
    p.tpot = e.tpot;
    p.e2e = e.e2e;
    p.throughput_tokens_per_s = e.throughput_tokens_per_s * static_cast<double>(replicas);
    // GPU-hours per million generated tokens: GPUs × (1e6 tokens / throughput) seconds / 3600.
    p.gpu_hours_per_mtok = static_cast<double>(p.gpus()) * 1e6 / p.throughput_tokens_per_s / 3600.0;
    if (f.gpu->usd_per_hour) p.usd_per_mtok = p.gpu_hours_per_mtok * *f.gpu->usd_per_hour;
    result.plans.push_back(std::move(p));
    return true;
  }

  /// All batches (and replica counts) of one family.
  Outcome family(const Family& f) {
    Outcome out;
    if (r_.rate) {
      rate_candidate(f, out);
      return out;
    }
    const std::int64_t max_replicas = r_.max_gpus / replica_gpus(f.tp, f.pp, f.ep);
    if (r_.batch && r_.concurrency) {
      // C sequences in batches of at most B: ⌈C/B⌉ replicas, none holding more than C.
      const std::int64_t replicas = ceil_div(*r_.concurrency, *r_.batch);
      evaluate(f, std::min(*r_.batch, *r_.concurrency), replicas, /*replicas_fixed=*/true, out);
    } else if (r_.batch) {
      evaluate(f, *r_.batch, 1, /*replicas_fixed=*/false, out);
    } else if (r_.concurrency) {
      // C sequences over r replicas: ceil(C / r) each; more replicas only when the batch shrinks.
      std::int64_t last_batch = 0;
      for (std::int64_t replicas = 1; replicas <= std::min(max_replicas, *r_.concurrency); ++replicas) {
        const std::int64_t batch = ceil_div(*r_.concurrency, replicas);
        if (batch == last_batch) continue;
        last_batch = batch;
        evaluate(f, batch, replicas, /*replicas_fixed=*/true, out);
      }
    } else {
      // Free batch: powers of two until memory runs out (memory grows with the batch).
      for (std::int64_t batch = 1; batch <= 4096; batch *= 2)
        if (!evaluate(f, batch, 1, /*replicas_fixed=*/false, out)) break;
    }
    return out;
  }

  /// EP sizes searched at TP `tp`: none (1), and for MoE models every power-of-two multiple of
  /// TP (ep = tp: experts whole over the TP group; more: tp-wide attention groups) up to
  /// --max-gpus and the expert count.
  std::vector<std::int64_t> expert_parallel_sizes(std::int64_t tp) const {
    std::vector<std::int64_t> eps{1};
    if (!m_.moe) return eps;
    for (std::int64_t ep = tp; ep <= std::min<std::int64_t>(r_.max_gpus, m_.moe->experts); ep *= 2)
      if (ep > 1) eps.push_back(ep);
    return eps;
  }

  void run(const std::vector<WeightFormat>& formats, const std::vector<DType>& kvs) {
    std::vector<std::int64_t> tps;
    for (std::int64_t tp = 1; tp <= r_.max_gpus; tp *= 2) tps.push_back(tp);
    for (std::size_t gi = 0; gi < r_.gpus.size(); ++gi) {
      const GpuSpec& g = r_.gpus[gi];
      for (const WeightFormat& wf : formats) {
        if (wf.name == "fp8" && !g.peak(DType::fp8)) continue;  // fp8 only where tensor cores run it
        for (std::int64_t tp : tps)
          for (std::int64_t ep : expert_parallel_sizes(tp)) run_layouts(gi, wf, tp, ep, kvs);
      }
    }
  }

  /// Every PP (and KV type) of one GPU, format, TP and EP. Under expert parallelism only PP 1:
  /// wide-EP deployments (DeepSeek's own, vLLM's DP+EP recipes) run one stage.
  void run_layouts(std::size_t gi, const WeightFormat& wf, std::int64_t tp, std::int64_t ep,
                   const std::vector<DType>& kvs) {
    const GpuSpec& g = r_.gpus[gi];
    auto reject = [&](std::int64_t pp, DType kv, Rejection reason, RejectionDetail detail) {
      result.rejected.push_back({.gpu = gi,
                                 .weights = wf.name,
                                 .kv_dtype = kv,
                                 .tp = tp,
                                 .pp = pp,
                                 .ep = ep,
                                 .reason = reason,
                                 .detail = std::move(detail)});
    };
    auto reject_all = [&](std::int64_t pp, const std::string& why) {
      for (DType kv : kvs)
        reject(pp, kv, Rejection::sharding, {.what = RejectionDetail::What::message, .message = why});
    };
    if (auto problem = expert_parallel_problem(m_, tp, ep)) return reject_all(1, problem->message);
    std::optional<ModelShapes> shapes;
    std::optional<Ceilings> ceilings;
    if (!sharding_problem(m_, tp, 1, &wf, ep)) {
      shapes = compile_shapes(m_, wf, tp, ep);
      ceilings = ceilings_for(g, *shapes, r_.basis);
    }
    const std::int64_t max_pp = ep > 1 ? 1 : std::min<std::int64_t>(m_.layers, 16);
    for (std::int64_t pp = 1; pp <= max_pp && replica_gpus(tp, pp, ep) <= r_.max_gpus; ++pp) {
      if (auto problem = sharding_problem(m_, tp, pp, &wf, ep)) {
        reject_all(pp, problem->message);
        continue;
      }
      const std::vector<Bytes> weights = stage_weights(m_, wf, tp, pp, ep);
      // The collectives share the ceilings' fitted model (one per GPU and format).
      Topology topology = topology_for(g, tp, pp, r_.inter_node_bandwidth, TimeBasis::bound, ep);
      topology.expected = ceilings->expected;
      for (DType kv : kvs) {
        Family f{&m_, &g, gi, wf, kv, tp, pp, ep, &*shapes, &*ceilings, &weights, topology, nullptr, nullptr};
        if (r_.speculation && pp == 1) {
          try {
            f.drafter = std::make_shared<const Drafter>(
                make_drafter(*r_.speculation, m_, *shapes, g, r_.basis, topology, r_.attention, kv, tp));
          } catch (const InputError& e) {  // the draft model does not shard at this TP
            reject_all(pp, e.message());
            break;
          }
          f.target_steps = std::make_shared<StepCost>(*shapes, *ceilings, topology, r_.attention, kv);
        }
        const std::size_t before = result.plans.size();
        const Outcome out = family(f);
        any_fit_ = any_fit_ || out.any_fit;
        if (result.plans.size() == before && !out.deferred) reject(pp, kv, out.furthest, out.detail);
      }
    }
  }

  /// Planning by load, phase 1 (cheap, every family): does one replica fit, does a request
  /// alone meet the SLOs (the vanishing-load latency, a floor), and a bound on its capacity.
  void rate_candidate(const Family& f, Outcome& out) {
    // The engine's token budget is searched too: vLLM's default, and a quarter of it (at least
    // 512), which stalls decodes for shorter prefill chunks (lower TPOT and ITL tails, later
    // first tokens).
    const EngineLimits defaults = default_engine_limits(*f.gpu);
    rate_candidate(f, defaults, out);
    if (defaults.max_num_batched_tokens / 4 >= 512)
      rate_candidate(f, EngineLimits{defaults.max_num_batched_tokens / 4, defaults.max_num_seqs}, out);
  }

  void rate_candidate(const Family& f, const EngineLimits& limits, Outcome& out) {
    ++result.candidates;
    RateCandidate c;
    c.family = f;
    c.limits = limits;
    c.query.weights = f.weights;
    c.query.kv_dtype = f.kv;
    c.query.batch = 1;
    c.query.context = r_.prompt + r_.gen;
    c.query.tp = f.tp;
    c.query.pp = f.pp;
    c.query.ep = f.ep;
    c.query.memory_utilization = r_.memory_utilization;
    c.query.overhead = f.gpu->runtime_overhead;
    c.query.attention = r_.attention;
    c.query.prefill_chunk = c.limits.max_num_batched_tokens;
    c.query.max_num_batched_tokens = c.limits.max_num_batched_tokens;
    const MemoryEstimate memory = estimate_memory(m_, *f.gpu, c.query);
    if (!memory.fits || memory.max_model_len_limit < r_.prompt + r_.gen) {
      out.reject(Rejection::does_not_fit, {.what = RejectionDetail::What::memory_one_request,
                                           .measured = memory.per_gpu().total().as_double(),
                                           .limit = memory.budget_per_gpu.as_double(),
                                           .tokens = r_.prompt + r_.gen});
      return;
    }
    out.any_fit = true;
    c.engine = serve_engine(m_, c.query, memory, c.limits);
    if (f.drafter) {
      try {
        add_drafter(c.engine, m_, *f.gpu, c.query, memory, *f.drafter);
      } catch (const InputError& e) {
        out.reject(Rejection::does_not_fit, {.what = RejectionDetail::What::message, .message = e.message()});
        return;
      }
      c.engine.seed = r_.seed;
    }
    c.per_gpu = memory.per_gpu().total();
    c.budget = memory.budget_per_gpu;
    const ServiceQuery alone{1, r_.prompt, r_.gen, r_.attention, f.kv, f.topology, 0};
    ServiceEstimate e = estimate_service(*f.shapes, *f.ceilings, alone);
    // A server configured to speculate does so at every batch.
    auto speculative_at = [&](std::int64_t batch) {
      return estimate_speculative(*f.target_steps, *f.drafter->cost, batch, e.decode_ops_context, f.drafter->config);
    };
    if (f.drafter) e.tpot = Seconds{speculative_at(1).tpot_s};
    if (r_.max_ttft && e.ttft.value > r_.max_ttft->value) {
      out.reject(Rejection::misses_ttft,
                 {.what = RejectionDetail::What::ttft, .measured = e.ttft.value, .limit = r_.max_ttft->value});
      return;
    }
    if (r_.max_tpot && r_.gen > 1 && e.tpot.value > r_.max_tpot->value) {
      out.reject(Rejection::misses_tpot,
                 {.what = RejectionDetail::What::tpot, .measured = e.tpot.value, .limit = r_.max_tpot->value});
      return;
    }
    // Capacity bound: the static batch of everything the pool (and max_num_seqs) holds, all its
    // prompts at once and then its decode steps. Continuous batching could beat it a little by
    // sharing weight reads between prefill chunks and decodes; within the SLOs it did not in any
    // of 214 plans for Llama-3.1-70B at 20 req/s (capacity / bound 0.17 to 0.81), and the
    // search keeps a margin of kCapacityMargin above it.
    // Under expert parallelism each attention group is an engine with its own limits and pool.
    const std::int64_t holds =
        std::max<std::int64_t>(1, std::min<std::int64_t>(c.limits.max_num_seqs * attention_groups(f.ep, f.tp),
                                                         static_cast<std::int64_t>(memory.max_concurrency)));
    const ServiceQuery full{holds, r_.prompt, r_.gen, r_.attention, f.kv, f.topology, 0};
    c.capacity_bound =
        estimate_service(*f.shapes, *f.ceilings, full).throughput_tokens_per_s / static_cast<double>(r_.gen);
    // Speculation can only raise it by its speedup at that batch (the bound stays a bound).
    if (f.drafter) c.capacity_bound *= std::max(1.0, speculative_at(holds).speedup());
    c.shapes = *f.shapes;
    c.ceilings = *f.ceilings;
    c.family.shapes = nullptr;  // the loop's copies: the candidate keeps its own
    c.family.ceilings = nullptr;
    c.family.stage_weights = nullptr;
    const std::int64_t per_replica = replica_gpus(f.tp, f.pp, f.ep);
    if (replicas_floor(c) * per_replica > r_.max_gpus) {
      out.reject(Rejection::misses_throughput, {.what = RejectionDetail::What::capacity,
                                                .measured = kCapacityMargin * c.capacity_bound,
                                                .limit = *r_.rate,
                                                .max_gpus = r_.max_gpus});
      return;
    }
    c.cost_floor = cost_per_mtok(*f.gpu, replicas_floor(c) * per_replica);
    rate_candidates_.push_back(std::move(c));
    out.deferred = true;
  }

  /// Planning by load, phase 2: the candidates cheapest-possible first, each simulated (its
  /// capacity within the SLOs by bisection on the rate, then the replicas the load needs),
  /// until `top` plans are found that cost less than any remaining candidate could.
  void simulate_candidates(std::size_t top) {
    std::stable_sort(rate_candidates_.begin(), rate_candidates_.end(),
                     [](const RateCandidate& a, const RateCandidate& b) { return a.cost_floor < b.cost_floor; });
    std::vector<double> costs;  // of the plans found, sorted
    for (RateCandidate& c : rate_candidates_) {
      if (costs.size() >= top && c.cost_floor >= costs[top - 1]) break;
      Outcome out;
      if (auto p = simulate_candidate(c, out)) {
        costs.insert(std::upper_bound(costs.begin(), costs.end(), cost_of_plan(*p)), cost_of_plan(*p));
        result.plans.push_back(std::move(*p));
      } else {
        result.rejected.push_back({.gpu = c.family.gpu_index,
                                   .weights = c.family.weights.name,
                                   .kv_dtype = c.family.kv,
                                   .tp = c.family.tp,
                                   .pp = c.family.pp,
                                   .ep = c.family.ep,
                                   .reason = out.furthest,
                                   .detail = out.detail});
      }
    }
  }

  /// Disaggregated pools on the GPU types of the `seeds` cheapest colocated plans (their formats
  /// and token budget): every pair of prefill and decode TP within a node whose replica holds a
  /// request, cheapest starting point first; for each, P and D from static capacity estimates,
  /// raised where the simulation misses (TTFT: more prefill, TPOT or a backlog: more decode),
  /// then lowered while the SLOs still hold. Pairs whose starting cost cannot beat the best found
  /// are not simulated.
  void search_disaggregated(std::size_t seeds) {
    std::vector<Plan> colocated = result.plans;
    std::sort(colocated.begin(), colocated.end(),
              [this](const Plan& a, const Plan& b) { return cost_of_plan(a) < cost_of_plan(b); });
    std::vector<std::size_t> gpus_done;
    for (const Plan& seed : colocated) {
      if (gpus_done.size() >= seeds) break;
      if (std::find(gpus_done.begin(), gpus_done.end(), seed.gpu) != gpus_done.end()) continue;
      gpus_done.push_back(seed.gpu);
      disaggregated_on(seed);
    }
  }

 private:
  struct PoolModel {
    std::int64_t tp = 1;
    MemoryQuery query;
    ServeEngine engine;
    std::unique_ptr<StepCost> cost;
    double capacity = 0;    ///< req/s one replica sustains, static estimate (the search's start)
    Bytes per_gpu, budget;  ///< one request's footprint per GPU, and the budget
  };

  std::optional<PoolModel> pool_model(const GpuSpec& g, const WeightFormat& wf, DType kv, std::int64_t tp,
                                      const EngineLimits& limits, bool prefill) {
    if (sharding_problem(m_, tp, 1, &wf)) return std::nullopt;
    PoolModel p;
    p.tp = tp;
    p.query.weights = wf;
    p.query.kv_dtype = kv;
    p.query.context = r_.prompt + r_.gen;
    p.query.tp = tp;
    p.query.memory_utilization = r_.memory_utilization;
    p.query.overhead = g.runtime_overhead;
    p.query.attention = r_.attention;
    p.query.prefill_chunk = limits.max_num_batched_tokens;
    p.query.max_num_batched_tokens = limits.max_num_batched_tokens;
    const MemoryEstimate memory = estimate_memory(m_, g, p.query);
    if (!memory.fits || memory.max_model_len_limit < r_.prompt + r_.gen) return std::nullopt;
    p.per_gpu = memory.per_gpu().total();
    p.budget = memory.budget_per_gpu;
    p.engine = serve_engine(m_, p.query, memory, limits);
    const ModelShapes shapes = compile_shapes(m_, wf, tp);
    const Ceilings ceilings = ceilings_for(g, shapes, r_.basis);
    Topology t = topology_for(g, tp, 1, r_.inter_node_bandwidth);
    t.expected = ceilings.expected;
    p.cost = std::make_unique<StepCost>(shapes, ceilings, t, r_.attention, kv);
    if (prefill) {
      // Prompts back to back in full token budgets.
      const std::int64_t b = std::max<std::int64_t>(1, limits.max_num_batched_tokens / r_.prompt);
      const ServiceEstimate e =
          estimate_service(shapes, ceilings, ServiceQuery{b, r_.prompt, 1, r_.attention, kv, t, 0});
      p.capacity = static_cast<double>(b) / e.ttft.value;
    } else {
      // The batch the pool holds, decoding.
      const std::int64_t holds = std::max<std::int64_t>(
          1, std::min<std::int64_t>(limits.max_num_seqs, static_cast<std::int64_t>(memory.max_concurrency)));
      const ServiceEstimate e =
          estimate_service(shapes, ceilings, ServiceQuery{holds, r_.prompt, r_.gen, r_.attention, kv, t, 0});
      p.capacity =
          static_cast<double>(holds) / (e.tpot.value * static_cast<double>(std::max<std::int64_t>(1, r_.gen - 1)));
    }
    return p;
  }

  void disaggregated_on(const Plan& seed) {
    const GpuSpec& g = r_.gpus[seed.gpu];
    const EngineLimits limits = seed.max_num_batched_tokens > 0
                                    ? EngineLimits{seed.max_num_batched_tokens, seed.max_num_seqs}
                                    : default_engine_limits(g);
    std::vector<PoolModel> prefills, decodes;
    for (std::int64_t tp = 1; tp <= std::min(g.gpus_per_node, r_.max_gpus); tp *= 2) {
      if (auto p = pool_model(g, seed.weights, seed.kv_dtype, tp, limits, true)) prefills.push_back(std::move(*p));
      if (auto d = pool_model(g, seed.weights, seed.kv_dtype, tp, limits, false)) decodes.push_back(std::move(*d));
    }
    struct Pair {
      PoolModel* prefill;
      PoolModel* decode;
      std::int64_t p0, d0;
      std::int64_t floor_gpus() const { return p0 * prefill->tp + d0 * decode->tp; }
    };
    std::vector<Pair> pairs;
    auto start = [&](double capacity) {
      return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(*r_.rate / capacity)));
    };
    for (PoolModel& p : prefills)
      for (PoolModel& d : decodes) pairs.push_back({&p, &d, start(p.capacity), start(d.capacity)});
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const Pair& a, const Pair& b) { return a.floor_gpus() < b.floor_gpus(); });
    std::optional<std::int64_t> best;
    for (const Pair& pair : pairs) {
      if (best && pair.floor_gpus() >= *best) break;
      if (pair.floor_gpus() > r_.max_gpus) break;
      ++result.disaggregated_searched;
      if (auto plan = disaggregated_plan(seed, g, limits, pair.prefill, pair.decode, pair.p0, pair.d0)) {
        if (!best || plan->gpus() < *best) best = plan->gpus();
        result.plans.push_back(std::move(*plan));
      }
    }
  }

  std::optional<Plan> disaggregated_plan(const Plan& seed, const GpuSpec& g, const EngineLimits& limits,
                                         PoolModel* prefill, PoolModel* decode, std::int64_t p, std::int64_t d) {
    const LengthDistribution prompt{LengthDistribution::Kind::fixed, static_cast<double>(r_.prompt), 0};
    const LengthDistribution gen{LengthDistribution::Kind::fixed, static_cast<double>(r_.gen), 0};
    Topology link_topology = topology_for(g, 1, 1, r_.inter_node_bandwidth);
    std::map<std::pair<std::int64_t, std::int64_t>, std::pair<ServeSummary, double>> tried;
    auto run = [&](std::int64_t np, std::int64_t nd) -> const std::pair<ServeSummary, double>& {
      auto it = tried.find({np, nd});
      if (it != tried.end()) return it->second;
      ++result.simulations;
      // As `ridge serve --disagg`: inside one node the cache moves over the node's links.
      const DisaggregatedLayout layout{np, prefill->tp, nd, decode->tp};
      const Link& link = layout.gpus() <= g.gpus_per_node ? link_topology.intra_node : link_topology.inter_node;
      const DisaggregatedPools pools{prefill->cost.get(),
                                     &prefill->engine,
                                     np,
                                     decode->cost.get(),
                                     &decode->engine,
                                     nd,
                                     kv_transfer_time(m_, seed.kv_dtype, prefill->tp, link)};
      const RequestLoad load = generate_workload(r_.sim_requests * std::max(np, nd), *r_.rate, prompt, gen, r_.seed);
      DisaggregatedResult res = simulate_disaggregated(pools, load);
      return tried.emplace(std::pair{np, nd}, std::pair{summarize(res.combined, slo(), *r_.rate), res.mean_transfer_s})
          .first->second;
    };
    auto gpus = [&](std::int64_t np, std::int64_t nd) { return np * prefill->tp + nd * decode->tp; };
    for (int step = 0;; ++step) {
      if (gpus(p, d) > r_.max_gpus || step > 64) return std::nullopt;
      const ServeSummary& s = run(p, d).first;
      if (ok(s)) break;
      const bool ttft_miss = r_.max_ttft && s.ttft.at(r_.slo_percentile) > r_.max_ttft->value;
      const bool tpot_miss = r_.max_tpot && s.tpot.at(r_.slo_percentile) > r_.max_tpot->value;
      if (ttft_miss && !tpot_miss)
        ++p;
      else if (tpot_miss && !ttft_miss)
        ++d;
      else if (prefill->tp <= decode->tp)  // both, or a backlog: the cheaper pool first
        ++p;
      else
        ++d;
    }
    while (d > 1 && ok(run(p, d - 1).first)) --d;
    while (p > 1 && ok(run(p - 1, d).first)) --p;
    const auto& [at, transfer] = run(p, d);

    Plan plan;
    plan.gpu = seed.gpu;
    plan.tp = decode->tp;
    plan.replicas = d;
    plan.weights = seed.weights;
    plan.kv_dtype = seed.kv_dtype;
    plan.risk = seed.risk;
    plan.disaggregated = DisaggregatedLayout{p, prefill->tp, d, decode->tp};
    plan.mean_transfer_s = transfer;
    plan.batch = std::max<std::int64_t>(1, std::llround(at.mean_running));
    plan.per_gpu_memory = std::max(prefill->per_gpu, decode->per_gpu);
    plan.budget_per_gpu = decode->budget;
    plan.ttft = Seconds{at.ttft.at(r_.slo_percentile)};
    plan.tpot = Seconds{at.tpot.at(r_.slo_percentile)};
    plan.e2e = Seconds{at.e2e.at(r_.slo_percentile)};
    plan.throughput_tokens_per_s = at.output_tokens_per_s;
    plan.gpu_hours_per_mtok =
        static_cast<double>(plan.gpus()) * 1e6 / (*r_.rate * static_cast<double>(r_.gen)) / 3600.0;
    if (g.usd_per_hour) plan.usd_per_mtok = plan.gpu_hours_per_mtok * *g.usd_per_hour;
    plan.simulated = true;
    plan.capacity_per_replica = *r_.rate / static_cast<double>(d);  // per decode replica
    plan.max_num_batched_tokens = limits.max_num_batched_tokens;
    plan.max_num_seqs = limits.max_num_seqs;
    plan.kv_use_max = at.kv_use_max;
    return plan;
  }

 public:
  bool any_fit() const { return any_fit_; }
  PlanResult result;

 private:
  struct RateCandidate {
    Family family;
    EngineLimits limits;
    MemoryQuery query;
    ServeEngine engine;
    ModelShapes shapes;  ///< owned: the search loop's copies go out of scope
    Ceilings ceilings;
    Bytes per_gpu, budget;
    double capacity_bound = 0;  ///< req/s, static estimate of one replica at its fullest batch
    double cost_floor = 0;      ///< cost at the fewest replicas the bound allows
  };

  /// How far above the static capacity bound the search still looks (see rate_candidate).
  static constexpr double kCapacityMargin = 1.25;
  std::int64_t replicas_floor(const RateCandidate& c) const {
    return std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::ceil(*r_.rate / (kCapacityMargin * c.capacity_bound))));
  }

  double cost_per_mtok(const GpuSpec& g, std::int64_t gpus) const {
    // GPU-hours (or dollars) per million generated tokens at the requested rate.
    const double hours = static_cast<double>(gpus) * 1e6 / (*r_.rate * static_cast<double>(r_.gen)) / 3600.0;
    return usd_ ? hours * *g.usd_per_hour : hours;
  }
  double cost_of_plan(const Plan& p) const { return usd_ ? *p.usd_per_mtok : p.gpu_hours_per_mtok; }

  /// The first of `replicas` replicas sharing the rate round robin, as `ridge serve` splits it:
  /// every replicas-th request of one Poisson stream at the whole rate (sim_requests of them).
  /// Under expert parallelism each replica's attention groups are engines of their own: the
  /// stream is split over replicas x groups and one group simulated.
  ServeSummary run_at(RateCandidate& c, StepCost& cost, std::int64_t replicas) {
    ++result.simulations;
    const std::int64_t engines = replicas * attention_groups(c.family.ep, c.family.tp);
    const LengthDistribution prompt{LengthDistribution::Kind::fixed, static_cast<double>(r_.prompt), 0};
    const LengthDistribution gen{LengthDistribution::Kind::fixed, static_cast<double>(r_.gen), 0};
    const RequestLoad all = generate_workload(r_.sim_requests * engines, *r_.rate, prompt, gen, r_.seed);
    RequestLoad share;
    share.requests.reserve(static_cast<std::size_t>(r_.sim_requests));
    for (std::size_t i = 0; i < all.requests.size(); i += static_cast<std::size_t>(engines))
      share.requests.push_back(all.requests[i]);
    ServeResult sr = simulate(cost, c.engine, share, 1);
    return summarize(sr, slo(), *r_.rate / static_cast<double>(engines));
  }
  LatencySlo slo() const {
    LatencySlo s;
    if (r_.max_ttft) s.ttft_s = r_.max_ttft->value;
    if (r_.max_tpot) s.tpot_s = r_.max_tpot->value;
    s.percentile = r_.slo_percentile;
    return s;
  }
  static bool ok(const ServeSummary& s) { return s.meets_slo && !s.saturated; }

  /// The fewest replicas whose share of the rate one replica serves within the SLOs: from the
  /// count the capacity bound suggests, down while it holds, or up (galloping, then bisecting)
  /// until it does. Latency grows with the load, so the answer is the boundary.
  std::optional<Plan> simulate_candidate(RateCandidate& c, Outcome& out) {
    const Family& f = c.family;
    StepCost cost(c.shapes, c.ceilings, f.topology, r_.attention, f.kv);
    const std::int64_t per_replica = replica_gpus(f.tp, f.pp, f.ep);
    const std::int64_t most = r_.max_gpus / per_replica;
    std::map<std::int64_t, ServeSummary> tried;
    auto ok_at = [&](std::int64_t n) {
      auto it = tried.find(n);
      if (it == tried.end()) it = tried.emplace(n, run_at(c, cost, n)).first;
      return ok(it->second);
    };
    const std::int64_t floor_n = replicas_floor(c);
    std::int64_t n = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(*r_.rate / c.capacity_bound)),
                                              floor_n, std::max<std::int64_t>(floor_n, most));
    if (ok_at(n)) {
      while (n > floor_n && ok_at(n - 1)) --n;
    } else {
      std::int64_t bad = n, step = 1, good = 0;  // bad misses; find one above it that meets them
      while (good == 0) {
        const std::int64_t next = std::min(bad + step, most);
        if (next <= bad) {
          out.reject(Rejection::misses_throughput, {.what = RejectionDetail::What::slo_at_most_gpus,
                                                    .measured = *r_.rate / static_cast<double>(bad),
                                                    .replicas = bad,
                                                    .gpus = bad * per_replica,
                                                    .max_gpus = r_.max_gpus});
          return std::nullopt;
        }
        if (ok_at(next))
          good = next;
        else
          bad = next, step *= 2;
      }
      while (good - bad > 1) {
        const std::int64_t mid = bad + (good - bad) / 2;
        (ok_at(mid) ? good : bad) = mid;
      }
      n = good;
    }
    const std::int64_t replicas = n;
    const ServeSummary& at = tried.at(n);
    Plan p = plan_of(f, replicas);
    p.batch =
        std::max<std::int64_t>(1, std::llround(at.mean_running * static_cast<double>(attention_groups(f.ep, f.tp))));
    p.per_gpu_memory = c.per_gpu;
    p.budget_per_gpu = c.budget;
    p.ttft = Seconds{at.ttft.at(r_.slo_percentile)};
    p.tpot = Seconds{at.tpot.at(r_.slo_percentile)};
    p.e2e = Seconds{at.e2e.at(r_.slo_percentile)};
    // The simulated engine is one attention group of one replica (all of them, without EP).
    p.throughput_tokens_per_s = at.output_tokens_per_s * static_cast<double>(replicas * attention_groups(f.ep, f.tp));
    p.gpu_hours_per_mtok = static_cast<double>(p.gpus()) * 1e6 / (*r_.rate * static_cast<double>(r_.gen)) / 3600.0;
    if (f.gpu->usd_per_hour) p.usd_per_mtok = p.gpu_hours_per_mtok * *f.gpu->usd_per_hour;
    p.simulated = true;
    {
      // Power at the plan's mean batch, busy as the simulation found.
      const ServiceEstimate typical = estimate_service(
          c.shapes, c.ceilings, ServiceQuery{p.batch, r_.prompt, r_.gen, r_.attention, f.kv, f.topology, 0});
      if (auto energy = estimate_served_energy(*f.gpu, typical, r_.gen, at.busy_fraction, at.duration_s,
                                               at.generated_tokens, per_replica))
        p.joules_per_token = energy->joules_per_output_token;
    }
    if (f.drafter) {
      StepCost target(c.shapes, c.ceilings, f.topology, r_.attention, f.kv);
      const ServiceEstimate plain = estimate_service(
          c.shapes, c.ceilings, ServiceQuery{p.batch, r_.prompt, r_.gen, r_.attention, f.kv, f.topology, 0});
      p.speculative = true;
      p.speculative_speedup =
          estimate_speculative(target, *f.drafter->cost, p.batch, plain.decode_ops_context, f.drafter->config)
              .speedup();
    }
    p.capacity_per_replica = *r_.rate / static_cast<double>(replicas);
    p.max_num_batched_tokens = c.limits.max_num_batched_tokens;
    p.max_num_seqs = c.limits.max_num_seqs;
    p.kv_use_max = at.kv_use_max;
    return p;
  }

  const ModelSpec& m_;
  const PlanRequest& r_;
  const bool usd_;  ///< costs in dollars (every GPU priced, ranking by money asked), else GPU-hours
  bool any_fit_ = false;
  std::vector<RateCandidate> rate_candidates_;
};

double cost_of(const Plan& p, bool usd) { return usd ? *p.usd_per_mtok : p.gpu_hours_per_mtok; }

}  // namespace

namespace {

/// Folds each plan that differs from an earlier one only by interchangeable formats (fp8 vs
/// int8 weights or KV at the same cost) into that earlier one, which lists the alternatives.
void group_equivalent_plans(std::vector<Plan>& plans, bool usd) {
  std::vector<Plan> kept;
  kept.reserve(plans.size());
  for (Plan& p : plans) {
    Plan* same = nullptr;
    for (Plan& k : kept) {
      // Planned by load, the mean batch follows from the engine limits: not a difference.
      const auto pools = [](const Plan& x) {
        return x.disaggregated ? std::tuple{x.disaggregated->prefill_replicas, x.disaggregated->prefill_tp}
                               : std::tuple<std::int64_t, std::int64_t>{0, 0};
      };
      if (k.gpu != p.gpu || k.tp != p.tp || k.pp != p.pp || k.ep != p.ep || k.replicas != p.replicas ||
          pools(k) != pools(p) || (!p.simulated && k.batch != p.batch) || k.risk != p.risk)
        continue;
      const double a = cost_of(k, usd), b = cost_of(p, usd);
      if (std::abs(a - b) <= 0.005 * std::max(a, b)) {
        same = &k;
        break;
      }
    }
    if (!same) {
      kept.push_back(std::move(p));
      continue;
    }
    auto& w = same->equivalent_weights;
    if (p.weights.name != same->weights.name && std::find(w.begin(), w.end(), p.weights.name) == w.end())
      w.push_back(p.weights.name);
    auto& kv = same->equivalent_kv;
    if (p.kv_dtype != same->kv_dtype && std::find(kv.begin(), kv.end(), p.kv_dtype) == kv.end())
      kv.push_back(p.kv_dtype);
  }
  plans = std::move(kept);
}

}  // namespace

PlanResult make_plan(const ModelSpec& m, const PlanRequest& r) {
  if (r.gpus.empty()) throw InputError({}, "--gpu", "no GPU to plan for");
  if (r.max_gpus < 1 || r.max_gpus > 4096) throw InputError({}, "--max-gpus", "must be between 1 and 4096");

  const std::string sixteen = m.dtype == DType::fp16 ? "fp16" : "bf16";
  std::vector<WeightFormat> formats = r.weight_formats;
  const bool default_formats = formats.empty();
  if (default_formats) {
    for (const char* name : {sixteen.c_str(), "fp8", "int8"}) formats.push_back(*weight_format(name));
    if (r.allow_int4) formats.push_back(*weight_format("int4"));
    // The checkpoint's own format (MXFP4 experts, FP8 blocks) is always a candidate.
    if (m.checkpoint_format && std::none_of(formats.begin(), formats.end(),
                                            [&](const WeightFormat& f) { return f.name == m.checkpoint_format->name; }))
      formats.insert(formats.begin(), *m.checkpoint_format);
  } else if (!r.allow_int4) {
    for (const WeightFormat& f : formats)
      if (quality_risk(f, DType::bf16, m.checkpoint_format) == QualityRisk::int4)
        throw InputError({}, "--precision", f.name + " is int4-class: pass --allow-int4 to accept its quality risk");
  }
  std::vector<DType> kvs = r.kv_dtypes;
  if (kvs.empty()) kvs = {m.dtype == DType::fp16 ? DType::fp16 : DType::bf16, DType::fp8, DType::int8};

  Search search(m, r);
  search.run(formats, kvs);
  if (r.rate) search.simulate_candidates(r.top_simulated);
  if (r.rate && r.disaggregation) search.search_disaggregated(/*seeds=*/3);
  PlanResult result = std::move(search.result);
  if (default_formats && !r.allow_int4 && !search.any_fit()) {
    // int4 only as the way to fit at all.
    Search int4(m, r);
    int4.run({*weight_format("int4")}, kvs);
    if (r.rate) int4.simulate_candidates(r.top_simulated);
    if (!int4.result.plans.empty()) {
      result.int4_fallback = true;
      result.candidates += int4.result.candidates;
      result.simulations += int4.result.simulations;
      result.plans = std::move(int4.result.plans);
      result.rejected.insert(result.rejected.end(), int4.result.rejected.begin(), int4.result.rejected.end());
    }
  }

  result.cost_in_usd = r.rank_by_usd && std::all_of(r.gpus.begin(), r.gpus.end(),
                                                    [](const GpuSpec& g) { return g.usd_per_hour.has_value(); });
  const bool usd = result.cost_in_usd;
  auto& plans = result.plans;
  // Ties go to fewer GPUs, lower TPOT, lower risk, and fp8 before int8 KV (what serving engines
  // support: vLLM has fp8 KV caches, not int8 ones).
  auto key = [&](const Plan& p) {
    return std::make_tuple(cost_of(p, usd), p.gpus(), p.tpot.value, p.risk, p.kv_dtype == DType::int8, p.gpu, p.tp,
                           p.pp, p.ep, p.weights.name);
  };
  std::sort(plans.begin(), plans.end(), [&](const Plan& a, const Plan& b) { return key(a) < key(b); });
  if (r.disaggregation)
    for (const Plan& p : plans) {
      std::optional<Plan>& cheapest_of_kind = p.disaggregated ? result.best_disaggregated : result.best_colocated;
      if (!cheapest_of_kind) cheapest_of_kind = p;
    }
  std::sort(result.rejected.begin(), result.rejected.end(), [](const RejectedFamily& a, const RejectedFamily& b) {
    return std::make_tuple(a.gpu, a.weights, a.kv_dtype, a.tp, a.pp) <
           std::make_tuple(b.gpu, b.weights, b.kv_dtype, b.tp, b.pp);
  });
  if (plans.empty()) return result;

  // The recommendation: the lowest quality risk within the cost tolerance of the cheapest.
  const double cheapest = cost_of(plans.front(), usd);
  std::size_t best = 0;
  for (std::size_t i = 1; i < plans.size() && cost_of(plans[i], usd) <= cheapest * (1 + r.cost_tolerance); ++i)
    if (plans[i].risk < plans[best].risk) best = i;
  const Plan winner = plans[best];
  if (best != 0) {
    plans.erase(plans.begin() + static_cast<std::ptrdiff_t>(best));
    plans.insert(plans.begin(), winner);
  }
  result.recommended_above_cheaper = best != 0;
  const std::size_t feasible = plans.size();
  const Plan cheaper = plans.size() > 1 ? plans[1] : plans.front();  // the cheapest, when moved down
  group_equivalent_plans(plans, usd);
  result.feasible = feasible;
  if (best != 0) result.cheapest = cheaper;
  return result;
}

}  // namespace ridge
