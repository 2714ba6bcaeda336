"""The training loop: the 15 steps put to work on an environment (taught in notebook 18).

The loop follows the authors' ``main.py`` (github.com/sfujim/TD3):

1. Warm-up: the first ``start_steps`` (25,000) actions are uniform random
   (``env.action_space.sample()``). A fresh actor's actions are all alike; random ones fill the
   replay memory with varied data before the first update.
2. Then act with exploration noise: ``a = clip(mu(s) + N(0, (expl_noise * max_action)^2),
   -max_action, max_action)`` with expl_noise 0.1. (Not the same noise as step 6's target
   smoothing: this one makes *data*, that one smooths the *target*.)
3. Store ``(s, s_next, a, r, terminated)``: terminated only, never truncated. HalfCheetah's
   episodes end only by the 1000-step time limit; those states have a future and must not be
   masked in the Bellman target (step 9).
4. One ``agent.train(buffer, 1)`` (steps 4-15) per env step once the warm-up is over.
5. Every ``eval_every`` steps: 10 deterministic episodes on a separate env (seeds seed+100+k),
   mean and std, written to ``evaluations.csv`` and passed to ``on_eval`` (a live plot, say).

Resuming: checkpoints are written at episode boundaries (the first boundary after each
``checkpoint_every`` steps), at the end, and when training is interrupted (Ctrl-C, Jupyter's
stop button). Every episode starts with ``env.reset(seed=episode_seed(seed, episode_index))``
and a checkpoint keeps the actions played so far in the current episode, so a restarted env
(Bullet's physics state cannot be saved) is brought back to the very state by replaying them;
with every RNG state restored, a resumed run gives the same evaluation returns as one that never
stopped.

An interrupt is taken at the end of the env step in progress (an evaluation in progress finishes
first; a second interrupt stops at once, without a checkpoint), then ``train`` raises
``TrainingInterrupted``: a short message saying where the run stands, where the checkpoint is and
how to resume, instead of a traceback through torch.

Command line: ``td3-teach train --env ENV --steps N --seed S [--out DIR] [--resume DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .agent import NETWORKS, OPTIMIZERS, TD3, make_adam
from .atomic import atomic_file
from .checkpoint import (CHECKPOINT_NAME, FORMAT, VERSION, atomic_save, capture_rng,
                         load_training_checkpoint, restore_rng, save_actor)
from .config import FromDict, TD3Config
from .envs import BULLET_ENVS, MUJOCO_ENVS, env_dims, make_env
from .errors import CheckpointError, InputError, ReplayBufferError
from .evaluate import evaluate
from .networks import Actor, Critic, make_target
from .replay_buffer import ReplayBuffer
from .seeding import seed_everything

EVAL_CSV = "evaluations.csv"
BEST_ACTOR = "best_actor.pt"
FINAL_ACTOR = "final_actor.pt"
RUNS = "runs"


def runs_dir() -> Path:
    """The one folder for runs: ``runs/`` in the course's top folder, whether you are there (a
    terminal, README's commands) or in ``notebooks/`` (a notebook's working folder)."""
    here = Path.cwd()
    return (here.parent if here.name in ("notebooks", "solutions") else here) / RUNS


def cli_command(*args: str) -> str:
    """A ``td3-teach`` command that works from any terminal, JupyterLab's included, where the
    course's virtual environment is not active: the script next to this Python, with full paths."""
    script = Path(sys.executable).parent / "td3-teach"
    exe = str(script) if script.exists() else f"{sys.executable} -m td3_teach.cli"
    return " ".join([exe, *args])


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted; the message says where it stands and how to resume. Shown by
    IPython as that message alone (``_render_traceback_``); the cell still ends in an error, so
    Run All stops there."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:
        return self.message.splitlines()


@contextmanager
def _deferred_interrupt():
    """While training, a first SIGINT only sets a flag (read once per env step), so an update is
    never cut in half and a consistent checkpoint can be written; a second one raises at once.
    Yields a list whose first item is True once an interrupt was asked for."""
    asked = [False]
    if threading.current_thread() is not threading.main_thread():
        yield asked  # signals reach the main thread only: a plain KeyboardInterrupt, if any
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if asked[0]:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        asked[0] = True

    try:
        signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # not allowed here: interrupts stay as they were
        yield asked
        return
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


