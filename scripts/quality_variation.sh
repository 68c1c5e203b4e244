#!/usr/bin/env bash
# Measures how much a shipped model's quality-gate scores move for changes that should not matter, to
# choose the gate's tolerances (docs/results.md): the gate's prompt set rendered with 5 disjoint seed pairs
# (seeds 0-1 are the baseline's), and with 1 instead of 2 threads. Prints, per dimension and for Total,
# each run's value and the largest deviation from the baseline run.
# Usage: scripts/quality_variation.sh models/teacher [WORK=/tmp/quality-variation]
set -euo pipefail
model="$1"; work="${2:-/tmp/quality-variation}/$(basename "$model")"
B=.build/release/tdm-video
suite=configs/suites/quick_full_info.json
rm -rf "$work"; mkdir -p "$work"
run() { # name, seed, threads
  TDM_THREADS="$3" $B sample --model "$model" --prompts "$suite" --seeds 2 --seed "$2" --out "$work/$1/clips" --quiet >/dev/null
  $B score "$work/$1/clips" --suite "$suite" --out "$work/$1.json" --quiet >/dev/null
}
run base 0 2
for s in 2 4 6 8; do run "seeds$s" "$s" 2; done
run threads1 0 1
python3 - "$work" <<'PY'
import json, sys, glob, os
work = sys.argv[1]
runs = ["base", "seeds2", "seeds4", "seeds6", "seeds8", "threads1"]
reps = {r: json.load(open(os.path.join(work, r + ".json"))) for r in runs}
def raw(rep):
    d = {x["dimension"]: x["score"] for x in rep["dimensions"] if x.get("score") is not None}
    d["TOTAL"] = rep["total_score"]
    return d
vals = {r: raw(reps[r]) for r in runs}
keys = list(vals["base"].keys())
print("| dimension | " + " | ".join(runs) + " | max drop vs base (seed sets) | threads 1 vs 2 |")
print("|---" * (len(runs) + 3) + "|")
for k in keys:
    row = [vals[r].get(k) for r in runs]
    drops = [100 * (vals["base"][k] - vals[r][k]) for r in runs[1:5] if vals[r].get(k) is not None]
    t = 100 * abs(vals["base"][k] - vals["threads1"].get(k, float("nan")))
    print("| %s | %s | %.2f | %.4f |" % (k, " | ".join("%.2f" % (100 * v) if v is not None else "-" for v in row), max(drops), t))
PY
