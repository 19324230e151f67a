// Turning files and names into validated specs. Every failure is an InputError.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gpu.hpp"
#include "model.hpp"
#include "yaml_io.hpp"

namespace ridge {

/// A model from ridge's own YAML schema (README "Model files").
ModelSpec model_from_yaml(const Node& root, const std::string& source);

/// A model from a Hugging Face config.json (README "Hugging Face configs").
ModelSpec model_from_hf_config(const Node& root, const std::string& source);

/// A GPU from ridge's YAML schema (README "GPU files").
GpuSpec gpu_from_yaml(const Node& root, const std::string& source);

/// The `calibration:` block gpu_from_yaml reads (what `ridge calibrate` writes), with each
/// parameter's meaning as a comment.
std::string calibration_yaml(const Calibration& c);

/// One bundled description file, compiled into the binary so it runs anywhere.
struct BundledFile {
  std::string_view path;  ///< "models/llama-2-7b.yaml"
  std::string_view text;
};
const std::vector<BundledFile>& bundled_models();
const std::vector<BundledFile>& bundled_gpus();

/// Names of the bundled models / GPUs (file stems), sorted.
std::vector<std::string> bundled_model_names();
std::vector<std::string> bundled_gpu_names();

/// MODEL argument: a bundled name, a model YAML path, a .json HF config, or a directory
/// holding config.json. `option` names the CLI option for messages ("--model").
ModelSpec resolve_model(const std::string& arg, const std::string& option = "--model");

/// GPU argument: a bundled name or a GPU YAML path.
GpuSpec resolve_gpu(const std::string& arg, const std::string& option = "--gpu");

}  // namespace ridge