ENV_CHOICES = (*BULLET_ENVS, *MUJOCO_ENVS[:4], "Pendulum-v1")
"""Named in ``--help``; any gymnasium Box-action env works (MuJoCo ones need the [mujoco] extra)."""


@dataclass
class RunSettings(FromDict):
    """What defines a run besides the TD3 update (stored in every checkpoint).

    The defaults are the authors' (main.py): 25,000 random warm-up steps, exploration noise 0.1,
    an evaluation of 10 episodes every 5,000 steps, a replay memory of a million transitions.
    """

    env_id: str = "HalfCheetahBulletEnv-v0"
    steps: int = 300_000
    seed: int = 0
    start_steps: int = 25_000
    """Uniform random actions before the first update (the authors' start_timesteps)."""
    expl_noise: float = 0.1
    """Std of the Gaussian exploration noise, in units of max_action (the paper's sigma)."""
    eval_every: int = 5_000
    eval_episodes: int = 10
    checkpoint_every: int = 10_000
    """Checkpoint at the first episode boundary after every multiple of this many steps."""
    buffer_size: int = 1_000_000
    """Replay memory size; no larger than ``steps`` is ever needed, so that much is allocated."""

    def __post_init__(self) -> None:
        for name in ("steps", "eval_every", "eval_episodes", "checkpoint_every", "buffer_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1; got {getattr(self, name)}. Fix: "
                                 f"pass a positive number (--{name.replace('_', '-')} N).")
        for name in ("start_steps", "expl_noise"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0; got {getattr(self, name)}. Fix: pass 0 "
                                 f"or more (--{name.replace('_', '-')}).")



@dataclass
class EvalRecord:
    """One evaluation: after ``step`` env steps, ``mean`` +/- ``std`` of the episode returns."""

    step: int
    mean: float
    std: float
    wall_time: float
    """Seconds of training so far (summed over resumed sessions)."""


@dataclass
class TrainResult:
    """What ``train`` returns: the trained agent, the evaluation curve, and where files went."""

    agent: Any
    evaluations: list[EvalRecord]
    steps: int
    wall_time: float
    out_dir: Path | None
    episode_returns: list[float] = field(default_factory=list)

    @property
    def last(self) -> EvalRecord | None:
        return self.evaluations[-1] if self.evaluations else None

    @property
    def best(self) -> EvalRecord | None:
        return max(self.evaluations, key=lambda e: e.mean) if self.evaluations else None


