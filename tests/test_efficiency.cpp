// The efficiency model (src/efficiency.cpp) against hand computations, the fitter against
// curves whose parameters are known, and the shipped calibrations against the committed
// measurements they claim (README "How accurate is ridge?": the figures cannot drift).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "calibrate.hpp"
#include "efficiency.hpp"
#include "loaders.hpp"
#include "ops.hpp"
#include "roofline.hpp"
#include "yaml_io.hpp"

using namespace ridge;

namespace {

OperatorRow gemm_row(std::int64_t m, std::int64_t n, std::int64_t k) {
  OperatorRow r;
  r.dtype = "bf16";
  r.m = m;
  r.n = n;
  r.k = k;
  return r;
}

OperatorRow collective_row(const char* c, std::int64_t gpus, double bytes) {
  OperatorRow r;
  r.collective = c;
  r.dtype = "bf16";
  r.gpus = gpus;
  r.message_bytes = bytes;
  return r;
}

}  // namespace

TEST_CASE("GEMM model: a memory-bound GEMV is launch + bytes over the attained bandwidth") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  REQUIRE(g.multiprocessors == 132);
  // launch 3 µs, 80 % of 989.4 TFLOP/s, 90 % of 3.35 TB/s, a 1000 TB/s tile feed (never the
  // limit), overlap p = 50 (the larger term alone), split-K costs 5 µs.
  const std::vector<double> p = {3, 0.8, 0.9, 1000, 50, 5};
  // M = 1, N = K = 16384: weight 16384·16384·2 = 536,870,912 B, X and Y 32,768 B each.
  // Memory: 536,936,448 B / (0.9 · 3.35e12 B/s) = 178.0887 µs. Compute (64×64 tiles: 256
  // blocks = 2 waves of 132; 2·64·64·16384 FLOP per block at 0.8·989.4e12/132 FLOP/s per SM)
  // = 2 · 22.36 µs = 44.7 µs; (44.7/178.1)^50 is nothing. Splitting K only adds 5 µs.
  const double memory = 536'936'448.0 / (0.9 * 3.35e12);
  const double t = modelled_time(CalibratedFamily::gemm_bf16, p, g, gemm_row(1, 16384, 16384)).value;
  CHECK(t == doctest::Approx(3e-6 + memory).epsilon(1e-6));
}

TEST_CASE("GEMM model: a large GEMM is compute-bound in whole waves of tiles") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  // Feed and bandwidth out of the way. Per tile choice, waves × block time in units of one
  // 64×64 block (2·64·64·8192 FLOP at 989.4e12/132 FLOP/s per SM):
  //   64×64:   16384 blocks = 125 waves (124.1) × 1 = 125
  //   64×128:   8192 blocks =  63 waves (62.06) × 2 = 126
  //   128×128:  4096 blocks =  32 waves (31.03) × 4 = 128
  //   256×128:  2048 blocks =  16 waves (15.5)  × 8 = 128
  // so 64×64 tiles win: 125 block times.
  const std::vector<double> p = {1, 1, 1, 1000, 50, 5};
  const double per_sm = 989.4e12 / 132;
  const double block_64 = 2.0 * 64 * 64 * 8192 / per_sm;
  const double t = modelled_time(CalibratedFamily::gemm_bf16, p, g, gemm_row(8192, 8192, 8192)).value;
  CHECK(t == doctest::Approx(1e-6 + 125 * block_64).epsilon(1e-3));
  // Above the ideal with no wave waste, 2·8192³ / 989.4e12 = 1111.3 µs.
  CHECK(t > 2.0 * 8192 * 8192 * 8192 / 989.4e12);
}

