#!/usr/bin/env bash
# Builds ridge (installing packages if missing) and runs the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
# dpkg-dev, file: CPack's .deb (dpkg-shlibdeps); libxml2-utils: xmllint (tests/install_test.sh,
# tests/ci_check_test.sh).
need=(cmake g++ make libcli11-dev libfmt-dev libyaml-cpp-dev doctest-dev nlohmann-json3-dev
  dpkg-dev file libxml2-utils)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# The HTML report's browser test (tests/browser_test.sh) loads pages in headless Chromium,
# driven by a Node script; a node already on PATH (nvm, a tarball) will do.
command -v chromium >/dev/null 2>&1 || dpkg -s chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure

# The same suite once more under AddressSanitizer + UndefinedBehaviorSanitizer (any report
# aborts the test: -fno-sanitize-recover), with assertions on. -O1 -g: ASan's recommended level,
# a quarter less compile time than -O2. Only the binaries the tests run are built.
# RIDGE_SKIP_SANITIZE=1 skips this pass for a quick local run.
if [ -z "${RIDGE_SKIP_SANITIZE:-}" ]; then
  # The CUDA kernels are not rebuilt here (RIDGE_CUDA=OFF): nvcc gets no sanitizers and the
  # normal pass above already built them; ridge links the no-device stand-in instead.
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DRIDGE_SANITIZE=ON \
    -DRIDGE_CUDA=OFF >/dev/null
  cmake --build build-sanitize -j"$(nproc)" --target ridge ridge_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure
fi
