#include "parallel.hpp"

#include "efficiency.hpp"

#include <algorithm>
#include <cmath>

namespace ridge {

namespace {

/// Per-step latency over the group: (n − k) steps inside nodes and (k − 1) across them, for
/// a ring that visits each node once.
double ring_latency(const CollectiveGroup& g) {
  const double n = static_cast<double>(g.ranks), k = static_cast<double>(g.nodes);
  return (n - k) * g.intra.hop_latency.value + (k - 1) * g.inter.hop_latency.value;
}

/// The slowest link a ring crosses: the network once it leaves a node, else one peer link.
double ring_bandwidth(const CollectiveGroup& g) {
  return g.nodes > 1 ? std::min(g.inter.bandwidth.value, g.intra.usable(1)) : g.intra.usable(1);
}

}  // namespace

CollectiveCost all_reduce_cost(double bytes, const CollectiveGroup& g) {
  if (g.ranks <= 1) return {Seconds{0}, "none"};
  const double n = static_cast<double>(g.ranks), k = static_cast<double>(g.nodes);
  const double base = kCollectiveBaseLatency.value;
  CollectiveCost best{Seconds{base + 2 * ring_latency(g) + 2 * (n - 1) / n * bytes / ring_bandwidth(g)}, "ring"};
  auto consider = [&](double t, std::string_view name) {
    if (t < best.time.value) best = {Seconds{t}, name};
  };
  if (g.nodes > 1) {
    consider(base +
                 2 * ((n / k - 1) * g.intra.hop_latency.value + std::ceil(std::log2(k)) * g.inter.hop_latency.value) +
                 2 * bytes / ring_bandwidth(g),
             "tree");
  } else if (g.intra.all_to_all) {
    const double bw_all = g.intra.usable(n - 1), hop = g.intra.hop_latency.value;
    consider(base + hop + (n - 1) * bytes / bw_all, "one-shot");
    consider(base + 2 * hop + 2 * (n - 1) / n * bytes / bw_all, "two-shot");
  }
  return best;
}

CollectiveCost all_reduce_cost(double bytes, std::int64_t ranks, const Link& link) {
  return all_reduce_cost(bytes, CollectiveGroup{ranks, 1, link, link});
}

CollectiveCost all_gather_cost(double total_bytes, const CollectiveGroup& g) {
  if (g.ranks <= 1) return {Seconds{0}, "none"};
  const double n = static_cast<double>(g.ranks);
  return {Seconds{kCollectiveBaseLatency.value + ring_latency(g) + (n - 1) / n * total_bytes / ring_bandwidth(g)},
          "ring"};
}

CollectiveCost reduce_scatter_cost(double total_bytes, const CollectiveGroup& g) {
  return all_gather_cost(total_bytes, g);  // the same ring, run the other way
}

CollectiveCost all_to_all_cost(double total_bytes, const CollectiveGroup& g) {
  if (g.ranks <= 1) return {Seconds{0}, "none"};
  const double n = static_cast<double>(g.ranks), k = static_cast<double>(g.nodes);
  const double base = kCollectiveBaseLatency.value;
  if (g.nodes <= 1)
    return {Seconds{base + g.intra.hop_latency.value + (n - 1) / n * total_bytes / g.intra.usable(n - 1)},
            "all-to-all"};
  const double per_node = n / k;
  const double local = (per_node - 1) / n * total_bytes / g.intra.usable(per_node - 1);
  const double remote = (n - per_node) / n * total_bytes / g.inter.bandwidth.value;
  return {Seconds{base + g.inter.hop_latency.value + std::max(local, remote)}, "all-to-all"};
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

Link as_link(const Interconnect& i, Seconds default_latency, bool all_to_all) {
  return Link{i.name, i.bandwidth, i.latency.value_or(default_latency), all_to_all,
              i.per_peer_bandwidth.value_or(BytesPerSecond{0})};
}

}  // namespace

Topology topology_for(const GpuSpec& g, std::int64_t tp, std::int64_t pp, double inter_node_bandwidth, TimeBasis basis,
                      std::int64_t ep) {
  Topology t;
  t.expected = expected_times_for(g, basis);
  t.tp = tp;
  t.pp = pp;
  // NVLink through NVSwitch and xGMI meshes give every GPU direct peer access; PCIe cards are
  // treated as a ring (no reliable peer-to-peer, no custom all-reduce).
  const bool pcie = is_pcie(g.interconnect);
  t.intra_node = as_link(g.interconnect, pcie ? kPcieHopLatency : kNvlinkHopLatency, !pcie);
  t.inter_node = g.inter_node ? as_link(*g.inter_node, kNetworkHopLatency, false)
                              : Link{"InfiniBand NDR 400 Gb/s per GPU (default)", kDefaultInterNodeBandwidth,
                                     kNetworkHopLatency, false, BytesPerSecond{0}};
  if (inter_node_bandwidth > 0) t.inter_node.bandwidth = BytesPerSecond{inter_node_bandwidth};
  const std::int64_t per_node = g.gpus_per_node;
  t.tp_group = CollectiveGroup{tp, tp > per_node ? (tp + per_node - 1) / per_node : 1, t.intra_node, t.inter_node};
  t.ep_group = CollectiveGroup{ep, ep > per_node ? (ep + per_node - 1) / per_node : 1, t.intra_node, t.inter_node};
  if (t.tp_spans_nodes()) {
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

namespace {
std::int64_t moe_layer_count(const ModelShapes& s) {
  std::int64_t n = 0;
  for (const LayerGroup& g : s.groups)
    if (g.moe) n += g.count;
  return n;
}
}  // namespace

std::vector<CommOp> comm_ops(const ModelShapes& s, const Topology& t, Phase phase, double tokens, double sequences) {
  std::vector<CommOp> ops;
  std::int64_t layers = 0;
  for (const LayerGroup& g : s.groups) layers += g.count;
  const double a = s.activation_bytes;
  const double activations = tokens * s.hidden * a;  // one token-major hidden-state tensor
  const std::string_view tp_where = t.tp_spans_nodes() ? "inter-node" : "intra-node";
  if (t.tp > 1) {
    // Inside a node a calibrated GPU's measured NCCL model replaces ridge's (the measurements
    // cover one node only).
    const ExpectedTimes* measured = t.tp_spans_nodes() ? nullptr : t.expected.get();
    auto timed = [&](CalibratedFamily f, double bytes, const CollectiveCost& model) {
      const auto e =
          measured ? measured->collective(f, CollectiveCall{static_cast<double>(t.tp), bytes}) : std::nullopt;
      return std::pair<Seconds, bool>{e ? *e : model.time, e.has_value()};
    };
    const CollectiveCost ar = all_reduce_cost(activations, t.tp_group);
    const std::pair<Seconds, bool> ar_timed = timed(CalibratedFamily::all_reduce, activations, ar);
    auto all_reduce = [&](std::string_view name, std::int64_t count) {
      ops.push_back({name, phase, count, activations, ar_timed.first, ar.algorithm, tp_where, ar_timed.second});
    };
    all_reduce("tp.allreduce_embed", 1);
    if (s.parallel_attention) {
      all_reduce("tp.allreduce_block", layers);
    } else {
      all_reduce("tp.allreduce_attn", layers);
      // Under expert parallelism across attention groups the MoE layers combine by all-to-all
      // (below); their shared experts' partial sums ride along with it.
      const std::int64_t moe_layers = s.attention_groups > 1 ? moe_layer_count(s) : 0;
      if (layers > moe_layers) all_reduce("tp.allreduce_mlp", layers - moe_layers);
    }
    const double vocab = s.lm_head.n * static_cast<double>(t.tp);
    const double logits = sequences * vocab * a;
    const CollectiveCost ag = all_gather_cost(logits, t.tp_group);
    const auto [ag_time, ag_measured] = timed(CalibratedFamily::all_gather, logits, ag);
    ops.push_back({"tp.allgather_logits", phase, 1, logits, ag_time, ag.algorithm, tp_where, ag_measured});
  }
  if (s.attention_groups > 1 && t.ep_group.ranks > 1) {
    // Expert parallelism across attention groups: each MoE layer dispatches every token's hidden
    // state to the GPUs holding its k experts and combines the k results back, two all-to-alls
    // over the EP GPUs; each GPU sends its 1/tp share of its group's tokens.
    const double buffer = tokens / static_cast<double>(t.tp) * s.top_k * s.hidden * a;
    const std::string_view where = t.ep_group.nodes > 1 ? "inter-node" : "intra-node";
    const CollectiveCost model = all_to_all_cost(buffer, t.ep_group);
    const ExpectedTimes* measured = t.ep_group.nodes > 1 ? nullptr : t.expected.get();
    const auto e = measured ? measured->collective(CalibratedFamily::alltoall,
                                                   CollectiveCall{static_cast<double>(t.ep_group.ranks), buffer})
                            : std::nullopt;
    const Seconds time = e ? *e : model.time;
    const std::int64_t moe_layers = moe_layer_count(s);
    ops.push_back({"ep.dispatch", phase, moe_layers, buffer, time, model.algorithm, where, e.has_value()});
    ops.push_back({"ep.combine", phase, moe_layers, buffer, time, model.algorithm, where, e.has_value()});
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
