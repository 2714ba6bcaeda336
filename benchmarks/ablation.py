"""Ablation benchmark (the paper's Table 2): TD3, TD3 without each trick, and DDPG-style.

    python benchmarks/ablation.py --env Pendulum-v1 --steps 15000 --seeds 0 1 2

Five variants (``td3_teach.overestimation.VARIANTS``), named as in the paper's section 6.2:
  TD3         all three tricks
  TD3-CDQ     without clipped double Q-learning (one critic in the target; sec. 4.2)
  TD3-TPS     without target policy smoothing (no noise on a'; sec. 5.3)
  TD3-DP      without delayed policy updates (actor and targets every iteration; sec. 5.2)
  DDPG-style  none of the three (the paper's "AHE": TD3's architecture and hyperparameters)

Every run also measures overestimation (estimate vs true value, as benchmarks/overestimation.py).
Writes to ``--results`` (benchmarks/results/):
  ablation_ENV.csv        per variant: final evaluation return and final bias, mean/std over seeds
  ablation_ENV_runs.csv   every evaluation of every run (variant, seed, step, eval_return, bias)
  ablation_ENV.md         the table, and the command, settings and wall times
  ablation_ENV.png        learning curves, mean +/- std over seeds, and the bias over training
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from td3_teach.overestimation import ABLATION, VARIANTS

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for its shared options
import overestimation as bench  # noqa: E402  (benchmarks/overestimation.py)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench.common_args(p)
    p.add_argument("--variants", nargs="+", default=list(ABLATION), choices=list(VARIANTS))
    p.add_argument("--last", type=int, default=5,
                   help="also average the last N evaluations of each run (the paper used 10)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    runs = bench.train_all(args, args.variants)

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    stem = f"ablation_{args.env}"
    bench.write_runs_csv(results / f"{stem}_runs.csv", runs, "variant",
                         ["eval_return", "estimate", "true", "bias"])

    n = len(args.seeds)
    summary = []
    for v, by_seed in runs.items():
        _, ret = bench.stack(by_seed, "eval_return")
        _, bias = bench.stack(by_seed, "bias")
        final, last = bench.mean_std(ret[:, -1]), bench.mean_std(ret[:, -args.last:].mean(1))
        b = bench.mean_std(bias[:, -1])
        summary.append({"variant": v, "seeds": n, "final_return_mean": final[0],
                        "final_return_std": final[1], f"last{args.last}_return_mean": last[0],
                        f"last{args.last}_return_std": last[1], "final_bias_mean": b[0],
                        "final_bias_std": b[1]})
    with open(results / f"{stem}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        for row in summary:
            w.writerow({k: (f"{x:.2f}" if isinstance(x, float) else x) for k, x in row.items()})

    lines = [f"# Ablation: {args.env}, {args.steps} steps, {n} seeds", "",
             f"Evaluation return of the deterministic policy ({args.eval_episodes} episodes), mean "
             f"+/- std over seeds (sample std). 'final' is the evaluation at step {args.steps}; "
             f"'last {args.last}' averages each run's last {args.last} evaluations first (the paper's "
             "Table 2 averages the last 10 of 1M steps). bias = critic estimate - true value at "
             "the final measurement (> 0: overestimation).", "",
             f"| variant | final return | last {args.last} evaluations | final bias |",
             "|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['variant']} | {s['final_return_mean']:.1f} +/- {s['final_return_std']:.1f} | "
                     f"{s[f'last{args.last}_return_mean']:.1f} +/- {s[f'last{args.last}_return_std']:.1f} | "
                     f"{s['final_bias_mean']:+.1f} +/- {s['final_bias_std']:.1f} |")
    lines += ["", f"![learning curves]({stem}.png)", ""] + bench.provenance(args, runs)
    lines.append(f"Script wall time (including reused runs read from disk): "
                 f"{time.perf_counter() - t0:.0f} s.")
    (results / f"{stem}.md").write_text("\n".join(lines) + "\n")
    plot(runs, results / f"{stem}.png", args)
    print("\n".join(lines))
    return 0


def plot(runs, path: Path, args) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for v, by_seed in runs.items():
        c = bench.COLORS.get(v)
        for ax, key in ((ax1, "eval_return"), (ax2, "bias")):
            steps, vals = bench.stack(by_seed, key)
            keep = steps > (args.start_steps if key == "bias" else -1)
            mu, sd = vals.mean(0)[keep], vals.std(0)[keep]
            ax.plot(steps[keep], mu, c=c, label=v, lw=2 if v in ("TD3", "DDPG-style") else 1.2)
            ax.fill_between(steps[keep], mu - sd, mu + sd, color=c, alpha=0.1)
    ax1.set(xlabel="env steps", ylabel="evaluation return",
            title=f"{args.env}: learning curves ({len(args.seeds)} seeds, mean +/- std)")
    ax2.axhline(0, c="k", lw=0.8)
    ax2.set(xlabel="env steps", ylabel="critic estimate - true value",
            title="overestimation bias after the warm-up")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):  # 25,000 / 30,000 ... do not run into each other
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
