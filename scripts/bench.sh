#!/usr/bin/env bash
# Predictor throughput benchmarks (figures and ratios to targets). Builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ridge_bench
./build/ridge_bench
echo "CLI: 1,000,000-point sweep to CSV"
sweep=(./build/ridge sweep -m llama-3.1-8b -g h100-sxm --batch 1..1000 --context 1..1000)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "  %e s wall, %M KiB peak memory (streamed: independent of the row count)" "${sweep[@]}" >/dev/null
else
  time "${sweep[@]}" >/dev/null
fi