TEST_CASE("fp8 GEMM model: one tile by M, no split-K, and the activation's quantisation pass") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  OperatorRow r = gemm_row(1, 16384, 16384);
  r.dtype = "fp8";
  // launch 3 µs, 80 % of 1978.9 TFLOP/s, 90 % of 3.35 TB/s, feed no limit, p = 50; the
  // quantisation kernel 2 µs + 0.5 µs per row per wave of 132 SMs.
  const std::vector<double> p = {3, 0.8, 0.9, 1000, 50, 2, 0.5};
  const double bw = 0.9 * 3.35e12, per_sm_bw = bw / 132;
  // M = 1: weight 16384² · 1 B (+ 4 B: its per-tensor scale), X in fp8 16,384 B, Y bf16
  // 32,768 B over the bandwidth (the 64×64 tile's 2 waves of compute, 22 µs, are hidden);
  // quantising: 1 wave of one row, 0.5 µs + 16384 · (2 + 1) B at one SM's share.
  const double gemm = (268'435'456.0 + 4 + 16'384 + 32'768) / bw;
  const double quantise = 2e-6 + 0.5e-6 + 16384.0 * 3 / per_sm_bw;
  CHECK(modelled_time(CalibratedFamily::gemm_fp8, p, g, r).value ==
        doctest::Approx(3e-6 + gemm + quantise).epsilon(1e-5));
  // M = N = K = 4096: above 128 rows the tile is 128×128: 32·32 = 1024 blocks = 8 waves (7.76)
  // of 2·128·128·4096 FLOP at 0.8 · 1978.9e12 / 132 FLOP/s per SM (11.19 µs) = 89.5 µs,
  // against 67.1 MB of memory (22 µs); quantising: ⌈4096/132⌉ = 32 waves of (0.5 µs + 4096 · 3 B
  // at one SM's share).
  r = gemm_row(4096, 4096, 4096);
  r.dtype = "fp8";
  const double compute = 8 * 2.0 * 128 * 128 * 4096 / (0.8 * 1978.9e12 / 132);
  const double quantise_4k = 2e-6 + 32 * (0.5e-6 + 4096.0 * 3 / per_sm_bw);
  CHECK(modelled_time(CalibratedFamily::gemm_fp8, p, g, r).value ==
        doctest::Approx(3e-6 + compute + quantise_4k).epsilon(1e-5));
}

TEST_CASE("prefill attention model: causal FLOPs at a head_dim efficiency, Q/K/V/O bytes") {
  const ModelGpu g = model_gpu(resolve_gpu("h100-sxm"));
  // launch 10 µs, 0.1 µs per sequence, 80 % of the 16-bit peak at d/(d + 32), 50 % of the
  // bandwidth, p = 50 (the larger term alone).
  const std::vector<double> p = {10, 0.1, 0.8, 32, 0.5, 50};
  // B = 2, n = 4096, 32 query / 8 KV heads of 128: efficiency 0.8 · 128/160 = 0.64.
  // FLOPs 4 · B · H · d · n(n+1)/2 = 4 · 2 · 32 · 128 · 8,390,656 at 0.64 · 989.4 TFLOP/s;
  // the longest block (128 queries × 4096 keys on one SM) is 8x shorter and does not bind.
  // Bytes 2 · 4096 · 128 · (2·32·2 + 2·8·2) = 167,772,160 at 0.5 · 3.35 TB/s: 100 µs, hidden.
  const double peak = 0.64 * 989.4e12;
  const double flops = 4.0 * 2 * 32 * 128 * 8'390'656;
  AttentionCall c{2, 4096, 32, 8, 128, 0, 2};
  CHECK(context_model(p, g, c).value == doctest::Approx(10e-6 + 0.2e-6 + flops / peak).epsilon(1e-9));
  // A sliding window of 1024: each token attends min(position, 1024) keys,
  // 1024·1025/2 + 3072·1024 = 3,670,528 pairs per head and sequence.
  c.window = 1024;
  CHECK(context_model(p, g, c).value ==
        doctest::Approx(10e-6 + 0.2e-6 + 4.0 * 2 * 32 * 128 * 3'670'528 / peak).epsilon(1e-9));
}

