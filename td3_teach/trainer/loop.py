"""``train``: the training loop, Algorithm 1 put to work on an environment (taught in notebook
18; ``td3_teach.trainer``'s docstring walks through it: warm-up, exploration, what is stored,
evaluations, checkpoints, resume, interrupts)."""

from __future__ import annotations

import inspect
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..checkpoint import (CHECKPOINT_NAME, FORMAT, VERSION, atomic_save, capture_rng,
                          load_training_checkpoint, restore_rng, save_actor)
from ..config import TD3Config
from ..envs import env_dims, make_env
from ..errors import CheckpointError, ReplayBufferError
from ..evaluate import evaluate
from ..replay_buffer import ReplayBuffer
from ..seeding import seed_everything
from .evaluations import _append_csv, _write_csv
from .exploration import episode_seed, exploration_action
from .interrupt import TrainingInterrupted, _deferred_interrupt
from .own_agent import (_actor_view, lecture_shaped, lecture_state_dict, lecture_train_kwargs,
                        load_lecture_state_dict, make_agent)
from .settings import BEST_ACTOR, EVAL_CSV, FINAL_ACTOR, EvalRecord, RunSettings, TrainResult, cli_command


# --------------------------------------------------------------------------------- the loop
def train(env_id: str | None = None, steps: int | None = None, seed: int | None = None,
          out_dir: str | os.PathLike | None = None, *, settings: RunSettings | None = None, agent: Any = None,
          config: TD3Config | None = None, replay_buffer: ReplayBuffer | None = None,
          actor_cls: type | None = None, critic_cls: type | None = None,
          buffer_cls: type | None = None, explore: Callable[..., np.ndarray] | None = None,
          start_steps: int | None = None, expl_noise: float | None = None, eval_every: int | None = None,
          eval_episodes: int | None = None, checkpoint_every: int | None = None,
          buffer_size: int | None = None, device: str | torch.device | None = None, resume: bool = False,
          on_eval: Callable[[EvalRecord, list[EvalRecord]], None] | None = None,
          progress: bool = True, stop_at: int | None = None) -> TrainResult:
    """Train TD3 on ``env_id`` for ``steps`` env steps; evaluate, log and checkpoint on the way.

    The run is ``settings`` (a ``RunSettings``; its defaults are the authors') with every one of
    its fields passed here (``env_id``, ``steps``, ``seed``, ``start_steps``, ``expl_noise``,
    ``eval_every``, ``eval_episodes``, ``checkpoint_every``, ``buffer_size``) overriding it; a
    field left at None keeps the settings' value.

    Args:
        settings: the run's settings (``RunSettings()`` when None); on resume, the checkpoint's.
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
        if env_id is not None and env_id != settings.env_id:  # given, even if it is the default
            raise CheckpointError(f"{ckpt_file} is a run on {settings.env_id}; resuming it on "
                                  f"{env_id} is not possible. Drop --env or pick another --out.")
        if steps is not None:
            settings.steps = int(steps)
            RunSettings(**{**asdict(settings), "steps": settings.steps})  # refuse steps < 1
        config = TD3Config.from_dict(saved["agent"]["meta"]["config"])
    else:
        given = dict(env_id=env_id, steps=steps, seed=seed, start_steps=start_steps,
                     expl_noise=expl_noise, eval_every=eval_every, eval_episodes=eval_episodes,
                     checkpoint_every=checkpoint_every, buffer_size=buffer_size)
        settings = (settings or RunSettings()).with_overrides(**given)
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
