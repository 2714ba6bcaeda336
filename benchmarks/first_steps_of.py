"""Store the first N steps of a longer stored run as the N-step run (saves retraining it).

    python benchmarks/first_steps_of.py SOURCE.csv --steps 30000 --variant TD3 --seed 0 \\
        --env Hopper-v5 --runs benchmarks/results/single_runs [the benchmark's other settings]

A run's first N steps do not depend on how long it goes on: same seed, same updates, the replay
memory never wraps (it is sampled by index below its fill), evaluations and measurements at the
same steps from the same seeds. So the N-step run's records are the longer run's records up to
step N, and the stored copy is what ``benchmarks/ablation.py --steps N`` would have written
(``run_cached`` reuses it because the settings match). Rerunning the benchmark without it gives
the same numbers, only slower. The wall time stored is the longer run's at step N.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from td3_teach.overestimation import RECORD_FIELDS, run_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for its shared options
import overestimation as bench  # noqa: E402  (benchmarks/overestimation.py)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="the longer run's records (seedS.csv or SEED.run/overestimation.csv)")
    p.add_argument("--variant", required=True)
    bench.common_args(p)
    args = p.parse_args(argv)
    with open(args.source, newline="") as f:
        rows = [r for r in csv.DictReader(f) if float(r["step"]) <= args.steps]
    if not rows or float(rows[-1]["step"]) != args.steps:
        raise SystemExit(f"{args.source} has no measurement at step {args.steps}.")
    (seed,) = args.seeds
    settings = run_settings(args.env, args.variant, seed, args.steps, args.batch_size,
                            start_steps=args.start_steps, measure_every=args.measure_every,
                            eval_episodes=args.eval_episodes,
                            measure_episodes=args.measure_episodes)
    folder = Path(args.runs) / args.env / args.variant
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"seed{seed}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RECORD_FIELDS)
        w.writeheader()
        w.writerows({k: r[k] for k in RECORD_FIELDS} for r in rows)
    wall = float(rows[-1]["wall_time"])
    (folder / f"seed{seed}.json").write_text(json.dumps(
        {"settings": settings, "wall_time": wall, "steps_per_s": args.steps / wall,
         "first_steps_of": str(args.source)}, indent=1))
    print(f"{args.variant} seed {seed}: first {args.steps} steps of {args.source} stored in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
