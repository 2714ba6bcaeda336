"""How should torch's CPU threads wait? TD3 updates/s under each OpenMP setting, quiet and busy.

torch runs its CPU work on OpenMP threads (libgomp in the Linux wheels). Between two parallel
operations a thread either spins (fast to restart, but it holds a core) or sleeps (frees the
core, but waking it costs time). Which is better depends on whether anything else wants the
cores, so this script measures TD3's update (td3_teach, batch 256, HalfCheetah sizes, one update
per iteration) in a fresh process per setting, in three situations:

  quiet      nothing else runs;
  busy core  a pure-Python loop holds one core (a browser tab, a second notebook's Python);
  two runs   two identical trainings at once (two notebooks, two seeds); the slower is shown.

Settings (each set in the environment before torch starts, which is the only time OpenMP reads
it): 1 thread; 2 threads with libgomp's default (spin a while, then sleep); 2 threads with
``OMP_WAIT_POLICY=PASSIVE`` (sleep at once); 2 threads with ``GOMP_SPINCOUNT=1000`` (spin
briefly); and the package's default, what ``td3_teach.steady_threads()`` sets (the CLI and the
training notebooks call it first): half the cores, at most 4, with the short spin. The last lines
say whether that default is ever slower than 1 thread (the no-collapse target of issue 18), from
the median ratio of the two measured back to back.

    python benchmarks/threads.py             # 3 to 6 minutes on 2 cores
    python benchmarks/threads.py --seconds 1 # quicker, noisier
    python benchmarks/threads.py --json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = "td3_teach default (steady_threads)"
NOT_SLOWER = 0.95  # default/1-thread at or above this counts as "not slower" (noise is ~ +-5 %)
SETTINGS = {  # name -> (torch threads, environment); the default right after 1 thread: see main
    "1 thread": (1, {}),
    DEFAULT: (0, None),  # 0: torch's count from the environment steady_threads() wrote
    "2 threads, spin (libgomp default)": (2, {}),
    "2 threads, OMP_WAIT_POLICY=PASSIVE": (2, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "2 threads, GOMP_SPINCOUNT=1000": (2, {"GOMP_SPINCOUNT": "1000"}),
}
SITUATIONS = ("quiet", "busy core", "two runs")
OPENMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "KMP_BLOCKTIME")


def worker(threads: int, batch: int, seconds: float) -> None:
    """Print TD3 updates/s, measured for ``seconds`` after a warm-up (runs in its own process)."""
    import torch  # first: OpenMP reads its settings now, so td3_teach's default cannot step in
    sys.path.insert(0, str(ROOT))
    from benchmarks.throughput import make_learners

    if threads:
        torch.set_num_threads(threads)
    train = make_learners(5_000)["td3_teach"]
    train(10, batch)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        train(10, batch)
        done += 10
    print(done / (time.perf_counter() - t0))


def start(setting: str, batch: int, seconds: float) -> subprocess.Popen:
    threads, extra = SETTINGS[setting]
    env = {k: v for k, v in os.environ.items() if k not in OPENMP_VARS}
    env.update(package_choice() if extra is None else extra)
    cmd = [sys.executable, __file__, "--worker", str(threads), "--batch", str(batch),
           "--seconds", str(seconds)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)


def rate(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"worker failed (exit {proc.returncode})")
    return float(out.strip().splitlines()[-1])


def measure(setting: str, situation: str, batch: int, seconds: float) -> float:
    if situation == "quiet":
        return rate(start(setting, batch, seconds))
    if situation == "busy core":
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.2)
            return rate(start(setting, batch, seconds))
        finally:
            hog.kill()
            hog.wait()
    pair = [start(setting, batch, seconds), start(setting, batch, seconds)]
    return min(rate(p) for p in pair)


@functools.lru_cache(maxsize=1)
def package_choice() -> dict:
    """What ``td3_teach.steady_threads()`` sets (before torch, as the CLI and notebooks call it),
    read from a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in OPENMP_VARS}
    code = ("import os, td3_teach, json; td3_teach.steady_threads(); "
            f"print(json.dumps({{k: os.environ.get(k) for k in {OPENMP_VARS!r}}}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return {k: v for k, v in json.loads(out.stdout).items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per cell (median)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.worker is not None:  # 0: the package default (no set_num_threads)
        worker(args.worker, args.batch, args.seconds)
        return 0

    table: dict[str, dict[str, list[float]]] = {s: {k: [] for k in SITUATIONS} for s in SETTINGS}
    # Settings take turns, so slow drifts hit all alike; within a situation the default runs
    # right after 1 thread, and the verdict is the median of those back-to-back pairs' ratios
    # (two measurements of the same setting a minute apart differed by up to 10 % here).
    for _ in range(args.repeats):
        for situation in SITUATIONS:
            for setting in SETTINGS:
                table[setting][situation].append(measure(setting, situation, args.batch, args.seconds))
    sys.path.insert(0, str(ROOT))
    from td3_teach.onednn import cpu_name  # imports torch here, in the parent, which trains nothing

    result = {"batch_size": args.batch, "cpu_count": os.cpu_count(), "cpu": cpu_name(),
              "seconds": args.seconds, "repeats": args.repeats,
              "td3_teach_sets": package_choice(),
              "updates_per_s": {s: {k: statistics.median(v) for k, v in row.items()}
                                for s, row in table.items()},
              "default_over_1_thread": {k: statistics.median(d / o for d, o in zip(
                  table[DEFAULT][k], table["1 thread"][k])) for k in SITUATIONS}}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("\n".join(report(result)))
    return 0


def report(result: dict) -> list[str]:
    """The table, what the package's default sets, and one verdict line per situation."""
    lines = [f"TD3 updates/s (td3_teach, batch {result['batch_size']}, median of "
             f"{result['repeats']} x {result['seconds']:g} s), {result['cpu_count']} CPUs"
             + (f" ({result['cpu']})" if "cpu" in result else ""),
             f"{'setting':<36}" + "".join(f"{s:>12}" for s in SITUATIONS)]
    for setting, row in result["updates_per_s"].items():
        lines.append(f"{setting:<36}" + "".join(f"{row[s]:>12.1f}" for s in SITUATIONS))
    lines.append(f"td3_teach.steady_threads() (before torch) sets: {result['td3_teach_sets'] or 'nothing'}")
    one, ours = result["updates_per_s"]["1 thread"], result["updates_per_s"][DEFAULT]
    paired = result.get("default_over_1_thread", {})
    for situation in SITUATIONS:
        ratio = paired.get(situation, ours[situation] / one[situation])
        verdict = "met" if ratio >= NOT_SLOWER else "NOT met"
        lines.append(f"target: default not slower than 1 thread, {situation}: {ratio:.2f}x 1 thread: {verdict}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
