"""Overestimation benchmark (the paper's Figure 1): critic estimate vs true value over training.

    python benchmarks/overestimation.py --env Pendulum-v1 --steps 15000 --seeds 0 1 2 3 4

Trains DDPG-style (``TD3Config.ddpg()``: TD3's networks and hyperparameters, all three tricks
off) and TD3 on each seed. Every ``--measure-every`` steps ``td3_teach.overestimation.measure``
compares the critic's mean Q1(s, pi(s)) over the states of 5 fresh deterministic episodes with
the discounted return really collected from those states (Monte Carlo, gamma 0.99, each return
summed over at least 459 steps past the time limit; see the module's docstring on truncation).

Writes to ``--results`` (benchmarks/results/):
  overestimation_ENV.csv  every measurement: method, seed, step, estimate, true, bias, eval_return
  overestimation_ENV.png  estimate (solid) and true value (dashed), mean over seeds, and the bias
  overestimation_ENV.md   the final measurement per method, mean +/- std over seeds, and how
                          it was produced (command, settings, wall times)

Runs are stored in ``--runs`` and reused when the settings match, so the ablation benchmark
(benchmarks/ablation.py, same --runs) and this one train TD3 and DDPG-style only once.
One torch thread per run; runs go one after another.

Why Pendulum-v1 and batch 100: see benchmarks/results/provenance.md (a 2-core CPU, shared).
"""

from __future__ import annotations

import argparse
import csv
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from td3_teach.overestimation import run_cached

RESULTS = Path(__file__).resolve().parent / "results"
ZOOM = 30.0  # y-range of the "policy works" panel; points beyond it are drawn at its edge
METHODS = ("DDPG-style", "TD3")
COLORS = {"DDPG-style": "tab:red", "TD3": "tab:blue", "TD3-CDQ": "tab:orange",
          "TD3-TPS": "tab:green", "TD3-DP": "tab:purple", "CDQ": "tab:cyan"}


