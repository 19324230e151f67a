// ridge predict: single operators against hand computations, and the measured tables' format.
#include <doctest/doctest.h>

#include <string>

#include "loaders.hpp"
#include "parallel.hpp"
#include "predict.hpp"
#include "report/predict_report.hpp"
#include "yaml_io.hpp"

using namespace ridge;

namespace {
std::string error_of(const std::string& text) {
  try {
    read_operator_table(text, "shapes.csv");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("GEMM bounds by hand") {
  const GpuSpec h100 = resolve_gpu("h100-sxm");
  OperatorRow r;
  r.dtype = "bf16";
  r.m = 16;
  r.n = r.k = 4096;
  // Memory-bound: weights 4096·4096·2 + input 16·4096·2 + output 16·4096·2 = 33,816,576 B over
  // 3.35 TB/s = 10.0945 us.
  CHECK(operator_bound(h100, OperatorFamily::gemm, r)->value == doctest::Approx(33'816'576.0 / 3.35e12));
  // Compute-bound: 2·8192³ FLOP over 989.4 TFLOP/s = 1.1113 ms.
  r.m = r.n = r.k = 8192;
  CHECK(operator_bound(h100, OperatorFamily::gemm, r)->value == doctest::Approx(2.0 * 8192 * 8192 * 8192 / 989.4e12));
  // fp8 (per-tensor): 1-byte weights (+ a 4-byte scale) and inputs, at 1978.9 TFLOP/s.
  r.dtype = "fp8";
  CHECK(operator_bound(h100, OperatorFamily::gemm, r)->value == doctest::Approx(2.0 * 8192 * 8192 * 8192 / 1978.9e12));
  r.m = 1;
  r.n = r.k = 4096;
  CHECK(operator_bound(h100, OperatorFamily::gemm, r)->value ==
        doctest::Approx((4096.0 * 4096 + 4 + 4096 + 4096 * 2) / 3.35e12));
}

TEST_CASE("attention bounds by hand") {
  const GpuSpec h100 = resolve_gpu("h100-sxm");
  OperatorRow r;
  r.batch = 32;
  r.tokens = 2;
  r.heads = 64;
  r.kv_heads = 1;
  r.head_dim = 64;
  // Decode, 32 sequences x 2 keys: Q 32·64·64·2 = 262,144 B, K and V 32·2·1·128·2 = 16,384 B,
  // output 262,144 B: 540,672 B over 3.35 TB/s (the 2·64·64·128 FLOP take 1 ns).
  CHECK(operator_bound(h100, OperatorFamily::generation_attention, r)->value == doctest::Approx(540'672.0 / 3.35e12));
  // A sliding window of 1 caps the keys read at 1: K and V 8,192 B.
  r.window = 1;
  CHECK(operator_bound(h100, OperatorFamily::generation_attention, r)->value == doctest::Approx(532'480.0 / 3.35e12));
  // Prefill of 1 x 8192 tokens, 32 heads, 8 KV heads, d 128, causal: 2·32·(8192·8193/2)·256 FLOP
  // at 989.4 TFLOP/s; compute-bound.
  OperatorRow p;
  p.batch = 1;
  p.tokens = 8192;
  p.heads = 32;
  p.kv_heads = 8;
  p.head_dim = 128;
  CHECK(operator_bound(h100, OperatorFamily::context_attention, p)->value ==
        doctest::Approx(2.0 * 32 * (8192.0 * 8193 / 2) * 256 / 989.4e12));
}

TEST_CASE("collective bounds: ridge's NCCL model") {
  const GpuSpec h100 = resolve_gpu("h100-sxm");
  OperatorRow r;
  r.collective = "all_gather";
  r.gpus = 8;
  r.message_bytes = 64e6;
  // Ring all-gather of 64 MB on 8 GPUs of one node: 3.6 us + 7 hops x 0.47 us + 7/8 x 64 MB over
  // 450 GB/s per direction.
  CHECK(operator_bound(h100, OperatorFamily::nccl, r)->value ==
        doctest::Approx(3.6e-6 + 7 * 0.47e-6 + 7.0 / 8 * 64e6 / 450e9));
  // Reduce-scatter: the same ring the other way.
  r.collective = "reduce_scatter";
  CHECK(operator_bound(h100, OperatorFamily::nccl, r)->value ==
        doctest::Approx(3.6e-6 + 7 * 0.47e-6 + 7.0 / 8 * 64e6 / 450e9));
  // All-to-all through NVSwitch: one hop, 7/8 of the buffer leaves each GPU at 450 GB/s.
  r.collective = "alltoall";
  CHECK(operator_bound(h100, OperatorFamily::nccl, r)->value ==
        doctest::Approx(3.6e-6 + 0.47e-6 + 7.0 / 8 * 64e6 / 450e9));
}

TEST_CASE("all-to-all across nodes: the slower of the local and remote shares") {
  // 16 H100s on 2 nodes, 64 MB per rank: 7/16 stays in the node (450 GB/s), 8/16 crosses the
  // network (50 GB/s per GPU, the default NDR NIC): the network decides, plus one network hop.
  const GpuSpec h100 = resolve_gpu("h100-sxm");
  const CollectiveGroup g = topology_for(h100, 16, 1).tp_group;
  REQUIRE(g.nodes == 2);
  CHECK(all_to_all_cost(64e6, g).time.value ==
        doctest::Approx(3.6e-6 + g.inter.hop_latency.value + 8.0 / 16 * 64e6 / 50e9));
}

TEST_CASE("error summary: nearest-rank percentiles of |error|") {
  const ErrorSummary s = summarize_errors({-0.5, -0.1, 0.2, -0.3});
  CHECK(s.rows == 4);
  CHECK(s.median_abs == doctest::Approx(0.2));  // sorted 0.1 0.2 0.3 0.5: rank ceil(2) = 2
  CHECK(s.p90_abs == doctest::Approx(0.5));     // rank ceil(3.6) = 4
  CHECK(s.worst == doctest::Approx(-0.5));
  CHECK(s.at_or_above_bound == doctest::Approx(0.75));  // three measured above the prediction
}

TEST_CASE("tables: any of the four headers, columns in any order; errors name line and column") {
  const OperatorTable g = read_operator_table("m,n,k,dtype,latency_us\n16,4096,4096,bf16,12.5\n", "x.csv");
  CHECK(g.family == OperatorFamily::gemm);
  CHECK(g.measured);
  CHECK(g.rows.at(0).m == 16);
  CHECK(*g.rows.at(0).latency_us == 12.5);
  const OperatorTable d =
      read_operator_table("batch,kv_tokens,heads,kv_heads,head_dim,window,kv_dtype\n8,4096,32,8,128,0,fp8\n", "x.csv");
  CHECK(d.family == OperatorFamily::generation_attention);
  CHECK(d.rows.at(0).kv_dtype == DType::fp8);
  CHECK_FALSE(d.measured);
  CHECK(error_of("dtype,m,n,k,latncy_us\n") ==
        "shapes.csv:1:13: latncy_us: unknown column for a gemm table (did you mean \"latency_us\"?)");
  CHECK(error_of("dtype,m,n,k\nbf16,16,4096\n") == "shapes.csv:2:1: row: has 3 fields; the header has 4");
  CHECK(error_of("dtype,m,n,k\nbf16,16,-4,8\n") == "shapes.csv:2:9: n: -4 is out of range; expected 1 to 1000000000");
  CHECK(error_of("dtype,m,n,k\nbf17,16,4,8\n") ==
        "shapes.csv:2:1: dtype: \"bf17\" is not one of bf16, fp16, fp8, fp8-block128, nvfp4 (did you mean \"bf16\"?)");
  CHECK(error_of("a,b\n1,2\n").starts_with("shapes.csv:1:1: header: not a measured table's header"));
  CHECK(error_of("dtype,m,n,k,latency_us\nbf16,1,1,1,abc\n") ==
        "shapes.csv:2:12: latency_us: expected a number, found \"abc\"");
}

TEST_CASE("the bound stays a bound on the measured tables (committed sample, every GPU and family)") {
  // vLLM's kernels measured on real GPUs (calibration/NOTICE: NVIDIA aiconfigurator, Apache-2.0).
  // A lower bound must sit at or below at least 98 % of the measurements on every GPU; the rows
  // replay one kernel, so L40S's 96 MB L2 serves small weights: only bytes beyond L2 count.
  const std::string dir = std::string(RIDGE_SOURCE_DIR) + "/calibration/measured/";
  int checked = 0;
  for (const char* gpu : {"a100-80gb", "h100-sxm", "h200", "b200", "l40s"}) {
    const GpuSpec g = resolve_gpu(gpu);
    for (const char* family : {"gemm", "context_attention", "generation_attention", "nccl"}) {
      CAPTURE(gpu);
      CAPTURE(family);
      const std::string path = dir + gpu + "/" + family + ".csv";
      const OperatorTable t = read_operator_table(read_text_file(path, std::size_t{1} << 30), path);
      PredictView v{g, t, {}, {}};
      for (const OperatorRow& r : t.rows) v.bounds.push_back(operator_bound(g, t.family, r));
      const auto summaries = predict_summaries(v);
      REQUIRE_FALSE(summaries.empty());
      CHECK(summaries.front().bound.rows > 300);
      CHECK(summaries.front().bound.at_or_above_bound >= 0.98);
      ++checked;
    }
  }
  CHECK(checked == 20);
}
