#include "roofline.hpp"

#include <algorithm>
#include <cmath>

#include "efficiency.hpp"

namespace ridge {

namespace {

/// The fitted GEMM family that times a weight format's GEMMs on this GPU. Measured kernels
/// exist for bf16, fp8, fp8-block128 and nvfp4; the others borrow the nearest kernel: W8A8
/// int8 runs like per-tensor fp8 (1-byte operands, an activation-quantisation pass, the same
/// 8-bit peak); weight-only formats (int4, AWQ/GPTQ, MXFP4 on Hopper, fp8 on Ampere: Marlin-style
/// kernels) compute in 16-bit, so bf16's fit with their smaller weights; a family the GPU was
/// not measured in falls back to bf16's.
CalibratedFamily gemm_family_of(std::string_view format, DType math, const ExpectedTimes& e) {
  auto have = [&](CalibratedFamily f) { return e.params(f) != nullptr; };
  CalibratedFamily f = CalibratedFamily::gemm_bf16;
  if (math == DType::fp8 || math == DType::int8)
    f = format == "fp8-block128" && have(CalibratedFamily::gemm_fp8_block128) ? CalibratedFamily::gemm_fp8_block128
                                                                              : CalibratedFamily::gemm_fp8;
  else if (math == DType::fp4)
    f = CalibratedFamily::gemm_nvfp4;
  return have(f) ? f : CalibratedFamily::gemm_bf16;
}

}  // namespace

Ceilings ceilings_for(const GpuSpec& g, const ModelShapes& s, TimeBasis basis) {
  Ceilings c;
  c.expected = expected_times_for(g, basis);
  if (c.expected) {
    c.q_heads = s.attention.q_heads;
    c.kv_heads = s.attention.latent_dim > 0 ? 0 : s.attention.kv_heads;
    c.head_dim = s.attention.qk_dim;
  }
  c.memory = g.memory_bandwidth;
  // The type the activation-side math really runs in: the model's 16-bit type, or the other
  // 16-bit type on a GPU without it (a fp16-only card runs bf16 models at its fp16 rate);
  // fp32 models run fp32 math on CUDA cores where the file gives that rate.
  const DType sixteen_type = g.peak(DType::bf16) ? DType::bf16 : DType::fp16;  // loader: one exists
  DType act_math = s.attention_math;
  if (!g.peak(act_math)) act_math = sixteen_type;
  c.gemm16 = *g.peak(act_math);
  c.vector = g.peak(DType::fp32).value_or(FlopsPerSecond{g.peak(sixteen_type)->value / 16});
  c.gemm_math = s.gemm_math;
  if (s.fp4_weights && !g.peak(DType::fp4)) {
    // vLLM: "Your GPU does not have native support for FP4 computation ... Weight-only FP4
    // compression will be used leveraging the Marlin kernel": W4A16.
    c.gemm = c.gemm16;
    c.gemm_math = act_math;
    c.note = g.name + " has no fp4 tensor cores: 4-bit float weights are dequantised to " +
             std::string(to_string(act_math)) + " math (weight-only kernels, as vLLM's Marlin)";
  } else if (auto p = g.peak(s.gemm_math)) {
    c.gemm = *p;
  } else if (s.gemm_math == DType::bf16 || s.gemm_math == DType::fp16) {
    c.gemm = c.gemm16;
    c.gemm_math = act_math;
    c.note = g.name + " has no " + std::string(to_string(s.gemm_math)) + " tensor cores: the model runs at the " +
             std::string(to_string(act_math)) + " rate";
  } else {
    c.gemm = c.gemm16;
    c.gemm_math = act_math;
    c.note = g.name + " has no " + std::string(to_string(s.gemm_math)) +
             " tensor cores: the weights are dequantised to " + std::string(to_string(act_math)) +
             " math (weight-only kernels)";
  }
  if (c.expected) c.gemm_family = gemm_family_of(s.format, c.gemm_math, *c.expected);
  if (g.has_attainable()) {
    c.attainable = true;
    c.memory.value *= g.attainable_memory.value_or(1.0);
    c.gemm.value *= g.attainable_fraction(c.gemm_math);
    // gemm16 runs in the activation type (fp32 models: CUDA-core fp32); vector is fp32.
    c.gemm16.value *= g.attainable_fraction(act_math);
    c.vector.value *= g.attainable_fraction(DType::fp32);
  }
  return c;
}

OpTime op_time(const Op& op, const Ceilings& c) {
  OpTime t{Seconds{op.flops / c.peak(op.unit).value}, Seconds{op.bytes() / c.memory.value}, std::nullopt};
  if (!c.expected) return t;
  if (op.kernel == Op::Kernel::weight_gemm) {
    // Weight-format GEMMs in the format's family; 16-bit ones (router, LM head, the dense
    // part of an experts-only format) in bf16's.
    const std::optional<CalibratedFamily> family =
        op.unit == OpUnit::gemm ? c.gemm_family : CalibratedFamily::gemm_bf16;
    if (family) {
      // Part of a fused GEMM: the fused kernel's time, this part's share of its outputs.
      const double share = op.fused_n > op.n ? op.n / op.fused_n : 1.0;
      const GemmCall call{op.m, op.n / share, op.k, op.weight_bytes / share};
      if (const auto e = c.expected->grouped_gemm(*family, call, op.experts)) t.expected = Seconds{e->value * share};
    }
  } else if (op.kernel == Op::Kernel::flash_attention && c.kv_heads > 0) {
    // Prefill: the new tokens from an empty cache; decode: the keys one token attends.
    const bool prefill = op.phase == Phase::prefill;
    t.expected = c.expected->attention(
        op.phase, AttentionCall{op.batch, prefill ? op.new_tokens : op.keys, c.q_heads, c.kv_heads, c.head_dim,
                                prefill ? op.window : 0, op.kv_bytes, /*cache_hot=*/false});
    // A prefill chunk after earlier chunks of its prompt (a serving step) also attends the
    // cached keys: the fitted kernel (measured from an empty cache) scaled by the work, the
    // query–key pairs, against those of the same chunk from an empty cache.
    if (t.expected && prefill && op.keys > op.new_tokens && op.pairs > 0) {
      const double from_empty = op.batch * causal_pairs(op.new_tokens, op.new_tokens, op.window);
      if (from_empty > 0) t.expected = Seconds{t.expected->value * op.pairs / from_empty};
    }
  } else if (op.unit == OpUnit::vector) {
    // Norms, activations, sampling: memory-bound at their bound, but none is free; each kernel
    // costs at least the fitted fixed cost of a kernel in a CUDA graph (the per-step runtime
    // cost a step of small kernels adds; README "Every command uses it").
    if (const auto fixed = c.expected->kernel_fixed_cost())
      t.expected = Seconds{std::max(t.bound().value, op.kernels * fixed->value)};
  }
  return t;
}

PhaseTotals phase_totals(const std::vector<Op>& ops, const Ceilings& c) {
  PhaseTotals t;
  for (const Op& op : ops) {
    const double n = static_cast<double>(op.count);
    const OpTime ot = op_time(op, c);
    t.flops += n * op.flops;
    t.bytes += n * op.bytes();
    t.time.value += n * ot.time().value;
    t.bound_time.value += n * ot.bound().value;
    if (ot.expected) t.calibrated_time.value += n * ot.time().value;
    if (ot.compute_bound()) t.compute_bound_time.value += n * ot.time().value;
  }
  return t;
}

std::vector<Op> phase_ops(const ModelShapes& s, const PhaseQuery& q) {
  std::vector<Op> ops;
  ops.reserve(32);
  for_each_op(s, q, [&](const Op& op) { ops.push_back(op); });
  return ops;
}

double mean_of_max_linear(double x_first, double x_last, double y_first, double y_last, double n) {
  if (n <= 1) return std::max(x_first, y_first);
  // Sum over i of a linear function f: n (f_first + f_last) / 2. Split where x − y changes sign.
  const double d_first = x_first - y_first, d_last = x_last - y_last;
  auto mean_of = [](double first, double last) { return (first + last) / 2; };
  if ((d_first >= 0) == (d_last >= 0)) return d_first >= 0 ? mean_of(x_first, x_last) : mean_of(y_first, y_last);
  // Crossing at real index r in (0, n−1); integer steps 0..k use the first winner, k+1..n−1 the other.
  const double steps = n - 1;
  const double r = steps * d_first / (d_first - d_last);
  const double k = std::floor(r);
  auto at = [&](double first, double last, double i) { return first + (last - first) * i / steps; };
  const bool x_first_wins = d_first >= 0;
  const double a0 = x_first_wins ? x_first : y_first, a1 = x_first_wins ? x_last : y_last;
  const double b0 = x_first_wins ? y_first : x_first, b1 = x_first_wins ? y_last : x_last;
  const double sum_a = (k + 1) * (at(a0, a1, 0) + at(a0, a1, k)) / 2;
  const double sum_b = (steps - k) * (at(b0, b1, k + 1) + at(b0, b1, steps)) / 2;
  return (sum_a + sum_b) / n;
}

namespace {

/// Mean decode-step time over contexts [first, last], exact: each operator's time is
/// max(compute, memory) of two functions linear in the keys its layers attend, so over each
/// piece of its own group (decode_pieces) the mean has a closed form (mean_of_max_linear); the
/// ops are evaluated at the pieces' end contexts only, whatever the length of the range.
double mean_step_time(const ModelShapes& s, const Ceilings& c, const ServiceQuery& q, std::int64_t first,
                      std::int64_t last) {
  std::vector<std::pair<std::int64_t, std::vector<Op>>> evaluated;
  auto ops_at = [&](std::int64_t context) -> const std::vector<Op>& {
    for (const auto& [at, ops] : evaluated)
      if (at == context) return ops;
    evaluated.emplace_back(context,
                           phase_ops(s, PhaseQuery{Phase::decode, q.batch, 1, context, q.attention, q.kv_dtype}));
    return evaluated.back().second;
  };
  // Pieces per layer group, the last entry for the operators outside the layers.
  std::vector<std::vector<DecodePiece>> pieces;
  pieces.reserve(s.groups.size() + 1);
  for (const LayerGroup& g : s.groups) pieces.push_back(decode_pieces(&g, first, last));
  pieces.push_back(decode_pieces(nullptr, first, last));
  for (const auto& group_pieces : pieces)  // evaluate every end context once, up front
    for (const DecodePiece& p : group_pieces) {
      ops_at(p.first);
      ops_at(p.last);
    }
  const std::vector<Op>& at_first = ops_at(first);
  double total = 0;
  for (std::size_t i = 0; i < at_first.size(); ++i) {
    const int group = at_first[i].group;
    double sum = 0;  // Σ over the contexts of this op's time
    for (const DecodePiece& p : pieces[group < 0 ? s.groups.size() : static_cast<std::size_t>(group)]) {
      const OpTime a = op_time(ops_at(p.first)[i], c), b = op_time(ops_at(p.last)[i], c);
      const double n = static_cast<double>(p.last - p.first + 1);
      if (a.expected && at_first[i].kernel == Op::Kernel::flash_attention && p.last > p.first) {
        // A calibrated attention time is not linear in the keys (split-KV choices, waves):
        // Simpson's rule over the piece. Only the keys change along it: the middle op is the
        // first one with the middle context's keys.
        Op middle = ops_at(p.first)[i];
        middle.keys = s.groups[static_cast<std::size_t>(group)].span(1, static_cast<double>((p.first + p.last) / 2));
        const OpTime mid = op_time(middle, c);
        sum += static_cast<double>(p.repeat) * n * (a.time().value + 4 * mid.time().value + b.time().value) / 6;
        continue;
      }
      sum += static_cast<double>(p.repeat) * n *
             (a.expected ? a.time().value
                         : mean_of_max_linear(a.compute.value, b.compute.value, a.memory.value, b.memory.value, n));
    }
    total += static_cast<double>(at_first[i].count) * sum;
  }
  return total / static_cast<double>(last - first + 1);
}

}  // namespace

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// B sequences in m micro-batches as even as possible: B mod m of ceil(B/m), the rest floor(B/m).
MicroBatches split_batch(std::int64_t batch, std::int64_t count) {
  MicroBatches mb;
  mb.count = std::max<std::int64_t>(1, count);
  mb.largest = ceil_div(batch, mb.count);
  const std::int64_t rem = batch % mb.count;
  mb.large_count = rem == 0 ? mb.count : rem;
  return mb;
}

}  // namespace