TEST_CASE("decode attention model: blocks in waves, K and V over the bandwidth they reach") {
  const ModelGpu g = model_gpu(resolve_gpu("h100-sxm"));
  REQUIRE(g.l2_bytes == 50.0 * 1024 * 1024);
  // launch 10 µs, 0.5 µs per block per wave, compute negligible (full peak, tile 4 = the
  // group: 4·64·8·4·4096·128 FLOP = 4.3 µs against 356 µs of memory, p = 50), 90 % bandwidth,
  // 1 TB/s per block (never the limit), splitting costs 3 µs, L2: 50 % at 10 TB/s.
  const std::vector<double> p = {10, 0.5, 1, 4, 0.9, 1000, 50, 3, 0.5, 10};
  // Inside a model (cache cold): bytes 64 · 8 · 4096 · 128 · 2 (K and V) · 2 B = 1,073,741,824;
  // 64·8 = 512 blocks = 4 waves of 132 SMs: 2 µs. Splitting adds waves and its 3 µs: slower.
  AttentionCall c{64, 4096, 32, 8, 128, 0, 2, /*cache_hot=*/false};
  CHECK(generation_model(p, g, c).value ==
        doctest::Approx(10e-6 + 2e-6 + 1'073'741'824.0 / (0.9 * 3.35e12)).epsilon(1e-4));
  // A sliding window of 1024 reads a quarter of the keys.
  c.window = 1024;
  CHECK(generation_model(p, g, c).value ==
        doctest::Approx(10e-6 + 2e-6 + 268'435'456.0 / (0.9 * 3.35e12)).epsilon(1e-4));
  // Replayed alone (as measured), 4 MiB of K and V fit in the L2's kept half (25 MiB): they
  // come from L2 at 10 TB/s. B = 1, 8 KV heads, 1024 keys: 8 blocks, 1 wave; splitting into
  // 16 (128 blocks, still 1 wave) only adds its cost, as the bandwidth per block is no limit.
  AttentionCall hot{1, 1024, 32, 8, 128, 0, 2, /*cache_hot=*/true};
  const double bytes = 8.0 * 1024 * 128 * 2 * 2;
  CHECK(generation_model(p, g, hot).value == doctest::Approx(10e-6 + 0.5e-6 + bytes / 10e12).epsilon(1e-4));
}

TEST_CASE("collective model: the faster protocol, nccl-tests bus bytes, shared bandwidth") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  // LL: 5 µs + bus/50 GB/s; Simple: 20 µs + bus/400 GB/s; 1 µs per GPU beyond two; sharing 1.
  const std::vector<double> p = {5, 50, 20, 400, 1, 1};
  // 8 GPUs, 1 GiB all-reduce: bus = 2·7/8·2^30 B at 400 GB/s · (2/8)^1; Simple wins.
  const double bus = 2.0 * 7 / 8 * 1073741824.0;
  CHECK(modelled_time(CalibratedFamily::all_reduce, p, g, collective_row("all_reduce", 8, 1073741824.0)).value ==
        doctest::Approx(6e-6 + 20e-6 + bus / (400e9 * 0.25)));
  // 2 GPUs, 1 KiB all-gather: bus = 1/2 · 1024 B; LL wins (5 µs + 10 ns).
  CHECK(modelled_time(CalibratedFamily::all_gather, p, g, collective_row("all_gather", 2, 1024)).value ==
        doctest::Approx(5e-6 + 512.0 / 50e9));
}

TEST_CASE("held-out shapes: about a fifth, the same every time, by shape not by row") {
  int held = 0;
  for (std::int64_t n = 64; n < 64 + 2000; ++n) held += is_held_out(OperatorFamily::gemm, gemm_row(1, n, 4096)) ? 1 : 0;
  CHECK(held > 300);  // 2000 shapes: 400 expected
  CHECK(held < 500);
  // M does not move a shape in or out.
  for (std::int64_t n : {256, 4096, 7168})
    CHECK(is_held_out(OperatorFamily::gemm, gemm_row(1, n, 4096)) ==
          is_held_out(OperatorFamily::gemm, gemm_row(8192, n, 4096)));
}

TEST_CASE("fitter: recovers the parameters of a curve it is given") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  const std::vector<double> truth = {4, 30, 18, 350, 0.7, 0.05};
  std::vector<OperatorRow> rows;
  for (std::int64_t gpus : {2, 4, 8})
    for (double bytes = 256; bytes <= 4e9; bytes *= 2) rows.push_back(collective_row("all_reduce", gpus, bytes));
  std::vector<double> initial, lo, hi;
  for (const ParameterDef& d : parameter_defs(CalibratedFamily::all_reduce)) {
    initial.push_back(d.initial);
    lo.push_back(d.min);
    hi.push_back(d.max);
  }
  const auto fitted = fit_least_squares(
      initial, lo, hi,
      [&](const std::vector<double>& x, std::vector<double>& out) {
        out.clear();
        for (const OperatorRow& r : rows)
          out.push_back(std::log(modelled_time(CalibratedFamily::all_reduce, x, g, r).value /
                                 modelled_time(CalibratedFamily::all_reduce, truth, g, r).value));
      },
      200);
  // Every row reproduced to 1 %; the parameters that shape the curve recovered to 2 %.
  for (const OperatorRow& r : rows)
    CHECK(modelled_time(CalibratedFamily::all_reduce, fitted, g, r).value ==
          doctest::Approx(modelled_time(CalibratedFamily::all_reduce, truth, g, r).value).epsilon(0.01));
  CHECK(fitted[3] == doctest::Approx(350).epsilon(0.02));  // Simple's bandwidth
  CHECK(fitted[2] == doctest::Approx(18).epsilon(0.02));   // Simple's fixed cost
}

