// `ridge memory` output: one data model (MemoryView) printed as table, JSON, CSV or Markdown.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

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

}  // namespace ridge
