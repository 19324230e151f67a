#!/usr/bin/env bash
# Refits every shipped calibration from the committed sample (calibration/measured) and writes
# it into hardware/<gpu>.yaml; a100-40gb gets a100-80gb's block (same silicon). Run after a
# change to the efficiency model (src/efficiency.cpp): the blocks are stripped first so that a
# binary whose parameters changed can still load the GPU files.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
date=${DATE:-$(date -u +%F)}
gpus="a100-80gb h100-sxm h200 b200 l40s"
for g in $gpus a100-40gb; do
  python3 - "hardware/$g.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.find('\ncalibration:')
open(p, 'w').write(s[:i + 1] if i >= 0 else s)
PY
done
cmake --build "$build" -j2 --target ridge >/dev/null
source="ai-dynamo/aiconfigurator commit 095f58a51c4ca8e61b66ec108d86f223f8d559ce (Apache-2.0, NVIDIA): vLLM's kernels in CUDA graphs"
declare -A framework=(
  [a100-80gb]="vLLM 0.14.0, NCCL 2.27.3 (NVIDIA A100-SXM4-80GB)"
  [h100-sxm]="vLLM 0.24.0, NCCL 2.29.2 (NVIDIA H100 80GB HBM3)"
  [h200]="vLLM 0.24.0, NCCL 2.29.2 (NVIDIA H200)"
  [b200]="vLLM 0.24.0, NCCL 2.29.2 (NVIDIA B200)"
  [l40s]="vLLM 0.24.0, NCCL 2.27.3 (NVIDIA L40S)")
for g in $gpus; do
  "$build/ridge" calibrate "calibration/measured/$g" -g "$g" --write "hardware/$g.yaml" --date "$date" \
    --source "$source; the sample in calibration/measured/$g (calibration/NOTICE)" --framework "${framework[$g]}"
done
python3 - <<'PY'
s = open('hardware/a100-80gb.yaml').read()
block = s[s.index('\ncalibration:') + 1:]
block = block.replace('  source: "', '  source: "derived from a100-80gb (same GA100 silicon and clocks, 108 SMs; its fitted '
                      'fractions apply to this file\'s own 1.555 TB/s HBM2 and NVLink figures; not measured on a 40GB '
                      'part): ', 1)
block = block.replace('-g a100-80gb"', '-g a100-80gb, block copied by scripts/recalibrate.sh"', 1)
p = 'hardware/a100-40gb.yaml'
t = open(p).read()
open(p, 'w').write(t + ('' if t.endswith('\n') else '\n') + block)
PY
cmake --build "$build" -j2 --target ridge >/dev/null