namespace {

std::vector<MeasuredRows> committed_sample(const std::string& gpu) {
  std::vector<MeasuredRows> tables;
  for (const char* name : {"gemm", "context_attention", "generation_attention", "nccl"}) {
    const std::string path = std::string(RIDGE_SOURCE_DIR) + "/calibration/measured/" + gpu + "/" + name + ".csv";
    OperatorTable t = read_operator_table(read_text_file(path, std::size_t{1} << 30), path);
    tables.push_back({t.family, std::move(t.rows)});
  }
  return tables;
}

}  // namespace

TEST_CASE("shipped calibrations: the held-out error each GPU file states is the error it has") {
  // Recomputed from calibration/measured on every run: a change to the model, the fitter or a
  // GPU file that makes a prediction worse than its file (and README) says fails here.
  for (const char* name : {"a100-80gb", "h100-sxm", "h200", "b200", "l40s"}) {
    CAPTURE(name);
    const GpuSpec g = resolve_gpu(name);
    REQUIRE(g.calibration);
    const auto tables = committed_sample(name);
    const ExpectedTimes expected(g);
    for (const auto& [family, fc] : g.calibration->families) {
      CAPTURE(to_string(family));
      std::vector<double> errors;
      for (const MeasuredRows& t : tables)
        for (const OperatorRow& r : t.rows)
          if (calibrated_family(t.table, r) == family && is_held_out(t.table, r))
            errors.push_back(expected.row(t.table, r)->value / (*r.latency_us * 1e-6) - 1);
      const ErrorSummary s = summarize_errors(errors);
      CHECK(s.rows == fc.rows_held_out);
      CHECK(s.median_abs <= fc.held_out_median + 5e-5);  // the file rounds to 4 decimals
      CHECK(s.p90_abs <= fc.held_out_p90 + 5e-5);
    }
  }
}

TEST_CASE("ridge calibrate reproduces the shipped H100 calibration from the committed sample") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  const Calibration c = calibrate(g, committed_sample("h100-sxm"));
  REQUIRE(c.families.size() == g.calibration->families.size());
  for (const auto& [family, fc] : g.calibration->families) {
    CAPTURE(to_string(family));
    REQUIRE(c.families.count(family));
    const auto& refit = c.families.at(family).params;
    for (std::size_t i = 0; i < refit.size(); ++i) CHECK(refit[i] == doctest::Approx(fc.params[i]).epsilon(1e-5));
  }
}

