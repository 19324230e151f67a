#!/usr/bin/env bash
# Predictor throughput benchmarks (figures and ratios to targets). Builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ridge_bench
./build/ridge_bench
echo "CLI: 1,000,000-point sweep to CSV"
sweep=(./build/ridge sweep -m llama-3.1-8b -g h100-sxm --batch 1..1000 --prompt 1..1000)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "  %e s wall, %M KiB peak memory (streamed: independent of the row count)" "${sweep[@]}" >/dev/null
else
  time "${sweep[@]}" >/dev/null
fi
echo "CLI: ridge predict over the 108,928 rows of B200's measured GEMM table (target: 100,000 shapes <= 1 s)"
if [ -f ../shared/measured/b200/gemm.csv ]; then
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "  %e s wall" ./build/ridge predict -g b200 --shapes ../shared/measured/b200/gemm.csv --format csv >/dev/null
  else
    time ./build/ridge predict -g b200 --shapes ../shared/measured/b200/gemm.csv --format csv >/dev/null
  fi
else
  echo "  skipped: ../shared/measured not present"
fi
echo "CLI: ridge serve, 10,000 requests: peak memory with 256 and with 2,560 generated tokens each (target: the same)"
for gen in 256 2560; do
  /usr/bin/env time -f "  --gen $gen: %e s wall, %M KiB peak memory" ./build/ridge serve -m llama-3.1-8b -g h100-sxm \
    --rate 10 --requests 10000 --prompt 512 --gen $gen >/dev/null
done
echo "CLI: ridge check over 3,000 and 12,000 deployment files (target: linear in the file count)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for i in $(seq 1 12000); do
  [ "$i" -eq 1 ] && cp examples/deploy/llama-70b-2xh100.yaml "$dir/d$i.yaml" || ln "$dir/d1.yaml" "$dir/d$i.yaml"
done
t3=$( { /usr/bin/env time -f "%e" ./build/ridge check $(seq -f "$dir/d%g.yaml" 1 3000) >/dev/null; } 2>&1 | tail -1)
t12=$( { /usr/bin/env time -f "%e" ./build/ridge check "$dir"/*.yaml >/dev/null; } 2>&1 | tail -1)
echo "  3,000 files ${t3} s, 12,000 files ${t12} s: ratio $(echo "$t12 / $t3" | bc -l | cut -c1-4) for 4x the files"
