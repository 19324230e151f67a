#!/usr/bin/env bash
# End-to-end checks of the ridge binary as a user runs it: exit codes, one-line errors,
# byte-identical output, the JSON contract. Usage: cli_test.sh RIDGE SOURCE_DIR
set -u
ridge=$1
src=$2
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE DESCRIPTION -- ARGS...: runs ridge, checks the exit code and, for errors, that
# stderr is exactly one line starting "ridge: error:".
expect() {
  local code=$1 what=$2
  shift 3
  "$ridge" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local ok=1
  [ "$got" -eq "$code" ] || ok=0
  if [ "$code" -eq 2 ]; then
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || ok=0
    grep -q '^ridge: error: ' "$tmp/err" || ok=0
  fi
  if [ $ok -eq 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what (exit $got, wanted $code): ridge $*"
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}

# contains FILE TEXT DESCRIPTION
contains() {
  if grep -qF -- "$2" "$1"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $3: '$2' not in output"; fi
}

expect 2 "unknown command" -- memroy -m llama-3.1-8b
contains "$tmp/err" 'unknown command "memroy" (did you mean "memory"?)' "unknown command named with a hint"
expect 0 "list models" -- models
contains "$tmp/out" "llama-3.1-70b" "models lists bundled names"
expect 0 "list gpus" -- gpus --format json
contains "$tmp/out" '"schema": "ridge.gpus/v1"' "gpus json schema"
expect 0 "memory table" -- memory -m llama-2-7b -g a100-40gb --precision fp16
contains "$tmp/out" "13,476,831,232" "llama-2-7b fp16 weights in bytes"
contains "$tmp/out" "2,147,483,648" "llama-2-7b KV at 4096 tokens is 2 GiB"
expect 0 "memory json" -- memory -m llama-3.1-70b -g h100-sxm --tp 4 --context 32768 --batch 2 --format json
for key in '"schema": "ridge.memory/v1"' '"name": "llama-3.1-70b"' '"params": 70553706496' '"active_params"' \
  '"memory_bytes"' '"precision": "bf16"' '"kv_dtype": "bf16"' '"batch": 2' '"context_tokens": 32768' \
  '"tp": 4' '"pp": 1' '"weights_bytes"' '"kv_bytes_per_token": 327680' '"kv_cache_bytes": 21474836480' \
  '"activation_bytes"' '"overhead_bytes"' '"total_bytes"' '"per_gpu_bytes"' '"fits": true' \
  '"kv_capacity_tokens"' '"max_batch"' '"max_context"'; do
  contains "$tmp/out" "$key" "memory json field"
done
cp "$tmp/out" "$tmp/first.json"
"$ridge" memory -m llama-3.1-70b -g h100-sxm --tp 4 --context 32768 --batch 2 --format json >"$tmp/second.json"
if cmp -s "$tmp/first.json" "$tmp/second.json"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: output differs between runs"; fi
expect 0 "memory csv" -- memory -m mixtral-8x7b -g h100-sxm --format csv
[ "$(wc -l <"$tmp/out")" -eq 2 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: csv is header + one row"; }
expect 0 "memory markdown" -- memory -m gemma-2-9b -g l4 --precision int4 --format markdown
contains "$tmp/out" "| per GPU |" "markdown table"
expect 0 "HF config file" -- memory -m "$src/tests/data/hf/llama-3.1-8b.json" -g h100-sxm
contains "$tmp/out" "8,030,261,248 parameters" "HF config parameter count"
expect 0 "HF config directory" -- memory -m "$src/tests/data/hf/dir-form/llama-3.1-8b" -g h100-sxm
expect 0 "AWQ checkpoint defaults to its own format" -- memory -m "$src/tests/data/hf/llama-3.1-8b-awq.json" -g l4
contains "$tmp/out" "W4A16" "AWQ is weight-only int4"
expect 0 "GPU by path" -- memory -m llama-3.1-8b -g "$src/hardware/h100-sxm.yaml"
expect 0 "pipeline + replicas" -- memory -m llama-3.1-70b -g a100-80gb --tp 4 --pp 2 --gpus 16
contains "$tmp/out" "x 2 replicas = 16 GPUs" "replicas shown"
expect 1 "--check fails when it does not fit" -- memory -m llama-3.1-405b -g h100-sxm --check
expect 0 "--check passes when it fits" -- memory -m llama-3.1-8b -g h100-sxm --check

# Bad input: exit 2 and one line.
expect 2 "unknown model" -- memory -m llama-9 -g h100-sxm
expect 2 "unknown gpu" -- memory -m llama-3.1-8b -g h100
expect 2 "negative batch" -- memory -m llama-3.1-8b -g h100-sxm --batch -4
expect 2 "non-numeric batch" -- memory -m llama-3.1-8b -g h100-sxm --batch lots
expect 2 "tp not dividing heads" -- memory -m llama-3.1-70b -g h100-sxm --tp 3
contains "$tmp/err" "--tp: 3 does not divide the 64 attention heads" "tp message"
expect 2 "context beyond the model" -- memory -m llama-2-7b -g h100-sxm --context 100000
expect 2 "overhead unit typo" -- memory -m llama-3.1-8b -g h100-sxm --overhead 1GB
contains "$tmp/err" "ambiguous" "overhead GB/GiB hint"
expect 0 "a binary unit needs no space" -- memory -m llama-3.1-8b -g h100-sxm --overhead 1.5GiB
contains "$tmp/out" "1,610,612,736" "1.5GiB = 1.5 x 2^30 bytes"
expect 0 "token counts take the model-card k" -- memory -m llama-3.1-8b -g h100-sxm -c 32k
contains "$tmp/out" "batch 1 x 32,768 tokens" "32k = 32,768 tokens"
expect 2 "no octal on the command line" -- memory -m llama-3.1-8b -g h100-sxm -c 010
contains "$tmp/err" "--context: \"010\": write whole numbers without a leading zero" "leading zero refused as in files"
expect 2 "no hex on the command line" -- memory -m llama-3.1-8b -g h100-sxm --tp 0x10
expect 2 "k is for tokens, not GPUs" -- memory -m llama-3.1-8b -g h100-sxm --batch 2k
expect 2 "flag typo" -- memory -m llama-3.1-8b -g h100-sxm --contxt 5
contains "$tmp/err" '(did you mean "--context"?) (see ridge memory --help)' "a flag typo gets a suggestion and the subcommand's help"
expect 2 "a GPU family without its variant" -- memory -m llama-3.1-8b -g h100
contains "$tmp/err" 'did you mean "h100-pcie" or "h100-sxm"?' "h100 -> the H100 variants, not h200"
expect 2 "a short version" -- memory -m llama-3-70b -g h100-sxm
contains "$tmp/err" 'did you mean "llama-3.1-70b"' "llama-3-70b -> llama-3.1-70b, not llama-2-70b"
if "$ridge" memory -m llama-3.1-8b -g h100-sxm >/dev/full 2>"$tmp/err"; then failed=$((failed + 1)); echo "FAIL: a failed write to stdout exits 0"; else passed=$((passed + 1)); fi
contains "$tmp/err" "cannot write the output" "a failed write says so"
expect 2 "utilization above 1" -- memory -m llama-3.1-8b -g h100-sxm --memory-utilization 1.5
expect 2 "unknown precision" -- memory -m llama-3.1-8b -g h100-sxm --precision int3
expect 2 "unknown format" -- memory -m llama-3.1-8b -g h100-sxm --format xml
expect 2 "unknown option" -- memory -m llama-3.1-8b -g h100-sxm --bogus
expect 2 "missing required option" -- memory -m llama-3.1-8b
expect 2 "no subcommand" --
expect 2 "bad GPU file" -- memory -m llama-3.1-8b -g "$src/tests/data/bad/gpu-unit-typo.yaml"
contains "$tmp/err" "gpu-unit-typo.yaml:4:9: memory:" "file:line:col: field"
expect 2 "missing file" -- memory -m ./nope/config.json -g h100-sxm
expect 0 "huge batch x context is reported, not crashed" -- memory -m llama-3.1-405b -g h100-sxm --batch 10000000 --context 131072
contains "$tmp/out" "fits: NO" "huge deployment does not fit"
# roofline
expect 0 "roofline table" -- roofline -m llama-2-7b -g a100-40gb --precision fp16 --batch 1 --prompt 4000 --gen 2
contains "$tmp/out" "decode is memory-bound" "decode verdict"
contains "$tmp/out" "prefill is compute-bound" "prefill verdict"
expect 0 "roofline json + plot" -- roofline -m mixtral-8x7b -g h100-sxm --tp 2 --batch 16 --format json --plot "$tmp/plot.svg"
for key in '"schema": "ridge.roofline/v1"' '"ridge_point_flops_per_byte"' '"phases"' '"ops"' '"ttft_s"' '"tpot_s"' \
  '"e2e_s"' '"throughput_tokens_per_s"' '"intensity"' '"bound": "memory"' '"estimate_kind": "calibrated_estimate"' \
  '"time_basis": "expected"' '"bound_time_s"' '"operator_bound_time_s"'; do
  contains "$tmp/out" "$key" "roofline json field"
done
expect 0 "roofline --bound" -- roofline -m mixtral-8x7b -g h100-sxm --tp 2 --batch 16 --format json --bound
contains "$tmp/out" '"estimate_kind": "roofline_bound"' "--bound gives the datasheet bound"
contains "$tmp/out" '"time_basis": "bound"' "--bound: basis in JSON"
expect 0 "roofline expected vs bound, text" -- roofline -m llama-3.1-8b -g h100-sxm -b 8 --prompt 1024 --gen 256
contains "$tmp/out" "(expected: calibrated estimate (vLLM 0.24.0" "header says the times are calibrated estimates"
contains "$tmp/out" "  bound: TTFT " "the bound printed next to the estimate"
contains "$tmp/out" "   (expected)" "TTFT line labelled expected"
expect 0 "roofline on a GPU without calibration" -- roofline -m llama-3.1-8b -g l4 --prompt 512 --gen 64
contains "$tmp/out" "roofline bound: datasheet peaks, times are lower bounds" "no calibration: the bound, said so"
expect 0 "sweep: the basis per row" -- sweep -m llama-3.1-8b -g h100-sxm -b 1 -p 512
contains "$tmp/out" ",fits,time_basis" "sweep header names the basis"
contains "$tmp/out" ",true,expected" "calibrated GPU: expected"
expect 0 "sweep --bound" -- sweep -m llama-3.1-8b -g h100-sxm -b 1 -p 512 --bound
contains "$tmp/out" ",true,bound" "--bound: bound"
expect 0 "plan on a calibrated and an uncalibrated GPU" -- plan -m llama-3.1-8b -g h100-sxm,l4 --ttft-ms 500 --tpot-ms 50 --top 2
contains "$tmp/out" "times: expected (calibrated estimate) on h100-sxm; datasheet lower bound on l4 (no calibration)" "plan says which times"
expect 0 "plan --bound" -- plan -m llama-3.1-8b -g h100-sxm --ttft-ms 500 --top 1 --format json --bound
contains "$tmp/out" '"time_basis": "bound"' "plan json basis"
contains "$tmp/out" "--bound --prefill-chunk" "the roofline command to check a bound plan keeps --bound"
expect 0 "check --bound" -- check "$src/examples/deploy/llama-70b-2xh100.yaml" --bound --all
contains "$tmp/out" "roofline lower bound" "check --bound: bound messages"
contains "$tmp/plot.svg" "<svg xmlns=" "plot is SVG"
contains "$tmp/plot.svg" "points at the calibrated (expected) time" "the plot says which time placed its points"
contains "$tmp/plot.svg" "arithmetic intensity (FLOP/byte" "plot x axis"
contains "$tmp/plot.svg" "decode operators" "plot legend"
expect 0 "roofline csv" -- roofline -m gpt2 -g rtx-4090 --prompt 512 --gen 64 --format csv
expect 0 "roofline markdown" -- roofline -m deepseek-v3 -g h200 --tp 8 --precision fp8 --format markdown
expect 2 "roofline zero gen" -- roofline -m llama-3.1-8b -g h100-sxm --gen 0
expect 2 "roofline prompt beyond the model" -- roofline -m gpt2 -g l4 --prompt 1000 --gen 100
contains "$tmp/err" "--prompt + --gen: 1100 tokens exceeds gpt2's max_position of 1024" "names prompt + gen"
expect 2 "roofline plot unwritable" -- roofline -m llama-3.1-8b -g h100-sxm --plot /nonexistent-dir/x.svg

# sweep
expect 0 "sweep csv" -- sweep -m llama-3.1-8b -g h100-sxm --batch 1..64:x2 --prompt 512,2048 --precision bf16,fp8
[ "$(wc -l <"$tmp/out")" -eq $((1 + 7 * 2 * 2)) ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: sweep row count"; }
expect 0 "sweep json" -- sweep -m qwen2.5-7b -g l4 --batch 1,4 --prompt 128 --format json
contains "$tmp/out" '"schema": "ridge.sweep/v1"' "sweep json schema"
expect 2 "sweep bad list" -- sweep -m llama-3.1-8b -g h100-sxm --batch 1..8:x1
expect 2 "sweep context beyond the model" -- sweep -m llama-2-7b -g h100-sxm --prompt 4000 --gen 200
expect 2 "sweep bad precision" -- sweep -m llama-3.1-8b -g h100-sxm --precision bf16,fp9
expect 2 "sweep --context: one meaning of context everywhere" -- sweep -m llama-3.1-8b -g h100-sxm --context 512
contains "$tmp/err" "--context: \"512\": \`ridge sweep\` takes --prompt LIST and --gen G (context means prompt + generated tokens" "sweep --context points to --prompt"
expect 2 "roofline --context: a hint" -- roofline -m llama-3.1-8b -g h100-sxm --context 512
contains "$tmp/err" "\`ridge roofline\` takes --prompt P and --gen G" "roofline --context points to --prompt and --gen"
expect 2 "plan --context: a hint" -- plan -m llama-3.1-8b -g h100-sxm -c 512
contains "$tmp/err" "\`ridge plan\` takes --prompt P and --gen G" "plan --context points to --prompt and --gen"
expect 0 "sweep: per-GPU names, full precision, no TPOT without a decode step" -- sweep -m llama-3.1-70b -g h100-sxm --tp 8 -b 1 -p 100 --gen 1
contains "$tmp/out" "per_gpu_weights_bytes,per_gpu_kv_cache_bytes,per_gpu_activation_bytes,per_gpu_bytes" "sweep byte columns say per GPU"
contains "$tmp/out" ",1,100,1," "batch, prompt, gen"
contains "$tmp/out" ",memory,,,17640734720," "no decode: empty TPOT and decode cells; per GPU at TP 8: 141,107,412,992 B / 8 + 7/8 of the 2,637,824 B of norms every rank holds = 17,640,734,720 B"
expect 0 "sweep json: null TPOT without a decode step" -- sweep -m llama-3.1-8b -g h100-sxm -b 1 -p 100 --gen 1 -f json
contains "$tmp/out" '"tpot_s": null' "tpot_s is null, not 0, when nothing is decoded"

# roofline under TP/PP: communication rows
expect 0 "roofline tp/pp" -- roofline -m llama-3.1-70b -g h100-sxm --tp 2 --pp 2 --batch 8 --prompt 2048 --gen 64
contains "$tmp/out" "tp.allreduce_attn" "roofline shows all-reduce rows"
contains "$tmp/out" "pp.send" "roofline shows stage sends"
contains "$tmp/out" "bubble" "roofline shows the pipeline bubble"
expect 0 "roofline tp json" -- roofline -m llama-3.1-70b -g h100-sxm --tp 4 --format json
contains "$tmp/out" '"bound": "communication"' "communication rows in JSON"
expect 2 "roofline bad inter-node bandwidth" -- roofline -m llama-3.1-8b -g h100-sxm --inter-node-bandwidth 50GB/s

# plan
expect 0 "plan table" -- plan -m llama-3.1-70b -g a100-80gb,h100-sxm --prompt 2048 --gen 256 --concurrency 32 --tpot-ms 50
contains "$tmp/out" "recommended:" "plan names a winner"
contains "$tmp/out" "rejected families" "plan says why the rest lost"
expect 0 "plan json" -- plan -m llama-3.1-70b -g a100-80gb --prompt 32512 --gen 256 --batch 16 --precision bf16 --kv-dtype bf16 --format json
for key in '"schema": "ridge.plan/v1"' '"plans"' '"rejected"' '"reason": "does not fit"' '"memory_command"'; do
  contains "$tmp/out" "$key" "plan json has $key"
done
# The recommended plan passes `ridge memory --check` with the same settings.
cmd=$(grep -m1 '"memory_command"' "$tmp/out" | sed 's/.*"memory_command": "ridge //; s/",\{0,1\}$//')
# shellcheck disable=SC2086
expect 0 "the plan's memory command fits" -- $cmd
expect 1 "plan with no feasible deployment" -- plan -m llama-3.1-70b -g h100-sxm --batch 1 --max-gpus 8 --tpot-ms 1
expect 2 "plan bad price" -- plan -m llama-3.1-8b -g h100-sxm --price h100=2
expect 2 "plan int4 without consent" -- plan -m llama-3.1-8b -g h100-sxm --precision int4
expect 2 "plan bad option" -- plan -m llama-3.1-8b --ttft-ms fast

# Defaults fit the model: GPT-2 (max_position 1,024) gets a 1,024-token context and a 768-token
# prompt (1,024 - 256 generated) when none is given; an explicit value over the limit is an error.
expect 0 "memory gpt2 with the default context" -- memory -m gpt2 -g l4
contains "$tmp/out" "batch 1 x 1,024 tokens" "gpt2 default context is its max_position"
expect 0 "roofline gpt2 with the default prompt" -- roofline -m gpt2 -g l4
contains "$tmp/out" "prefill: 1 sequence x 768 tokens" "gpt2 default prompt fits max_position"
expect 2 "memory gpt2 explicit context too long" -- memory -m gpt2 -g l4 --context 4096
expect 2 "roofline gpt2 gen leaves no prompt" -- roofline -m gpt2 -g l4 --gen 1024

expect 2 "negative prefill chunk" -- memory -m llama-3.1-8b -g h100-sxm --prefill-chunk -1
contains "$tmp/err" "--prefill-chunk: -1 is out of range; expected 0 to 100000000" "prefill chunk error names the option and its range"
# The default 8,192-token prefill pass of Llama-3.1-8B by hand: residual stream 2 x 8192 x 4096 x 2 B
# = 134,217,728 + MLP gate, up and product 3 x 8192 x 14336 x 2 B = 704,643,072 + fp32 logits of
# the last token of 8 sequences 8 x 128,256 x 4 B = 4,104,192 -> 842,964,992 B.
expect 0 "memory default prefill chunk" -- memory -m llama-3.1-8b -g h100-sxm --context 8192 --batch 8
contains "$tmp/out" "activations (flash prefill peak, 8,192 tokens/pass)     842,964,992" "default chunk activations by hand"
# A whole batch prefilled at once dominates memory: the table says so and how to bound it.
expect 1 "memory, whole-batch prefill" -- memory -m llama-3.1-70b -g h100-sxm --batch 64 --context 32768 --tp 8 --prefill-chunk 0 --check
contains "$tmp/out" "2,097,152 tokens/pass" "memory names tokens per prefill pass"
contains "$tmp/out" "(default: 8,192 tokens per pass)" "memory points at the chunked default"
expect 1 "memory, chunked by default" -- memory -m llama-3.1-70b -g h100-sxm --batch 64 --context 32768 --tp 8 --check
contains "$tmp/out" "8,192 tokens/pass" "memory prefills 8192 tokens per pass by default"

# validate: with no usable GPU (CI, development machines) one line and exit 3.
# Without -g as well: the GPU would come from the device's name, and there is none.
if ! nvidia-smi -L >/dev/null 2>&1; then
  for args in "-g h100-sxm" "--quick"; do
    # shellcheck disable=SC2086
    "$ridge" validate $args >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq 3 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^ridge: no CUDA device: ' "$tmp/err" && [ ! -s "$tmp/out" ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1)); echo "FAIL: validate $args without a GPU (exit $got)"; sed 's/^/  stderr: /' "$tmp/err" | head -5
    fi
  done
  "$ridge" validate -f json >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 3 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: validate -f json without a GPU exits 3"; }
  contains "$tmp/out" '"exit_code": 3' "validate -f json without a GPU still writes JSON"
  if ! grep -q "built without CUDA" "$tmp/err" && [ ! -e /usr/lib/x86_64-linux-gnu/libcuda.so.1 ] &&
    ! ldconfig -p 2>/dev/null | grep -q libcuda.so.1; then
    contains "$tmp/err" "no NVIDIA driver on this machine (libcuda.so.1 not found)" "no driver: said plainly"
  fi
fi
expect 2 "validate unknown GPU is an input error before any device" -- validate -g h100-sxn
expect 2 "validate bad case family" -- validate -g h100-sxm --cases gemm,atention
contains "$tmp/err" 'did you mean "attention"' "validate family hint"
expect 2 "validate too few samples" -- validate -g h100-sxm --samples 3
expect 2 "validate --tables names a directory that exists" -- validate -g h100-sxm --tables /nonexistent/dir
contains "$tmp/err" "/nonexistent/dir: --tables: is not a directory" "validate --tables error names the path"
expect 2 "validate csv" -- validate -g h100-sxm --format csv
# check: every example's exit code and the key line of its message
ex="$src/examples/deploy"
expect 0 "check: 70B bf16 on 2 x H100 passes" -- check "$ex/llama-70b-2xh100.yaml"
contains "$tmp/out" "1 file checked: 1 passed, 0 failed, 0 invalid" "check pass summary"
expect 1 "check: batch 64 x 32k does not fit" -- check "$ex/llama-70b-batch64-32k.yaml"
contains "$tmp/out" "llama-70b-batch64-32k.yaml:5:1: error: needs 387.63 GiB per GPU (weights 65.71 GiB + KV cache 320.00 GiB" "memory.fits line"
contains "$tmp/out" "[memory.fits]" "memory.fits rule id"
expect 1 "check: TTFT SLO missed" -- check "$ex/llama-8b-l4-ttft.yaml"
contains "$tmp/out" "llama-8b-l4-ttft.yaml:14:3: error: TTFT 4.694 s (roofline lower bound, static batch of 8) exceeds the SLO of 500 ms [slo.ttft]" "slo.ttft line"
expect 1 "check: tp 3 does not divide 64 heads" -- check "$ex/llama-70b-tp3.yaml"
contains "$tmp/out" "llama-70b-tp3.yaml:7:1: error: TP 3 does not divide the 64 attention heads of llama-3.1-70b [parallel.divides]" "parallel line"
expect 0 "check: fp8 on A100 warns" -- check "$ex/llama-8b-fp8-a100.yaml"
contains "$tmp/out" "warning: fp8 weights (W8A8): a100-80gb has no fp8 tensor cores" "precision warning"
expect 1 "check: --fail-on warning fails on the fp8 warning" -- check "$ex/llama-8b-fp8-a100.yaml" --fail-on warning
expect 0 "check: 4 replicas of TP 2 pass" -- check "$ex/qwen-7b-replicas.yaml"
expect 1 "check: several files, one run" -- check "$ex"/*.yaml
contains "$tmp/out" "8 files checked: 4 passed, 4 failed, 0 invalid" "all examples summary"
expect 0 "check: gpt-oss-120b as shipped on one H100" -- check "$ex/gpt-oss-120b-1xh100.yaml"
contains "$tmp/out" "h100-sxm has no fp4 tensor cores: 4-bit float weights are dequantised to bf16 math" "fp4 fallback warning"
expect 1 "check: Gemma 3 at 128K for 8 users does not fit" -- check "$ex/gemma-3-27b-128k.yaml"
contains "$tmp/out" "KV cache 83.30 GiB" "hybrid KV in the fit message"
expect 0 "memory of a 2025 HF config" -- memory -m "$src/tests/data/hf/llama-4-maverick.json" -g h200 --tp 8
contains "$tmp/out" "layers: 36 chunked (8192) + 12 global NoPE; 24 dense + 24 MoE (128 experts, top-1, 1 shared)" "layout line"
contains "$tmp/out" "+ 871,932,416 in the vision tower" "vision tower line"
# A plan for a checkpoint in its own format prints "check it" commands that run (the format's
# name, e.g. awq-int4-g128, is the default and not repeated as --precision).
expect 0 "plan for an AWQ checkpoint" -- plan -m "$src/tests/data/hf/llama-3.1-8b-awq.json" --prompt 1000 --gen 100 --concurrency 8
check_cmd=$(grep -m1 "check it: ridge memory" "$tmp/out" | sed 's/.*check it: ridge //')
expect 0 "the plan's check command runs" -- $check_cmd
expect 2 "fp8-block128 at a TP its experts do not divide into blocks" -- memory -m qwen3-235b-a22b -g h100-sxm --precision fp8-block128 --tp 8
contains "$tmp/err" "--tp: 8 leaves 192 of the expert FFN width 1536 per GPU" "block-scale TP message"
expect 0 "memory json of gpt-oss" -- memory -m gpt-oss-20b -g h100-sxm --format json
contains "$tmp/out" '"weights_bytes": 13761264768' "gpt-oss-20b checkpoint bytes"
expect 2 "check: an invalid file beside valid ones" -- check "$ex/llama-70b-2xh100.yaml" "$src/tests/data/bad/deploy-unit-typo.yaml" "$ex/llama-70b-tp3.yaml"
contains "$tmp/err" "deploy-unit-typo.yaml:3:11: overhead: \"1GB\" is ambiguous" "invalid file on stderr"
contains "$tmp/out" "TP 3 does not divide" "the other files are still checked"
expect 2 "check: missing file" -- check "$tmp/nope.yaml"
expect 2 "check: a directory" -- check "$ex"
contains "$tmp/err" "is a directory; name the files in it" "directory message"
expect 2 "check: no files" -- check
expect 2 "check: unknown format" -- check "$ex/llama-70b-tp3.yaml" --format xml
expect 2 "check: unknown fail-on" -- check "$ex/llama-70b-tp3.yaml" --fail-on notice
expect 1 "check json" -- check "$ex/llama-70b-tp3.yaml" "$ex/llama-70b-2xh100.yaml" --format json --junit "$tmp/junit.xml"
for key in '"schema": "ridge.check/v1"' '"exit_code": 1' '"rule": "parallel.divides"' '"limit_bytes": 76968728985' '"failing": true'; do
  contains "$tmp/out" "$key" "check json field"
done
contains "$tmp/junit.xml" '<testsuites name="ridge check" tests="10" failures="1" errors="0">' "junit totals"
contains "$tmp/junit.xml" '<failure type="error" message="TP 3 does not divide the 64 attention heads of llama-3.1-70b">' "junit failure"
if command -v python3 >/dev/null; then
  python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$tmp/junit.xml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: junit is not well-formed XML"; }
fi
expect 2 "check: unwritable --junit" -- check "$ex/llama-70b-tp3.yaml" --junit /nonexistent-dir/j.xml
contains "$tmp/out" "TP 3 does not divide" "report printed before the junit error"
expect 1 "check github" -- check "$ex/llama-8b-l4-ttft.yaml" "$ex/llama-8b-fp8-a100.yaml" --format github
contains "$tmp/out" "::error file=$ex/llama-8b-l4-ttft.yaml,line=14,col=3,title=ridge check%3A slo.ttft::TTFT 4.694 s" "github error line"
contains "$tmp/out" "::warning file=$ex/llama-8b-fp8-a100.yaml,line=6,col=1,title=ridge check%3A precision.supported::" "github warning line"
expect 1 "check markdown" -- check "$ex/llama-70b-tp3.yaml" --format markdown
contains "$tmp/out" "| \`$ex/llama-70b-tp3.yaml\` | ❌ fail | 1 | 1 | 0 | 0 |" "markdown status row"
"$ridge" check "$ex"/*.yaml --format json >"$tmp/c1.json"
"$ridge" check "$ex"/*.yaml --format json >"$tmp/c2.json"
if cmp -s "$tmp/c1.json" "$tmp/c2.json"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: check output differs between runs"; fi
expect 2 "a model name longer than a file name is bad input, not an internal error" -- memory -m "$(printf 'a%.0s' $(seq 300))" -g h100-sxm

# check: a file cannot switch off the rule it breaks when the CI owner says so
cat >"$tmp/rules-off.yaml" <<'YAML'
model: llama-3.1-70b
gpu: h100-sxm
tp: 2
workload:
  prompt_tokens: 2048
  gen_tokens: 256
rules:
  severity:
    kv.capacity: off
YAML
expect 0 "a file's own rules can switch a rule off" -- check "$tmp/rules-off.yaml"
expect 1 "--no-file-rules: the command line's policy holds" -- check "$tmp/rules-off.yaml" --no-file-rules
contains "$tmp/out" "vLLM would refuse to start" "kv.capacity fails by default: a server that does not start"
contains "$tmp/out" "notice: the file's rules (kv.capacity: off) are ignored: --no-file-rules [input.rules]" "the report says what was ignored"

# CSV for scripts: base units, full precision
expect 0 "roofline csv" -- roofline -m llama-3.1-8b -g h100-sxm -f csv --bound
contains "$tmp/out" "phase,name,unit,count,flops,bytes,intensity,time_s,bound_time_s,basis,bound" "roofline csv header"
contains "$tmp/out" "total,tpot,s,1,,,,0.0045293476" "roofline csv carries the totals in seconds"
expect 0 "gpus csv" -- gpus -f csv
contains "$tmp/out" "h100-sxm,NVIDIA H100 SXM5 80GB,85520809984,3350000000000,989400000000000,1978900000000000,NVLink 4,450000000000," "gpus csv in bytes, B/s and FLOP/s"
expect 0 "plan csv" -- plan -m llama-3.1-8b -g h100-sxm -f csv --top 1
contains "$tmp/out" "rank,gpu,gpus,tp,pp,ep,replicas,weights,kv_dtype,batch,per_gpu_bytes,budget_per_gpu_bytes,ttft_s,tpot_s" "plan csv in base units"
expect 0 "plan searches expert parallelism for a MoE model" -- plan -m mixtral-8x7b -g h100-sxm --max-gpus 8 --tpot-ms 30 --top 3
contains "$tmp/out" " EP " "plan table has an EP column for a MoE model"
contains "$tmp/out" "--ep 8" "the plan's check-it command carries --ep"
cat >"$tmp/ep.yaml" <<'YAML'
model: deepseek-v3
gpu: h200
gpus: 16
tp: 1
ep: 8
workload: {prompt_tokens: 2000, gen_tokens: 500, batch: 64}
YAML
expect 0 "check: ep in a deployment file" -- check "$tmp/ep.yaml" -f json
contains "$tmp/out" "EP 8 (TP 1 x 8 attention groups) x PP 1 x 2 replicas = 16 GPUs" "check reads ep:"
printf 'model: llama-3.1-8b\ngpu: h100-sxm\nep: 2\nworkload: {prompt_tokens: 100, gen_tokens: 10}\n' >"$tmp/ep-dense.yaml"
expect 1 "check: ep on a dense model fails parallel.divides" -- check "$tmp/ep-dense.yaml"
contains "$tmp/out" "ep-dense.yaml:3:1: error: EP llama-3.1-8b has no routed experts to spread" "ep error points at its line"
expect 0 "plan with speculative decoding" -- plan -m llama-3.1-70b -g h100-sxm --max-gpus 8 --tpot-ms 30 --top 3 --spec-tokens 4 --spec-acceptance 0.7 --draft-model llama-3.2-1b
contains "$tmp/out" "spec: speculative decoding (4 draft tokens, acceptance 0.7, draft model llama-3.2-1b)" "plan says what speculation it weighed"
contains "$tmp/out" "--spec-tokens 4 --spec-acceptance 0.7 --draft-model llama-3.2-1b" "plan's roofline command speculates"
expect 2 "plan --mtp on a model without MTP" -- plan -m llama-3.1-8b -g h100-sxm --spec-tokens 2 --spec-acceptance 0.8 --mtp
contains "$tmp/err" "has no MTP module" "plan --mtp needs an MTP module"
expect 2 "plan --disagg needs --rate" -- plan -m llama-3.1-8b -g h100-sxm --disagg
expect 0 "plan --disagg by load" -- plan -m llama-3.1-8b -g h100-sxm --max-gpus 8 --ttft-ms 500 --tpot-ms 20 --rate 20 --disagg --prompt 2000 --gen 200 --requests 200 --top 3
contains "$tmp/out" "disaggregation does not beat colocated serving at these SLOs" "plan says whether disaggregation beats colocation"
expect 0 "roofline prints cost and energy" -- roofline -m llama-3.1-70b -g h100-sxm --tp 4 -b 32
contains "$tmp/out" "per million output tokens" "roofline cost line"
contains "$tmp/out" "J per output token" "roofline energy line"
contains "$tmp/out" "(estimate)" "energy says it is an estimate"
expect 0 "roofline --price is said as user-given" -- roofline -m llama-3.1-70b -g h100-sxm --tp 4 -b 32 --price 2.5
contains "$tmp/out" "x \$2.50/GPU-hour: --price (user-given)" "a user-given price is labelled"
expect 2 "serve --price for a GPU not in the command" -- serve -m llama-3.1-8b -g h100-sxm --rate 1 --requests 50 --price a100-80gb=1
expect 2 "plan --rank-by typo" -- plan -m llama-3.1-8b -g h100-sxm --rank-by dollars
expect 0 "plan ranks by GPU-hours on request" -- plan -m llama-3.1-8b -g h100-sxm,l4 --rank-by gpu-hours --top 2
contains "$tmp/out" "GPU-h/Mtok" "plan --rank-by gpu-hours shows GPU-hours"

# check: every error of a file at once, in line order
"$ridge" check "$src/tests/data/bad/deploy-many-errors.yaml" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: an invalid file exits 2"; }
[ "$(grep -c '^ridge: error: ' "$tmp/err")" -eq 5 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: five errors, one line each"; }
contains "$tmp/err" "deploy-many-errors.yaml:3:1: tensor_parallel_size: vLLM's tensor_parallel_size is ridge's tp" "vLLM's name answered with ridge's"
contains "$tmp/err" "deploy-many-errors.yaml:9:13: slo.ttft" "the last error of the file too"

# An HF config's error names the key the user wrote, at its line and column
mkdir -p "$tmp/hf"
printf '{\n  "model_type": "llama",\n  "hidden_size": 4096,\n  "intermediate_size": 14336,\n  "num_hidden_layers": 32,\n  "num_attention_heads": 32,\n  "num_key_value_heads": 5,\n  "vocab_size": 128256,\n  "max_position_embeddings": 8192\n}\n' >"$tmp/hf/config.json"
expect 2 "HF config: a relation between fields" -- memory -m "$tmp/hf" -g h100-sxm
contains "$tmp/err" "config.json:7:26: num_key_value_heads: 5 does not divide num_attention_heads (32)" "the HF name, not ridge's kv_heads"

# Untrusted text: no escape or newline from a file reaches a terminal, a log, Markdown or SVG
sed 's/^display_name: .*/display_name: "evil\\e]0;pwned\\a\\n::stop-commands::x"/' "$src/models/llama-3.1-8b.yaml" >"$tmp/evil-model.yaml"
expect 2 "control characters in a name are refused" -- memory -m "$tmp/evil-model.yaml" -g h100-sxm
contains "$tmp/err" "display_name: holds a control character (\x1b); write plain text" "the escape shown, not sent"
printf 'model: llama-3.1-8b\ngpu: h100-sxm\n"\\n::stop-commands::x\\n": 1\nworkload: {prompt_tokens: 1, gen_tokens: 1}\n' >"$tmp/evil-key.yaml"
expect 2 "a key with newlines stays on one error line" -- check "$tmp/evil-key.yaml"
contains "$tmp/err" '\x0a::stop-commands::x\x0a: unknown field' "newlines in a key shown as \x0a"
mkdir -p "$tmp/a\`b"
cp "$src/examples/deploy/llama-70b-2xh100.yaml" "$tmp/a\`b/d.yaml"
"$ridge" check "$tmp/a\`b/d.yaml" -f markdown >"$tmp/out" 2>"$tmp/err"
contains "$tmp/out" '| `` ' "a backtick in a path: a double-backtick code span"
expect 2 "--plot writes SVG only" -- roofline -m llama-3.1-8b -g h100-sxm --plot "$tmp/x.png"
contains "$tmp/err" "the plot is SVG: name the file .svg" "--plot x.png refused with the way to a PNG"
expect 0 "--plot svg" -- roofline -m llama-3.1-8b -g h100-sxm --plot "$tmp/x.svg"
if command -v xmllint >/dev/null; then
  xmllint --noout "$tmp/x.svg" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: the SVG is not well-formed XML"; }
fi
contains "$tmp/x.svg" "<polygon" "decode points are triangles, as the README says"

# version and completion
expect 0 "--version names the commit" -- --version
grep -Eq '^ridge [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{12}(-dirty)?|unknown\)' "$tmp/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: --version: $(cat "$tmp/out")"; }
expect 0 "-V is --version" -- -V
expect 0 "bash completion" -- completion bash
bash -n "$tmp/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: the bash completion script does not parse"; }
(
  # shellcheck disable=SC1090
  source "$tmp/out"
  COMP_WORDS=(ridge memory -g h100); COMP_CWORD=3; _ridge
  [ "${COMPREPLY[*]}" = "h100-pcie h100-sxm" ]
) && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: bash completion of -g h100"; }
expect 0 "zsh completion" -- completion zsh
contains "$tmp/out" "#compdef ridge" "zsh completion header"
expect 0 "fish completion" -- --completion fish
contains "$tmp/out" "__fish_seen_subcommand_from memory' -l context" "fish completion knows memory's flags"
expect 2 "completion for an unknown shell" -- completion tcsh

# Options checked the same way everywhere
expect 2 "plan: a negative inter-node bandwidth" -- plan -m llama-3.1-8b -g h100-sxm --inter-node-bandwidth "-5 GB/s"
contains "$tmp/err" "must be between 1 MB/s and 100 TB/s" "the same check as roofline"
expect 2 "plan: zero inter-node bandwidth" -- plan -m llama-3.1-8b -g h100-sxm --inter-node-bandwidth "0 B/s"
expect 2 "plan --top -1" -- plan -m llama-3.1-8b -g h100-sxm --top -1
contains "$tmp/err" '"-1" is negative' "an unsigned count does not wrap"
expect 2 "check --junit with no name" -- check "$src/examples/deploy/llama-70b-2xh100.yaml" --junit ""
ln -sf "$tmp/loop-a" "$tmp/loop-b"; ln -sf "$tmp/loop-b" "$tmp/loop-a"
expect 2 "a symbolic-link loop" -- memory -m "$tmp/loop-a" -g h100-sxm
contains "$tmp/err" "symbolic links loop" "a loop is not a missing file"
expect 0 "plan: a GPU named twice is planned once" -- plan -m llama-3.1-8b -g h100-sxm,h100-sxm --top 2
grep -q "h100-sxm, h100-sxm" "$tmp/out" && { failed=$((failed + 1)); echo "FAIL: h100-sxm planned twice"; } || passed=$((passed + 1))

# Several GPUs side by side
expect 0 "memory on three GPUs" -- memory -m llama-3.1-70b -g h100-sxm,h200,mi300x --tp 2
contains "$tmp/out" "3 GPU types side by side" "memory comparison title"
contains "$tmp/out" "budget per GPU, GiB                  71.68         126.36         172.79" "budgets: 0.9 x 79.65, 140.40, 191.98 GiB usable"
expect 0 "memory comparison json" -- memory -m llama-3.1-70b -g h100-sxm,h200 --tp 2 -f json
contains "$tmp/out" '"schema": "ridge.memory.comparison/v1"' "comparison schema"
expect 0 "memory comparison csv: one row per GPU" -- memory -m llama-3.1-8b -g h100-sxm,h200,l4 -f csv
[ "$(wc -l <"$tmp/out")" -eq 4 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: memory comparison csv rows"; }
expect 1 "memory --check fails when one GPU does not fit" -- memory -m llama-3.1-70b -g h200,l4 --check
expect 0 "roofline on two GPUs" -- roofline -m llama-3.1-8b -g h100-sxm,l4 --batch 8
contains "$tmp/out" "time basis                            expected              bound" "each GPU says its basis"
expect 2 "one plot is one GPU" -- roofline -m llama-3.1-8b -g h100-sxm,l4 --plot "$tmp/two.svg"

# predict: single operators
expect 0 "predict one gemm" -- predict -g h100-sxm gemm --m 16 --n 4096 --k 4096 --dtype bf16
contains "$tmp/out" "   bf16  16  4096  4096    0.5426" "gemm bound: its 33,816,576 B fit H100's 50 MiB L2, so 2 x 16 x 4096^2 FLOP / 989.4 TFLOP/s"
expect 0 "predict one gemm larger than L2" -- predict -g h100-sxm gemm --m 16 --n 8192 --k 4096 --dtype bf16
contains "$tmp/out" "   bf16  16  8192  4096    4.4995" "gemm bound: (67,502,080 - 52,428,800 B of L2) / 3.35 TB/s = 4.4995 us"
contains "$tmp/out" "expected = calibrated estimate" "the expected time says it is an estimate"
contains "$tmp/out" "expected_us" "a calibrated GPU prints the expected time next to the bound"
expect 0 "predict a shapes file" -- predict -g h100-sxm --shapes "$src/tests/data/predict/gemm-shapes.csv" --format csv
contains "$tmp/out" "bf16,8192,8192,8192,1111.2913" "compute-bound gemm: 2 x 8192^3 / 989.4 TFLOP/s"
expect 0 "predict measured decode rows" -- predict -g h100-sxm --shapes "$src/tests/data/predict/decode-measured.csv" --format json
contains "$tmp/out" '"bound_s": 1.0598' "decode bound of a replayed kernel whose cache fits L2: 32 x 4 x 64 heads x 2 keys x 64 FLOP / 989.4 TFLOP/s"
contains "$tmp/out" '"bound_error": -0.99990' "error against the measured latency: (1.06e-9 - 11.27e-6) / 11.27e-6"
expect 2 "predict: unknown column" -- predict -g h100-sxm --shapes "$src/tests/data/bad/predict-unknown-column.csv"
contains "$tmp/err" "predict-unknown-column.csv:1:13: latncy_us: unknown column for a gemm table" "predict column error"
expect 2 "predict: bad dtype flag" -- predict -g h100-sxm gemm --m 1 --n 1 --k 1 --dtype fp9
expect 0 "predict held-out rows of a committed table" -- predict -g h100-sxm --shapes "$src/calibration/measured/h100-sxm/nccl.csv" --rows held-out
contains "$tmp/out" "expected median" "summary of the expected time's error"
expect 0 "predict on a GPU without calibration" -- predict -g l4 gemm --m 1 --n 4096 --k 4096
contains "$tmp/out" "this GPU has no calibration" "says when there is no expected time"
expect 2 "predict: bad --rows" -- predict -g h100-sxm --shapes "$src/calibration/measured/h100-sxm/nccl.csv" --rows heldout
# calibrate: fit, print, and write into a copy of a GPU file
expect 0 "calibrate the committed NCCL sample" -- calibrate "$src/calibration/measured/h100-sxm" -g h100-sxm --date 2026-12-02
contains "$tmp/out" "    all_reduce:" "calibration block per family"
contains "$tmp/out" "held_out: {rows: 18," "held-out rows of all_reduce"
cp "$src/hardware/l4.yaml" "$tmp/l4-copy.yaml"
expect 2 "calibrate --write needs provenance" -- calibrate "$src/calibration/measured/l40s" -g l40s --write "$tmp/l4-copy.yaml"
expect 2 "calibrate: not a folder" -- calibrate "$src/README.md" -g h100-sxm
expect 2 "GPU file: calibration parameter out of range" -- predict -g "$src/tests/data/bad/gpu-calibration-out-of-range.yaml" gemm --m 1 --n 64 --k 64
contains "$tmp/err" "gpu-calibration-out-of-range.yaml:51:23: calibration.families.gemm.bf16.flops_fraction: 1.829713 is out of range; expected 0.05 to 1" "calibration range error names file, line, field"
expect 2 "GPU file: unknown calibration family" -- predict -g "$src/tests/data/bad/gpu-calibration-unknown-family.yaml" gemm --m 1 --n 64 --k 64
contains "$tmp/err" 'calibration.families.gemm.fp9: unknown field (did you mean "gemm.fp8"?)' "unknown family with a hint"
expect 2 "GPU file: calibration without an SM count" -- predict -g "$src/tests/data/bad/gpu-calibration-no-sms.yaml" gemm --m 1 --n 64 --k 64
contains "$tmp/err" "gpu-calibration-no-sms.yaml:43:3: calibration: needs multiprocessors" "calibration needs the SM count"
expect 2 "calibrate: GPU without an SM count" -- calibrate "$src/calibration/measured/h100-sxm" -g "$src/tests/data/bad/gpu-no-sms.yaml"

# serve: the serving simulation
expect 0 "serve: one rate, JSON" -- serve -m llama-3.1-8b -g h100-sxm --rate 4 --requests 300 --prompt 512 --gen 128 --ttft-ms 500 --tpot-ms 50 -f json
for key in '"schema": "ridge.serve/v1"' '"time_basis": "expected"' '"scheduler": "vllm-v1"' '"arrivals": "poisson"' \
  '"rate": 4' '"ttft_s"' '"tpot_s"' '"itl_s"' '"e2e_s"' '"p99"' '"throughput_tokens_per_s"' '"requests_per_s"' \
  '"completed": 300' '"generated_tokens": 38400' '"duration_s"' '"mean_in_system"' '"goodput_requests_per_s"' \
  '"meets_slo": true' '"preemptions": 0'; do
  contains "$tmp/out" "$key" "serve json field"
done
cp "$tmp/out" "$tmp/serve1.json"
"$ridge" serve -m llama-3.1-8b -g h100-sxm --rate 4 --requests 300 --prompt 512 --gen 128 --ttft-ms 500 --tpot-ms 50 -f json >"$tmp/serve2.json"
if cmp -s "$tmp/serve1.json" "$tmp/serve2.json"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: serve: same seed, different bytes"; fi
"$ridge" serve -m llama-3.1-8b -g h100-sxm --rate 4 --requests 300 --prompt 512 --gen 128 --seed 1 -f json >"$tmp/serve3.json"
if cmp -s "$tmp/serve1.json" "$tmp/serve3.json"; then failed=$((failed + 1)); echo "FAIL: serve: another seed, the same bytes"; else passed=$((passed + 1)); fi
expect 0 "serve: a rate sweep with SLOs and a plot" -- serve -m llama-3.1-70b -g h100-sxm --tp 4 --rate 2,6,10 --requests 400 --prompt 1024 --gen 128 --ttft-ms 1000 --tpot-ms 50 --plot "$tmp/serve.svg"
contains "$tmp/out" "largest rate meeting p99 TTFT <= 1 s and TPOT <= 50 ms:" "serve sweep names the largest rate meeting the SLOs"
contains "$tmp/serve.svg" "<polyline" "serve plot draws lines"
if command -v xmllint >/dev/null; then
  xmllint --noout "$tmp/serve.svg" 2>/dev/null && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: serve plot is not well-formed XML"; }
fi
expect 0 "serve: sweep as CSV" -- serve -m llama-3.1-8b -g h100-sxm --rate 1:3:1 --requests 100 -f csv
[ "$(wc -l <"$tmp/out")" -eq 4 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: serve csv is header + one row per rate"; }
contains "$tmp/out" "rate,requests_per_s,throughput_tokens_per_s" "serve csv header"
expect 0 "serve: all at once (the default), markdown" -- serve -m llama-3.1-8b -g l4 --requests 100 --prompt 1000 --gen 100 -f markdown
contains "$tmp/out" "all requests at t = 0" "serve: --rate inf is the default"
contains "$tmp/out" "lower bound: each step at the datasheet roofline" "serve says when its times are lower bounds"
expect 0 "serve: closed loop" -- serve -m llama-3.1-8b -g h100-sxm --concurrency 8 --requests 100 --prompt uniform:100:900 --gen normal:100:30
contains "$tmp/out" "8 users in a closed loop" "serve closed loop"
expect 0 "serve: CSV trace" -- serve -m llama-3.1-8b -g h100-sxm --trace "$src/tests/data/serve/trace.csv" -f json
contains "$tmp/out" '"completed": 4' "serve trace: every request"
contains "$tmp/out" '"generated_tokens": 424' "serve trace: 128 + 64 + 200 + 32 tokens"
expect 0 "serve: JSON Lines trace" -- serve -m llama-3.1-8b -g h100-sxm --trace "$src/tests/data/serve/trace.jsonl"
expect 2 "serve: bad trace row" -- serve -m llama-3.1-8b -g h100-sxm --trace "$src/tests/data/serve/bad-trace.csv"
contains "$tmp/err" "bad-trace.csv:3: prompt_tokens: -3: must be 1 to 100,000,000 tokens" "serve trace error names file, line, field"
expect 2 "serve: trace and --rate" -- serve -m llama-3.1-8b -g h100-sxm --trace "$src/tests/data/serve/trace.csv" --rate 3
expect 2 "serve: --batch refused with a hint" -- serve -m llama-3.1-8b -g h100-sxm -b 8
contains "$tmp/err" "has no fixed batch" "serve explains why there is no --batch"
expect 2 "serve: bad rate" -- serve -m llama-3.1-8b -g h100-sxm --rate 0
expect 2 "serve: bad range" -- serve -m llama-3.1-8b -g h100-sxm --rate 5:1:1
expect 2 "serve: bad distribution" -- serve -m llama-3.1-8b -g h100-sxm --prompt poisson:3:4
expect 2 "serve: request longer than the model" -- serve -m llama-3.1-8b -g h100-sxm --prompt 200k
expect 2 "serve: --rate with --concurrency" -- serve -m llama-3.1-8b -g h100-sxm --rate 2 --concurrency 4
expect 2 "serve: plot of one rate" -- serve -m llama-3.1-8b -g h100-sxm --rate 2 --plot "$tmp/x.svg"
expect 2 "serve: model too large for the GPU" -- serve -m llama-3.1-70b -g l4

# plan by load
expect 0 "plan --rate" -- plan -m qwen2.5-72b --rate 1 --prompt 4096 --gen 512 --ttft-ms 10000 -f json
contains "$tmp/out" '"latency_kind": "simulated_p99"' "plan --rate says its latencies are simulated percentiles"
contains "$tmp/out" '"serve_command": "ridge serve -m qwen2.5-72b' "plan --rate gives the serve command that reproduces it"
contains "$tmp/out" '"requests_per_s_per_replica"' "plan --rate: each replica's share"
expect 0 "plan static batch labels its TTFT" -- plan -m llama-3.1-8b -g h100-sxm
contains "$tmp/out" "TTFT*: a static batch" "static plan TTFT labelled"
expect 2 "plan --rate without an SLO" -- plan -m llama-3.1-8b -g h100-sxm --rate 10
contains "$tmp/err" "needs a latency target" "plan --rate explains why it needs an SLO"
expect 2 "plan --rate with --batch" -- plan -m llama-3.1-8b -g h100-sxm --rate 10 --ttft-ms 500 --batch 8
expect 2 "plan --slo-percentile without --rate" -- plan -m llama-3.1-8b -g h100-sxm --slo-percentile 90

# speculative decoding
expect 0 "roofline with a draft model" -- roofline -m llama-3.1-70b -g h100-sxm --tp 4 --spec-tokens 4 --spec-acceptance 0.7 --draft-model llama-3.2-1b -f json
contains "$tmp/out" '"expected_tokens_per_step": 2.7731' "(1 - 0.7^5) / 0.3 = 2.7731 tokens per step"
contains "$tmp/out" '"loss_from_batch"' "roofline says where speculation stops paying"
expect 0 "roofline with DeepSeek-V3's MTP" -- roofline -m deepseek-v3 -g h200 --tp 8 -b 64 --spec-tokens 1 --spec-acceptance 0.875 --mtp
contains "$tmp/out" "speculative decoding with the model's MTP module (1 layer), K = 1 draft token at acceptance 0.875: 1.875 tokens per step" "MTP line"
expect 0 "serve with speculation" -- serve -m llama-3.1-8b -g h100-sxm --rate 2 --requests 100 --spec-tokens 3 --spec-acceptance 0.8 --draft-model llama-3.2-1b -f json
contains "$tmp/out" '"speculative_decoding"' "serve json names the drafter"
contains "$tmp/out" '"tokens_per_verification"' "serve json measures tokens per verification"
expect 2 "spec without acceptance" -- roofline -m llama-3.1-8b -g h100-sxm --spec-tokens 3 --draft-model llama-3.2-1b
contains "$tmp/err" "needs the acceptance rate" "acceptance is asked for, never assumed"
expect 2 "spec without a drafter" -- roofline -m llama-3.1-8b -g h100-sxm --spec-tokens 3 --spec-acceptance 0.7
expect 2 "MTP on a model without one" -- roofline -m llama-3.1-8b -g h100-sxm --spec-tokens 1 --spec-acceptance 0.7 --mtp
contains "$tmp/err" "has no multi-token-prediction module" "MTP refused with the reason"
expect 2 "draft options without --spec-tokens" -- serve -m llama-3.1-8b -g h100-sxm --mtp
expect 2 "acceptance out of range" -- roofline -m llama-3.1-8b -g h100-sxm --spec-tokens 2 --spec-acceptance 1.5 --draft-model llama-3.2-1b

# disaggregated prefill/decode
expect 0 "serve --disagg" -- serve -m llama-3.1-70b -g h100-sxm --tp 2 --disagg 1:3 --rate 2 --requests 200 --prompt 2048 --gen 128 -f json
contains "$tmp/out" '"disaggregated": "1 prefill replica (TP 2) + 3 decode replicas (TP 2)' "serve json names the pools"
contains "$tmp/out" '"gpus": 8' "1 x 2 + 3 x 2 GPUs"
contains "$tmp/out" '"mean_kv_transfer_s"' "serve json has the KV transfer"
expect 0 "serve --disagg with pools of their own TP" -- serve -m llama-3.1-70b -g h100-sxm --disagg 1:1 --prefill-tp 4 --decode-tp 4 --rate 1 --requests 100
contains "$tmp/out" "1 prefill replica (TP 4) + 1 decode replica (TP 4), x PP 1: 8 GPUs" "pool line"
expect 2 "serve --disagg bad" -- serve -m llama-3.1-8b -g h100-sxm --disagg 2
expect 2 "serve --disagg with --gpus" -- serve -m llama-3.1-8b -g h100-sxm --disagg 1:1 --gpus 4
expect 2 "serve --prefill-tp without --disagg" -- serve -m llama-3.1-8b -g h100-sxm --prefill-tp 2

# expert parallelism
expect 0 "memory with EP" -- memory -m deepseek-v3 -g h200 --tp 1 --ep 8 -b 64 -c 4096 -f json
contains "$tmp/out" '"ep": 8' "memory json has ep"
expect 0 "memory with EP, table" -- memory -m deepseek-v3 -g h200 --tp 1 --ep 8 -b 64 -c 4096
contains "$tmp/out" "TP 1 x PP 1, EP 8 (8 attention groups of TP 1) = 8 GPUs" "EP in the GPU count"
contains "$tmp/out" "2,302,672,896" "KV per GPU: 8 of the 64 sequences x 4,096 x 70,272 B"
expect 0 "roofline with EP" -- roofline -m deepseek-v3 -g h200 --tp 1 --ep 8 -b 64
contains "$tmp/out" "ep.dispatch (all-to-all" "EP all-to-all in the roofline"
expect 0 "serve with EP" -- serve -m deepseek-v3 -g h200 --tp 1 --ep 8 --rate 2 --requests 100 --prompt 1000 --gen 100
contains "$tmp/out" "EP 8: 8 attention groups of TP 1" "serve names EP"
expect 2 "EP on a dense model" -- memory -m llama-3.1-8b -g h100-sxm --ep 2
expect 2 "EP not a multiple of TP" -- memory -m deepseek-v3 -g h200 --tp 4 --ep 6
expect 2 "EP beyond the experts" -- memory -m mixtral-8x7b -g h100-sxm --ep 16

# ridge report: one self-contained HTML page from the JSON documents of memory, roofline, serve, plan
expect 2 "report without -o" -- report -m llama-3.1-8b -g h100-sxm
expect 2 "report to an unwritable path" -- report -m llama-3.1-8b -g h100-sxm --rate 1,2 --requests 50 -o "$tmp/no/such/dir/r.html"
contains "$tmp/err" "r.html: --output: cannot write the file" "report names the file it cannot write"
expect 2 "report without a model" -- report -g h100-sxm -o "$tmp/r.html"
expect 2 "report with a bad rate" -- report -m llama-3.1-8b -g h100-sxm --rate 2,x -o "$tmp/r.html"
expect 2 "report: a deployment file and -m" -- report "$src/examples/deploy/llama-8b-l4-ttft.yaml" -m llama-3.1-8b -o "$tmp/r.html"
expect 0 "report html" -- report -m llama-3.1-8b -g h100-sxm --prompt 1024 --gen 256 --rate 2,8 --requests 100 -o "$tmp/report.html"
[ ! -s "$tmp/out" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: report -o FILE prints nothing"; }
contains "$tmp/report.html" '<script type="application/json" id="ridge-data">{"schema":"ridge.report/v1"' "report embeds its JSON"
contains "$tmp/report.html" "default-src 'none'" "report forbids the network"
if grep -qiE '<(script|link|img)[^>]* (src|href)=' "$tmp/report.html"; then failed=$((failed + 1)); echo "FAIL: report loads something"; else passed=$((passed + 1)); fi
if command -v xmllint >/dev/null; then
  # libxml2's HTML 4 parser knows no HTML5 elements (main, nav, section, ...): only those may be reported.
  xmllint --html --noout "$tmp/report.html" 2>&1 | grep -E 'error' | grep -vE 'Tag (main|nav|section|header|footer|details|summary) invalid' >"$tmp/xmllint"
  [ ! -s "$tmp/xmllint" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: report is not well-formed HTML"; head -3 "$tmp/xmllint"; }
fi
expect 0 "report to stdout" -- report -m llama-3.1-8b -g h100-sxm --prompt 1024 --gen 256 --rate 2,8 --requests 100 -o -
if cmp -s "$tmp/out" "$tmp/report.html"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: report -o - differs from the file (or between runs)"; fi
if command -v python3 >/dev/null; then
  # Each section is the document its command prints for the same options.
  "$ridge" memory -m llama-3.1-8b -g h100-sxm -c 1280 -f json >"$tmp/m.json"
  "$ridge" roofline -m llama-3.1-8b -g h100-sxm --prompt 1024 --gen 256 -f json >"$tmp/r.json"
  "$ridge" serve -m llama-3.1-8b -g h100-sxm --prompt 1024 --gen 256 --rate 2,8 --requests 100 -f json >"$tmp/s.json"
  "$ridge" plan -m llama-3.1-8b -g h100-sxm --prompt 1024 --gen 256 -f json >"$tmp/p.json"
  python3 - "$tmp" <<'PY' && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: report sections differ from the commands' JSON"; }
import json, sys
t = sys.argv[1]
html = open(t + "/report.html", encoding="utf-8").read()
start = html.index('id="ridge-data">') + len('id="ridge-data">')
data = json.loads(html[start:html.index("</script", start)])
for key, f in [("memory", "m"), ("roofline", "r"), ("serve", "s"), ("plan", "p")]:
    if data[key] != json.load(open(t + "/" + f + ".json")):
        print("  section", key, "differs")
        sys.exit(1)
PY
fi
expect 0 "report from a deployment file" -- report "$src/examples/deploy/llama-8b-l4-ttft.yaml" --requests 50 -o "$tmp/deploy.html"
contains "$tmp/deploy.html" '"schema":"ridge.report/v1"' "deployment-file report embeds its JSON"

expect 0 "help" -- --help

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
