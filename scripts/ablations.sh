#!/usr/bin/env bash
# The TDM ablation table (issues 18 and 19): distils a student with each config in configs/distill*.yaml from
# the teacher, samples every student on the held-out suite (SEEDS seeds per prompt, default 16), scores it with
# VBenchLite 2 against the world's own clips, and prints one Markdown table: the VBench-comparable Total, the
# distribution metrics with their 95 % bootstrap intervals (recall, diversity, precision, Frechet distance,
# sharpness gap, still-prompt motion), and the wall clock of each distillation (with the iteration keep_best
# kept), next to the teacher at its default (100 NFE) and at 4 DDIM steps, and the world's own clips (the floor).
# Every run's clips, reports and logs stay in RUNS.
# SUITE names the held-out suite (default configs/suites/heldout_full_info.json; a fine-world teacher is scored on
# configs/suites/heldout_fine_info.json, whose world facts make the reference clips fine).
# Usage: [SEEDS=16] [SUITE=...] [CONFIGS="distill distill_no_is ..."] scripts/ablations.sh [TEACHER=models/teacher] [RUNS=runs/ablations]
set -euo pipefail
teacher="${1:-models/teacher}"
runs="${2:-runs/ablations}"
seeds="${SEEDS:-16}"
B=.build/release/tdm-video
suite="${SUITE:-configs/suites/heldout_full_info.json}"
[ -f "$suite" ] || { echo "ablations.sh: no suite file $suite" >&2; exit 1; }
mkdir -p "$runs"
[ -x "$B" ] || swift build -c release >/dev/null

row() { # name, report.json, cost
  python3 - "$@" <<'PY'
import json, sys
name, path, cost = sys.argv[1:4]
r = json.load(open(path))
d = {m["name"]: m for m in (r.get("distribution") or {}).get("metrics", [])}
def m(k, fmt="%.3f"):
    if k not in d: return "-"
    x = d[k]
    return (fmt + " [" + fmt + ", " + fmt + "]") % (x["value"], x["low"], x["high"])
print("| %s | %.2f | %s | %s | %s | %s | %s | %s | %s |" % (name, 100 * r["total_score"], m("recall"), m("diversity"),
      m("precision"), m("frechet_distance"), m("sharpness_gap"), m("still_motion", "%.2f"), cost))
PY
}
floor() { # report.json -> the floor row (the world's own clips of other seeds, scored as a model)
  python3 - "$1" <<'PY'
import json, sys
d = {m["name"]: m for m in json.load(open(sys.argv[1]))["distribution"]["metrics"]}
def m(k, fmt="%.3f"):
    x = d[k]
    return "-" if x.get("floor") is None else (fmt + " [" + fmt + ", " + fmt + "]") % (x["floor"], x["floor_low"], x["floor_high"])
print("| floor: the world's own clips, other seeds | | %s | %s | %s | %s | %s | %s | |" % (m("recall"), m("diversity"),
      m("precision"), m("frechet_distance"), m("sharpness_gap"), m("still_motion", "%.2f")))
PY
}
score() { # model, steps-or-empty, out-dir -> report path
  local model="$1" steps="$2" out="$3"
  rm -rf "$out"
  $B sample --model "$model" --prompts "$suite" --seeds "$seeds" ${steps:+--steps "$steps"} --out "$out/clips" --quiet >/dev/null
  $B score "$out/clips" --suite "$suite" --out "$out/report.json" --quiet >/dev/null
  echo "$out/report.json"
}
clips=$(( $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$suite") * seeds ))

echo "| run | Total | recall | diversity | precision | Frechet distance | sharpness gap | still motion | cost |"
echo "|---|---|---|---|---|---|---|---|---|"
t0=$(date +%s.%N); ref=$(score "$teacher" "" "$runs/teacher-default"); t1=$(date +%s.%N)
row "teacher, its default sampling" "$ref" "$(printf '%.3f s/clip' "$(echo "($t1-$t0)/$clips" | bc -l)")"
t0=$(date +%s.%N); r=$(score "$teacher" 4 "$runs/teacher-4"); t1=$(date +%s.%N)
row "teacher, 4 DDIM steps" "$r" "$(printf '%.3f s/clip' "$(echo "($t1-$t0)/$clips" | bc -l)")"
# Every switch of issue 19 with the default (configs/distill*.yaml; docs/results.md, "Ablations").
configs="${CONFIGS:-distill distill_no_is distill_is_authors_early distill_clean distill_clean_interval distill_mse distill_huber_vector distill_fake_x0_min_snr distill_fake5 distill_unify distill_unify_nostep distill_dmd2 distill_long}"
for cfg in $configs; do
  out="$runs/$cfg"
  rm -rf "$out"
  t0=$(date +%s.%N)
  $B distill --config "configs/$cfg.yaml" --teacher "$teacher" --out "$out" --sheet-prompts 0 --quiet >"$out.log" 2>&1 \
    || { echo "| $cfg | failed: see $out.log | | | | | | | |"; continue; }
  t1=$(date +%s.%N)
  iters=$(sed -n 's/^distill: \([0-9]*\) iterations.*/\1/p' "$out.log")
  kept=$(sed -n 's/^keep_best: the student of iteration \([0-9]*\).*/, kept \1/p' "$out.log")
  cost="$(printf '%.0f s, %s it' "$(echo "$t1-$t0" | bc -l)" "${iters:-?}")$kept"
  if [ "$cfg" = distill_unify ] || [ "$cfg" = distill_unify_nostep ]; then
    for k in 1 2 4; do row "$cfg, sampled at $k steps" "$(score "$out/student" $k "$out/eval-$k")" "$cost"; done
  else
    row "$cfg" "$(score "$out/student" "" "$out/eval")" "$cost"
  fi
done
floor "$ref"
