// `ridge predict`: the time of single operators, from a table of shapes (the measured tables'
// headers) or one GEMM given by flags.
#include <iostream>

#include "cli/commands.hpp"
#include "efficiency.hpp"
#include "loaders.hpp"
#include "report/predict_report.hpp"
#include "text.hpp"
#include "yaml_io.hpp"

namespace ridge::cli {

namespace {

struct PredictOptions {
  std::string gpu;
  std::string shapes;
  std::string format = "table";
  // `predict gemm`
  std::int64_t m = 0, n = 0, k = 0;
  std::string dtype = "bf16";
  std::string rows = "all";
};

}  // namespace

Runner register_predict(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "time of single operators: GEMM, attention, collectives");
  auto o = std::make_shared<PredictOptions>();
  cmd->add_option("-g,--gpu", o->gpu, "GPU: bundled name or YAML path")->required();
  cmd->add_option("--shapes", o->shapes,
                  "CSV with a measured table's header: gemm, context_attention, generation_attention or nccl "
                  "columns (latency_us optional: adds the error)");
  cmd->add_option("--format", o->format, "table, csv or json");
  cmd->add_option("--rows", o->rows,
                  "all, held-out or fitted: the rows whose shapes calibration never fits (README \"How accurate is "
                  "ridge?\") or the others");
  auto* gemm = cmd->add_subcommand("gemm", "one GEMM Y[m x n] = X[m x k] W^T");
  gemm->add_option("--m", o->m, "rows of X: tokens in the batch")->required();
  gemm->add_option("--n", o->n, "output features")->required();
  gemm->add_option("--k", o->k, "input features")->required();
  gemm->add_option("--dtype", o->dtype, "weight format: bf16, fp16, fp8, fp8-block128, nvfp4");
  return [cmd, gemm, o]() {
    if (!cmd->parsed()) return -1;
    if (o->format != "table" && o->format != "csv" && o->format != "json")
      throw InputError({}, "--format", "\"" + o->format + "\" is not one of table, csv, json");
    const GpuSpec g = resolve_gpu(o->gpu);
    OperatorTable table;
    if (gemm->parsed()) {
      if (!o->shapes.empty()) throw InputError({}, "--shapes", "give a shapes file or `gemm` with its flags, not both");
      require_range("--m", o->m, 1, 1'000'000'000);
      require_range("--n", o->n, 1, 1'000'000'000);
      require_range("--k", o->k, 1, 1'000'000'000);
      const std::vector<std::string> dtypes = {"bf16", "fp16", "fp8", "fp8-block128", "nvfp4"};
      if (std::find(dtypes.begin(), dtypes.end(), o->dtype) == dtypes.end())
        throw InputError({}, "--dtype",
                         "\"" + o->dtype + "\" is not one of " + join(dtypes) + did_you_mean(o->dtype, dtypes));
      OperatorRow row;
      row.dtype = o->dtype;
      row.m = o->m;
      row.n = o->n;
      row.k = o->k;
      table.rows.push_back(row);
    } else {
      if (o->shapes.empty()) throw InputError({}, "--shapes", "missing: give a shapes CSV, or `predict gemm --m ...`");
      // Measurement tables run to tens of MB (B200's GEMM table: 4.6 MB); cap at 1 GiB.
      table = read_operator_table(read_text_file(o->shapes, std::size_t{1} << 30), o->shapes);
    }
    if (o->rows != "all" && o->rows != "held-out" && o->rows != "fitted")
      throw InputError({}, "--rows", "\"" + o->rows + "\" is not one of all, held-out, fitted");
    if (o->rows != "all")
      std::erase_if(table.rows,
                    [&](const OperatorRow& r) { return is_held_out(table.family, r) != (o->rows == "held-out"); });
    PredictView v{g, table, {}, {}};
    v.bounds.reserve(table.rows.size());
    const ExpectedTimes expected(g);
    for (const OperatorRow& r : table.rows) {
      v.bounds.push_back(operator_bound(g, table.family, r));
      v.expected.push_back(expected.row(table.family, r));
    }
    if (o->format == "json")
      std::cout << predict_json(v).dump(2) << "\n";
    else if (o->format == "csv")
      std::cout << predict_csv(v);
    else
      std::cout << predict_text(v);
    return 0;
  };
}

}  // namespace ridge::cli
