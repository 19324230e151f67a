#!/usr/bin/env python3
"""Prints README's "How accurate is ridge?" table: bound vs calibrated error on the held-out
shapes of the committed sample (calibration/measured), per GPU and family.
Usage: scripts/accuracy_table.py [path/to/ridge]"""
import json
import math
import subprocess
import sys

ridge = sys.argv[1] if len(sys.argv) > 1 else "build/ridge"
gpus = ["a100-80gb", "h100-sxm", "h200", "b200", "l40s"]
targets = {"bf16": (0.08, 0.20), "fp8": (0.12, 0.35), "prefill attention": (0.10, 0.30),
           "decode attention": (0.10, 0.30), "all-reduce": (0.10, 0.25)}


def predict(gpu, table):
    out = subprocess.run([ridge, "predict", "-g", gpu, "--shapes", f"calibration/measured/{gpu}/{table}.csv",
                          "--rows", "held-out", "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def rank(values, q):  # nearest rank, as ridge's summaries
    v = sorted(values)
    return v[max(1, math.ceil(q * len(v))) - 1]


def cell(median, p90, target=None):
    text = f"{100 * median:.1f} / {100 * p90:.1f} %"
    if target and (median > target[0] or p90 > target[1]):
        return f"**{text}**"
    return text


print("| GPU | family | rows | bound | expected | target |")
print("|---|---|---:|---:|---:|---:|")
for gpu in gpus:
    lines = []
    gemm = predict(gpu, "gemm")
    for s in gemm["summary"]:
        if s["rows"].endswith("N,K>=256"):
            dtype = s["rows"].split()[0]
            lines.append((f"GEMM {dtype}", s["expected"]["count"], s["bound"], s["expected"], targets.get(dtype)))
    for table, name in [("context_attention", "prefill attention"), ("generation_attention", "decode attention")]:
        s = predict(gpu, table)["summary"][0]
        lines.append((name, s["expected"]["count"], s["bound"], s["expected"], targets[name]))
    rows = predict(gpu, "nccl")["rows"]
    ar = [r for r in rows if r["collective"] == "all_reduce"]
    b = [abs(r["bound_error"]) for r in ar]
    e = [abs(r["expected_error"]) for r in ar]
    lines.append(("all-reduce", len(ar), {"median_abs_error": rank(b, .5), "p90_abs_error": rank(b, .9)},
                  {"median_abs_error": rank(e, .5), "p90_abs_error": rank(e, .9)}, targets["all-reduce"]))
    for name, count, bound, expected, target in lines:
        t = f"{100 * target[0]:.0f} / {100 * target[1]:.0f} %" if target else "—"
        print(f"| {gpu} | {name} | {count:,} | {cell(bound['median_abs_error'], bound['p90_abs_error'])} | "
              f"{cell(expected['median_abs_error'], expected['p90_abs_error'], target)} | {t} |")
