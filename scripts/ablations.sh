#!/usr/bin/env bash
# The TDM ablation table (issue 6): distils a student with each config in configs/distill*.yaml from the
# teacher, scores every student on the held-out suite (26 prompts x 2 seeds) and prints a Markdown table
# with Total / Quality / Semantic and the cost of each run (with the iteration keep_best kept), next to the
# teacher at 100 and at 4 NFE. Two diagnostic columns: dynamic degree with how many clips of still prompts
# (no object or camera motion) read as dynamic, and the Total with the 100-NFE teacher's dynamic degree in
# place of the run's own (docs/results.md: the students' faint shimmer reads as motion).
# Usage: [CONFIGS="distill distill_no_is ..."] scripts/ablations.sh [TEACHER=models/teacher] [RUNS=runs/ablations]
set -euo pipefail
teacher="${1:-models/teacher}"
runs="${2:-runs/ablations}"
B=.build/release/tdm-video
suite=configs/suites/heldout_full_info.json
mkdir -p "$runs"
[ -x "$B" ] || swift build -c release >/dev/null

row() { # name, report.json, cost [, reference report.json for the dynamic-degree column]
  python3 - "$B" "$@" <<'PY'
import json, os, re, subprocess, sys, tempfile
binary, name, path, cost = sys.argv[1:5]
ref = sys.argv[5] if len(sys.argv) > 5 else path
r = json.load(open(path))
f = lambda v: "-" if v is None else "%.2f" % (100 * v)
def dims(p): return {d["dimension"]: d for d in json.load(open(p))["dimensions"] if d.get("score") is not None}
d = dims(path)
dyn = d["dynamic_degree"]
still = [v["video_results"] for v in dyn["video_results"]
         if not re.search(r"moving|growing|shrinking|camera", os.path.basename(v["video_path"]))]
raw = {k: [v["score"], []] for k, v in d.items()}
raw["dynamic_degree"] = [dims(ref)["dynamic_degree"]["score"], []]
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as t: json.dump(raw, t)
out = subprocess.run([binary, "score", "--aggregate", t.name], capture_output=True, text=True, check=True).stdout
os.unlink(t.name)
at_ref = float(re.search(r"total_score=([0-9.]+)", out).group(1))
print("| %s | %s | %s | %s | %s | %.2f (%d of %d) | %.2f |" % (name, f(r.get("total_score")), f(r.get("quality_score")),
      f(r.get("semantic_score")), cost, dyn["score"], sum(still), len(still), at_ref))
PY
}
score() { # model, steps-or-empty, out-dir -> report path
  local model="$1" steps="$2" out="$3"
  rm -rf "$out"
  $B sample --model "$model" --prompts "$suite" --seeds 2 ${steps:+--steps "$steps"} --out "$out/clips" --quiet >/dev/null
  $B score "$out/clips" --suite "$suite" --out "$out/report.json" --quiet >/dev/null
  echo "$out/report.json"
}

echo "| run | Total | Quality | Semantic | cost | dynamic degree (still clips read as dynamic) | Total at the teacher's dynamic degree |"
echo "|---|---|---|---|---|---|---|"
t0=$(date +%s.%N); ref=$(score "$teacher" "" "$runs/teacher-50"); t1=$(date +%s.%N)
row "teacher, 50 DDIM steps + CFG (100 NFE)" "$ref" "$(printf '%.2f s/clip' "$(echo "($t1-$t0)/52" | bc -l)")" "$ref"
t0=$(date +%s.%N); r=$(score "$teacher" 4 "$runs/teacher-4"); t1=$(date +%s.%N)
row "teacher, 4 DDIM steps + CFG (8 NFE)" "$r" "$(printf '%.3f s/clip' "$(echo "($t1-$t0)/52" | bc -l)")" "$ref"
# Every switch of issue 19 with the default (configs/distill*.yaml; docs/results.md, "Ablations").
configs="${CONFIGS:-distill distill_no_is distill_is_authors_early distill_clean distill_clean_interval distill_mse distill_huber_vector distill_fake_x0_min_snr distill_fake5 distill_unify distill_unify_nostep distill_dmd2 distill_long}"
for cfg in $configs; do
  out="$runs/$cfg"
  rm -rf "$out"
  t0=$(date +%s.%N)
  $B distill --config "configs/$cfg.yaml" --teacher "$teacher" --out "$out" --eval-seeds 0 --quiet >"$out.log" 2>&1 \
    || { echo "| $cfg | failed: see $out.log | | | |"; continue; }
  t1=$(date +%s.%N)
  iters=$(sed -n 's/^distill: \([0-9]*\) iterations.*/\1/p' "$out.log")
  kept=$(sed -n 's/^keep_best: the student of iteration \([0-9]*\).*/, kept \1/p' "$out.log")
  cost="$(printf '%.0f s, %d it' "$(echo "$t1-$t0" | bc -l)" "$iters")$kept"
  if [ "$cfg" = distill_unify ] || [ "$cfg" = distill_unify_nostep ]; then
    for k in 1 2 4; do row "$cfg, sampled at $k steps" "$(score "$out/student" $k "$out/eval-$k")" "$cost" "$ref"; done
  else
    row "$cfg" "$(score "$out/student" "" "$out/eval")" "$cost" "$ref"
  fi
done
