#!/usr/bin/env bash
# The 18 Hopper-v5 runs of notebook 20 (issue 19), two at a time (one per core), then the reports.
# Resumable: stop it any time and run it again; finished runs are reused from
# benchmarks/results/single_runs/, unfinished ones continue from their checkpoints.
#   bash benchmarks/hopper_runs.sh            (about an hour on two quiet cores)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
C="--env Hopper-v5 --steps ${STEPS:-30000} --batch-size 100 --start-steps 1000 --measure-every 5000
   --eval-episodes 10 --measure-episodes 5 --runs benchmarks/results/single_runs --checkpoint-every 5000"
run() { OMP_NUM_THREADS=1 "$PY" benchmarks/ablation.py $C --results "$1" --seeds 0 1 2 --variants "${@:2}"; }
tmp=$(mktemp -d)
run "$tmp/a" TD3 DDPG-style CDQ > "$tmp/a.log" 2>&1 &
run "$tmp/b" TD3-CDQ TD3-TPS TD3-DP > "$tmp/b.log" 2>&1 &
wait
"$PY" benchmarks/overestimation.py $C --seeds 0 1 2 --methods DDPG-style CDQ TD3
"$PY" benchmarks/ablation.py $C --seeds 0 1 2 --variants TD3 TD3-CDQ TD3-TPS TD3-DP DDPG-style
