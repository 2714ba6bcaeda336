"""Learning benchmark: train TD3 with the authors' settings and print the evaluation curve.

    python benchmarks/learning.py --env HalfCheetahBulletEnv-v0 --steps 300000 --seeds 0

Each seed is one ``td3_teach.trainer.train`` run in ``--out/ENV/seedS`` (checkpointed, so
running the same command again resumes an interrupted run). Settings are the authors'
(sfujim/TD3 main.py and the paper): 25,000 random warm-up steps, Gaussian exploration noise 0.1,
one update per step, batch 256, lr 3e-4, gamma 0.99, tau 0.005, policy noise 0.2 (clip 0.5),
policy delay 2; evaluation every 5,000 steps over 10 deterministic episodes (seeds seed+100+k).

At the end ``benchmarks/results/learning_ENV.csv`` gets every seed's curve,
``benchmarks/results/learning_ENV.md`` a summary (final and best evaluation, wall time) and
``learning_ENV.png`` the plot. For a MuJoCo task (HalfCheetah-v5, Hopper-v5, ...) the plot draws
the curve over the authors' own 10-seed band (``td3_teach.authors_curves``, the paper's v1
runs) and the summary compares the two every 50,000 steps.

    python benchmarks/learning.py --env HalfCheetah-v5 --steps 300000 --seeds 0
    python benchmarks/learning.py --env HalfCheetah-v5 --runs-from /work/runs/HalfCheetah-v5_s{seed} --seeds 0

``--runs-from`` trains nothing: it reads runs made elsewhere (``td3-teach train --out DIR``),
``{seed}`` standing for each seed, and summarises, compares and plots them as far as they got.

For comparison (other code, other settings, so only a rough guide): rl-baselines3-zoo's
TD3 on HalfCheetahBulletEnv-v0 reports 2821 +/- 20 after 1M steps (huggingface.co/sb3/
td3-HalfCheetahBulletEnv-v0; gamma 0.98, lr 1e-3, buffer 200k, 10k warm-up, TimeFeatureWrapper).
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path

import torch

from td3_teach.authors_curves import authors_task, load_authors_curve, plot_against_authors
from td3_teach.trainer import EvalRecord, read_evaluations, train

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="HalfCheetahBulletEnv-v0")
    p.add_argument("--steps", type=int, default=300_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", default="runs/learning", help="parent folder of the run folders")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1)")
    p.add_argument("--device", default=None, help="cpu or cuda (cuda when available)")
    p.add_argument("--checkpoint-every", type=int, default=10_000)
    p.add_argument("--results", default=str(RESULTS), help="where the summary files go")
    p.add_argument("--runs-from", default=None, metavar="DIR",
                   help="train nothing: summarise the run folders DIR (with {seed} for the seed)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    curves: dict[int, list[EvalRecord]] = {}
    walls: dict[int, float] = {}
    for seed in args.seeds if args.runs_from else []:
        folder = Path(args.runs_from.format(seed=seed))
        if not (folder / "evaluations.csv").exists():
            raise SystemExit(f"--runs-from: {folder} has no evaluations.csv; is the path (with "
                             "{seed}) right?")
        curves[seed] = read_evaluations(folder)
        walls[seed] = curves[seed][-1].wall_time
    for seed in [] if args.runs_from else args.seeds:
        run_dir = Path(args.out) / args.env / f"seed{seed}"
        t0 = time.perf_counter()
        last_t = [t0, None]

        def on_eval(rec: EvalRecord, history: list[EvalRecord], seed: int = seed) -> None:
            now = time.perf_counter()
            sps = ""
            if last_t[1] is not None and rec.step > last_t[1]:
                sps = f"  {(rec.step - last_t[1]) / (now - last_t[0]):6.1f} steps/s"
            last_t[:] = [now, rec.step]
            print(f"seed {seed} step {rec.step:>8d}  return {rec.mean:9.1f} +/- {rec.std:7.1f}"
                  f"  wall {rec.wall_time:7.0f} s{sps}", flush=True)

        result = train(args.env, args.steps, seed, run_dir, device=args.device, resume=True,
                       checkpoint_every=args.checkpoint_every, on_eval=on_eval, progress=False)
        curves[seed] = result.evaluations
        walls[seed] = result.wall_time
        print(f"seed {seed}: {result.steps} steps, {result.wall_time:.0f} s of training, final "
              f"{result.last.mean:.1f}, best {result.best.mean:.1f} at {result.best.step}",
              flush=True)

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    with open(results / f"learning_{args.env}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "step", "mean_return", "std_return", "wall_time_s"])
        for seed, recs in curves.items():
            for r in recs:
                w.writerow([seed, r.step, f"{r.mean:.2f}", f"{r.std:.2f}", f"{r.wall_time:.1f}"])
    seeds = " ".join(map(str, args.seeds))
    command = (f"python benchmarks/learning.py --env {args.env} --runs-from {args.runs_from} "
               f"--seeds {seeds}` (runs trained elsewhere: see their provenance)"
               if args.runs_from else
               f"python benchmarks/learning.py --env {args.env} --steps {args.steps} "
               f"--seeds {seeds}` ({args.threads} torch thread(s), device "
               f"{args.device or ('cuda' if torch.cuda.is_available() else 'cpu')}, "
               f"{platform.processor() or platform.machine()}, torch {torch.__version__})")
    lines = [f"# TD3 learning benchmark: {args.env}", "", f"Command: `{command}.", "",
             "| seed | steps | final return | best return (step) | wall time |", "|---|---|---|---|---|"]
    for seed, recs in curves.items():
        best = max(recs, key=lambda r: r.mean)
        lines.append(f"| {seed} | {recs[-1].step} | {recs[-1].mean:.1f} +/- {recs[-1].std:.1f} | "
                     f"{best.mean:.1f} ({best.step}) | {walls[seed] / 60:.0f} min |")
    lines += compare_with_authors(curves, args.env)
    (results / f"learning_{args.env}.md").write_text("\n".join(lines) + "\n")
    plot(curves, args.env, results / f"learning_{args.env}.png")
    print("\n".join(lines))
    return 0


def compare_with_authors(curves: dict[int, list[EvalRecord]], env_id: str,
                         every: int = 50_000) -> list[str]:
    """Markdown rows: each seed's return every ``every`` steps against the authors' mean ± std
    (their 10 seeds' population std), and how many of their stds away it lies."""
    task = authors_task(env_id)
    if task is None:
        return []
    band = load_authors_curve(task)
    lines = ["", f"Against the authors' {task} (their 10 seeds, mean ± population std; "
             "`td3_teach/authors_curves.py` says how v5 and our settings differ from theirs):", "",
             "| step | authors' mean ± std | " + " | ".join(f"seed {s}" for s in curves) + " |",
             "|---|---|" + "---|" * len(curves)]
    last = max(r[-1].step for r in curves.values())
    for step in range(every, min(last, int(band.step[-1])) + 1, every):
        m, sd = band.at(step)
        cells = []
        for recs in curves.values():
            hit = [r for r in recs if r.step == step]
            cells.append(f"{hit[0].mean:.0f} ({(hit[0].mean - m) / sd:+.1f} std)" if hit else "-")
        lines.append(f"| {step:,} | {m:.0f} ± {sd:.0f} | " + " | ".join(cells) + " |")
    return lines


def plot(curves: dict[int, list[EvalRecord]], env_id: str, path: Path) -> Path:
    """The evaluation curve of every seed: over the authors' band for a MuJoCo task, else with
    a +/- std band over its own evaluation episodes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if authors_task(env_id) is not None:
        plot_against_authors({f"td3_teach, seed {s}": r for s, r in curves.items()}, env_id, ax=ax)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path
    for seed, recs in curves.items():
        x = [r.step for r in recs]
        m = [r.mean for r in recs]
        lo = [r.mean - r.std for r in recs]
        hi = [r.mean + r.std for r in recs]
        ax.plot(x, m, label=f"seed {seed}")
        ax.fill_between(x, lo, hi, alpha=0.2)
    ax.set(xlabel="env steps", ylabel="evaluation return (10 episodes)",
           title=f"TD3 (td3_teach) on {env_id}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