def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of training episode ``episode``: a hash of (seed, episode) in [0, 2^32).

    Why not just seed + episode: that would make run seed 0's episode 1 equal run seed 1's
    episode 0. SeedSequence mixes the two numbers into independent streams.
    """
    return int(np.random.SeedSequence([int(seed), int(episode)]).generate_state(1)[0])


def make_agent(state_dim: int, action_dim: int, max_action: float, config: TD3Config | None = None,
               device: str | torch.device | None = None, actor_cls: type | None = None,
               critic_cls: type | None = None) -> TD3:
    """A TD3 agent, optionally with your own actor and/or critic classes plugged in.

    ``actor_cls(state_dim, action_dim, max_action)`` and ``critic_cls(state_dim, action_dim)``
    must take the same arguments and give the same outputs as ``networks.Actor`` / ``Critic``
    (the critic returns ``(q1, q2)`` and has ``Q1``). Targets and optimisers are rebuilt for them.
    """
    agent = TD3(state_dim, action_dim, max_action, config, device)
    if actor_cls is not None and actor_cls is not Actor:
        agent.actor = actor_cls(state_dim, action_dim, max_action).to(agent.device)
        agent.actor_target = make_target(agent.actor)
        agent.actor_optimizer = make_adam(agent.actor.parameters(), agent.config.actor_lr)
    if critic_cls is not None and critic_cls is not Critic:
        agent.critic = critic_cls(state_dim, action_dim).to(agent.device)
        agent.critic_target = make_target(agent.critic)
        agent.critic_optimizer = make_adam(agent.critic.parameters(), agent.config.critic_lr)
    return agent


# ------------------------------------------------------------------- an agent you wrote (notebook 16)
def lecture_shaped(agent: Any) -> bool:
    """An agent written in the lecture's shape (notebook 16's ``MyTD3``), not a ``TD3``: it has
    the six attributes (actor, actor_target, critic, critic_target and their optimisers) but no
    ``TD3Config`` of its own, so the trainer passes the hyperparameters to its ``train``."""
    return not isinstance(agent, TD3) and getattr(agent, "config", None) is None \
        and all(hasattr(agent, n) for n in NETWORKS + OPTIMIZERS)


def lecture_train_kwargs(cfg: TD3Config) -> dict:
    """``train``'s keyword arguments in the lecture's signature, from a TD3Config."""
    if not cfg.twin_critics:
        raise ValueError("twin_critics=False switches off a part of the package's TD3; a train "
                         "in the lecture's signature has no switch for it. Train td3_teach.TD3 "
                         "for that ablation (target_noise and delayed_updates work with yours).")
    noise = (cfg.policy_noise, cfg.noise_clip) if cfg.target_noise else (0.0, 0.0)
    return dict(batch_size=cfg.batch_size, discount=cfg.discount, tau=cfg.tau,
                policy_noise=noise[0], noise_clip=noise[1], policy_freq=cfg.policy_delay)


def lecture_state_dict(agent: Any, dims: tuple, cfg: TD3Config) -> dict:
    """What ``TD3.state_dict`` holds, read from a lecture-shaped agent's six attributes (and its
    ``total_it``, the delay's counter, when it keeps one)."""
    d = {name: getattr(agent, name).state_dict() for name in NETWORKS + OPTIMIZERS}
    d["meta"] = {"state_dim": int(dims[0]), "action_dim": int(dims[1]),
                 "max_action": float(dims[2]), "total_it": int(getattr(agent, "total_it", 0)),
                 "config": cfg.to_dict()}
    return d


def load_lecture_state_dict(agent: Any, d: dict, source) -> None:
    for name in NETWORKS + OPTIMIZERS:
        if name not in d:
            raise CheckpointError(f"{source} has no '{name}' entry; it is not a checkpoint of "
                                  "this agent.")
        try:
            getattr(agent, name).load_state_dict(d[name])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{source}: '{name}' does not fit this agent ("
                                  f"{str(e).splitlines()[0]}). Resume with the class that wrote "
                                  "the checkpoint.") from None
    if hasattr(agent, "total_it"):
        agent.total_it = int(d.get("meta", {}).get("total_it", 0))


def _actor_view(agent: Any, dims: tuple) -> Any:
    """What ``save_actor`` reads (the actor and the sizes), for any agent."""
    from types import SimpleNamespace
    return SimpleNamespace(actor=agent.actor, state_dim=int(dims[0]), action_dim=int(dims[1]),
                           max_action=float(dims[2]))


def exploration_action(mu_s: np.ndarray, max_action: float, expl_noise: float,
                       rng: np.random.Generator) -> np.ndarray:
    """The action played while learning: ``clip(mu(s) + N(0, (expl_noise * max_action)^2))``.

    One independent Gaussian draw per action dimension, scaled by max_action (a noise of 0.1 on
    an action range of [-2, 2] would be too timid), clipped so the env gets a legal action.
    Why not use step 6's noise: that one smooths the Bellman *target*; this one makes *data*.
    """
    noise = rng.normal(0.0, expl_noise * max_action, size=np.shape(mu_s))
    return np.clip(mu_s + noise, -max_action, max_action)


