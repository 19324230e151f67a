// Parallelism costs against hand computations: collectives, bubble, topology, and what TP and
// PP do to latency.
#include <doctest/doctest.h>

#include "loaders.hpp"
#include "parallel.hpp"
#include "roofline.hpp"

using namespace ridge;

namespace {
const Link kNvlink4{"NVLink 4", BytesPerSecond{450e9}, Seconds{0.47e-6}};

ServiceEstimate service(const ModelSpec& m, const GpuSpec& g, std::int64_t tp, std::int64_t pp, std::int64_t batch,
                        std::int64_t prompt, std::int64_t gen, std::int64_t micro_batches = 0) {
  const ModelShapes shapes = compile_shapes(m, *weight_format("bf16"), tp);
  ServiceQuery q{batch, prompt, gen, AttentionImpl::flash, DType::bf16, topology_for(g, tp, pp), micro_batches};
  return estimate_service(shapes, ceilings_for(g, shapes), q);
}
}  // namespace

TEST_CASE("all-reduce: the cheapest algorithm for the size and the fabric") {
  const Link nvlink{"NVLink 4", BytesPerSecond{450e9}, Seconds{0.47e-6}, /*all_to_all=*/true, BytesPerSecond{0}};
  // One decode token of an 8,192-wide model in bf16 = 16,384 B over 8 NVSwitch-connected GPUs:
  //   ring     3.6 + 14 x 0.47 us + 2 x 7/8 x 16,384 / 450e9     = 10.24 us
  //   one-shot 3.6 + 0.47 us      + 7 x 16,384 / 450e9           =  4.325 us  <- cheapest
  //   two-shot 3.6 + 2 x 0.47 us  + 2 x 7/8 x 16,384 / 450e9     =  4.604 us
  const CollectiveCost small = all_reduce_cost(16384, 8, nvlink);
  CHECK(small.algorithm == "one-shot");
  CHECK(small.time.value == doctest::Approx(3.6e-6 + 0.47e-6 + 7 * 16384 / 450e9));
  // 1 GB: two-shot moves what a ring moves in 2 steps instead of 14: 3.6 + 0.94 us + 3.889 ms.
  const CollectiveCost big = all_reduce_cost(1e9, 8, nvlink);
  CHECK(big.algorithm == "two-shot");
  CHECK(big.time.value == doctest::Approx(3.6e-6 + 0.94e-6 + 1.75e9 / 450e9));
  // PCIe cards: no peer access, ring only: 3.6 + 2 x 1 x 1.0 us + 1e6 / 32e9 for 2 GPUs.
  const Link pcie{"PCIe 4.0", BytesPerSecond{32e9}, Seconds{1.0e-6}, false, BytesPerSecond{0}};
  const CollectiveCost two = all_reduce_cost(1e6, 2, pcie);
  CHECK(two.algorithm == "ring");
  CHECK(two.time.value == doctest::Approx(3.6e-6 + 2e-6 + 1e6 / 32e9));
  CHECK(all_reduce_cost(1e6, 1, nvlink).time.value == 0);
  // Two nodes of 8 (TP 16), network 50 GB/s and 2.7 us per hop, 16,384 B:
  //   ring 3.6 + 2 x 14 x 0.47 + 2 x 1 x 2.7 us + 2 x 15/16 x 16,384 / 50e9 = 22.77 us
  //   tree 3.6 + 2 x (7 x 0.47 + 1 x 2.7) us    + 2 x 16,384 / 50e9         = 16.24 us
  const Link ib{"IB", BytesPerSecond{50e9}, Seconds{2.7e-6}, false, BytesPerSecond{0}};
  const CollectiveCost nodes = all_reduce_cost(16384, CollectiveGroup{16, 2, nvlink, ib});
  CHECK(nodes.algorithm == "tree");
  CHECK(nodes.time.value == doctest::Approx(3.6e-6 + 2 * (7 * 0.47e-6 + 2.7e-6) + 2 * 16384 / 50e9));
  CHECK(all_reduce_cost(1e9, CollectiveGroup{16, 2, nvlink, ib}).time.value ==
        doctest::Approx(3.6e-6 + 28 * 0.47e-6 + 2 * 2.7e-6 + 2 * 15.0 / 16 * 1e9 / 50e9));
  // All-gather of 1 MB over 4 in a node: 3.6 + 3 x 0.47 us + 3/4 x 1e6 / 450e9.
  CHECK(all_gather_cost(1e6, CollectiveGroup{4, 1, nvlink, nvlink}).time.value ==
        doctest::Approx(3.6e-6 + 1.41e-6 + 0.75e6 / 450e9));
  CHECK(send_time(450e3, nvlink).value == doctest::Approx(0.47e-6 + 1e-6));
}