double stage_imbalance(const ModelShapes& s, std::int64_t pp) {
  std::int64_t layers = 0;
  for (const LayerGroup& g : s.groups) layers += g.count;
  if (pp <= 1 || layers == 0) return 1.0;
  const std::vector<std::int64_t> split = pipeline_split(layers, pp);
  return static_cast<double>(pp * *std::max_element(split.begin(), split.end())) / static_cast<double>(layers);
}

ServiceEstimate estimate_service(const ModelShapes& s, const Ceilings& c, const ServiceQuery& replica) {
  // Under expert parallelism across attention groups each group runs its share of the batch
  // (the MoE layers see every group's tokens: for_each_op); throughput counts the whole batch.
  ServiceQuery q = replica;
  q.batch = group_batch(replica.batch, static_cast<std::int64_t>(s.attention_groups));
  ServiceEstimate e;
  const Topology& topo = q.topology;
  const std::int64_t p = topo.pp;
  const double pd = static_cast<double>(p);
  e.stage_imbalance = stage_imbalance(s, p);
  const double u = e.stage_imbalance;

  // Prefill: the batch split into m micro-batches flowing through the stages, as even as
  // possible: B mod m of ceil(B/m) sequences, the rest floor(B/m). A pipeline of p stages whose
  // slowest stage takes u·pass(b)/p per micro-batch finishes the last micro-batch, largest
  // first, at  u · (Σ pass(b_i) − pass(b_max)) / p + pass(b_max)  (all equal: the familiar
  // (m − 1) · u · pass / p + pass, bubble (p − 1)/(m + p − 1)).
  const std::int64_t m_requested = q.micro_batches > 0 ? q.micro_batches : std::min(q.batch, p);
  const MicroBatches pm = split_batch(q.batch, p > 1 ? std::min(m_requested, q.batch) : 1);
  e.prefill_micro_batches = pm.count;
  e.prefill_micro_batch = pm.largest;
  e.prefill_micro_batch_smallest = pm.smallest();
  // One micro-batch of b through all stages: its operators and its TP collectives, T + C.
  struct Pass {
    std::vector<Op> ops;
    PhaseTotals totals;
    std::vector<CommOp> comm;
    CommTime comm_time;
    double seconds() const { return totals.time.value + comm_time.tensor_parallel.value; }
  };
  auto prefill_pass = [&](std::int64_t b) {
    Pass x;
    x.ops = phase_ops(s, PhaseQuery{Phase::prefill, b, q.prompt, q.prompt, q.attention, q.kv_dtype});
    x.totals = phase_totals(x.ops, c);
    x.comm = comm_ops(s, topo, Phase::prefill, static_cast<double>(b * q.prompt), static_cast<double>(b));
    x.comm_time = comm_time(x.comm);
    return x;
  };
  Pass largest = prefill_pass(pm.largest);  // reported
  const double pass_max = largest.seconds();
  const double pass_sum = pm.sum(pass_max, pm.even() ? 0.0 : prefill_pass(pm.smallest()).seconds());
  e.prefill_ops = std::move(largest.ops);
  e.prefill = largest.totals;
  e.prefill_comm = std::move(largest.comm);
  e.prefill_comm_time = largest.comm_time;
  e.bubble = pipeline_bubble(p, e.prefill_micro_batches);
  e.ttft = Seconds{u * (pass_sum - pass_max) / pd + pass_max + e.prefill_comm_time.pipeline.value};

  // Decode: min(B, p) micro-batches in flight (vLLM's virtual engines), split as above; each
  // step of a micro-batch passes every stage. A round of all micro-batches through the slowest
  // stage takes u · Σ step(b_i) / p; one micro-batch's own step bounds it from below.
  const MicroBatches dm = split_batch(q.batch, std::min(q.batch, p));
  e.decode_micro_batches = dm.count;
  e.decode_micro_batch = dm.largest;
  e.decode_micro_batch_smallest = dm.smallest();
  // Decode steps produce tokens 2..G; step j (1-based) attends P + j tokens.
  const std::int64_t steps = std::max<std::int64_t>(0, q.gen - 1);
  const std::int64_t first = q.prompt + 1, last = q.prompt + steps;
  e.decode_ops_context = steps > 0 ? q.prompt + (steps + 1) / 2 : q.prompt + 1;
  e.decode_ops = phase_ops(s, PhaseQuery{Phase::decode, dm.largest, 1, e.decode_ops_context, q.attention, q.kv_dtype});
  e.decode_step = phase_totals(e.decode_ops, c);
  e.decode_comm = comm_ops(s, topo, Phase::decode, static_cast<double>(dm.largest), static_cast<double>(dm.largest));
  e.decode_comm_time = comm_time(e.decode_comm);
  if (steps > 0) {
    // Mean step (operators + TP collectives) of a micro-batch of b over the generation.
    auto mean_step = [&](std::int64_t b) {
      ServiceQuery dq = q;
      dq.batch = b;
      const double total = mean_step_time(s, c, dq, first, last) * static_cast<double>(steps);
      const double comm =
          b == dm.largest ? e.decode_comm_time.tensor_parallel.value
                          : comm_time(comm_ops(s, topo, Phase::decode, static_cast<double>(b), static_cast<double>(b)))
                                .tensor_parallel.value;
      return total / static_cast<double>(steps) + comm;
    };
    const double step_max = mean_step(dm.largest);
    const double round = dm.sum(step_max, dm.even() ? 0.0 : mean_step(dm.smallest()));
    e.tpot = Seconds{std::max(u * round / pd, step_max + e.decode_comm_time.pipeline.value)};
  }
  e.e2e = Seconds{e.ttft.value + static_cast<double>(steps) * e.tpot.value};
  const double generated = static_cast<double>(replica.batch * q.gen);
  e.throughput_tokens_per_s = e.e2e.value > 0 ? generated / e.e2e.value : 0.0;
  e.decode_throughput_tokens_per_s = e.tpot.value > 0 ? static_cast<double>(replica.batch) / e.tpot.value : 0.0;
  return e;
}

}  // namespace ridge
