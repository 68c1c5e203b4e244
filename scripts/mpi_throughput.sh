#!/usr/bin/env bash
# Pretraining throughput of the shipped teacher's recipe (configs/pretrain.yaml, batch 32) with one
# process of two threads against two ranks of one thread (mpirun -np 2), alternating, R rounds; steps
# 3..STEPS of each run are timed from the log (the codec fit and start-up are excluded), and the
# allreduce time per step is read from the 2-rank log. Usage: scripts/mpi_throughput.sh [BIN] [STEPS] [R]
set -euo pipefail
BIN=${1:-.build/release/tdm-video}
STEPS=${2:-12}
R=${3:-3}
W=/tmp/tdm-mpi-throughput
rm -rf "$W" && mkdir -p "$W"
sed -e 's/log_every: *[0-9]*/log_every: 1/' -e 's/checkpoint_every: *[0-9]*/checkpoint_every: 100000/' configs/pretrain.yaml > "$W/p.yaml"
rate() { python3 -c "
import json,sys
L=[json.loads(l) for l in open('$1')]; a=[l for l in L if l['step']==2][0]; b=L[-1]
print('%.3f %.4f' % ((b['step']-a['step'])/(b['elapsed_s']-a['elapsed_s']), (b.get('allreduce_s',0)-a.get('allreduce_s',0))/(b['step']-a['step'])))"; }
for r in $(seq 1 "$R"); do
  rm -rf "$W/one" "$W/two"
  TDM_THREADS=2 "$BIN" pretrain --config "$W/p.yaml" --out "$W/one" --quiet --stop-after "$STEPS" > /dev/null
  mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none -x TDM_THREADS=1 "$BIN" pretrain --config "$W/p.yaml" --out "$W/two" --quiet --stop-after "$STEPS" > /dev/null
  read s1 _ < <(rate "$W/one/train_log.jsonl")
  read s2 a2 < <(rate "$W/two/train_log.jsonl")
  echo "round $r: N=1 (2 threads) $s1 steps/s ($(python3 -c "print('%.1f' % ($s1*32))") clips/s); N=2 (1 thread each) $s2 steps/s ($(python3 -c "print('%.1f' % ($s2*32))") clips/s), allreduce $(python3 -c "print('%.1f' % ($a2*1000))") ms/step"
done
