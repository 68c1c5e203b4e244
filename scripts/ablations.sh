#!/usr/bin/env bash
# The TDM ablation table (issue 6): distils a student with each config in configs/distill*.yaml from the
# teacher, scores every student on the held-out suite (26 prompts x 2 seeds) and prints a Markdown table
# with Total / Quality / Semantic and the cost of each run, next to the teacher at 100 and at 4 NFE.
# Usage: scripts/ablations.sh [TEACHER=models/teacher] [RUNS=runs/ablations]
set -euo pipefail
teacher="${1:-models/teacher}"
runs="${2:-runs/ablations}"
B=.build/release/tdm-video
suite=configs/suites/heldout_full_info.json
mkdir -p "$runs"
[ -x "$B" ] || swift build -c release >/dev/null

row() { # name, report.json, cost
  python3 - "$@" <<'PY'
import json, sys
name, path, cost = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
f = lambda v: "-" if v is None else "%.2f" % (100 * v)
print("| %s | %s | %s | %s | %s |" % (name, f(r.get("total_score")), f(r.get("quality_score")), f(r.get("semantic_score")), cost))
PY
}
score() { # model, steps-or-empty, out-dir -> report path
  local model="$1" steps="$2" out="$3"
  rm -rf "$out"
  $B sample --model "$model" --prompts "$suite" --seeds 2 ${steps:+--steps "$steps"} --out "$out/clips" --quiet >/dev/null
  $B score "$out/clips" --suite "$suite" --out "$out/report.json" --quiet >/dev/null
  echo "$out/report.json"
}

echo "| run | Total | Quality | Semantic | cost |"
echo "|---|---|---|---|---|"
t0=$(date +%s.%N); r=$(score "$teacher" "" "$runs/teacher-50"); t1=$(date +%s.%N)
row "teacher, 50 DDIM steps + CFG (100 NFE)" "$r" "$(printf '%.2f s/clip' "$(echo "($t1-$t0)/52" | bc -l)")"
t0=$(date +%s.%N); r=$(score "$teacher" 4 "$runs/teacher-4"); t1=$(date +%s.%N)
row "teacher, 4 DDIM steps + CFG (8 NFE)" "$r" "$(printf '%.3f s/clip' "$(echo "($t1-$t0)/52" | bc -l)")"
for cfg in distill distill_no_is distill_clean distill_mse distill_fake5 distill_unify; do
  out="$runs/$cfg"
  rm -rf "$out"
  t0=$(date +%s.%N)
  $B distill --config "configs/$cfg.yaml" --teacher "$teacher" --out "$out" --eval-seeds 0 --quiet >"$out.log" 2>&1 \
    || { echo "| $cfg | failed: see $out.log | | | |"; continue; }
  t1=$(date +%s.%N)
  iters=$(sed -n 's/^distill: \([0-9]*\) iterations.*/\1/p' "$out.log")
  cost="$(printf '%.0f s, %d it' "$(echo "$t1-$t0" | bc -l)" "$iters")"
  if [ "$cfg" = distill_unify ]; then
    for k in 1 2 4; do row "$cfg, sampled at $k steps" "$(score "$out/student" $k "$out/eval-$k")" "$cost"; done
  else
    row "$cfg" "$(score "$out/student" "" "$out/eval")" "$cost"
  fi
done
