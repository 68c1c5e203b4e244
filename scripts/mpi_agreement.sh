#!/usr/bin/env bash
# Two ranks of one thread (mpirun -np 2, TDM_THREADS=1) against one process of two threads
# (TDM_THREADS=2), same config and seed: 50 pretraining steps, then 20 TDM iterations from that
# teacher; prints the worst relative difference of the logged losses and of the final weights.
# Then a kill-and-resume: a 2-rank pretraining run has one rank killed (SIGKILL) after its step-30
# checkpoint and is resumed (by 2 ranks, and by 1 process); both must give the uninterrupted weights.
# Usage: scripts/mpi_agreement.sh [BIN] [WORKDIR]   (numbers go to docs/results.md)
set -euo pipefail
BIN=${1:-.build/release/tdm-video}
W=${2:-/tmp/tdm-mpi-agreement}
MPI=(mpirun -np 2 --oversubscribe --allow-run-as-root -x TDM_THREADS=1)
rm -rf "$W" && mkdir -p "$W"
sed -e 's/steps: 6, batch: 2/steps: 50, batch: 4/' -e 's/checkpoint_every: 3/checkpoint_every: 10/' configs/tiny_pretrain.yaml > "$W/pretrain.yaml"
sed -e 's/iterations: 4, batch: 2/iterations: 20, batch: 2/' -e 's/checkpoint_every: 2/checkpoint_every: 5/' configs/tiny_distill.yaml > "$W/distill.yaml"
compare() { python3 scripts/compare_runs.py "$@"; }
t0=$(date +%s.%N)
"${MPI[@]}" "$BIN" pretrain --config "$W/pretrain.yaml" --out "$W/p2" --quiet --eval-seeds 0 > /dev/null
t1=$(date +%s.%N)
TDM_THREADS=2 "$BIN" pretrain --config "$W/pretrain.yaml" --out "$W/p1" --quiet --eval-seeds 0 > /dev/null
t2=$(date +%s.%N)
echo "pretrain 50 steps: 2 ranks x 1 thread $(echo "$t1 - $t0" | bc) s, 1 process x 2 threads $(echo "$t2 - $t1" | bc) s"
compare pretrain "$W/p2" "$W/p1"
"${MPI[@]}" "$BIN" distill --config "$W/distill.yaml" --teacher "$W/p1/model" --out "$W/d2" --quiet --eval-seeds 0 --sheet-prompts 0 > /dev/null
TDM_THREADS=2 "$BIN" distill --config "$W/distill.yaml" --teacher "$W/p1/model" --out "$W/d1" --quiet --eval-seeds 0 --sheet-prompts 0 > /dev/null
compare distill "$W/d2" "$W/d1"

# Kill a rank after the step-30 checkpoint, then resume.
"${MPI[@]}" "$BIN" pretrain --config "$W/pretrain.yaml" --out "$W/k" --quiet --eval-seeds 0 > /dev/null 2>&1 &
launcher=$!
until [ -f "$W/k/train_log.jsonl" ] && grep -q '"step":32' "$W/k/train_log.jsonl" 2>/dev/null; do sleep 0.05; done
victim=$(pgrep -f "tdm-video pretrain --config $W/pretrain.yaml --out $W/k" | grep -v "^$launcher\$" | tail -1)
kill -9 "$victim"
wait "$launcher" || echo "killed rank $victim at step $(tail -1 "$W/k/train_log.jsonl" | sed 's/.*"step":\([0-9]*\).*/\1/'); mpirun stopped the run"
cp -r "$W/k" "$W/k1"
"${MPI[@]}" "$BIN" pretrain --config "$W/pretrain.yaml" --out "$W/k" --quiet --eval-seeds 0 --resume > /dev/null
TDM_THREADS=2 "$BIN" pretrain --config "$W/pretrain.yaml" --out "$W/k1" --quiet --eval-seeds 0 --resume > /dev/null
echo "resumed by 2 ranks vs uninterrupted 2 ranks:"; compare pretrain "$W/k" "$W/p2"
cmp -s "$W/k/model/diffusion_pytorch_model.safetensors" "$W/p2/model/diffusion_pytorch_model.safetensors" && echo "  weights bit-identical"
echo "resumed by 1 process vs uninterrupted 2 ranks:"; compare pretrain "$W/k1" "$W/p2"
