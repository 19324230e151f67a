// cuBLAS and cuBLASLt are opened with dlopen the first time a device is used, not linked:
// linking them costs every `ridge` invocation ~0.4 s of start-up (the libraries are ~700 MB)
// and would stop the binary from starting at all on a machine without them. The portable
// binary therefore needs no CUDA library to run its other commands.
#include <dlfcn.h>

#include <mutex>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

void* open_lib(const std::string& stem, std::string& errors) {
  const std::string versioned = stem + ".so." + std::to_string(CUBLAS_VER_MAJOR);
  // The loader's path first, then the toolkit's usual home (not always in ld.so.conf).
  for (const std::string& path :
       {versioned, "/usr/local/cuda/lib64/" + versioned, "/usr/local/cuda/lib/" + versioned}) {
    if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
    if (const char* e = dlerror()) errors = e;
  }
  return nullptr;
}

template <class F>
void bind(void* lib, F& fn, const char* name, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
}

Blas load() {
  Blas b;
  std::string errors;
  void* blas = open_lib("libcublas", errors);
  void* lt = blas ? open_lib("libcublasLt", errors) : nullptr;
  if (!blas || !lt) {
    b.error = "cuBLAS " + std::to_string(CUBLAS_VER_MAJOR) + " could not be loaded: " + errors;
    return b;
  }
  std::string missing;
#define RIDGE_BIND(lib, name) bind(lib, b.name, #name, missing)
  RIDGE_BIND(blas, cublasCreate_v2);
  RIDGE_BIND(blas, cublasDestroy_v2);
  RIDGE_BIND(blas, cublasSetStream_v2);
  RIDGE_BIND(blas, cublasGemmStridedBatchedEx);
  RIDGE_BIND(blas, cublasGetStatusString);
  RIDGE_BIND(lt, cublasLtCreate);
  RIDGE_BIND(lt, cublasLtDestroy);
  RIDGE_BIND(lt, cublasLtGetVersion);
  RIDGE_BIND(lt, cublasLtMatmul);
  RIDGE_BIND(lt, cublasLtMatmulAlgoGetHeuristic);
  RIDGE_BIND(lt, cublasLtMatmulDescCreate);
  RIDGE_BIND(lt, cublasLtMatmulDescDestroy);
  RIDGE_BIND(lt, cublasLtMatmulDescSetAttribute);
  RIDGE_BIND(lt, cublasLtMatmulPreferenceCreate);
  RIDGE_BIND(lt, cublasLtMatmulPreferenceDestroy);
  RIDGE_BIND(lt, cublasLtMatmulPreferenceSetAttribute);
  RIDGE_BIND(lt, cublasLtMatrixLayoutCreate);
  RIDGE_BIND(lt, cublasLtMatrixLayoutDestroy);
#undef RIDGE_BIND
  if (!missing.empty()) b.error = "cuBLAS lacks " + missing;
  return b;
}

}  // namespace

const Blas& blas() {
  static std::once_flag once;
  static Blas b;
  std::call_once(once, [] { b = load(); });
  return b;
}

}  // namespace ridge::validate::cuda