TEST_CASE("full mesh (MI300X): a TP group gets one 64 GB/s link per peer") {
  const Topology two = topology_for(resolve_gpu("mi300x"), 2, 1);
  CHECK(two.tp_group.intra.usable(1) == doctest::Approx(64e9));
  CHECK(two.tp_group.intra.usable(7) == doctest::Approx(448e9));
  // TP 2, 1 MB: one-shot 3.6 + 0.47 us + 1e6 / 64e9; two-shot 3.6 + 0.94 us + 1e6 / 64e9.
  const CollectiveCost c = all_reduce_cost(1e6, two.tp_group);
  CHECK(c.time.value == doctest::Approx(3.6e-6 + 0.47e-6 + 1e6 / 64e9));
}

TEST_CASE("pipeline bubble (p - 1) / (m + p - 1)") {
  CHECK(pipeline_bubble(4, 8) == doctest::Approx(3.0 / 11.0));
  CHECK(pipeline_bubble(2, 1) == doctest::Approx(0.5));
  CHECK(pipeline_bubble(1, 1) == 0);
}

TEST_CASE("topology: TP inside a node, across nodes on the network") {
  const GpuSpec h100 = resolve_gpu("h100-sxm");  // 8 per node, NVLink 450 GB/s
  const Topology t8 = topology_for(h100, 8, 1);
  CHECK_FALSE(t8.tp_spans_nodes());
  CHECK(t8.tp_group.intra.bandwidth.value == doctest::Approx(450e9));
  CHECK(t8.tp_group.intra.all_to_all);
  const Topology t16 = topology_for(h100, 16, 1);
  CHECK(t16.tp_spans_nodes());
  CHECK(t16.tp_group.nodes == 2);
  CHECK(t16.tp_group.inter.bandwidth.value == doctest::Approx(50e9));  // 400 Gb/s InfiniBand per GPU
  CHECK(topology_for(h100, 16, 1, 25e9).tp_group.inter.bandwidth.value == doctest::Approx(25e9));
  // TP 4 x PP 4 = 16 GPUs: two stages per node, so 1 of the 3 boundaries crosses nodes.
  CHECK(topology_for(h100, 4, 4).inter_node_boundaries == 1);
  CHECK(topology_for(h100, 8, 4).inter_node_boundaries == 3);
  CHECK(topology_for(h100, 2, 4).inter_node_boundaries == 0);
  // PCIe cards talk over PCIe with PCIe latency.
  const Topology l4 = topology_for(resolve_gpu("l4"), 2, 1);
  CHECK(l4.tp_group.intra.bandwidth.value == doctest::Approx(32e9));
  CHECK(l4.tp_group.intra.hop_latency.value == doctest::Approx(1.0e-6));
  CHECK_FALSE(l4.tp_group.intra.all_to_all);
}

