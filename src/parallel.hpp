// Multi-GPU costs: collectives for tensor parallelism, point-to-point transfers and the bubble
// for pipeline parallelism, and where each runs (NVLink inside a node, the network across nodes).
// Latency model after NCCL's tuning model (src/graph/tuning.cc): a collective costs a base
// latency plus one hop latency per step plus its bytes over the bandwidth it can use.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gpu.hpp"
#include "ops.hpp"
#include "time_basis.hpp"
#include "units.hpp"

namespace ridge {

/// A link as a collective sees it: bandwidth per GPU per direction, latency per step.
struct Link {
  std::string name;
  BytesPerSecond bandwidth;  ///< all of a GPU's links together
  Seconds hop_latency;
  bool all_to_all = false;  ///< every GPU reaches every other directly (NVSwitch, xGMI mesh)
  BytesPerSecond per_peer;  ///< a mesh's one peer link (0: a switch, any peer at full speed)

  /// Bandwidth one GPU can use towards `peers` GPUs at once: all of it through a switch; on a
  /// full mesh, one link per peer (MI300X: 64 GB/s each, 448 GB/s only with all 7 peers).
  double usable(double peers) const {
    return per_peer.value > 0 ? std::min(bandwidth.value, peers * per_peer.value) : bandwidth.value;
  }
};

/// Fixed cost of launching one collective (NCCL ring, LL protocol: 3.6 us).
inline constexpr Seconds kCollectiveBaseLatency{3.6e-6};
/// Per-step latency when a GPU file gives none: NCCL's ring/LL figures, 0.47 us on NVLink,
/// 1.0 us over PCIe, 2.7 us over the network.
inline constexpr Seconds kNvlinkHopLatency{0.47e-6};
inline constexpr Seconds kPcieHopLatency{1.0e-6};
inline constexpr Seconds kNetworkHopLatency{2.7e-6};
/// Inter-node default when a GPU file has no `inter_node`: one 400 Gb/s InfiniBand NDR NIC per
/// GPU (DGX/HGX H100 rail design) = 50 GB/s per direction.
inline constexpr BytesPerSecond kDefaultInterNodeBandwidth{50e9};

struct CollectiveCost {
  Seconds time;
  std::string_view algorithm;  ///< "ring", "tree", "send" or "none"
};

/// The GPUs of one collective: `ranks` GPUs over `nodes` nodes (ranks / nodes per node).
struct CollectiveGroup {
  std::int64_t ranks = 1;
  std::int64_t nodes = 1;
  Link intra;  ///< inside a node
  Link inter;  ///< between nodes (used when nodes > 1)
};

/// All-reduce of a `bytes` buffer on each GPU of the group, the cheapest of (n ranks, k nodes,
/// hop latencies h_intra/h_inter, S = bytes, base = 3.6 us):
///   ring:      base + 2(n−k) h_intra + 2(k−1) h_inter + 2(n−1)/n · S / bw   (NCCL ring)
///   tree:      base + 2((n/k − 1) h_intra + ⌈log2 k⌉ h_inter) + 2 S / bw    (NCCL tree, k > 1)
///   one-shot:  base + h_intra + (n−1) S / bw_all       (one node, all-to-all links: each GPU
///   two-shot:  base + 2 h_intra + 2(n−1)/n · S / bw_all  reads its peers, as vLLM's custom
///                                                        all-reduce does inside an NVLink node)
/// where bw is the slowest link the ring crosses and bw_all the bandwidth towards n − 1 peers.
CollectiveCost all_reduce_cost(double bytes, const CollectiveGroup& g);
/// The same inside one node.
CollectiveCost all_reduce_cost(double bytes, std::int64_t ranks, const Link& link);

/// Ring all-gather of `total_bytes` (each rank contributes total/n):
///   base + (n−k) h_intra + (k−1) h_inter + (n−1)/n · total / bw.
CollectiveCost all_gather_cost(double total_bytes, const CollectiveGroup& g);

/// Ring reduce-scatter of a `total_bytes` buffer (each rank keeps total/n), the all-gather's
/// mirror: the same steps and bytes.
CollectiveCost reduce_scatter_cost(double total_bytes, const CollectiveGroup& g);

/// All-to-all of a `total_bytes` buffer on each rank, total/n to every rank (MoE dispatch and
/// combine): (n − 1)/n of it leaves each GPU, towards all peers at once. One node:
///   base + h_intra + (n−1)/n · total / bw_all   (bw_all: bandwidth towards n − 1 peers)
/// several nodes: the local and remote shares move together, the slower decides:
///   base + h_inter + max((n/k − 1)/n · total / bw_intra, (n − n/k)/n · total / bw_inter).
CollectiveCost all_to_all_cost(double total_bytes, const CollectiveGroup& g);

/// One point-to-point transfer between pipeline stages: hop + bytes / bandwidth.
Seconds send_time(double bytes, const Link& link);

/// Idle fraction of a pipeline of p stages running m micro-batches: (p − 1) / (m + p − 1).
double pipeline_bubble(std::int64_t stages, std::int64_t micro_batches);

/// Where the GPUs of one replica sit and which links their traffic takes. TP groups are packed
/// inside a node when they fit (TP ≤ GPUs per node); pipeline stages then fill nodes in order.
struct Topology {
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  CollectiveGroup tp_group;                ///< one TP group: its GPUs, nodes and links
  Link intra_node;                         ///< stage-to-stage inside a node
  Link inter_node;                         ///< stage-to-stage across nodes
  std::int64_t inter_node_boundaries = 0;  ///< of the pp − 1 stage boundaries, those crossing nodes
  /// TimeBasis::expected on a calibrated GPU: NCCL's measured collectives inside a node.
  std::shared_ptr<const ExpectedTimes> expected;
  /// Expert parallelism: the GPUs of one stage the routed experts spread over (ranks 1: none).
  CollectiveGroup ep_group;
  bool tp_spans_nodes() const { return tp_group.nodes > 1; }
};

/// `inter_node_bandwidth` overrides the GPU file's (or the default) network bandwidth when > 0.
Topology topology_for(const GpuSpec& g, std::int64_t tp, std::int64_t pp, double inter_node_bandwidth = 0,
                      TimeBasis basis = TimeBasis::bound, std::int64_t ep = 1);

/// One communication step of a forward pass, repeated `count` times.
struct CommOp {
  std::string_view name;
  Phase phase = Phase::prefill;
  std::int64_t count = 1;
  double bytes = 0;  ///< message per instance (each rank's buffer for an all-reduce)
  Seconds time;      ///< per instance
  std::string_view algorithm;
  std::string_view link;    ///< "intra-node", "inter-node"
  bool calibrated = false;  ///< `time` is the calibrated estimate (else ridge's NCCL model)
};

/// Communication of one forward pass over `sequences` sequences carrying `tokens` tokens in
/// total (prefill: batch × prompt; decode: batch), whole model (all stages):
///   TP > 1: an all-reduce of tokens × hidden activations after attention and after the MLP in
///   every layer (one per layer when attention and MLP run in parallel, as in Falcon), one after
///   the vocabulary-parallel embedding, and an all-gather of the last-token logits
///   (sequences × vocab);
///   PP > 1: one send of tokens × hidden activations across each stage boundary.
std::vector<CommOp> comm_ops(const ModelShapes& s, const Topology& t, Phase phase, double tokens, double sequences);

/// Σ count × time of the TP collectives (all stages), and of the stage-to-stage sends.
struct CommTime {
  Seconds tensor_parallel;
  Seconds pipeline;
};
CommTime comm_time(const std::vector<CommOp>& ops);

}  // namespace ridge
