// `ridge memory` output: one data model (MemoryView) printed as table, JSON, CSV or Markdown.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "format.hpp"
#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"

namespace ridge {

struct MemoryView {
  const ModelSpec& model;
  const GpuSpec& gpu;
  const MemoryQuery& query;
  const MemoryEstimate& estimate;
  std::int64_t replicas = 1;  ///< data-parallel copies of the TP x PP group
};

/// JSON document "ridge.memory/v1": quantities in base units, the unit in the key.
nlohmann::ordered_json memory_json(const MemoryView& v);
std::string memory_text(const MemoryView& v);
std::string memory_markdown(const MemoryView& v);
/// One header line and one data row with the JSON's scalar fields.
std::string memory_csv(const MemoryView& v);

/// Several GPUs side by side (`-g h100-sxm,h200,mi300x`): one column per GPU.
Table memory_comparison(const std::vector<MemoryView>& views);
/// "ridge.memory.comparison/v1": each GPU's full "ridge.memory/v1" document under reports[].
nlohmann::ordered_json memory_comparison_json(const std::vector<MemoryView>& views);
/// One header and one row per GPU.
std::string memory_comparison_csv(const std::vector<MemoryView>& views);

}  // namespace ridge
