// `ridge memory`: memory breakdown, fit, KV capacity, max batch and context.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "report/memory_report.hpp"

namespace ridge::cli {

Runner register_memory(CLI::App& app) {
  auto* cmd = app.add_subcommand("memory", "memory breakdown of a deployment: weights, KV cache, activations, fit");
  auto opts = std::make_shared<DeploymentOptions>();
  auto format = std::make_shared<std::string>("table");
  auto fail_if_no_fit = std::make_shared<bool>(false);
  add_deployment_options(*cmd, *opts);
  add_format_option(*cmd, *format);
  cmd->add_flag("--check", *fail_if_no_fit, "exit 1 when the deployment does not fit");
  return [cmd, opts, format, fail_if_no_fit]() {
    if (!cmd->parsed()) return -1;
    const Format f = parse_format(*format);
    DeploymentOptions o = *opts;
    o.context_defaulted = cmd->count("--context") == 0;
    const std::vector<std::string> gpus = gpu_list(o.gpu);
    if (gpus.size() > 1) {  // side by side
      std::vector<std::unique_ptr<Deployment>> deployments;
      std::vector<std::unique_ptr<MemoryEstimate>> estimates;
      std::vector<MemoryView> views;
      bool all_fit = true;
      for (const std::string& g : gpus) {
        DeploymentOptions one = o;
        one.gpu = g;
        deployments.push_back(std::make_unique<Deployment>(build_deployment(one)));
        const Deployment& d = *deployments.back();
        estimates.push_back(std::make_unique<MemoryEstimate>(estimate_memory(d.model, d.gpu, d.query)));
        views.push_back(MemoryView{d.model, d.gpu, d.query, *estimates.back(), d.replicas});
        all_fit = all_fit && estimates.back()->fits;
      }
      const Deployment& d = *deployments.front();
      const std::string title =
          fmt::format("{}: {} weights, batch {} x {} tokens, {} GPU types side by side\n\n", d.model.display_name,
                      d.query.weights.name, d.query.batch, d.query.context, gpus.size());
      switch (f) {
        case Format::json:
          std::cout << memory_comparison_json(views).dump(2) << "\n";
          break;
        case Format::csv:
          std::cout << memory_comparison_csv(views);
          break;
        case Format::markdown:
          std::cout << title << memory_comparison(views).markdown();
          break;
        case Format::table:
          std::cout << title << memory_comparison(views).text("  ");
          break;
      }
      return (*fail_if_no_fit && !all_fit) ? 1 : 0;
    }
    const Deployment d = build_deployment(o);
    const MemoryEstimate e = estimate_memory(d.model, d.gpu, d.query);
    const MemoryView view{d.model, d.gpu, d.query, e, d.replicas};
    switch (f) {
      case Format::json:
        std::cout << memory_json(view).dump(2) << "\n";
        break;
      case Format::csv:
        std::cout << memory_csv(view);
        break;
      case Format::markdown:
        std::cout << memory_markdown(view);
        break;
      case Format::table:
        std::cout << memory_text(view);
        break;
    }
    return (*fail_if_no_fit && !e.fits) ? 1 : 0;
  };
}

}  // namespace ridge::cli