def common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="Pendulum-v1")
    p.add_argument("--steps", type=int, default=15_000, help="env steps per run (15000)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--batch-size", type=int, default=100,
                   help="TD3 batch size (100, the paper's Table 3 value)")
    p.add_argument("--start-steps", type=int, default=1_000, help="random warm-up steps (1000)")
    p.add_argument("--measure-every", type=int, default=1_000,
                   help="steps between evaluations + measurements (1000)")
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--measure-episodes", type=int, default=5)
    p.add_argument("--runs", default="runs/ablation", help="where single runs are stored")
    p.add_argument("--results", default=str(RESULTS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint-every", type=int, default=0,
                   help="checkpoint each run every N steps into --runs, and resume a stopped "
                        "run from there when the same command is run again (0: no checkpoints)")


def train_all(args, methods) -> dict[str, dict[int, dict]]:
    """Every (method, seed), seeds in the outer loop so an early stop leaves whole seeds."""
    torch.set_num_threads(args.threads)
    out: dict[str, dict[int, dict]] = {m: {} for m in methods}
    for seed in args.seeds:
        for m in methods:
            out[m][seed] = run_cached(
                args.runs, m, seed, env_id=args.env, steps=args.steps, batch_size=args.batch_size,
                log=lambda s: print(s, flush=True), start_steps=args.start_steps,
                measure_every=args.measure_every, eval_episodes=args.eval_episodes,
                measure_episodes=args.measure_episodes, checkpoint_every=args.checkpoint_every)
    return out


def stack(runs: dict[int, dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values (n_seeds, n_steps)) of one column over the seeds of one method."""
    steps = np.array([r["step"] for r in next(iter(runs.values()))["records"]])
    vals = np.array([[r[key] for r in run["records"]] for run in runs.values()])
    return steps, vals


def mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and sample std (ddof=1; 0 for a single seed) over seeds."""
    return float(np.mean(x)), float(np.std(x, ddof=1)) if len(x) > 1 else 0.0


def provenance(args, runs: dict[str, dict[int, dict]]) -> list[str]:
    lines = ["## How this was produced", "",
             "```", "python " + " ".join(shlex.quote(a) for a in sys.argv), "```", "",
             f"env {args.env}; {args.steps} env steps per run ({args.start_steps} random warm-up "
             f"steps, then one update per step); batch {args.batch_size}; seeds "
             f"{', '.join(map(str, args.seeds))}; evaluation ({args.eval_episodes} episodes) and "
             f"measurement ({args.measure_episodes} fresh episodes) every {args.measure_every} "
             f"steps; torch {torch.__version__}, {args.threads} thread(s), "
             f"{platform.processor() or platform.machine()}, on a 2-core machine shared with "
             "other jobs (wall times are only indicative).", "",
             "| run | seed | wall time (s) | steps/s |", "|---|---|---|---|"]
    for m, by_seed in runs.items():
        for seed, r in by_seed.items():
            lines.append(f"| {m} | {seed} | {r['wall_time']:.0f} | {r['steps_per_s']:.0f} |")
    total = sum(r["wall_time"] for by in runs.values() for r in by.values())
    return lines + ["", f"Total training wall time: {total:.0f} s ({total / 60:.1f} min)."]


def write_runs_csv(path: Path, runs: dict, first: str, fields: list[str]) -> None:
    """One row per (method or variant, seed, measurement): ``first``, seed, step, then ``fields``."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([first, "seed", "step", *fields])
        for name, by_seed in runs.items():
            for seed, run in by_seed.items():
                for r in run["records"]:
                    w.writerow([name, seed, int(r["step"]), *(f"{r[k]:.3f}" for k in fields)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(p)
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--works-above", type=float, default=None,
                   help="'the policy works': evaluation return at least this, for the zoomed "
                        "third panel and table (Pendulum's default -250; none elsewhere)")
    args = p.parse_args(argv)
    if args.works_above is None and args.env.startswith("Pendulum"):
        args.works_above = -250.0
    t0 = time.perf_counter()
    runs = train_all(args, args.methods)

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    stem = f"overestimation_{args.env}"
    write_runs_csv(results / f"{stem}.csv", runs, "method",
                   ["estimate", "true", "bias", "eval_return"])
    plot(runs, results / f"{stem}.png", args.env, args.works_above, args.start_steps)

    n = len(args.seeds)
    lines = [f"# Overestimation: {args.env}, critic estimate vs true value", "",
             f"estimate = mean Q1(s, pi(s)) over the states of {args.measure_episodes} fresh "
             "deterministic episodes; true = mean discounted Monte Carlo return from the same "
             "states; bias = estimate - true (> 0: overestimation). Mean +/- std over "
             f"{n} seeds (sample std).", "",
             f"## At the final measurement (step {args.steps})", "",
             "| method | estimate | true | bias | seeds with bias > 0 | final eval return |",
             "|---|---|---|---|---|---|"]
    wa = args.works_above if args.works_above is not None else float("inf")
    half = args.steps / 2
    late_lines = [
        "", f"## Second half of the runs (measurements after step {half:,.0f})", "",
        "Each seed's mean over its measurements in the second half of the run, then mean +/- "
        "std over seeds; relative = estimate / true - 1 over those measurements.", "",
        "| method | estimate | true | bias | relative bias | seeds with bias > 0 |",
        "|---|---|---|---|---|---|"]
    works_lines = [
        "", f"## Once the policy works (evaluation return >= {wa:g})", "",
        "While a policy is still changing, its true value moves faster than the critic can "
        "follow, and the gap says more about that lag than about overestimation (at step 0 the "
        "critic outputs ~0 while the true value is in the hundreds below it). So here only the "
        "measurements taken when the trainer's evaluation return was at least "
        f"{wa:g} are pooled (all seeds, all steps after the warm-up).", "",
        "| method | measurements | mean bias | median bias | share with bias > 0 | "
        "measurements with estimate > 0 |", "|---|---|---|---|---|---|"]
    for m, by_seed in runs.items():
        steps, est = stack(by_seed, "estimate")
        _, tru = stack(by_seed, "true")
        _, ret = stack(by_seed, "eval_return")
        bias = est - tru
        e, t, b = mean_std(est[:, -1]), mean_std(tru[:, -1]), mean_std(bias[:, -1])
        r = mean_std(ret[:, -1])
        lines.append(f"| {m} | {e[0]:.1f} +/- {e[1]:.1f} | {t[0]:.1f} +/- {t[1]:.1f} | "
                     f"{b[0]:+.1f} +/- {b[1]:.1f} | {int((bias[:, -1] > 0).sum())}/{n} | "
                     f"{r[0]:.1f} +/- {r[1]:.1f} |")
        late = steps > half
        le, lt = est[:, late].mean(1), tru[:, late].mean(1)
        le_, lt_, lb_ = mean_std(le), mean_std(lt), mean_std(le - lt)
        late_lines.append(f"| {m} | {le_[0]:.1f} +/- {le_[1]:.1f} | {lt_[0]:.1f} +/- {lt_[1]:.1f} | "
                          f"{lb_[0]:+.1f} +/- {lb_[1]:.1f} | {100 * (le.mean() / lt.mean() - 1):+.0f} % | "
                          f"{int((le - lt > 0).sum())}/{n} |")
        works = (ret >= wa) & (steps > args.start_steps)[None, :]
        bw = bias[works]
        if bw.size:
            works_lines.append(
                f"| {m} | {bw.size} | {bw.mean():+.1f} | {np.median(bw):+.1f} | "
                f"{100 * (bw > 0).mean():.0f} % | {int((est[works] > 0).sum())} |")
        else:
            works_lines.append(f"| {m} | 0 | - | - | - | - |")
    lines += late_lines
    if args.works_above is not None:
        lines += works_lines
    if "Pendulum" in args.env:
        lines += ["", "Pendulum's rewards are all <= 0, so every true value is <= 0 and an "
                  "estimate above 0 is an overestimate whatever the truth."]
    lines += ["", f"![estimate vs true]({stem}.png)", ""] + provenance(args, runs)
    lines.append(f"Script wall time (including reused runs read from disk): "
                 f"{time.perf_counter() - t0:.0f} s.")
    (results / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def plot(runs: dict[str, dict[int, dict]], path: Path, env_id: str,
         works_above: float | None = -250.0, start_steps: int = 0) -> None:
    """Estimate vs true value, and the bias; a third, zoomed panel of the measurements taken
    while the policy works when ``works_above`` is given (Pendulum)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if works_above is None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    else:
        fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    for m, by_seed in runs.items():
        c = COLORS.get(m)
        steps, est = stack(by_seed, "estimate")
        _, tru = stack(by_seed, "true")
        for ax, vals, ls, lab in ((ax1, est, "-", "estimate Q1(s, pi(s))"),
                                  (ax1, tru, "--", "true discounted return")):
            mu, sd = vals.mean(0), vals.std(0)
            ax.plot(steps, mu, ls, c=c, label=f"{m}: {lab}")
            ax.fill_between(steps, mu - sd, mu + sd, color=c, alpha=0.12)
        b = est - tru
        ax2.plot(steps, b.mean(0), c=c, label=f"{m} ({len(by_seed)} seeds)")
        ax2.fill_between(steps, b.mean(0) - b.std(0), b.mean(0) + b.std(0), color=c, alpha=0.15)
        if works_above is None:
            continue
        _, ret = stack(by_seed, "eval_return")
        works = (ret >= works_above) & (steps > start_steps)[None, :]
        jitter = {"DDPG-style": -60, "TD3": 60}.get(m, 0)
        x, y = np.broadcast_to(steps, b.shape)[works] + jitter, b[works]
        inside = np.abs(y) <= ZOOM
        ax3.scatter(x[inside], y[inside], s=14, c=c, alpha=0.7,
                    label=f"{m}: median {np.median(y):+.1f} ({y.size} points)" if y.size else m)
        ax3.scatter(x[~inside], np.sign(y[~inside]) * ZOOM, marker="^", s=30, c=c)
        for xi, yi in zip(x[~inside], y[~inside]):
            ax3.annotate(f"{yi:+.0f}", (xi, np.sign(yi) * ZOOM), fontsize=7, xytext=(4, -10),
                         textcoords="offset points")
    ax1.set(xlabel="env steps", ylabel="value", title=f"{env_id}: critic estimate vs true value")
    ax2.axhline(0, c="k", lw=0.8)
    ax2.set(xlabel="env steps", ylabel="estimate - true",
            title="bias (> 0: overestimation); mean +/- std over seeds")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=8)
    if works_above is not None:
        ax3.axhline(0, c="k", lw=0.8)
        ax3.set_ylim(-ZOOM * 1.1, ZOOM * 1.1)
        ax3.set(xlabel="env steps", ylabel="estimate - true",
                title=f"bias once the policy works (eval >= {works_above:g})")
        ax3.legend(fontsize=8)
    for ax in fig.axes:  # 25,000 / 30,000 ... do not run into each other
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
