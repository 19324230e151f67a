#include "serve.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "format.hpp"
#include "error.hpp"
#include "workload.hpp"

namespace ridge {

EngineLimits default_engine_limits(const GpuSpec& g) {
  const bool large = g.memory.value >= 70.0 * 1024 * 1024 * 1024 && g.name.find("a100") == std::string::npos;
  return large ? EngineLimits{8192, 1024} : EngineLimits{2048, 256};
}

ServeEngine serve_engine(const ModelSpec& m, const MemoryQuery& q, const MemoryEstimate& memory, EngineLimits limits) {
  const StageMemory& stage = memory.stages[memory.kv_pool_stage];
  ServeEngine e;
  e.limits = limits;
  e.kv_layout = kv_pool_layout(m, q.kv_dtype, q.tp, stage.first_layer, stage.layers, q.block_size);
  e.kv_blocks = memory.kv_capacity_blocks;
  return e;
}

void add_drafter(ServeEngine& e, const ModelSpec& m, const GpuSpec& g, const MemoryQuery& q,
                 const MemoryEstimate& memory, const Drafter& drafter) {
  const StageMemory& stage = memory.stages[memory.kv_pool_stage];
  const double pool = static_cast<double>(memory.kv_pool_per_gpu.value);
  const double left = pool - static_cast<double>(drafter.weights_per_gpu.value);
  if (left <= 0)
    throw InputError(
        {}, "--spec-tokens",
        fmt::format("the drafter's {} GiB of weights leave no KV cache on {}", gib(drafter.weights_per_gpu), g.name));
  const auto target_kv =
      static_cast<double>(kv_cache_bytes(m, q.kv_dtype, 1, 1, q.tp, stage.first_layer, stage.layers).value);
  const auto draft_kv = static_cast<double>(drafter.kv_per_token_per_gpu.value);
  e.kv_blocks =
      static_cast<std::int64_t>(static_cast<double>(e.kv_blocks) * left / pool * target_kv / (target_kv + draft_kv));
  e.spec = drafter.config;
  e.drafter = drafter.cost.get();
}

Percentiles percentiles_of(std::vector<double>& values) {
  Percentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {  // numpy's default: linear between the order statistics
    const double rank = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  double sum = 0;
  for (double v : values) sum += v;
  p.mean = sum / static_cast<double>(values.size());
  return p;
}

namespace {
// Gaps from 1 ns to ~1e6 s in bins 0.1 % wide.
constexpr double kGapFloor = 1e-9;
const double kLogBinWidth = std::log(1.001);
constexpr std::size_t kGapBins = 34'600;
}  // namespace

void GapHistogram::add(double seconds) {
  if (bins_.empty()) bins_.assign(kGapBins, 0);
  const double x = std::max(seconds, kGapFloor);
  const auto bin = std::min(kGapBins - 1, static_cast<std::size_t>(std::log(x / kGapFloor) / kLogBinWidth));
  ++bins_[bin];
  ++count_;
  sum_ += seconds;
}

void GapHistogram::merge(const GapHistogram& other) {
  if (other.count_ == 0) return;
  if (bins_.empty()) bins_.assign(kGapBins, 0);
  for (std::size_t i = 0; i < kGapBins; ++i) bins_[i] += other.bins_[i];
  count_ += other.count_;
  sum_ += other.sum_;
}

double GapHistogram::quantile(double q) const {
  // The bin holding the value of rank q · (n − 1) (the lower order statistic), its middle.
  const auto rank = static_cast<std::uint64_t>(std::floor(q * static_cast<double>(count_ - 1)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bins_.size(); ++i) {
    seen += bins_[i];
    if (seen > rank) return kGapFloor * std::exp((static_cast<double>(i) + 0.5) * kLogBinWidth);
  }
  return 0;
}

Percentiles GapHistogram::percentiles() const {
  Percentiles p;
  if (count_ == 0) return p;
  p.p50 = quantile(0.50);
  p.p90 = quantile(0.90);
  p.p99 = quantile(0.99);
  p.mean = sum_ / static_cast<double>(count_);
  return p;
}

namespace {

/// A request inside the engine.
struct Live {
  std::int64_t prompt = 0, output = 0;
  std::int64_t generated = 0;  ///< tokens produced so far
  std::int64_t computed = 0;   ///< tokens whose KV is cached or being computed by a step in flight
  std::int64_t blocks = 0;     ///< KV blocks held
  std::int64_t epoch = 0;      ///< bumped by a preemption: a step in flight for an older epoch is void
  std::int64_t user = 0;       ///< closed loop: who sends the next request
  std::size_t index = 0;       ///< in the workload
  bool in_flight = false;      ///< a step holding this request's next token is running
  double arrival = 0, first_token = 0, last_token = 0;
  std::int64_t tokens() const { return prompt + generated; }  ///< what the cache must hold before it samples
};

/// One scheduled piece of work in a step.
struct Slice {
  std::size_t live = 0;
  std::int64_t epoch = 0;
  bool samples = false;     ///< completes the request's known tokens: a new token is sampled
  std::int64_t drafts = 0;  ///< speculative decoding: draft tokens verified with it
};

struct Step {
  double finish = 0;
  std::vector<Slice> slices;
};

class Engine {
 public:
  Engine(StepCost& cost, const ServeEngine& e, const RequestLoad& w, ServeResult& out)
      : cost_(cost),
        engine_(e),
        w_(w),
        out_(out),
        keys_(cost.groups(), 0.0),
        pairs_(cost.groups(), 0.0),
        draft_keys_(e.drafter ? e.drafter->groups() : 0, 0.0),
        rng_(e.seed ^ 0x2545f4914f6cdd1dULL) {
    if (e.spec.enabled() && !e.drafter) throw std::logic_error("serve: speculative decoding without a drafter");
    out_.kv_blocks = e.kv_blocks;
    free_blocks_ = e.kv_blocks;
  }

  void run() {
    const std::size_t n = w_.requests.size();
    if (n == 0) return;
    check_fits();
    if (w_.concurrency > 0) {
      const auto users = static_cast<std::size_t>(std::min<std::int64_t>(w_.concurrency, static_cast<std::int64_t>(n)));
      for (std::size_t u = 0; u < users; ++u) arrive(next_request_++, 0.0, static_cast<std::int64_t>(u));
    } else {
      for (const Request& r : w_.requests) pending_.push_back(r.arrival_s);
    }
    now_ = w_.concurrency > 0 ? 0.0 : w_.requests.front().arrival_s;
    last_event_ = now_;
    const std::size_t depth = static_cast<std::size_t>(std::max<std::int64_t>(1, cost_.pipeline_stages()));
    while (finished_ < n) {
      admit_arrivals();
      if (in_flight_.size() < depth && now_ >= stage_free_ && launch_step()) continue;
      // Nothing to launch now: move to the next event.
      double next = std::numeric_limits<double>::infinity();
      if (!in_flight_.empty()) next = in_flight_.front().finish;
      if (in_flight_.size() < depth) {
        if (stage_free_ > now_ && has_idle_work()) next = std::min(next, stage_free_);
        if (next_pending_ < pending_.size()) next = std::min(next, pending_[next_pending_]);
      }
      if (!std::isfinite(next))
        throw std::logic_error("serve: the engine stalled with " + std::to_string(n - finished_) +
                               " requests unfinished");
      advance_to(next);
      while (!in_flight_.empty() && in_flight_.front().finish <= now_)
        complete(in_flight_.front()), in_flight_.pop_front();
    }
  }

 private:
  void check_fits() const {
    for (const Request& r : w_.requests) {
      // The most it holds: at its last decode, or while its last prompt chunk runs.
      const std::int64_t chunk = std::min(r.prompt, engine_.limits.max_num_batched_tokens);
      const std::int64_t need = std::max(engine_.kv_layout.blocks_held(r.prompt + r.output - 2, 1),
                                         engine_.kv_layout.blocks_held(r.prompt - chunk, chunk));
      if (need > engine_.kv_blocks)
        throw InputError({}, "request",
                         "a request of " + std::to_string(r.prompt) + " + " + std::to_string(r.output) +
                             " tokens needs " + std::to_string(need) + " KV blocks and the pool holds " +
                             std::to_string(engine_.kv_blocks) + ": vLLM would refuse to start with it");
    }
  }

  /// A request arrives at time t (closed loop: sent by `user`).
  void arrive(std::size_t index, double t, std::int64_t user) {
    const Request& r = w_.requests[index];
    Live l;
    l.prompt = r.prompt;
    l.output = r.output;
    l.arrival = t;
    l.user = user;
    l.index = index;
    if (r.prefilled) {  // its cache came with it: only its first token's successor to compute
      l.generated = 1;
      l.computed = r.prompt;
      l.first_token = t;
      l.last_token = t;
    }
    std::size_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
      live_[slot] = l;
    } else {
      slot = live_.size();
      live_.push_back(l);
    }
    waiting_.push_back(slot);
    ++in_system_;
  }

  void admit_arrivals() {
    while (next_pending_ < pending_.size() && pending_[next_pending_] <= now_) {
      arrive(next_pending_, pending_[next_pending_], 0);
      ++next_pending_;
    }
    out_.max_waiting = std::max(out_.max_waiting, static_cast<std::int64_t>(waiting_.size()));
  }

  /// Moves the clock to t, integrating the counts (open-loop arrivals in between counted from
  /// their own times).
  void advance_to(double t) {
    auto integrate = [&](double until) {
      const double dt = until - last_event_;
      out_.in_system_s += dt * static_cast<double>(in_system_ + arrived_not_admitted_);
      out_.running_s += dt * static_cast<double>(running_.size());
      out_.kv_blocks_s += dt * static_cast<double>(engine_.kv_blocks - free_blocks_);
      last_event_ = until;
    };
    for (std::size_t i = next_pending_ + arrived_not_admitted_; i < pending_.size() && pending_[i] <= t; ++i) {
      integrate(pending_[i]);
      ++arrived_not_admitted_;
    }
    integrate(t);
    now_ = t;
    // admit_arrivals moves them into the queue; they stay counted once.
    arrived_not_admitted_ = 0;
  }

  bool has_idle_work() const {
    if (!waiting_.empty()) return true;
    for (std::size_t r : running_)
      if (live_[r].tokens() > live_[r].computed) return true;
    return false;
  }

  void preempt(std::size_t victim) {
    Live& v = live_[victim];
    free_blocks_ += v.blocks;
    v.blocks = 0;
    v.computed = 0;
    v.in_flight = false;
    ++v.epoch;
    ++out_.preemptions;
    waiting_.push_front(victim);
  }

  /// Tries to give `l` blocks for `new_tokens` more tokens.
  bool allocate(Live& l, std::int64_t new_tokens) {
    const std::int64_t need = engine_.kv_layout.blocks_held(l.computed, new_tokens) - l.blocks;
    if (need > free_blocks_) return false;
    free_blocks_ -= need;
    l.blocks += need;
    return true;
  }

  /// vLLM v1's schedule(): running first, then waiting; launches the step. False: nothing to run.
  bool launch_step() {
    std::int64_t budget = engine_.limits.max_num_batched_tokens;
    Step step;
    std::int64_t tokens = 0, decodes = 0, chunks = 0, logit_rows = 0;
    std::int64_t decode_tokens = 0, drafting = 0, most_drafts = 0, chunk_tokens = 0;
    double chunk_attention = 0, draft_chunk_attention = 0;
    std::fill(keys_.begin(), keys_.end(), 0.0);
    std::fill(pairs_.begin(), pairs_.end(), 0.0);
    std::fill(draft_keys_.begin(), draft_keys_.end(), 0.0);
    const bool speculative = engine_.spec.enabled();
    bool preempted = false;
    // A decode (only its last sampled token uncomputed) takes it and, speculating, up to K
    // drafts: never more than the request still needs, nor than the budget holds.
    auto new_tokens_of = [&](const Live& l) -> std::pair<std::int64_t, std::int64_t> {
      const std::int64_t uncomputed = l.tokens() - l.computed;
      if (uncomputed != 1 || !speculative) return {std::min(uncomputed, budget), 0};
      const std::int64_t drafts =
          std::max<std::int64_t>(0, std::min({engine_.spec.tokens, l.output - l.generated - 1, budget - 1}));
      return {1 + drafts, drafts};
    };
    auto schedule = [&](std::size_t slot, std::int64_t new_tokens, std::int64_t drafts) {
      Live& l = live_[slot];
      const bool decode = l.tokens() - l.computed == 1;
      const std::int64_t context = l.computed + new_tokens;
      l.computed = context;
      l.in_flight = true;
      budget -= new_tokens;
      tokens += new_tokens;
      step.slices.push_back({slot, l.epoch, context >= l.tokens(), drafts});
      if (decode) {
        ++decodes;
        decode_tokens += new_tokens;
        logit_rows += new_tokens;  // every position is verified
        if (cost_.all_global() && new_tokens == 1) {
          keys_[0] += static_cast<double>(context);
          pairs_[0] += static_cast<double>(context);
        } else {
          for (std::size_t g = 0; g < keys_.size(); ++g) {
            keys_[g] += cost_.keys(g, new_tokens, context);
            pairs_[g] += cost_.pairs(g, new_tokens, context);
          }
        }
        if (drafts > 0) {
          ++drafting;
          most_drafts = std::max(most_drafts, drafts);
          for (std::size_t g = 0; g < draft_keys_.size(); ++g)
            draft_keys_[g] += engine_.drafter->decode_keys(g, context);
        }
      } else {
        ++chunks;
        ++logit_rows;
        chunk_tokens += new_tokens;
        chunk_attention += cost_.chunk_attention(new_tokens, context);
        if (speculative) draft_chunk_attention += engine_.drafter->chunk_attention(new_tokens, context);
      }
    };
    for (std::size_t i = 0; i < running_.size() && budget > 0;) {
      const std::size_t slot = running_[i];
      Live& l = live_[slot];
      const auto [new_tokens, drafts] = new_tokens_of(l);
      if (new_tokens <= 0) {  // its last token is still being computed (PP)
        ++i;
        continue;
      }
      bool scheduled = true;
      while (!allocate(l, new_tokens)) {
        const std::size_t victim = running_.back();
        running_.pop_back();
        preempt(victim);
        preempted = true;
        if (victim == slot) {
          scheduled = false;
          break;
        }
      }
      if (!scheduled) break;
      schedule(slot, new_tokens, drafts);
      ++i;
    }
    if (!preempted) {
      while (!waiting_.empty() && budget > 0 &&
             static_cast<std::int64_t>(running_.size()) < engine_.limits.max_num_seqs) {
        const std::size_t slot = waiting_.front();
        Live& l = live_[slot];
        const std::int64_t new_tokens = std::min(l.tokens() - l.computed, budget);
        if (!allocate(l, new_tokens)) break;
        waiting_.pop_front();
        running_.push_back(slot);
        schedule(slot, new_tokens, 0);
      }
    }
    if (step.slices.empty()) return false;
    const double attention_s =
        (decodes > 0 ? cost_.decode_attention(static_cast<double>(decodes),
                                              static_cast<double>(decode_tokens) / static_cast<double>(decodes),
                                              keys_.data(), pairs_.data())
                     : 0.0) +
        chunk_attention;
    StepTime t = cost_.step(tokens, logit_rows, attention_s);
    if (speculative) {
      // The drafter: one pass over the prompt chunks (its own cache), and K passes of one token
      // over the decodes that draft (the first over the tokens the last step accepted, taken as
      // one each: at decode batch sizes the pass reads weights, not tokens).
      StepCost& d = *engine_.drafter;
      StepTime draft;
      if (chunks > 0) draft = d.step(chunk_tokens, chunks, draft_chunk_attention);
      if (drafting > 0) {
        const StepTime pass =
            d.step(drafting, drafting, d.decode_attention(static_cast<double>(drafting), draft_keys_.data()));
        draft.busy += static_cast<double>(most_drafts) * pass.busy;
        draft.latency += static_cast<double>(most_drafts) * pass.latency;
      }
      t.busy += draft.busy;
      t.latency += draft.latency;
    }
    step.finish = std::max(now_ + t.latency, in_flight_.empty() ? 0.0 : in_flight_.back().finish);
    stage_free_ = now_ + t.busy;
    ++out_.steps;
    out_.step_tokens += tokens;
    out_.step_decodes += decodes;
    out_.step_prefills += chunks;
    if (chunks > 0 && decodes > 0) ++out_.mixed_steps;
    if (chunks > 0 && decodes == 0) ++out_.prefill_only_steps;
    out_.busy_s += t.busy;
    out_.max_kv_blocks_used = std::max(out_.max_kv_blocks_used, engine_.kv_blocks - free_blocks_);
    in_flight_.push_back(std::move(step));
    return true;
  }

  /// A step's tokens arrive at now_.
  void complete(const Step& step) {
    std::vector<std::size_t>& done = done_;
    done.clear();
    for (const Slice& s : step.slices) {
      Live& l = live_[s.live];
      if (l.epoch != s.epoch) continue;  // preempted since: recomputed later
      l.in_flight = false;
      if (!s.samples) continue;
      std::int64_t produced = 1;
      if (s.drafts > 0) {
        // Verification: the accepted drafts and the target's own token; the rejected drafts'
        // cache entries are dropped.
        produced = draw_step_tokens(rng_, s.drafts, engine_.spec.acceptance);
        l.computed -= s.drafts + 1 - produced;
        ++out_.verify_steps;
        out_.verified_tokens += produced;
      }
      l.generated += produced;
      // One gap per step, as a streaming client sees it (several tokens may arrive together).
      if (l.generated == produced)
        l.first_token = now_;
      else
        out_.itl.add(now_ - l.last_token);
      l.last_token = now_;
      if (l.generated < l.output) continue;
      // Finished: its blocks return to the pool.
      free_blocks_ += l.blocks;
      l.blocks = 0;
      l.epoch = -1;  // marks the slot for removal from running_
      done.push_back(s.live);
      const double e2e = now_ - l.arrival, ttft = l.first_token - l.arrival;
      out_.ttft_s.push_back(ttft);
      out_.e2e_s.push_back(e2e);
      out_.tpot_s.push_back(l.output > 1 ? (e2e - ttft) / static_cast<double>(l.output - 1) : -1.0);
      out_.output_tokens.push_back(l.output);
      out_.request_ids.push_back(l.index);
      ++out_.completed;
      out_.prompt_tokens += l.prompt;
      out_.generated_tokens += l.output;
      out_.last_finish_s = std::max(out_.last_finish_s, now_);
      ++finished_;
      --in_system_;
    }
    if (done.empty()) return;
    running_.erase(std::remove_if(running_.begin(), running_.end(), [&](std::size_t r) { return live_[r].epoch < 0; }),
                   running_.end());
    // Only now may the slots be reused: closed-loop users send their next request.
    for (std::size_t slot : done) {
      free_slots_.push_back(slot);
      if (w_.concurrency > 0 && next_request_ < w_.requests.size()) arrive(next_request_++, now_, live_[slot].user);
    }
  }

  StepCost& cost_;
  const ServeEngine& engine_;
  const RequestLoad& w_;
  ServeResult& out_;
  std::vector<std::size_t> done_;   ///< scratch: requests a step finished
  std::vector<double> keys_;        ///< per layer group: Σ keys of this step's decodes
  std::vector<double> pairs_;       ///< per layer group: Σ query–key pairs of this step's decodes
  std::vector<double> draft_keys_;  ///< per drafter layer group: Σ keys of the drafting decodes
  Rng rng_;                         ///< acceptance draws
  std::vector<Live> live_;
  std::vector<std::size_t> free_slots_;
  std::vector<std::size_t> running_;  ///< admission order: the last is preempted first
  std::deque<std::size_t> waiting_;
  std::deque<Step> in_flight_;
  std::vector<double> pending_;  ///< open loop: arrival times
  std::size_t next_pending_ = 0;
  std::size_t arrived_not_admitted_ = 0;
  std::size_t next_request_ = 0;  ///< closed loop: the next request a user sends
  std::size_t finished_ = 0;
  std::int64_t in_system_ = 0;
  std::int64_t free_blocks_ = 0;
  double now_ = 0, stage_free_ = 0, last_event_ = 0;
};

}  // namespace

void simulate_engine(StepCost& cost, const ServeEngine& engine, const RequestLoad& w, ServeResult& into) {
  Engine(cost, engine, w, into).run();
}

ServeResult simulate(StepCost& cost, const ServeEngine& engine, const RequestLoad& w, std::int64_t replicas) {
  ServeResult result;
  result.replicas = std::max<std::int64_t>(1, replicas);
  result.first_arrival_s = std::numeric_limits<double>::infinity();
  const auto n = static_cast<std::size_t>(result.replicas);
  for (std::size_t r = 0; r < n; ++r) {
    RequestLoad share;
    for (std::size_t i = r; i < w.requests.size(); i += n) share.requests.push_back(w.requests[i]);
    if (w.concurrency > 0) {
      const std::int64_t users =
          w.concurrency / result.replicas + (static_cast<std::int64_t>(r) < w.concurrency % result.replicas ? 1 : 0);
      if (users == 0) continue;
      share.concurrency = users;
    }
    if (share.requests.empty()) continue;
    const double first = w.concurrency > 0 ? 0.0 : share.requests.front().arrival_s;
    result.first_arrival_s = std::min(result.first_arrival_s, first);
    const std::size_t before = result.request_ids.size();
    simulate_engine(cost, engine, share, result);
    for (std::size_t i = before; i < result.request_ids.size(); ++i)
      result.request_ids[i] = r + result.request_ids[i] * n;
  }
  if (!std::isfinite(result.first_arrival_s)) result.first_arrival_s = 0;
  if (w.concurrency == 0)
    for (const Request& q : w.requests) result.last_arrival_s = std::max(result.last_arrival_s, q.arrival_s);
  return result;
}

std::function<double(std::int64_t)> kv_transfer_time(const ModelSpec& m, DType kv, std::int64_t senders,
                                                     const Link& link) {
  const ModelSpec model = m;
  const auto n = static_cast<double>(senders);
  return [model, kv, n, link](std::int64_t tokens) {
    const auto bytes = static_cast<double>(kv_cache_bytes(model, kv, tokens, 1, 1, 0, model.layers).value);
    return send_time(bytes / n, link).value;
  };
}

DisaggregatedResult simulate_disaggregated(const DisaggregatedPools& p, const RequestLoad& w) {
  if (w.concurrency > 0) throw std::logic_error("serve: disaggregated pools take an open-loop workload");
  DisaggregatedResult out;
  const std::size_t n = w.requests.size();
  // 1. The prefill pool: every request as a one-token request (the prefill makes the first).
  RequestLoad prefill_load = w;
  for (Request& r : prefill_load.requests) r.output = 1;
  out.prefill = simulate(*p.prefill_cost, *p.prefill_engine, prefill_load, p.prefill_replicas);
  // 2. Each request's cache reaches the decode pool after its transfer.
  std::vector<double> ready(n, 0.0);
  double transfer_sum = 0;
  for (std::size_t i = 0; i < out.prefill.request_ids.size(); ++i) {
    const std::size_t id = out.prefill.request_ids[i];
    const double transfer = p.transfer_s(w.requests[id].prompt);
    transfer_sum += transfer;
    ready[id] = w.requests[id].arrival_s + out.prefill.e2e_s[i] + transfer;
  }
  out.mean_transfer_s = n > 0 ? transfer_sum / static_cast<double>(n) : 0;
  std::vector<std::size_t> order;  // requests that still decode, by arrival at the decode pool
  for (std::size_t i = 0; i < n; ++i)
    if (w.requests[i].output > 1) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ready[a] < ready[b]; });
  RequestLoad decode_load;
  for (std::size_t id : order)
    decode_load.requests.push_back(Request{ready[id], w.requests[id].prompt, w.requests[id].output, true});
  if (!decode_load.requests.empty())
    out.decode = simulate(*p.decode_cost, *p.decode_engine, decode_load, p.decode_replicas);
  // 3. The whole path per request.
  ServeResult& c = out.combined;
  c.replicas = p.decode_replicas;  // the KV figures are the decode pool's
  c.first_arrival_s = n > 0 ? w.requests.front().arrival_s : 0;
  for (const Request& q : w.requests) c.last_arrival_s = std::max(c.last_arrival_s, q.arrival_s);
  auto finish = [&](std::size_t id, double end) {
    const Request& r = w.requests[id];
    const double ttft = ready[id] - r.arrival_s, e2e = end - r.arrival_s;
    c.ttft_s.push_back(ttft);
    c.e2e_s.push_back(e2e);
    c.tpot_s.push_back(r.output > 1 ? (e2e - ttft) / static_cast<double>(r.output - 1) : -1.0);
    c.output_tokens.push_back(r.output);
    c.request_ids.push_back(id);
    ++c.completed;
    c.prompt_tokens += r.prompt;
    c.generated_tokens += r.output;
    c.last_finish_s = std::max(c.last_finish_s, end);
    c.first_arrival_s = std::min(c.first_arrival_s, r.arrival_s);
  };
  for (std::size_t i = 0; i < n; ++i)
    if (w.requests[i].output == 1) finish(i, ready[i]);
  for (std::size_t j = 0; j < out.decode.request_ids.size(); ++j) {
    const std::size_t id = order[out.decode.request_ids[j]];
    finish(id, ready[id] + out.decode.e2e_s[j]);
  }
  c.itl = out.decode.itl;
  // In the system: queued or prefilling, in transfer, or decoding.
  c.in_system_s = out.prefill.in_system_s + transfer_sum + out.decode.in_system_s;
  c.running_s = out.prefill.running_s + out.decode.running_s;
  c.preemptions = out.prefill.preemptions + out.decode.preemptions;
  c.max_waiting = std::max(out.prefill.max_waiting, out.decode.max_waiting);
  c.steps = out.prefill.steps + out.decode.steps;
  c.step_tokens = out.prefill.step_tokens + out.decode.step_tokens;
  c.step_decodes = out.prefill.step_decodes + out.decode.step_decodes;
  c.step_prefills = out.prefill.step_prefills + out.decode.step_prefills;
  c.mixed_steps = out.prefill.mixed_steps + out.decode.mixed_steps;
  c.prefill_only_steps = out.prefill.prefill_only_steps + out.decode.prefill_only_steps;
  c.busy_s = out.prefill.busy_s + out.decode.busy_s;
  c.kv_blocks = out.decode.kv_blocks;
  c.kv_blocks_s = out.decode.kv_blocks_s;
  c.max_kv_blocks_used = out.decode.max_kv_blocks_used;
  c.verify_steps = out.decode.verify_steps;
  c.verified_tokens = out.decode.verified_tokens;
  return out;
}

