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

TEST_CASE("all-reduce: ring for large messages, tree for small ones") {
  // 1 GB over 8 GPUs: ring = 3.6 us + 14 x 0.47 us + 2 x 7/8 x 1e9 / 450e9 = 3.898 ms;
  // tree = 3.6 us + 2 x 3 x 0.47 us + 2 x 1e9 / 450e9 = 4.451 ms.
  const CollectiveCost big = all_reduce_cost(1e9, 8, kNvlink4);
  CHECK(big.algorithm == "ring");
  CHECK(big.time.value == doctest::Approx(3.6e-6 + 14 * 0.47e-6 + 1.75e9 / 450e9));
  // One decode token of an 8192-wide model in bf16 = 16,384 B: ring 10.24 us, tree 6.49 us.
  const CollectiveCost small = all_reduce_cost(16384, 8, kNvlink4);
  CHECK(small.algorithm == "tree");
  CHECK(small.time.value == doctest::Approx(3.6e-6 + 6 * 0.47e-6 + 2 * 16384 / 450e9));
  // Two GPUs: both take 2 steps; the ring moves half as much.
  CHECK(all_reduce_cost(1e6, 2, kNvlink4).algorithm == "ring");
  CHECK(all_reduce_cost(1e6, 1, kNvlink4).time.value == 0);
  // All-gather of 1 MB over 4: 3.6 us + 3 x 0.47 us + 3/4 x 1e6 / 450e9.
  CHECK(all_gather_cost(1e6, 4, kNvlink4).time.value == doctest::Approx(3.6e-6 + 1.41e-6 + 0.75e6 / 450e9));
  CHECK(send_time(450e3, kNvlink4).value == doctest::Approx(0.47e-6 + 1e-6));
}

TEST_CASE("pipeline bubble (p - 1) / (m + p - 1)") {
  CHECK(pipeline_bubble(4, 8) == doctest::Approx(3.0 / 11.0));
  CHECK(pipeline_bubble(2, 1) == doctest::Approx(0.5));
  CHECK(pipeline_bubble(1, 1) == 0);
}

TEST_CASE("topology: TP inside a node, across nodes on the network") {
  const GpuSpec h100 = resolve_gpu("h100-sxm");  // 8 per node, NVLink 450 GB/s
  const Topology t8 = topology_for(h100, 8, 1);
  CHECK_FALSE(t8.tp_spans_nodes);
  CHECK(t8.tp_link.bandwidth.value == doctest::Approx(450e9));
  const Topology t16 = topology_for(h100, 16, 1);
  CHECK(t16.tp_spans_nodes);
  CHECK(t16.tp_link.bandwidth.value == doctest::Approx(50e9));  // 400 Gb/s InfiniBand per GPU
  CHECK(topology_for(h100, 16, 1, 25e9).tp_link.bandwidth.value == doctest::Approx(25e9));
  // TP 4 x PP 4 = 16 GPUs: two stages per node, so 1 of the 3 boundaries crosses nodes.
  CHECK(topology_for(h100, 4, 4).inter_node_boundaries == 1);
  CHECK(topology_for(h100, 8, 4).inter_node_boundaries == 3);
  CHECK(topology_for(h100, 2, 4).inter_node_boundaries == 0);
  // PCIe cards talk over PCIe with PCIe latency.
  const Topology l4 = topology_for(resolve_gpu("l4"), 2, 1);
  CHECK(l4.tp_link.bandwidth.value == doctest::Approx(32e9));
  CHECK(l4.tp_link.hop_latency.value == doctest::Approx(1.0e-6));
}

TEST_CASE("decode at batch 1 is memory-bound: doubling TP cuts TPOT by less than half") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ServiceEstimate tp2 = service(m, g, 2, 1, 1, 1024, 129);
  const ServiceEstimate tp4 = service(m, g, 4, 1, 1, 1024, 129);
  // Hand computation of TP 4's communication per decode step: the message is one token's
  // hidden state, 8,192 x 2 B = 16,384 B. Tree all-reduce over 4: 3.6 + 2 x 2 x 0.47 us +
  // 2 x 16,384 B / 450 GB/s = 5.5528 us (ring: 3.6 + 6 x 0.47 + 0.0546 = 6.4746 us), done
  // 2 x 80 + 1 = 161 times; logits all-gather of 128,256 x 2 B: 3.6 + 3 x 0.47 us +
  // 3/4 x 256,512 / 450e9 = 5.4375 us.
  const double allreduce = 3.6e-6 + 4 * 0.47e-6 + 2 * 16384 / 450e9;
  const double gather = 3.6e-6 + 3 * 0.47e-6 + 0.75 * 256512 / 450e9;
  CHECK(tp4.decode_comm_time.tensor_parallel.value == doctest::Approx(161 * allreduce + gather));
  // Weights per rank: (141.1 GB − the 2.1 GB embedding, only gathered) / 4 ≈ 34.75 GB → 10.4 ms at
  // 3.35 TB/s; communication ≈ 0.90 ms on top, which halving does not touch.
  CHECK(tp4.decode_step.time.value == doctest::Approx(34.75e9 / 3.35e12).epsilon(0.02));
  CHECK(tp4.tpot.value == doctest::Approx(tp4.decode_step.time.value + tp4.decode_comm_time.tensor_parallel.value)
                              .epsilon(0.01));
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

TEST_CASE("uneven pipeline: the largest stage sets the pace") {
  // 32 layers over 3 stages: 11, 11, 10 → imbalance 3 x 11 / 32.
  const ServiceEstimate e = service(resolve_model("llama-3.1-8b"), resolve_gpu("h100-sxm"), 1, 3, 6, 512, 2, 6);
  CHECK(e.stage_imbalance == doctest::Approx(33.0 / 32.0));
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
