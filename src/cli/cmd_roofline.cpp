// `ridge roofline`: operators, phase verdicts, TTFT/TPOT/throughput, optional SVG plot.
#include <filesystem>
#include <fstream>
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "loaders.hpp"
#include "error.hpp"
#include "report/roofline_report.hpp"

namespace ridge::cli {

Runner register_roofline(CLI::App& app) {
  auto* cmd = app.add_subcommand("roofline", "per-operator FLOPs, bytes and roofline verdicts; TTFT, TPOT, throughput");
  auto opts = std::make_shared<DeploymentOptions>();
  auto format = std::make_shared<std::string>("table");
  auto prompt = std::make_shared<std::int64_t>(1024);
  auto gen = std::make_shared<std::int64_t>(256);
  auto plot = std::make_shared<std::string>();
  auto spec = std::make_shared<SpeculativeOptions>();
  add_deployment_options(*cmd, *opts, /*with_context=*/false);
  add_price_option(*cmd, opts->prices);
  add_parallel_options(*cmd, *opts);
  cmd->add_option("-p,--prompt", *prompt,
                  "prompt tokens per sequence (default 1024, or what the model's max_position leaves after --gen)");
  cmd->add_option("-n,--gen", *gen, "generated tokens per sequence, the first from prefill (default 256)");
  cmd->add_option("--plot", *plot, "write a roofline plot as SVG to this file");
  add_speculative_options(*cmd, *spec);
  add_format_option(*cmd, *format);
  return [=]() {
    if (!cmd->parsed()) return -1;
    const Format f = parse_format(*format);
    require_range("--prompt", *prompt, 1, 100'000'000);
    require_range("--gen", *gen, 1, 100'000'000);
    DeploymentOptions o = *opts;
    o.context = *prompt + *gen;
    o.context_option = "--prompt + --gen";
    // Without --prompt, the default prompt shrinks to what the model's max_position leaves.
    o.context_defaulted = cmd->count("--prompt") == 0;
    const std::vector<std::string> gpus = gpu_list(o.gpu);
    if (gpus.size() > 1 && !plot->empty())
      throw InputError({}, "--plot", "one plot is one GPU: give a single -g with --plot");
    std::vector<std::unique_ptr<RooflineRun>> runs;
    for (const std::string& g : gpus) {
      DeploymentOptions one = o;
      one.gpu = g;
      for (const std::string& name : gpus) one.command_gpus.push_back(resolve_gpu(name).name);
      runs.push_back(std::make_unique<RooflineRun>(one, *gen, *spec));
    }
    if (runs.size() > 1) {  // side by side
      std::vector<RooflineView> views;
      for (const auto& r : runs) views.push_back(r->view());
      const Deployment& d = runs.front()->d;
      const std::string title = fmt::format(
          "{}: {} weights, batch {}, prompt {}, generate {}, {} GPU types side by side\n\n", d.model.display_name,
          d.query.weights.name, d.query.batch, runs.front()->sq.prompt, *gen, gpus.size());
      switch (f) {
        case Format::json:
          std::cout << roofline_comparison_json(views).dump(2) << "\n";
          break;
        case Format::csv:
          std::cout << roofline_comparison_csv(views);
          break;
        case Format::markdown:
          std::cout << title << roofline_comparison(views).markdown();
          break;
        case Format::table:
          std::cout << title << roofline_comparison(views).text("  ");
          break;
      }
      return 0;
    }
    const RooflineView view = runs.front()->view();
    if (!plot->empty()) {
      require_svg_name(*plot);
      write_plot(*plot, roofline_svg(view));
    }
    switch (f) {
      case Format::json:
        std::cout << roofline_json(view).dump(2) << "\n";
        break;
      case Format::csv:
        std::cout << roofline_csv(view);
        break;
      case Format::markdown:
        std::cout << roofline_markdown(view);
        break;
      case Format::table:
        std::cout << roofline_text(view);
        break;
    }
    return 0;
  };
}

}  // namespace ridge::cli
