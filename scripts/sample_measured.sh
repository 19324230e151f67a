#!/usr/bin/env bash
# Writes the committed sample of the measured tables (calibration/measured/<gpu>/) from the full
# tables in ../shared/measured (ai-dynamo/aiconfigurator, Apache-2.0; calibration/NOTICE):
# every row of nccl.csv, and every s-th row of the others, s chosen so that a table keeps about
# CAP rows. Deterministic: the same input gives the same sample.
set -euo pipefail
src=${1:-../shared/measured}
dst=${2:-calibration/measured}
cap=${CAP:-8000}
for dir in "$src"/*/; do
  gpu=$(basename "$dir")
  mkdir -p "$dst/$gpu"
  for table in gemm context_attention generation_attention nccl; do
    f="$dir$table.csv"
    [ -f "$f" ] || continue
    rows=$(($(wc -l <"$f") - 1))
    stride=$(( (rows + cap - 1) / cap ))
    [ "$table" = nccl ] && stride=1
    awk -v s="$stride" 'NR == 1 || (NR - 2) % s == 0' "$f" >"$dst/$gpu/$table.csv"
  done
done