# --------------------------------------------------------------------------------- the loop
def train(env_id: str = "HalfCheetahBulletEnv-v0", steps: int | None = None, seed: int = 0,
          out_dir: str | os.PathLike | None = None, *, agent: Any = None,
          config: TD3Config | None = None, replay_buffer: ReplayBuffer | None = None,
          actor_cls: type | None = None, critic_cls: type | None = None,
          buffer_cls: type | None = None, explore: Callable[..., np.ndarray] | None = None,
          start_steps: int = 25_000, expl_noise: float = 0.1, eval_every: int = 5_000,
          eval_episodes: int = 10, checkpoint_every: int = 10_000, buffer_size: int = 1_000_000,
          device: str | torch.device | None = None, resume: bool = False,
          on_eval: Callable[[EvalRecord, list[EvalRecord]], None] | None = None,
          progress: bool = True, stop_at: int | None = None) -> TrainResult:
    """Train TD3 on ``env_id`` for ``steps`` env steps; evaluate, log and checkpoint on the way.

    Args:
        env_id: a gymnasium id; PyBullet ones (HalfCheetahBulletEnv-v0, HopperBulletEnv-v0,
            Walker2DBulletEnv-v0, AntBulletEnv-v0), MuJoCo ones (HalfCheetah-v5, Hopper-v5,
            Walker2d-v5, Ant-v5, ...; the [mujoco] extra) or classic ones (Pendulum-v1).
        steps: total env steps of the run, warm-up included (None: 300,000, or on resume the
            saved run's total; a larger number trains a resumed run longer).
        seed: seeds python, numpy, torch, the envs and the exploration noise.
        out_dir: where ``evaluations.csv``, ``checkpoint.pt``, ``best_actor.pt`` and
            ``final_actor.pt`` go; None keeps everything in memory (no checkpoints).
        agent: your own agent: an instance, or a class / factory called as
            ``agent(state_dim, action_dim, max_action)`` (notebook 16's ``MyTD3``). One in the
            lecture's shape gets ``train(buffer, 1, batch_size=..., ..., policy_freq=...)`` from
            ``config`` and is checkpointed through its six attributes; anything else needs
            ``select_action``, ``train`` and, for checkpoints, ``state_dict``/``load_state_dict``.
            Default: a new ``TD3`` made by ``make_agent``.
        config: TD3's hyperparameters (``TD3Config()``, the paper's, when None).
        replay_buffer: your own replay memory (with ``add``, ``sample``, ``__len__``).
        actor_cls, critic_cls: your own network classes, plugged into a new TD3 agent.
        buffer_cls: your own replay memory class, made as
            ``buffer_cls(state_dim, action_dim, max_size)``.
        explore: your own ``explore(mu_s, max_action, expl_noise, rng) -> action``
            (default ``exploration_action``); ``rng`` is the run's seeded numpy Generator.
        start_steps: random warm-up actions before the first update (25,000).
        expl_noise: exploration noise std in units of max_action (0.1).
        eval_every, eval_episodes: evaluate every this many steps, over this many episodes.
        checkpoint_every: checkpoint at the first episode boundary after each multiple.
        buffer_size: replay memory size (at most ``steps`` rows are allocated).
        device: "cpu", "cuda" or None (cuda when available).
        resume: continue from ``out_dir/checkpoint.pt`` if it exists (settings come from it;
            ``steps`` may be raised to train longer).
        on_eval: called as ``on_eval(record, history)`` after each evaluation (live plots).
        progress: show a tqdm progress bar (steps/s after the warm-up, the latest evaluation).
        stop_at: stop (with a checkpoint) after this many steps, as if interrupted; for tests
            and for training in slices from a notebook.

    Returns:
        TrainResult with the agent, the evaluation records and the wall time.

    Raises:
        TrainingInterrupted: on Ctrl-C / Jupyter's stop button, after writing a checkpoint
            (with ``out_dir``); its message says how to resume.
    """
    out = Path(out_dir) if out_dir is not None else None
    ckpt_file = out / CHECKPOINT_NAME if out is not None else None
    saved = None
    if resume:
        if ckpt_file is None:
            raise ValueError("resume=True needs out_dir, the folder of the run to continue.")
        if ckpt_file.exists():
            saved = load_training_checkpoint(ckpt_file, "cpu")  # raises CheckpointError
    if saved is not None:
        settings = RunSettings.from_dict(saved["settings"])
        if env_id != settings.env_id and env_id != RunSettings.env_id:
            raise CheckpointError(f"{ckpt_file} is a run on {settings.env_id}; resuming it on "
                                  f"{env_id} is not possible. Drop --env or pick another --out.")
        if steps is not None:
            settings.steps = int(steps)
            RunSettings(**{**asdict(settings), "steps": settings.steps})  # refuse steps < 1
        config = TD3Config.from_dict(saved["agent"]["meta"]["config"])
    else:
        settings = RunSettings(env_id=env_id, steps=int(RunSettings.steps if steps is None else steps), seed=int(seed),
                               start_steps=int(start_steps), expl_noise=float(expl_noise),
                               eval_every=int(eval_every), eval_episodes=int(eval_episodes),
                               checkpoint_every=int(checkpoint_every), buffer_size=int(buffer_size))
    s = settings

    # Seed everything first, so network initialisation is reproducible; resume overwrites
    # all of these with the saved states below.
    seed_everything(s.seed)
    env = make_env(s.env_id, seed=s.seed)  # also seeds env.action_space for the warm-up
    # A separate instance; its episodes are reset with seed+100+k. Made with a first reset:
    # PyBullet's first reset differs from later ones (the first step's reward), so a fresh env
    # must not meet an evaluation episode before its first reset has been done.
    eval_env = make_env(s.env_id, seed=s.seed + 100)
    state_dim, action_dim, max_action = env_dims(env)
    if agent is None:
        agent = make_agent(state_dim, action_dim, max_action, config, device, actor_cls, critic_cls)
    elif inspect.isclass(agent) or (callable(agent) and not hasattr(agent, "select_action")):
        agent = agent(state_dim, action_dim, max_action)  # your class (notebook 16) or a factory
    own = lecture_shaped(agent)
    dims = (state_dim, action_dim, max_action)
    cfg = config or TD3Config()
    train_kwargs = lecture_train_kwargs(cfg) if own else {}
    buffer_rows = min(s.buffer_size, max(s.steps, 1))
    if saved is not None and int(saved["replay_buffer"]["size"]) < int(saved["progress"]["t"]):
        buffer_rows = int(saved["replay_buffer"]["max_size"])  # it has wrapped: keep its size
    if replay_buffer is None and buffer_cls is not None:
        replay_buffer = buffer_cls(state_dim, action_dim, buffer_rows)
    if replay_buffer is None:
        replay_buffer = ReplayBuffer(state_dim, action_dim, buffer_rows,
                                     device=getattr(agent, "device", None))
    explore = explore or exploration_action
    noise_rng = np.random.default_rng(np.random.SeedSequence([s.seed, 0x7D3]))

    # Progress of the run: what a checkpoint holds besides agent, buffer and RNGs.
    t, episode, ep_return, ep_len, wall_before = 0, 0, 0.0, 0, 0.0
    ep_actions: list[np.ndarray] = []  # this episode's actions: replayed to resume mid-episode
    history: list[EvalRecord] = []
    episode_returns: list[float] = []
    best_mean = -math.inf
    if saved is not None:
        t, episode, wall_before, history, episode_returns, best_mean, mid = _restore(
            saved, agent, replay_buffer, ckpt_file)
        replay = saved["progress"].get("episode_actions") if mid else None
        if mid and replay is None:  # an older final checkpoint, taken mid-episode: a new one
            episode += 1
        obs, _ = env.reset(seed=episode_seed(s.seed, episode))
        if replay is not None:
            obs, ep_return, ep_actions = _replay_episode(env, replay, saved["progress"], ckpt_file)
            ep_len = len(ep_actions)
        restore_rng(saved["rng"], env, noise_rng)
        del saved
        print(_resumed_message(ckpt_file, t, s, history, len(replay_buffer), ep_len), flush=True)
    else:
        obs, _ = env.reset(seed=episode_seed(s.seed, 0))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write_csv(out / EVAL_CSV, history)  # on resume: exactly the rows the checkpoint knew
    if on_eval is not None and history:  # resumed: show the curve so far before going on
        on_eval(history[-1], history)

    session_start = time.perf_counter()
    wall = lambda: wall_before + time.perf_counter() - session_start  # noqa: E731
    end = s.steps if stop_at is None else min(s.steps, int(stop_at))
    next_ckpt = (t // s.checkpoint_every + 1) * s.checkpoint_every
    last_ckpt = t if ckpt_file is not None and ckpt_file.exists() else None
    bar = _progress_bar(s, t, progress)
    # A batch cannot be larger than the memory: with start_steps below the batch size the
    # first updates wait until the buffer holds one batch.
    min_fill = cfg.batch_size if own else int(getattr(getattr(agent, "config", None),
                                                      "batch_size", 1))

    def do_eval() -> None:
        nonlocal best_mean
        mean, std, _ = evaluate(agent, eval_env, s.eval_episodes, s.seed + 100)
        rec = EvalRecord(t, mean, std, wall())
        history.append(rec)
        if out is not None:
            _append_csv(out / EVAL_CSV, rec)
            if mean > best_mean and hasattr(agent, "actor"):
                save_actor(_actor_view(agent, dims), out / BEST_ACTOR, env_id=s.env_id, step=t, eval_return=mean,
                           eval_std=std, seed=s.seed)
        best_mean = max(best_mean, mean)
        if bar is not None:
            bar.set_postfix(eval=f"{mean:.1f}", refresh=False)
        if on_eval is not None:
            on_eval(rec, history)

    def do_checkpoint(mid_episode: bool) -> None:
        nonlocal last_ckpt
        if out is None or not (own or hasattr(agent, "state_dict")):
            return
        actions = torch.from_numpy(np.asarray(ep_actions, dtype=np.float64).reshape(
            len(ep_actions), action_dim))
        state = {
            "format": FORMAT, "version": VERSION,
            "settings": asdict(s),
            "agent": lecture_state_dict(agent, dims, cfg) if own else agent.state_dict(),
            "replay_buffer": replay_buffer.state_dict(),
            "progress": {"t": t, "episode": episode, "wall_time": wall(),
                         "mid_episode": bool(mid_episode), "best_mean": best_mean,
                         "episode_returns": list(map(float, episode_returns)),
                         "episode_return": float(ep_return), "episode_actions": actions},
            "evaluations": [asdict(e) for e in history],
            "rng": capture_rng(env, noise_rng),
        }
        atomic_save(state, ckpt_file)
        last_ckpt = t

    interrupt = _deferred_interrupt()
    asked = interrupt.__enter__()
    try:
        if t == 0 and not history:
            do_eval()  # the untrained policy: the curve's first point, as in the authors' code
        last_bar = t
        while t < end:
            if asked[0]:  # Ctrl-C / stop button, taken between two env steps: save, then stop
                if bar is not None:
                    bar.update(t - last_bar)
                    bar.close()
                    bar = None
                do_checkpoint(mid_episode=ep_len > 0)
                raise TrainingInterrupted(_interrupted_message(t, s, history, out, last_ckpt,
                                                               ckpt_written=last_ckpt == t))
            if t < s.start_steps:
                a = env.action_space.sample()                   # warm-up: uniform random
            else:
                a = explore(agent.select_action(obs), max_action, s.expl_noise, noise_rng)
                a = np.asarray(a, dtype=env.action_space.dtype)  # mu(s) + noise, clipped
            obs_next, r, terminated, truncated, _ = env.step(a)
            replay_buffer.add((obs, obs_next, a, r, terminated))  # terminated, never truncated
            ep_actions.append(np.array(a, copy=True))
            obs = obs_next
            ep_return += float(r)
            ep_len += 1
            t += 1
            if t > s.start_steps and len(replay_buffer) >= min_fill:
                agent.train(replay_buffer, 1, **train_kwargs)     # steps 4-15, once per env step
            boundary = bool(terminated or truncated)
            if boundary:
                episode_returns.append(ep_return)
                episode += 1
                obs, _ = env.reset(seed=episode_seed(s.seed, episode))
                ep_return, ep_len, ep_actions = 0.0, 0, []
            if t % s.eval_every == 0:
                do_eval()
            if boundary and t >= next_ckpt:
                do_checkpoint(mid_episode=False)
                next_ckpt = (t // s.checkpoint_every + 1) * s.checkpoint_every
            if bar is not None and (t - last_bar >= 100 or t == end):
                if last_bar < s.start_steps <= t and t < s.steps:
                    bar.update(t - last_bar)
                    _restart_rate(bar, f"{s.env_id} training")  # rate, ETA: update steps only
                else:
                    bar.update(t - last_bar)
                last_bar = t
        if t >= s.steps and (not history or history[-1].step != t):
            do_eval()  # the end of the run always has an evaluation
        do_checkpoint(mid_episode=ep_len > 0)
        if out is not None and t >= s.steps and hasattr(agent, "actor"):
            last = history[-1]
            save_actor(_actor_view(agent, dims), out / FINAL_ACTOR, env_id=s.env_id, step=t, eval_return=last.mean,
                       eval_std=last.std, seed=s.seed)
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt:  # a second interrupt, or one outside the main thread
        raise TrainingInterrupted(_interrupted_message(t, s, history, out, last_ckpt,
                                                       ckpt_written=False)) from None
    finally:
        interrupt.__exit__(None, None, None)
        if bar is not None:
            bar.close()
        env.close()
        eval_env.close()
    return TrainResult(agent, history, t, wall(), out, episode_returns)


def _restore(saved: dict, agent, replay_buffer, source) -> tuple:
    """Load a checkpoint's agent, buffer and progress; every mismatch is a CheckpointError."""
    if lecture_shaped(agent):
        load_lecture_state_dict(agent, saved["agent"], source)
    elif not hasattr(agent, "load_state_dict"):
        raise CheckpointError("Resuming needs an agent with load_state_dict (a TD3).")
    else:
        agent.load_state_dict(saved["agent"], source=str(source))
    rb, p = saved["replay_buffer"], saved["progress"]
    try:
        size = int(rb["size"])
        if int(rb["max_size"]) != replay_buffer.max_size and size == int(p["t"]) \
                and size <= replay_buffer.max_size:
            # A longer run needs a larger memory; rows 0..size-1 are in order (never wrapped).
            rb = {**rb, "max_size": replay_buffer.max_size, "ptr": size % replay_buffer.max_size}
        replay_buffer.load_state_dict(rb)
    except (ReplayBufferError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"{source}: the saved replay buffer does not fit ({e}).") from None
    history = [EvalRecord(**e) for e in saved["evaluations"]]
    return (int(p["t"]), int(p["episode"]), float(p["wall_time"]), history,
            list(p.get("episode_returns", [])), float(p.get("best_mean", -math.inf)),
            bool(p.get("mid_episode", False)))


def _replay_episode(env, actions, progress: dict, source) -> tuple:
    """Bring a freshly reset env to where the checkpoint's episode stood by playing the saved
    actions again; return (obs, episode return, actions). The return must come out as saved,
    else the env is not deterministic and the resumed run would silently differ."""
    dtype = env.action_space.dtype
    obs, total, played = None, 0.0, []
    for a in np.asarray(actions, dtype=np.float64):
        a = a.reshape(env.action_space.shape).astype(dtype)
        obs, r, terminated, truncated, _ = env.step(a)
        total += float(r)
        played.append(a)
        if terminated or truncated:
            raise CheckpointError(f"{source}: replaying the current episode ended it early; the "
                                  "env is not the one this run was trained on.")
    saved_return = progress.get("episode_return")
    if saved_return is not None and not math.isclose(total, float(saved_return), rel_tol=1e-6,
                                                     abs_tol=1e-6):
        raise CheckpointError(f"{source}: replaying the current episode gave return {total:.6g}, "
                              f"the run had {float(saved_return):.6g}; this env does not repeat "
                              "itself, so the run cannot be resumed exactly. Start a new run.")
    if obs is None:
        raise CheckpointError(f"{source}: a mid-episode checkpoint without actions.")
    return obs, total, played


def _resumed_message(ckpt_file, t: int, s: RunSettings, history, buffer_len: int,
                     ep_len: int) -> str:
    where = f"step {t:,} of {s.steps:,}"
    last = (f"; last evaluation {history[-1].mean:.1f} at step {history[-1].step:,}"
            if history else "")
    if t >= s.steps:
        return (f"Run in {ckpt_file.parent} is complete ({where}{last}): nothing to train. "
                "Delete the folder to start afresh, or ask for more steps to train on.")
    mid = f", {ep_len} steps into episode replayed" if ep_len else ""
    return (f"Resumed from {where} ({ckpt_file}): networks, targets, optimisers, "
            f"{buffer_len:,} transitions of replay memory, random states{mid}{last}.")


def _interrupted_message(t: int, s: RunSettings, history, out, last_ckpt, ckpt_written: bool) -> str:
    last = (f"; last evaluation {history[-1].mean:.1f} at step {history[-1].step:,}"
            if history else "")
    lines = [f"Training interrupted at step {t:,} of {s.steps:,}{last}."]
    if out is None:
        lines.append("Nothing was saved (out_dir=None): a new call starts from step 0.")
        return "\n".join(lines)
    ckpt = (out / CHECKPOINT_NAME).resolve()
    if ckpt_written:
        lines.append(f"Checkpoint written at step {t:,}: {ckpt} (nothing is lost).")
    elif last_ckpt is not None:
        lines.append(f"No checkpoint at this step: resuming starts from the checkpoint of step "
                     f"{last_ckpt:,} and redoes steps {last_ckpt + 1:,} to {t:,} (same results).")
    else:
        lines.append("No checkpoint yet: running the cell again starts from step 0.")
        return "\n".join(lines)
    lines.append(f"To continue: run the same train(..., resume=True) cell again, or from a "
                 f"terminal: {cli_command('train', '--resume', str(out.resolve()))}")
    return "\n".join(lines)


def _progress_bar(s: RunSettings, t: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    # smoothing=0: the rate is the average since the bar (re)started; _restart_rate restarts it
    # when the warm-up ends, because random warm-up steps run about 10x faster than update steps.
    phase = "warm-up" if t < s.start_steps else "training"
    return tqdm(total=s.steps, initial=t, unit="step", desc=f"{s.env_id} {phase}",
                dynamic_ncols=True, mininterval=0.5, smoothing=0)


def _restart_rate(bar, desc: str) -> None:
    """Measure steps/s, the ETA and the elapsed time from now on, keeping the count: tqdm's
    average rate restarted. The new description says that the clock is the training phase's."""
    bar.set_description(desc, refresh=False)
    bar.start_t = bar._time()
    bar.last_print_t = bar.start_t
    bar.initial = bar.n
    bar.last_print_n = bar.n


def _write_csv(path: Path, history: list[EvalRecord]) -> None:
    with atomic_file(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "mean_return", "std_return", "wall_time_s"])
        for rec in history:
            w.writerow(_csv_row(rec))


def _append_csv(path: Path, rec: EvalRecord) -> None:
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(_csv_row(rec))


def _csv_row(rec: EvalRecord) -> list:
    return [rec.step, f"{rec.mean:.6f}", f"{rec.std:.6f}", f"{rec.wall_time:.1f}"]


def read_evaluations(path: str | os.PathLike) -> list[EvalRecord]:
    """The evaluation records of a run folder (or of its ``evaluations.csv``)."""
    path = Path(path)
    path = path / EVAL_CSV if path.is_dir() else path
    with open(path, newline="") as f:
        return [EvalRecord(int(r["step"]), float(r["mean_return"]), float(r["std_return"]),
                           float(r["wall_time_s"])) for r in csv.DictReader(f)]


# --------------------------------------------------------------------------------- notebook help
def live_learning_curve(title: str = "TD3 learning curve", random_return: float | None = None):
    """An ``on_eval`` callback that redraws a matplotlib learning curve in a notebook.

    The figure is shown once and updated in place at every evaluation (mean return with a
    +/- std band); ``random_return`` draws a dashed line for comparison.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig, ax = plt.subplots(figsize=(6, 3.5))
    handle = display(fig, display_id=True)
    plt.close(fig)  # shown through the handle only, not again at the cell's end

    def on_eval(rec: EvalRecord, history: list[EvalRecord]) -> None:
        x = [e.step for e in history]
        m = np.array([e.mean for e in history])
        sd = np.array([e.std for e in history])
        ax.clear()
        ax.plot(x, m, marker="o", ms=3, label="evaluation return (mean)")
        ax.fill_between(x, m - sd, m + sd, alpha=0.25, label="+/- std")
        if random_return is not None:
            ax.axhline(random_return, ls="--", c="grey", label="random policy")
        ax.set(xlabel="env steps", ylabel="return", title=f"{title}: {rec.mean:.1f} at {rec.step}")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        if handle is not None:
            handle.update(fig)
    return on_eval


# --------------------------------------------------------------------------------- command line
def configure(parser: argparse.ArgumentParser) -> None:
    d = RunSettings()
    parser.add_argument("--env", default=d.env_id,
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
                        help="torch CPU threads (default: torch's choice)")
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
    else:
        env_id = args.env
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
    print(f"done: {result.steps} steps in {result.wall_time:.0f} s; last evaluation "
          f"{last.mean:.1f} +/- {last.std:.1f}; files in {out}")
    return 0
