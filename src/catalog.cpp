// Finding models and GPUs by bundled name or path.
#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "loaders.hpp"
#include "text.hpp"

namespace ridge {

namespace {
/// A bundled file parsed once per process: `ridge check` over thousands of deployment files
/// names the same few models and GPUs (parsing them each time was half its run time).
template <class Spec, class Parse>
Spec cached(const BundledFile& f, Parse parse) {
  static std::mutex lock;
  static std::map<const BundledFile*, Spec> done;
  const std::lock_guard<std::mutex> guard(lock);
  auto it = done.find(&f);
  if (it == done.end()) it = done.emplace(&f, parse()).first;
  return it->second;
}

/// Why a path cannot be opened, in words: a symbolic-link loop is not a missing file.
std::string missing_file_reason(const std::error_code& ec) {
  if (ec == std::errc::too_many_symbolic_link_levels) return "symbolic links loop (too many levels)";
  if (ec == std::errc::permission_denied) return "permission denied";
  return "no such file";
}
}  // namespace

namespace {

namespace fs = std::filesystem;

std::string stem_of(std::string_view path) { return fs::path(std::string(path)).stem().string(); }

std::vector<std::string> names_of(const std::vector<BundledFile>& files) {
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(stem_of(f.path));
  std::sort(names.begin(), names.end());
  return names;
}

const BundledFile* find_bundled(const std::vector<BundledFile>& files, const std::string& name) {
  for (const auto& f : files)
    if (stem_of(f.path) == name) return &f;
  return nullptr;
}

bool looks_like_path(const std::string& arg) {
  // The error_code overload: a name the file system refuses (longer than NAME_MAX, found by
  // fuzzing) is simply not a path, not a filesystem_error escaping as an internal error.
  std::error_code ec;
  return arg.find('/') != std::string::npos || arg.ends_with(".yaml") || arg.ends_with(".yml") ||
         arg.ends_with(".json") || fs::exists(arg, ec);
}

}  // namespace

std::vector<std::string> bundled_model_names() { return names_of(bundled_models()); }
std::vector<std::string> bundled_gpu_names() { return names_of(bundled_gpus()); }

ModelSpec resolve_model(const std::string& arg, const std::string& option) {
  if (!looks_like_path(arg)) {
    const BundledFile* f = find_bundled(bundled_models(), arg);
    if (!f)
      throw InputError({}, option,
                       "unknown model \"" + arg + "\"" + did_you_mean(arg, bundled_model_names()) +
                           "; `ridge models` lists the bundled ones, or pass a model YAML, a "
                           "config.json or a directory holding one");
    ModelSpec m = cached<ModelSpec>(
        *f, [&] { return model_from_yaml(parse_document(f->text, std::string(f->path)), std::string(f->path)); });
    if (m.name != arg) throw InputError(m.location_of("name"), "name", "\"" + m.name + "\" differs from the file name");
    return m;
  }
  std::error_code ec;
  fs::path path(arg);
  if (fs::is_directory(path, ec)) {
    path /= "config.json";
    if (!fs::exists(path, ec)) throw InputError({arg, 0, 0}, option, "directory holds no config.json");
  } else if (!fs::exists(path, ec)) {
    throw InputError({arg, 0, 0}, option, missing_file_reason(ec));
  }
  const std::string file = path.string();
  if (path.extension() == ".json") {
    ModelSpec m = model_from_hf_config(load_file(file), file);
    // A model named by its directory ("Llama-3.1-8B/config.json" -> "Llama-3.1-8B").
    m.name = path.stem() == "config" && path.has_parent_path() && !path.parent_path().filename().empty()
                 ? path.parent_path().filename().string()
                 : path.stem().string();
    if (m.display_name.empty()) m.display_name = m.name;
    return m;
  }
  if (path.extension() == ".yaml" || path.extension() == ".yml") return model_from_yaml(load_file(file), file);
  throw InputError({file, 0, 0}, option, "expected a .yaml model file or a .json Hugging Face config");
}

GpuSpec resolve_gpu(const std::string& arg, const std::string& option) {
  if (!looks_like_path(arg)) {
    const BundledFile* f = find_bundled(bundled_gpus(), arg);
    if (!f)
      throw InputError({}, option,
                       "unknown GPU \"" + arg + "\"" + did_you_mean(arg, bundled_gpu_names()) +
                           "; `ridge gpus` lists the bundled ones, or pass a GPU YAML path");
    return cached<GpuSpec>(
        *f, [&] { return gpu_from_yaml(parse_document(f->text, std::string(f->path)), std::string(f->path)); });
  }
  std::error_code ec;
  if (!fs::is_regular_file(arg, ec))
    throw InputError({arg, 0, 0}, option,
                     ec                    ? missing_file_reason(ec)
                     : fs::exists(arg, ec) ? "not a regular file"
                                           : "no such file");
  return gpu_from_yaml(load_file(arg), arg);
}

}  // namespace ridge
