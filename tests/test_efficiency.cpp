// The efficiency model (src/efficiency.cpp) against hand computations, the fitter against
// curves whose parameters are known, and the shipped calibrations against the committed
// measurements they claim (README "How accurate is ridge?": the figures cannot drift).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "calibrate.hpp"
#include "efficiency.hpp"
#include "loaders.hpp"
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

TEST_CASE("fp8 GEMM model: no split-K, and the activation's quantisation pass") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  OperatorRow r = gemm_row(1, 16384, 16384);
  r.dtype = "fp8";
  const std::vector<double> p = {3, 0.8, 0.9, 1000, 50, 2};
  // Weight 16384² · 1 B (+ 4 B: its per-tensor scale), X in fp8 16,384 B, Y bf16 32,768 B;
  // quantising X reads 2 B and writes 1 B per element: 49,152 B, + 2 µs for its kernel.
  const double bw = 0.9 * 3.35e12;
  const double gemm = (268'435'456.0 + 4 + 16'384 + 32'768) / bw;
  const double quantise = 2e-6 + 49'152.0 / bw;
  const double t = modelled_time(CalibratedFamily::gemm_fp8, p, g, r).value;
  CHECK(t == doctest::Approx(3e-6 + gemm + quantise).epsilon(1e-5));
}

TEST_CASE("decode attention model: K and V over the bandwidth the busy blocks reach") {
  const GpuSpec g = resolve_gpu("h100-sxm");
  OperatorRow r;
  r.batch = 64;
  r.tokens = 4096;
  r.heads = 32;
  r.kv_heads = 8;
  r.head_dim = 128;
  r.kv_dtype = DType::bf16;
  // launch 10 µs, 0.05 µs per sequence, compute negligible next to memory (full peak, tile 4 =
  // the group), 90 % bandwidth, 1 TB/s per block (64·8 = 512 blocks: never the limit), p = 50.
  const std::vector<double> p = {10, 0.05, 1, 4, 0.9, 1000, 50, 3};
  // Bytes: 64 · 8 · 4096 · 128 · 2 (K and V) · 2 B = 1,073,741,824 B.
  const double t = modelled_time(CalibratedFamily::generation_attention, p, g, r).value;
  CHECK(t == doctest::Approx(10e-6 + 64 * 0.05e-6 + 1'073'741'824.0 / (0.9 * 3.35e12)).epsilon(1e-4));
  // A sliding window of 1024 reads a quarter of the keys.
  r.window = 1024;
  const double tw = modelled_time(CalibratedFamily::generation_attention, p, g, r).value;
  CHECK(tw == doctest::Approx(10e-6 + 64 * 0.05e-6 + 268'435'456.0 / (0.9 * 3.35e12)).epsilon(1e-4));
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
    for (const auto& [family, fc] : g.calibration->families) {
      CAPTURE(to_string(family));
      std::vector<double> errors;
      for (const MeasuredRows& t : tables)
        for (const OperatorRow& r : t.rows)
          if (calibrated_family(t.table, r) == family && is_held_out(t.table, r))
            errors.push_back(operator_expected(g, t.table, r)->value / (*r.latency_us * 1e-6) - 1);
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