TEST_CASE("decode at batch 1 is memory-bound: doubling TP cuts TPOT by less than half") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ServiceEstimate tp2 = service(m, g, 2, 1, 1, 1024, 129);
  const ServiceEstimate tp4 = service(m, g, 4, 1, 1, 1024, 129);
  // Hand computation of TP 4's communication per decode step: the message is one token's
  // hidden state, 8,192 x 2 B = 16,384 B. One-shot all-reduce over 4 NVLink peers: 3.6 + 0.47 us
  // + 3 x 16,384 B / 450 GB/s = 4.179 us (two-shot 4.595 us, ring 6.475 us), done
  // 2 x 80 + 1 = 161 times; logits all-gather of 128,256 x 2 B: 3.6 + 3 x 0.47 us +
  // 3/4 x 256,512 / 450e9 = 5.4375 us.
  const double allreduce = 3.6e-6 + 0.47e-6 + 3 * 16384 / 450e9;
  const double gather = 3.6e-6 + 3 * 0.47e-6 + 0.75 * 256512 / 450e9;
  CHECK(tp4.decode_comm_time.tensor_parallel.value == doctest::Approx(161 * allreduce + gather));
  // Weights per rank: (141.1 GB − the 2.1 GB embedding, only gathered) / 4 ≈ 34.75 GB → 10.4 ms at
  // 3.35 TB/s; communication ≈ 0.68 ms on top, which halving does not touch.
  CHECK(tp4.decode_step.time.value == doctest::Approx(34.75e9 / 3.35e12).epsilon(0.02));
  CHECK(tp4.tpot.value ==
        doctest::Approx(tp4.decode_step.time.value + tp4.decode_comm_time.tensor_parallel.value).epsilon(0.01));
  CHECK(tp4.tpot.value > tp2.tpot.value / 2);
  CHECK(tp4.tpot.value < tp2.tpot.value);
  // Without the all-reduces the halving would be almost exact (memory-bound, weights dominate).
  const double ops_ratio = tp4.decode_step.time.value / tp2.decode_step.time.value;
  CHECK(ops_ratio == doctest::Approx(0.5).epsilon(0.01));
}

TEST_CASE("PP does not cut single-request latency; micro-batches fill the pipeline") {
  const ModelSpec m = resolve_model("llama-3.1-8b");  // 32 layers
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ServiceEstimate pp1 = service(m, g, 1, 1, 1, 2048, 65);
  const ServiceEstimate pp4 = service(m, g, 1, 4, 1, 2048, 65);
  // One request passes all 4 stages in turn: the same operators plus 3 sends of one hidden state
  // (4,096 x 2 B over NVLink: 0.47 us + 8,192 / 450e9 s each).
  const double send = 0.47e-6 + 8192 / 450e9;
  CHECK(pp4.tpot.value == doctest::Approx(pp1.tpot.value + 3 * send));
  CHECK(pp4.tpot.value >= pp1.tpot.value);
  CHECK(pp4.ttft.value >= pp1.ttft.value);

  // Prefill of 8 prompts in 8 micro-batches over 4 even stages: (m + p − 1) stage slots of
  // T(1)/4 each, i.e. TTFT = 11/4 T(1) + sends, against 8 T(1) on one GPU if T is linear in the
  // batch (compute-bound prefill: it is, to within the LM head and norms).
  const ServiceEstimate one = service(m, g, 1, 1, 1, 2048, 2);
  const ServiceEstimate piped = service(m, g, 1, 4, 8, 2048, 2, 8);
  CHECK(piped.prefill_micro_batches == 8);
  CHECK(piped.bubble == doctest::Approx(3.0 / 11.0));
  const double sends = 3 * (0.47e-6 + 2048 * 4096 * 2 / 450e9);
  CHECK(piped.ttft.value == doctest::Approx(11.0 / 4.0 * one.ttft.value + sends).epsilon(1e-9));
  // Against a single GPU running the whole batch: close to 11/32 of its time.
  const ServiceEstimate whole = service(m, g, 1, 1, 8, 2048, 2);
  CHECK(piped.ttft.value / whole.ttft.value == doctest::Approx(11.0 / 32.0).epsilon(0.03));
}