namespace {

const Op* find_op(const std::vector<Op>& ops, std::string_view name) {
  for (const Op& op : ops)
    if (op.name == name) return &op;
  return nullptr;
}

}  // namespace

TEST_CASE("inside a model: q, k and v run as one fused GEMM and share its time by n") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ModelShapes s = compile_shapes(resolve_model("llama-3.1-8b"), *weight_format("bf16"), 1);
  const Ceilings c = ceilings_for(g, s, TimeBasis::expected);
  REQUIRE(c.expected);
  const auto ops = phase_ops(s, PhaseQuery{Phase::decode, 8, 1, 2048, AttentionImpl::flash, DType::bf16});
  const Op *q = find_op(ops, "attn.q_proj"), *k = find_op(ops, "attn.k_proj"), *v = find_op(ops, "attn.v_proj");
  REQUIRE((q && k && v));
  // vLLM's qkv_proj: n = 4096 + 1024 + 1024 = 6144, k = 4096, 8 rows, bf16 weights 6144·4096·2 B.
  CHECK(q->fused_n == 6144);
  const double fused = c.expected->gemm(CalibratedFamily::gemm_bf16, GemmCall{8, 6144, 4096, 6144.0 * 4096 * 2})->value;
  CHECK(op_time(*q, c).time().value == doctest::Approx(fused * 4096 / 6144));
  CHECK(op_time(*q, c).time().value + op_time(*k, c).time().value + op_time(*v, c).time().value ==
        doctest::Approx(fused));
  // The down projection reads the MLP's output, not the layer input: it runs alone.
  CHECK(find_op(ops, "mlp.down")->fused_n == 0);
}

TEST_CASE("a fused MoE kernel pays its fixed cost once for all its experts") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ExpectedTimes e(g);
  const GemmCall one{4, 2048, 4096, 2048.0 * 4096 * 2};
  const double launch = (*e.params(CalibratedFamily::gemm_bf16))[0] * 1e-6;
  const double single = e.gemm(CalibratedFamily::gemm_bf16, one)->value;
  CHECK(e.grouped_gemm(CalibratedFamily::gemm_bf16, one, 8)->value == doctest::Approx(launch + 8 * (single - launch)));
  CHECK(e.grouped_gemm(CalibratedFamily::gemm_bf16, one, 1)->value == doctest::Approx(single));
  // A quantised format also quantises the tokens' activations once for all experts: the GEMM's
  // launch_us (p[0]) and the quantisation kernel's quantise_us (p[5]) are both paid once.
  const auto& q = *e.params(CalibratedFamily::gemm_fp8);
  const double fixed = (q[0] + q[5]) * 1e-6;
  const double single8 = e.gemm(CalibratedFamily::gemm_fp8, one)->value;
  CHECK(e.grouped_gemm(CalibratedFamily::gemm_fp8, one, 8)->value == doctest::Approx(fixed + 8 * (single8 - fixed)));
}

TEST_CASE("formats without measured kernels borrow the nearest fit") {
  const ModelSpec m = resolve_model("llama-3.1-8b");
  auto family = [&](const char* gpu, const char* format) {
    const ModelShapes s = compile_shapes(m, *weight_format(format), 1);
    return ceilings_for(resolve_gpu(gpu), s, TimeBasis::expected).gemm_family;
  };
  CHECK(family("h100-sxm", "bf16") == CalibratedFamily::gemm_bf16);
  CHECK(family("h100-sxm", "fp8") == CalibratedFamily::gemm_fp8);
  CHECK(family("h100-sxm", "int8") == CalibratedFamily::gemm_fp8);   // W8A8 like fp8
  CHECK(family("h100-sxm", "int4") == CalibratedFamily::gemm_bf16);  // weight-only
  CHECK(family("a100-80gb", "fp8") == CalibratedFamily::gemm_bf16);  // no fp8 cores
  CHECK(family("b200", "nvfp4") == CalibratedFamily::gemm_nvfp4);
  CHECK(family("a100-80gb", "int8") == CalibratedFamily::gemm_bf16);  // A100: bf16 fit only
  // A GPU without a calibration, or the bound basis: no expected times at all.
  CHECK_FALSE(
      ceilings_for(resolve_gpu("l4"), compile_shapes(m, *weight_format("bf16"), 1), TimeBasis::expected).expected);
  CHECK_FALSE(ceilings_for(resolve_gpu("h100-sxm"), compile_shapes(m, *weight_format("bf16"), 1)).expected);
}

