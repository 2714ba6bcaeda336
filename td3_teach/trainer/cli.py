"""``td3-teach train``: its flags, and the run they start or resume."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ..checkpoint import (CHECKPOINT_NAME, load_training_checkpoint)
from ..config import TD3Config
from ..errors import InputError
from .interrupt import TrainingInterrupted
from .loop import train
from .settings import ENV_CHOICES, RunSettings, runs_dir


# --------------------------------------------------------------------------------- command line
def configure(parser: argparse.ArgumentParser) -> None:
    d = RunSettings()
    parser.add_argument("--env", default=None,
                        help=f"env id ({d.env_id}; also {', '.join(ENV_CHOICES[1:])} and other "
                             "gymnasium Box-action envs; MuJoCo ones need the [mujoco] extra)")
    parser.add_argument("--steps", type=int, default=None, help=f"total env steps ({d.steps})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"random seed ({d.seed})")
    parser.add_argument("--out", default=None,
                        help="run folder (runs/ENV/seedS in the course's top folder)")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the run in DIR (settings come from its checkpoint)")
    parser.add_argument("--start-steps", type=int, default=d.start_steps,
                        help=f"random warm-up steps ({d.start_steps})")
    parser.add_argument("--expl-noise", type=float, default=d.expl_noise,
                        help=f"exploration noise std / max_action ({d.expl_noise})")
    parser.add_argument("--eval-every", type=int, default=d.eval_every,
                        help=f"steps between evaluations ({d.eval_every})")
    parser.add_argument("--eval-episodes", type=int, default=d.eval_episodes,
                        help=f"episodes per evaluation ({d.eval_episodes})")
    parser.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                        help=f"steps between checkpoints ({d.checkpoint_every})")
    parser.add_argument("--batch-size", type=int, default=TD3Config.batch_size,
                        help=f"TD3 batch size ({TD3Config.batch_size})")
    ablation = parser.add_argument_group("ablation: switch TD3's tricks off (notebook 20)")
    ablation.add_argument("--no-twin-critics", action="store_true",
                          help="one critic in the target (no clipped double Q-learning)")
    ablation.add_argument("--no-target-noise", action="store_true",
                          help="no target policy smoothing (a' = mu'(s'), noise-free)")
    ablation.add_argument("--no-delay", action="store_true",
                          help="actor and targets updated every iteration (no policy delay)")
    ablation.add_argument("--ddpg", action="store_true",
                          help="all three off: the paper's DDPG-style baseline")
    parser.add_argument("--device", default=None, help="cpu or cuda (cuda when available)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: half the cores, at most 4: td3_teach/openmp.py)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> TD3Config:
    """The TD3Config of ``td3-teach train``'s flags: batch size and the three ablation switches."""
    off = bool(getattr(args, "ddpg", False))
    return TD3Config(batch_size=args.batch_size,
                     twin_critics=not (off or getattr(args, "no_twin_critics", False)),
                     target_noise=not (off or getattr(args, "no_target_noise", False)),
                     delayed_updates=not (off or getattr(args, "no_delay", False)))

def run(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be at least 1; got {args.threads}. Fix: --threads 1, "
                         "or leave it out for torch's choice.")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1; got {args.batch_size}.")
    RunSettings(steps=RunSettings.steps if args.steps is None else args.steps,  # refuse 0, -1...
                start_steps=args.start_steps, expl_noise=args.expl_noise,
                eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                checkpoint_every=args.checkpoint_every)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.resume:
        out = Path(args.resume)
        if not (out / CHECKPOINT_NAME).exists():
            raise SystemExit(f"--resume {out}: no {CHECKPOINT_NAME} there yet. Start the run "
                             f"with --out {out} first (or check the path).")
        saved = load_training_checkpoint(out / CHECKPOINT_NAME)
        env_id = saved["settings"]["env_id"]
        del saved
        if args.env is not None and args.env != env_id:  # given, even if it is the default
            raise InputError(f"--resume {out} is a run on {env_id}; --env {args.env} cannot continue "
                             "it. Fix: drop --env, or start a new run with --out.")
    else:
        env_id = args.env or RunSettings.env_id
        out = Path(args.out) if args.out else runs_dir() / env_id / f"seed{args.seed}"
        if (out / CHECKPOINT_NAME).exists():
            raise SystemExit(f"{out} already holds a run; continue it with --resume {out}, or "
                             "pick another --out.")
    print(f"td3-teach train: {env_id}, run folder {out}", file=sys.stderr)
    try:
        result = train(env_id, args.steps, args.seed, out,
                       config=config_from_args(args), start_steps=args.start_steps,
                       expl_noise=args.expl_noise, eval_every=args.eval_every,
                       eval_episodes=args.eval_episodes, checkpoint_every=args.checkpoint_every,
                       device=args.device, resume=bool(args.resume),
                       progress=not args.no_progress)
    except TrainingInterrupted as stop:
        print(stop.message, file=sys.stderr)
        return 130  # the shell's code for "stopped by Ctrl-C"
    last = result.last
    scores = f"last evaluation {last.mean:.1f} +/- {last.std:.1f}" if last else "no evaluation"
    print(f"done: {result.steps} steps in {result.wall_time:.0f} s; {scores}; files in {out}")
    return 0
