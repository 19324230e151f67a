// `ridge validate`: run the dominant inference kernels on the local GPU, compare each with the
// roofline prediction for its shape, optionally write a calibrated GPU file.
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "ridge_version.hpp"
#include "error.hpp"
#include "loaders.hpp"
#include "report/validate_report.hpp"
#include "text.hpp"
#include "validate/cases.hpp"
#include "validate/device.hpp"
#include "validate/match.hpp"
#include "validate/run.hpp"

namespace ridge::cli {
namespace {

std::vector<validate::Family> parse_families(const std::string& list) {
  std::vector<validate::Family> out;
  if (list.empty()) return out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    const auto f = validate::parse_family(item);
    if (!f)
      throw InputError({}, "--cases",
                       "\"" + item + "\" is not one of " + join(validate::family_names()) +
                           did_you_mean(item, validate::family_names()));
    out.push_back(*f);
    start = comma + 1;
  }
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Runner register_validate(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "validate", "run GEMM, attention and memory kernels on the local GPU and compare with the predictions");
  struct Options {
    std::string gpu, model = "llama-3.1-8b", cases, format = "table", calibrate, tables;
    bool quick = false;
    int samples = 0;
    std::optional<std::uint64_t> seed;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-g,--gpu", o->gpu,
                  "bundled GPU name or GPU YAML the predictions use (default: the bundled GPU the device is)");
  cmd->add_option("-m,--model", o->model, "model whose layer shapes the cases use (default llama-3.1-8b)");
  cmd->add_flag("--quick", o->quick, "a subset that runs in under a minute");
  cmd->add_option("--cases", o->cases,
                  "comma-separated families: " + join(validate::family_names()) + " (default all)");
  cmd->add_option("-f,--format", o->format, "table or json (default table)");
  cmd->add_option("--calibrate", o->calibrate, "write a GPU YAML with the measured ceilings to this file");
  cmd->add_option("--tables", o->tables,
                  "write what was measured as measured tables (gemm.csv, context_attention.csv, "
                  "generation_attention.csv) into this directory, for `ridge calibrate DIR -g GPU`");
  cmd->add_option("--samples", o->samples, "timed samples per case, at least 10 (default 20, --quick 10)");
  cmd->add_option("--seed", o->seed, "seed of the random inputs (default: drawn fresh and reported)");
  return [=]() {
    if (!cmd->parsed()) return -1;
    const Format format = parse_format(o->format);
    if (format != Format::table && format != Format::json)
      throw InputError({}, "--format", "validate writes table or json, not " + o->format);
    const std::vector<validate::Family> families = parse_families(o->cases);
    const int samples = o->samples ? o->samples : (o->quick ? 10 : 20);
    require_range("--samples", samples, 10, 10000);
    // An explicit -g is read before the device is touched, so its input errors exit 2 anywhere.
    std::optional<GpuSpec> explicit_gpu;
    if (!o->gpu.empty()) explicit_gpu = resolve_gpu(o->gpu);
    const ModelSpec model = resolve_model(o->model);
    if (!o->calibrate.empty()) {
      const auto dir = std::filesystem::path(o->calibrate).parent_path();
      if (!dir.empty() && !std::filesystem::is_directory(dir))
        throw InputError({o->calibrate, 0, 0}, "--calibrate", "its directory does not exist");
    }

    if (!o->tables.empty() && !std::filesystem::is_directory(o->tables))
      throw InputError({o->tables, 0, 0}, "--tables", "is not a directory (create it first)");

    validate::DeviceProbe probe = validate::open_device();
    if (!probe.device) {
      std::cerr << "ridge: no CUDA device: " << probe.reason << "\n";
      if (format == Format::json)  // scripts asked for JSON: they get JSON, saying why nothing ran
        std::cout << nlohmann::ordered_json{{"schema", "ridge.validate/v1"},
                                            {"device", nullptr},
                                            {"error", "no CUDA device: " + probe.reason},
                                            {"cases", nlohmann::ordered_json::array()},
                                            {"exit_code", 3}}
                         .dump(2)
                  << "\n";
      return 3;
    }
    validate::Device& device = *probe.device;
    const validate::DeviceInfo& info = device.info();
    const auto bundled = validate::bundled_gpu_for_device(info.name, info.memory_bytes);
    std::string gpu_arg = o->gpu;
    if (explicit_gpu) {
      if (bundled && *bundled != explicit_gpu->name)
        std::cerr << "ridge validate: warning: the device \"" << info.name << "\" looks like the bundled " << *bundled
                  << ", but the predictions use " << explicit_gpu->name << " (-g)\n";
    } else {
      if (!bundled)
        throw InputError(
            {}, "--gpu",
            "the device \"" + info.name + "\" is none of the bundled GPUs; pass -g with a GPU YAML describing it");
      gpu_arg = *bundled;
      std::cerr << "ridge validate: device \"" << info.name << "\" is the bundled " << gpu_arg << "\n";
    }
    const GpuSpec gpu = explicit_gpu ? *explicit_gpu : resolve_gpu(gpu_arg);

    validate::PlanOptions plan;
    plan.quick = o->quick;
    plan.families = families;
    plan.l2_bytes = info.l2_bytes;
    plan.free_bytes = info.free_memory_bytes;
    plan.device_fp8 = info.has_fp8();
    std::vector<validate::Case> cases = validate::make_cases(model, gpu, plan);

    ValidateProvenance prov;
    prov.ridge_version = RIDGE_VERSION " (commit " RIDGE_COMMIT ")";
    prov.date_utc = utc_now();
    prov.model = model.name;
    prov.quick = o->quick;
    prov.config.samples = samples;
    prov.config.seed = o->seed ? *o->seed : std::random_device{}();
    prov.command = "ridge validate -g " + gpu_arg + " -m " + o->model + (o->quick ? " --quick" : "") +
                   (o->cases.empty() ? "" : " --cases " + o->cases) + " --samples " + std::to_string(samples) +
                   " --seed " + std::to_string(prov.config.seed);

    // Current clocks around the run: the maxima in DeviceInfo say nothing of throttling.
    prov.clocks_before = device.clocks();
    const auto results = validate::run_cases(
        device, std::move(cases), prov.config, [](std::size_t i, std::size_t n, const validate::Case& c) {
          std::cerr << "ridge validate [" << (i + 1) << "/" << n << "] " << c.name << "\n";
        });
    prov.clocks_after = device.clocks();
    const validate::MeasuredCeilings cal = validate::measured_ceilings(results);
    const ValidateView view{info, gpu, prov, results, cal};

    if (!o->calibrate.empty()) {
      const std::string name = std::filesystem::path(o->calibrate).stem().string();
      const std::string yaml = validate::calibrated_gpu_yaml(gpu, cal, name, validate_provenance_line(view));
      gpu_from_yaml(parse_document(yaml, o->calibrate), o->calibrate);  // it must read back
      std::ofstream out(o->calibrate, std::ios::binary);
      if (!out || !(out << yaml)) throw InputError({o->calibrate, 0, 0}, "--calibrate", "cannot write the file");
    }
    if (!o->tables.empty()) {
      for (const auto& [file, text] : validate::measured_tables(results)) {
        const std::string path = (std::filesystem::path(o->tables) / file).string();
        std::ofstream out(path, std::ios::binary);
        if (!out || !(out << text)) throw InputError({path, 0, 0}, "--tables", "cannot write the file");
        std::cerr << "ridge validate: wrote " << path << "\n";
      }
      std::cerr << "ridge validate: fit them with: ridge calibrate " << o->tables << " -g " << gpu_arg << "\n";
    }
    if (format == Format::json)
      std::cout << validate_json(view).dump(2) << "\n";
    else
      std::cout << validate_text(view);

    for (const auto& r : results)
      if (r.status() == validate::Status::failed) return 1;
    return 0;
  };
}

}  // namespace ridge::cli
