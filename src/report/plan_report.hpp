// `ridge plan` output: ranked feasible plans, why the first wins, why the rest of the search lost.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model.hpp"
#include "plan.hpp"

namespace ridge {

struct PlanView {
  const ModelSpec& model;
  const PlanRequest& request;
  const PlanResult& result;
  std::size_t top = 10;               ///< plans shown
  std::string model_arg;              ///< as the user gave it, for the reproduce commands
  std::vector<std::string> gpu_args;  ///< one per request.gpus
  /// The speculative-decoding options as given ("--spec-tokens 4 --spec-acceptance 0.7 --mtp"),
  /// for the reproduce commands; empty without speculation.
  std::string spec_args = {};
};

/// "ridge.plan/v1": plans[] (top K), rejected[] (every family), the winner's reproduce commands.
nlohmann::ordered_json plan_json(const PlanView& v);
std::string plan_text(const PlanView& v);
std::string plan_markdown(const PlanView& v);
std::string plan_csv(const PlanView& v);
/// Planning by load with --disagg: whether disaggregated pools beat colocated serving, in
/// numbers (empty when not searched).
std::string disaggregation_text(const PlanView& v);
/// A rejected candidate's figures in words: "needs 80.12 GiB per GPU at batch 64, budget 71.68 GiB".
std::string rejection_text(const RejectionDetail& d);
/// One line: why the first plan is recommended, in numbers (empty without a plan).
std::string recommendation_text(const PlanRequest& r, const PlanResult& res);

/// The `ridge memory` and `ridge roofline` command lines that reproduce a plan's figures.
std::string memory_command(const PlanView& v, const Plan& p);
std::string roofline_command(const PlanView& v, const Plan& p);
/// Planning by load: the `ridge serve` command that reproduces a plan's percentiles.
std::string serve_command(const PlanView& v, const Plan& p);

}  // namespace ridge
