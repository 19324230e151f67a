// `ridge memory`: memory breakdown, fit, KV capacity, max batch and context.
#include <iostream>

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
    const Deployment d = build_deployment(o);
    const MemoryEstimate e = estimate_memory(d.model, d.gpu, d.query);
    const MemoryView view{d.model, d.gpu, d.query, e, d.replicas};
    switch (f) {
      case Format::json: std::cout << memory_json(view).dump(2) << "\n"; break;
      case Format::csv: std::cout << memory_csv(view); break;
      case Format::markdown: std::cout << memory_markdown(view); break;
      case Format::table: std::cout << memory_text(view); break;
    }
    return (*fail_if_no_fit && !e.fits) ? 1 : 0;
  };
}

}  // namespace ridge::cli
