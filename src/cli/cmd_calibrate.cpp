// `ridge calibrate DIR -g GPU`: fits the efficiency model to the measurement tables in DIR and
// prints (or writes into a GPU file) the `calibration:` block.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "calibrate.hpp"
#include "cli/commands.hpp"
#include "efficiency.hpp"
#include "format.hpp"
#include "loaders.hpp"
#include "yaml_io.hpp"

namespace ridge::cli {

namespace {

struct CalibrateOptions {
  std::string dir;
  std::string gpu;
  std::string write;
  std::string source;
  std::string framework;
  std::string date;
};

std::string today() {
  const auto now = std::chrono::system_clock::now();
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

}  // namespace

Runner register_calibrate(CLI::App& app) {
  auto* cmd = app.add_subcommand("calibrate", "fit the efficiency model to measured operator latencies");
  auto o = std::make_shared<CalibrateOptions>();
  cmd->add_option("dir", o->dir,
                  "folder of measured tables (gemm.csv, context_attention.csv, "
                  "generation_attention.csv, nccl.csv; a latency_us column each)")
      ->required();
  cmd->add_option("-g,--gpu", o->gpu, "GPU the measurements come from: bundled name or YAML path")->required();
  cmd->add_option("--write", o->write, "GPU YAML file whose calibration: block (at its end) is replaced");
  cmd->add_option("--source", o->source, "where the measurements come from (project, commit, licence)");
  cmd->add_option("--framework", o->framework, "what ran the kernels, with versions (vLLM 0.24.0, NCCL 2.29.2)");
  cmd->add_option("--date", o->date, "date of the fit, YYYY-MM-DD (default: today, UTC)");
  return [cmd, o]() {
    if (!cmd->parsed()) return -1;
    GpuSpec g = resolve_gpu(o->gpu);
    std::error_code ec;
    if (!std::filesystem::is_directory(o->dir, ec)) throw InputError({o->dir, 0, 0}, "dir", "is not a folder");
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(o->dir))
      if (e.is_regular_file() && e.path().extension() == ".csv") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw InputError({o->dir, 0, 0}, "dir", "holds no .csv measurement tables");
    std::vector<MeasuredRows> tables;
    for (const std::string& f : files) {
      OperatorTable t = read_operator_table(read_text_file(f, std::size_t{1} << 30), f);
      if (!t.measured) throw InputError({f, 1, 1}, "latency_us", "missing: calibration needs measured latencies");
      tables.push_back({t.family, std::move(t.rows)});
    }
    Calibration c = calibrate(g, tables);
    c.source = o->source.empty() ? "measured tables in " + o->dir : o->source;
    c.framework = o->framework.empty() ? "not stated" : o->framework;
    c.date = o->date.empty() ? today() : o->date;
    c.command = "ridge calibrate " + o->dir + " -g " + o->gpu;
    const std::string block = calibration_yaml(c);
    if (o->write.empty()) {
      std::cout << block;
      return 0;
    }
    if (o->source.empty() || o->framework.empty())
      throw InputError({}, "--source", "--write records provenance: give --source and --framework");
    std::string text = read_text_file(o->write);
    const std::size_t at = text.rfind("\ncalibration:");
    if (at != std::string::npos) text.resize(at + 1);
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += block;
    gpu_from_yaml(parse_document(text, o->write), o->write);  // what we write must load
    std::ofstream(o->write) << text;
    std::cout << fmt::format("wrote the calibration of {} families into {}\n", c.families.size(), o->write);
    for (const auto& [family, fc] : c.families)
      std::cout << fmt::format("  {:<22} {:>6} rows fitted; held out {:>5} rows: median {:.1f}%, p90 {:.1f}%\n",
                               to_string(family), fc.rows_used, fc.rows_held_out, 100 * fc.held_out_median,
                               100 * fc.held_out_p90);
    return 0;
  };
}

}  // namespace ridge::cli