bool meets(const Percentiles& ttft, const Percentiles& tpot, const LatencySlo& slo) {
  if (slo.ttft_s && ttft.at(slo.percentile) > *slo.ttft_s) return false;
  if (slo.tpot_s && tpot.at(slo.percentile) > *slo.tpot_s) return false;
  return true;
}

double goodput_requests_per_s(const ServeResult& r, const LatencySlo& slo) {
  if (r.duration_s() <= 0) return 0;
  std::int64_t good = 0;
  for (std::size_t i = 0; i < r.ttft_s.size(); ++i) {
    const bool ttft_ok = !slo.ttft_s || r.ttft_s[i] <= *slo.ttft_s;
    const bool tpot_ok = !slo.tpot_s || r.tpot_s[i] < 0 || r.tpot_s[i] <= *slo.tpot_s;
    if (ttft_ok && tpot_ok) ++good;
  }
  return static_cast<double>(good) / r.duration_s();
}

ServeSummary summarize(ServeResult& r, const LatencySlo& slo, double offered_rate) {
  ServeSummary s;
  s.offered_rate = offered_rate;
  // Goodput pairs each request's TTFT with its own TPOT: before the vectors are sorted.
  s.goodput_requests_per_s = goodput_requests_per_s(r, slo);
  std::vector<double> tpot;
  tpot.reserve(r.tpot_s.size());
  for (double v : r.tpot_s)
    if (v >= 0) tpot.push_back(v);
  // Over capacity a backlog grows and every latency with it: the last quarter of the
  // completions took longer end to end than the first (before the vector is sorted).
  const std::size_t quarter = r.e2e_s.size() / 4;
  double growth = 0;
  if (quarter > 0) {
    double first = 0, last = 0;
    for (std::size_t i = 0; i < quarter; ++i) first += r.e2e_s[i], last += r.e2e_s[r.e2e_s.size() - 1 - i];
    growth = (last - first) / static_cast<double>(quarter);
  }
  s.ttft = percentiles_of(r.ttft_s);
  s.tpot = percentiles_of(tpot);
  s.e2e = percentiles_of(r.e2e_s);
  s.itl = r.itl.percentiles();
  s.meets_slo = meets(s.ttft, s.tpot, slo);
  s.completed = r.completed;
  s.generated_tokens = r.generated_tokens;
  s.duration_s = r.duration_s();
  s.requests_per_s = r.requests_per_s();
  s.output_tokens_per_s = r.output_tokens_per_s();
  // The run ends when its last request does, a typical request's time after the last arrival
  // when the server keeps up: the completions over the run less that drain come to the offered
  // rate. Over capacity a backlog builds and they fall short. (Completions over the whole run
  // would flag a stable server whose requests are long against the arrival span.)
  const double less_drain = s.duration_s - s.e2e.p50;
  // (Disaggregated runs: both pools' steps over the decode replicas; reports leave it out.)
  s.busy_fraction = s.duration_s > 0 ? r.busy_s / (s.duration_s * static_cast<double>(r.replicas)) : 0;
  s.sustained_requests_per_s = less_drain > 0 ? static_cast<double>(s.completed) / less_drain : 0;
  // Saturated: that falls short of the rate the requests arrived at (as drawn: a few hundred
  // Poisson arrivals stray from the offered rate), or the whole run's completions do and latency
  // grew by a twentieth of the arrivals' span from the first quarter of completions to the last
  // (a mild overload, whose growing drain the first test forgives).
  const double arrivals_span = r.last_arrival_s - r.first_arrival_s;
  const double arrived_rate = arrivals_span > 0 ? static_cast<double>(s.completed) / arrivals_span : offered_rate;
  s.saturated = offered_rate > 0 && (s.sustained_requests_per_s < 0.9 * arrived_rate ||
                                     (s.requests_per_s < 0.9 * arrived_rate && growth > 0.05 * arrivals_span));
  s.mean_in_system = r.mean_in_system();
  s.mean_running = r.mean_running();
  s.mean_waiting = r.mean_waiting();
  s.little_lambda_w = s.requests_per_s * s.e2e.mean;
  s.max_waiting = r.max_waiting;
  s.kv_use_mean = r.kv_use_mean();
  s.kv_use_max = r.kv_blocks > 0 ? static_cast<double>(r.max_kv_blocks_used) / static_cast<double>(r.kv_blocks) : 0;
  s.preemptions = r.preemptions;
  s.steps = r.steps;
  if (r.steps > 0) {
    const auto n = static_cast<double>(r.steps);
    s.mean_step_tokens = static_cast<double>(r.step_tokens) / n;
    s.mean_step_decodes = static_cast<double>(r.step_decodes) / n;
    s.mean_step_prefills = static_cast<double>(r.step_prefills) / n;
    s.mixed_step_fraction = static_cast<double>(r.mixed_steps) / n;
    s.prefill_only_step_fraction = static_cast<double>(r.prefill_only_steps) / n;
    s.mean_step_busy_s = r.busy_s / n;
  }
  s.verify_steps = r.verify_steps;
  if (r.verify_steps > 0)
    s.tokens_per_verification = static_cast<double>(r.verified_tokens) / static_cast<double>(r.verify_steps);
  return s;
}

std::optional<EnergyEstimate> served_energy(const GpuSpec& g, const ModelShapes& shapes, const Ceilings& ceilings,
                                            const Topology& topology, AttentionImpl attention, DType kv,
                                            std::int64_t replicas, std::int64_t gpus, const ServeResult& r,
                                            const ServeSummary& s) {
  if (r.completed <= 0) return std::nullopt;
  const double completed = static_cast<double>(r.completed);
  const ServiceQuery typical{
      std::max<std::int64_t>(1, std::llround(s.mean_running / static_cast<double>(replicas))),
      std::max<std::int64_t>(1, std::llround(static_cast<double>(r.prompt_tokens) / completed)),
      std::max<std::int64_t>(1, std::llround(static_cast<double>(r.generated_tokens) / completed)),
      attention,
      kv,
      topology,
      0};
  return estimate_served_energy(g, estimate_service(shapes, ceilings, typical), typical.gen, s.busy_fraction,
                                s.duration_s, r.generated_tokens, gpus);
}

}  // namespace ridge
