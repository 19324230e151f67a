#include "validate/match.hpp"

#include <cctype>
#include <sstream>
#include <vector>

namespace ridge::validate {
namespace {

/// Upper-cased words of the name, split at spaces and dashes ("A100-SXM4-80GB" -> A100 SXM4 80GB).
std::vector<std::string> words_of(std::string_view name) {
  std::string s(name);
  for (char& ch : s) ch = ch == '-' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool has(const std::vector<std::string>& words, std::string_view w) {
  for (const auto& x : words)
    if (x == w) return true;
  return false;
}

}  // namespace

std::optional<std::string> bundled_gpu_for_device(std::string_view cuda_name, std::uint64_t total_memory_bytes) {
  const auto w = words_of(cuda_name);
  const bool pcie = has(w, "PCIE");
  constexpr std::uint64_t GiB = 1ull << 30;
  // Names as CUDA reports them: "NVIDIA H200", "NVIDIA H100 80GB HBM3" (SXM5), "NVIDIA H100 PCIe",
  // "NVIDIA H100 NVL", "NVIDIA A100-SXM4-80GB", "NVIDIA A100-PCIE-40GB", "NVIDIA B200",
  // "NVIDIA L40S", "NVIDIA L4", "NVIDIA GeForce RTX 4090".
  if (has(w, "H200")) return has(w, "NVL") ? std::nullopt : std::optional<std::string>("h200");
  if (has(w, "H100")) {
    if (has(w, "NVL")) return std::nullopt;  // 94 GB, 3.9 TB/s: not the bundled parts
    return pcie ? "h100-pcie" : "h100-sxm";
  }
  if (has(w, "A100")) {
    if (pcie) return std::nullopt;  // lower clocks and bandwidth than the bundled SXM4 parts
    return total_memory_bytes > 60 * GiB ? "a100-80gb" : "a100-40gb";
  }
  if (has(w, "B200")) return "b200";
  if (has(w, "L40S")) return "l40s";
  if (has(w, "L4")) return "l4";
  if (has(w, "4090") && has(w, "RTX") && !has(w, "D")) return "rtx-4090";
  return std::nullopt;
}

}  // namespace ridge::validate