TEST_CASE("a batch PP does not divide: micro-batches of 2, 1, 1, 1 for 5 sequences, not 6 or 8") {
  // Llama-3.1-8B on 4 even stages (32 layers), batch 5, default m = min(B, p) = 4 micro-batches.
  const ModelSpec m = resolve_model("llama-3.1-8b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ServiceEstimate e = service(m, g, 1, 4, 5, 2048, 33);
  CHECK(e.prefill_micro_batches == 4);
  CHECK(e.prefill_micro_batch == 2);
  CHECK(e.prefill_micro_batch_smallest == 1);
  CHECK(e.decode_micro_batches == 4);
  // Prefill, largest first through a proportionate flow shop of p stages, each stage taking
  // pass(b)/4: the last micro-batch leaves at Σ pass(b_i)/4 + (4 − 1)/4 · pass(2), plus the
  // three sends of the 2-sequence micro-batch (2 x 2,048 x 4,096 x 2 B each over NVLink).
  const double pass2 = service(m, g, 1, 1, 2, 2048, 2).ttft.value;
  const double pass1 = service(m, g, 1, 1, 1, 2048, 2).ttft.value;
  const double sends = 3 * (0.47e-6 + 2.0 * 2048 * 4096 * 2 / 450e9);
  CHECK(e.ttft.value == doctest::Approx((pass2 + 3 * pass1) / 4 + 3.0 / 4.0 * pass2 + sends).epsilon(1e-9));
  // Less than modelling 6 sequences (3 micro-batches of 2), more than 4 (4 of 1).
  CHECK(e.ttft.value < service(m, g, 1, 4, 6, 2048, 33).ttft.value);
  CHECK(e.ttft.value > service(m, g, 1, 4, 4, 2048, 33).ttft.value);
  // Decode: a round of the four micro-batches through the slowest stage takes
  // (step(2) + 3 step(1)) / 4, and no micro-batch gets its next token before its own pass
  // through all stages, step(2) + 3 sends; TPOT is the larger (single-GPU TPOT gives step(b)).
  const double step2 = service(m, g, 1, 1, 2, 2048, 33).tpot.value;
  const double step1 = service(m, g, 1, 1, 1, 2048, 33).tpot.value;
  const double send2 = 0.47e-6 + 2.0 * 4096 * 2 / 450e9;
  CHECK(e.tpot.value == doctest::Approx(std::max((step2 + 3 * step1) / 4, step2 + 3 * send2)).epsilon(1e-9));
}

TEST_CASE("uneven pipeline: the largest stage sets the pace") {
  // 32 layers over 3 stages: 11, 11, 10 → imbalance 3 x 11 / 32.
  const ServiceEstimate e = service(resolve_model("llama-3.1-8b"), resolve_gpu("h100-sxm"), 1, 3, 6, 512, 2, 6);
  CHECK(e.stage_imbalance == doctest::Approx(33.0 / 32.0));
}

TEST_CASE("parallel attention (Falcon): one all-reduce per layer") {
  const ModelSpec falcon = resolve_model("falcon-40b");
  CHECK(falcon.parallel_attention);
  const ModelShapes shapes = compile_shapes(falcon, *weight_format("bf16"), 4);
  const auto ops = comm_ops(shapes, topology_for(resolve_gpu("h100-sxm"), 4, 1), Phase::decode, 1, 1);
  std::int64_t allreduces = 0;
  for (const CommOp& op : ops)
    if (op.name.find("allreduce") != std::string_view::npos) allreduces += op.count;
  CHECK(allreduces == 60 + 1);  // 60 layers + the embedding
}

TEST_CASE("communication rows appear in the operator lists under TP and PP only") {
  const ModelSpec m = resolve_model("llama-3.1-8b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  CHECK(service(m, g, 1, 1, 1, 128, 8).prefill_comm.empty());
  const ServiceEstimate e = service(m, g, 2, 2, 4, 128, 8);
  bool allreduce = false, send = false;
  for (const CommOp& op : e.prefill_comm) {
    if (op.name == "tp.allreduce_attn") {
      allreduce = true;
      CHECK(op.count == 32);
      CHECK(op.bytes == doctest::Approx(2 * 128 * 4096 * 2.0));  // micro-batch of 2 x 128 tokens
    }
    if (op.name == "pp.send") send = true;
  }
  CHECK(allreduce);
  CHECK(send);
}
