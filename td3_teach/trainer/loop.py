"""``train``: the training loop, Algorithm 1 put to work on an environment (taught in notebook
18; ``td3_teach.trainer``'s docstring walks through it: warm-up, exploration, what is stored,
evaluations, checkpoints, resume, interrupts).

``train`` reads top to bottom as the loop; what one run holds (envs, agent, replay memory, noise
generator, counters, evaluations, files) is a ``_Run`` (``training_run.py``), with one method per
job: ``action``, ``step_and_store``, ``update``, ``end_episode``, ``evaluate``, ``checkpoint``,
``resume``, ``finish``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..config import TD3Config
from ..replay_buffer import ReplayBuffer
from .settings import EvalRecord, RunSettings, TrainResult
from .training_run import _Run


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
    overrides = dict(env_id=env_id, steps=steps, seed=seed, start_steps=start_steps,
                     expl_noise=expl_noise, eval_every=eval_every, eval_episodes=eval_episodes,
                     checkpoint_every=checkpoint_every, buffer_size=buffer_size)
    # Seeds everything, makes the two envs, the agent and the replay memory; with resume=True and
    # a checkpoint in out_dir, puts them back where it left them ("Resumed from step ...").
    run = _Run.make(settings, overrides, out_dir=Path(out_dir) if out_dir is not None else None,
                    resume=resume, config=config, agent=agent, replay_buffer=replay_buffer,
                    actor_cls=actor_cls, critic_cls=critic_cls, buffer_cls=buffer_cls,
                    explore=explore, device=device, on_eval=on_eval, progress=progress)
    s = run.settings  # on resume, the checkpoint's
    end = s.steps if stop_at is None else min(s.steps, int(stop_at))  # stop_at: train a slice
    run.start()  # evaluations.csv, the curve so far, the clock, the progress bar
    with run.interruptible():  # Ctrl-C: taken at the end of the env step in progress
        if run.t == 0 and not run.history:
            run.evaluate()  # the untrained policy: the curve's first point, as in the authors' code
        while run.t < end:
            run.stop_if_interrupted()              # after Ctrl-C: checkpoint, TrainingInterrupted
            a = run.action()                       # warm-up: uniform random; then mu(s) + noise
            episode_over = run.step_and_store(a)   # store (s, s_next, a, r, terminated); t += 1
            if run.t > s.start_steps and len(run.buffer) >= run.min_fill:
                run.update()                       # steps 4-15, once per env step
            if episode_over:
                run.end_episode()                  # reset with the next episode's seed
            if run.t % s.eval_every == 0:
                run.evaluate()                     # deterministic episodes on the other env
            if episode_over and run.t >= run.next_ckpt:
                run.checkpoint(mid_episode=False)  # the first episode end after each multiple
            run.show_progress(end)
        run.finish()  # a last evaluation, a checkpoint, final_actor.pt
    return run.result()
