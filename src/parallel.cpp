#include "parallel.hpp"

#include <algorithm>
#include <cmath>

namespace ridge {

CollectiveCost all_reduce_cost(double bytes, std::int64_t ranks, const Link& link) {
  if (ranks <= 1) return {Seconds{0}, "none"};
  const double n = static_cast<double>(ranks);
  const double hop = link.hop_latency.value, bw = link.bandwidth.value, base = kCollectiveBaseLatency.value;
  const double ring = base + 2 * (n - 1) * hop + 2 * (n - 1) / n * bytes / bw;
  const double tree = base + 2 * std::ceil(std::log2(n)) * hop + 2 * bytes / bw;
  return ring <= tree ? CollectiveCost{Seconds{ring}, "ring"} : CollectiveCost{Seconds{tree}, "tree"};
}

CollectiveCost all_gather_cost(double total_bytes, std::int64_t ranks, const Link& link) {
  if (ranks <= 1) return {Seconds{0}, "none"};
  const double n = static_cast<double>(ranks);
  return {Seconds{kCollectiveBaseLatency.value + (n - 1) * link.hop_latency.value +
                  (n - 1) / n * total_bytes / link.bandwidth.value},
          "ring"};
}

Seconds send_time(double bytes, const Link& link) {
  return Seconds{link.hop_latency.value + bytes / link.bandwidth.value};
}

double pipeline_bubble(std::int64_t stages, std::int64_t micro_batches) {
  const double p = static_cast<double>(stages), m = static_cast<double>(micro_batches);
  return (p - 1) / (m + p - 1);
}

namespace {

bool is_pcie(const Interconnect& link) { return link.name.rfind("PCIe", 0) == 0; }

Link as_link(const Interconnect& i, Seconds default_latency) {
  return Link{i.name, i.bandwidth, i.latency.value_or(default_latency)};
}

}  // namespace

Topology topology_for(const GpuSpec& g, std::int64_t tp, std::int64_t pp, double inter_node_bandwidth) {
  Topology t;
  t.tp = tp;
  t.pp = pp;
  t.intra_node = as_link(g.interconnect, is_pcie(g.interconnect) ? kPcieHopLatency : kNvlinkHopLatency);
  t.inter_node = g.inter_node ? as_link(*g.inter_node, kNetworkHopLatency)
                              : Link{"InfiniBand NDR 400 Gb/s per GPU (default)", kDefaultInterNodeBandwidth,
                                     kNetworkHopLatency};
  if (inter_node_bandwidth > 0) t.inter_node.bandwidth = BytesPerSecond{inter_node_bandwidth};
  const std::int64_t per_node = g.gpus_per_node;
  t.tp_spans_nodes = tp > per_node;
  t.tp_link = t.tp_spans_nodes ? t.inter_node : t.intra_node;
  if (t.tp_spans_nodes) {
    // Every stage is its own set of nodes: each boundary crosses.
    t.inter_node_boundaries = pp - 1;
  } else {
    // Stages of tp GPUs fill nodes in order; a boundary crosses when the next stage starts a
    // new node (whole stages per node when tp divides the node, else every straddle counts).
    const std::int64_t stages_per_node = std::max<std::int64_t>(1, per_node / tp);
    t.inter_node_boundaries = (pp - 1) / stages_per_node;
  }
  return t;
}

std::vector<CommOp> comm_ops(const ModelShapes& s, const Topology& t, Phase phase, double tokens, double sequences) {
  std::vector<CommOp> ops;
  std::int64_t layers = 0;
  for (const LayerGroup& g : s.groups) layers += g.count;
  const double a = s.activation_bytes;
  const double activations = tokens * s.hidden * a;  // one token-major hidden-state tensor
  const std::string_view tp_where = t.tp_spans_nodes ? "inter-node" : "intra-node";
  if (t.tp > 1) {
    const CollectiveCost ar = all_reduce_cost(activations, t.tp, t.tp_link);
    ops.push_back({"tp.allreduce_embed", phase, 1, activations, ar.time, ar.algorithm, tp_where});
    ops.push_back({"tp.allreduce_attn", phase, layers, activations, ar.time, ar.algorithm, tp_where});
    ops.push_back({"tp.allreduce_mlp", phase, layers, activations, ar.time, ar.algorithm, tp_where});
    const double vocab = s.lm_head.n * static_cast<double>(t.tp);
    const double logits = sequences * vocab * a;
    const CollectiveCost ag = all_gather_cost(logits, t.tp, t.tp_link);
    ops.push_back({"tp.allgather_logits", phase, 1, logits, ag.time, ag.algorithm, tp_where});
  }
  if (t.pp > 1) {
    const std::int64_t inter = t.inter_node_boundaries, intra = t.pp - 1 - inter;
    if (intra > 0)
      ops.push_back({"pp.send", phase, intra, activations, send_time(activations, t.intra_node), "send", "intra-node"});
    if (inter > 0)
      ops.push_back({"pp.send", phase, inter, activations, send_time(activations, t.inter_node), "send", "inter-node"});
  }
  return ops;
}

CommTime comm_time(const std::vector<CommOp>& ops) {
  CommTime c;
  for (const CommOp& op : ops) {
    const double t = static_cast<double>(op.count) * op.time.value;
    if (op.name.rfind("pp.", 0) == 0)
      c.pipeline.value += t;
    else
      c.tensor_parallel.value += t;
  }
  return c;
}

}  // namespace ridge