TEST_CASE("expected service times sit above the bound, and say how much is calibrated") {
  for (const char* gpu : {"h100-sxm", "a100-80gb", "b200", "l40s"}) {
    for (const char* model : {"llama-3.1-8b", "qwen3-30b-a3b", "gemma-3-27b"}) {
      CAPTURE(gpu);
      CAPTURE(model);
      const GpuSpec g = resolve_gpu(gpu);
      const ModelSpec m = resolve_model(model);
      const ModelShapes s = compile_shapes(m, *weight_format("bf16"), 1);
      ServiceQuery q{4, 2048, 128, AttentionImpl::flash, DType::bf16};
      const ServiceEstimate bound = estimate_service(s, ceilings_for(g, s), q);
      q.topology = topology_for(g, 1, 1, 0, TimeBasis::expected);
      const ServiceEstimate e = estimate_service(s, ceilings_for(g, s, TimeBasis::expected), q);
      CHECK(e.ttft.value > bound.ttft.value);
      CHECK(e.tpot.value > bound.tpot.value);
      CHECK(e.prefill.bound_time.value == doctest::Approx(bound.prefill.time.value));
      CHECK(e.decode_step.calibrated_time.value > 0.9 * e.decode_step.time.value);  // GEMMs and attention dominate
      CHECK(e.decode_step.calibrated_time.value <= e.decode_step.time.value);
    }
  }
}

TEST_CASE("per-step runtime cost: each small kernel costs at least the fitted fixed cost of a kernel") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ModelShapes s = compile_shapes(resolve_model("llama-3.1-8b"), *weight_format("bf16"), 1);
  const Ceilings c = ceilings_for(g, s, TimeBasis::expected);
  REQUIRE(c.expected);
  const double fixed = (*c.expected->params(CalibratedFamily::gemm_bf16))[0] * 1e-6;  // launch_us
  CHECK(c.expected->kernel_fixed_cost()->value == doctest::Approx(fixed));
  const auto ops = phase_ops(s, PhaseQuery{Phase::decode, 1, 1, 2048, AttentionImpl::flash, DType::bf16});
  // vLLM launches two RMSNorm kernels per Llama layer (input and post-attention): a norms
  // instance of one token moves 2 x 4096 x 2 B in and out, 11 ns at 3.35 TB/s, but costs 2 kernels.
  const Op* norms = find_op(ops, "norms");
  REQUIRE(norms);
  CHECK(norms->kernels == 2);
  CHECK(op_time(*norms, c).time().value == doctest::Approx(2 * fixed));
  CHECK(op_time(*norms, c).bound().value < 0.01 * fixed);
  // The residual add runs inside the next norm (fused_add_rms_norm), the cache write inside the
  // attention layer's fitted fixed cost: no kernel of their own, their bound only.
  for (const char* fused : {"residual_add", "kv_cache_write"}) {
    const Op* op = find_op(ops, fused);
    REQUIRE(op);
    CHECK(op_time(*op, c).time().value == doctest::Approx(op_time(*op, c).bound().value));
  }
  // Sampling reads each sequence's fp32 logits once: 1 x 128,256 x 4 B = 513,024 B.
  const Op* sampling = find_op(ops, "sampling");
  REQUIRE(sampling);
  CHECK(sampling->bytes_read == 513024);
  CHECK(op_time(*sampling, c).time().value == doctest::Approx(fixed));
  // The bound basis keeps every small kernel at its bound.
  const Ceilings bound = ceilings_for(g, s);
  CHECK_FALSE(op_time(*norms, bound).expected);
}
