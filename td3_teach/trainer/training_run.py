"""The run object of ``train``: what one training run holds, and one method per job of the loop
(taught in notebook 18).

``train`` (``loop.py``) makes a ``_Run`` and drives it in the order of Algorithm 1. The run holds
the env the agent learns on and a separate one for evaluations, the agent, the replay memory,
the exploration noise's own generator, where the run stands (step, episode, the current episode's
return and actions, the returns of the finished ones, the evaluations) and where its files go.
Each job of the loop is a method:

* ``make``: seed everything, make the envs, the agent and the replay memory; with ``resume``,
  ``resume`` puts them back where the checkpoint left them;
* ``start``: ``evaluations.csv``, the curve so far, the clock and the progress bar;
* ``action`` (uniform random in the warm-up, then ``mu(s)`` plus noise, clipped),
  ``step_and_store``, ``update``, ``end_episode``, ``evaluate``, ``checkpoint``;
* ``interruptible`` (Ctrl-C taken between two env steps), ``stop_if_interrupted``, ``finish``
  and ``result``.
"""

from __future__ import annotations

import inspect
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from ..checkpoint import (CHECKPOINT_NAME, load_training_checkpoint, restore_rng, save_actor,
                          save_training_checkpoint)
from ..config import TD3Config
from ..envs import env_dims, make_env
from ..errors import CheckpointError, ReplayBufferError
from ..evaluate import evaluate as evaluate_policy
from ..replay_buffer import ReplayBuffer
from ..seeding import seed_everything
from .evaluations import _append_csv, _write_csv
from .exploration import episode_seed, exploration_action
from .interrupt import TrainingInterrupted, _deferred_interrupt
from .own_agent import (_actor_view, lecture_shaped, lecture_state_dict, lecture_train_kwargs,
                        load_lecture_state_dict, make_agent)
from .settings import BEST_ACTOR, EVAL_CSV, FINAL_ACTOR, EvalRecord, RunSettings, TrainResult, cli_command

OnEval = Callable[[EvalRecord, list[EvalRecord]], None]


@dataclass(eq=False)
class _Run:
    """One training run: its pieces, where it stands, and the jobs of the loop as methods."""

    settings: RunSettings
    env: Any                          # the env the agent learns on
    eval_env: Any                     # a separate one for evaluations (episodes seeded seed+100+k)
    agent: Any
    buffer: Any                       # the replay memory
    explore: Callable[..., np.ndarray]
    noise_rng: np.random.Generator    # the exploration noise's own generator, seeded by the run
    dims: tuple[int, int, float]      # state_dim, action_dim, max_action
    cfg: TD3Config
    own: bool                         # an agent in the lecture's shape (notebook 16's MyTD3)
    train_kwargs: dict                # what its train is given (the hyperparameters; {} for TD3)
    out: Path | None                  # the run folder; None keeps everything in memory
    on_eval: OnEval | None
    show_bar: bool
    min_fill: int = 1                 # the first update waits until the memory holds one batch
    # Where the run stands: what a checkpoint holds besides agent, replay memory and RNG states.
    t: int = 0
    episode: int = 0
    obs: Any = None
    ep_return: float = 0.0
    ep_actions: list[np.ndarray] = field(default_factory=list)  # replayed to resume mid-episode
    episode_returns: list[float] = field(default_factory=list)
    history: list[EvalRecord] = field(default_factory=list)
    best_mean: float = -math.inf
    wall_before: float = 0.0          # seconds trained in earlier sessions of this run
    # This session: the clock, the checkpoints, the progress bar, the interrupt flag.
    session_start: float = 0.0
    next_ckpt: int = 0
    last_ckpt: int | None = None
    bar: Any = None
    last_bar: int = 0
    asked: list[bool] = field(default_factory=lambda: [False])

    # ------------------------------------------------------------------------- set-up
    @classmethod
    def make(cls, settings: RunSettings | None, overrides: dict[str, Any], *, out_dir: Path | None,
             resume: bool, config: TD3Config | None, agent: Any, replay_buffer: Any,
             actor_cls: type | None, critic_cls: type | None, buffer_cls: type | None,
             explore: Callable[..., np.ndarray] | None, device: str | torch.device | None,
             on_eval: OnEval | None, progress: bool) -> _Run:
        """The run ``train`` was asked for: ``settings`` with ``overrides`` (on resume, the
        checkpoint's settings, ``env_id`` checked and ``steps`` raised). Seeds everything first, so
        network initialisation is reproducible, then makes the envs, the agent and the replay
        memory; on resume, ``resume`` then overwrites all of them with the saved states."""
        ckpt_file = out_dir / CHECKPOINT_NAME if out_dir is not None else None
        saved = None
        if resume:
            if ckpt_file is None:
                raise ValueError("resume=True needs out_dir, the folder of the run to continue.")
            if ckpt_file.exists():
                saved = load_training_checkpoint(ckpt_file, "cpu")  # raises CheckpointError
        if saved is not None:
            settings = _saved_settings(saved, overrides, ckpt_file)
            config = TD3Config.from_dict(saved["agent"]["meta"]["config"])
        else:
            settings = (settings or RunSettings()).with_overrides(**overrides)
        s = settings

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
        run = cls(settings=s, env=env, eval_env=eval_env, agent=agent, buffer=replay_buffer,
                  explore=explore or exploration_action,
                  noise_rng=np.random.default_rng(np.random.SeedSequence([s.seed, 0x7D3])),
                  dims=(state_dim, action_dim, max_action), cfg=cfg, own=own,
                  train_kwargs=train_kwargs, out=out_dir, on_eval=on_eval,
                  show_bar=progress)
        if saved is not None:
            run.resume(saved)
        else:
            run.reset_env()
        return run  # the checkpoint read into `saved` is dropped here: its memory is not kept twice

    def resume(self, saved: dict) -> None:
        """Put the run back where checkpoint ``saved`` left it: the agent (networks, targets,
        optimisers, update counter), the replay memory, the counters, the evaluations; the
        current episode replayed from its seed and saved actions; every random state restored.
        Every mismatch is a CheckpointError."""
        source = self.checkpoint_file
        if self.own:
            load_lecture_state_dict(self.agent, saved["agent"], source)
        elif not hasattr(self.agent, "load_state_dict"):
            raise CheckpointError("Resuming needs an agent with load_state_dict (a TD3).")
        else:
            self.agent.load_state_dict(saved["agent"], source=str(source))
        rb, p = saved["replay_buffer"], saved["progress"]
        max_size = self.buffer.max_size
        try:
            size = int(rb["size"])
            if int(rb["max_size"]) != max_size and size == int(p["t"]) and size <= max_size:
                # A longer run needs a larger memory; rows 0..size-1 are in order (never wrapped).
                rb = {**rb, "max_size": max_size, "ptr": size % max_size}
            self.buffer.load_state_dict(rb)
        except (ReplayBufferError, KeyError, RuntimeError) as e:
            raise CheckpointError(f"{source}: the saved replay buffer does not fit ({e}).") from None
        self.history = [EvalRecord(**e) for e in saved["evaluations"]]
        self.t, self.episode, self.wall_before = int(p["t"]), int(p["episode"]), float(p["wall_time"])
        self.episode_returns = list(p.get("episode_returns", []))
        self.best_mean = float(p.get("best_mean", -math.inf))
        mid = bool(p.get("mid_episode", False))
        replay = p.get("episode_actions") if mid else None
        if mid and replay is None:  # an older final checkpoint, taken mid-episode: a new one
            self.episode += 1
        self.reset_env()
        if replay is not None:
            self.obs, self.ep_return, self.ep_actions = _replay_episode(self.env, replay, p, source)
        restore_rng(saved["rng"], self.env, self.noise_rng)
        print(_resumed_message(source, self.t, self.settings, self.history, len(self.buffer),
                               self.ep_len), flush=True)

    def start(self) -> None:
        """Write ``evaluations.csv`` (on resume: exactly the rows the checkpoint knew), show the
        curve so far to ``on_eval``, start the clock and the progress bar, and note how full the
        replay memory must be before the first update."""
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            _write_csv(self.out / EVAL_CSV, self.history)
        if self.on_eval is not None and self.history:  # resumed: the curve so far, before going on
            self.on_eval(self.history[-1], self.history)
        self.session_start = time.perf_counter()
        self.next_ckpt = self._next_checkpoint_step()
        ckpt = self.checkpoint_file
        self.last_ckpt = self.t if ckpt is not None and ckpt.exists() else None
        self.bar = _progress_bar(self.settings, self.t, self.show_bar)
        self.last_bar = self.t
        # A batch cannot be larger than the memory: with start_steps below the batch size the
        # first updates wait until the buffer holds one batch.
        self.min_fill = self.cfg.batch_size if self.own else int(
            getattr(getattr(self.agent, "config", None), "batch_size", 1))

    # ------------------------------------------------------------------------- one env step
    def action(self) -> np.ndarray:
        """The action to play: uniform random during the warm-up (the first ``start_steps``),
        then ``explore(mu(s), max_action, expl_noise, rng)``: mu(s) + noise, clipped."""
        if self.t < self.settings.start_steps:
            return self.env.action_space.sample()
        a = self.explore(self.agent.select_action(self.obs), self.max_action,
                         self.settings.expl_noise, self.noise_rng)
        return np.asarray(a, dtype=self.env.action_space.dtype)

    def step_and_store(self, a: np.ndarray) -> bool:
        """Play ``a``; store ``(s, s_next, a, r, terminated)`` (terminated, never truncated: a
        time limit is not a terminal state). Returns whether the episode is over."""
        obs_next, r, terminated, truncated, _ = self.env.step(a)
        self.buffer.add((self.obs, obs_next, a, r, terminated))
        self.ep_actions.append(np.array(a, copy=True))
        self.obs = obs_next
        self.ep_return += float(r)
        self.t += 1
        return bool(terminated or truncated)

    def update(self) -> None:
        """One TD3 update (steps 4-15) on a batch of the replay memory."""
        self.agent.train(self.buffer, 1, **self.train_kwargs)

    def end_episode(self) -> None:
        """Keep the episode's return; reset the env with the next episode's seed."""
        self.episode_returns.append(self.ep_return)
        self.episode += 1
        self.reset_env()
        self.ep_return, self.ep_actions = 0.0, []

    def reset_env(self) -> None:
        """Start episode ``episode`` from its own seed, so that a resumed run can start it again."""
        self.obs, _ = self.env.reset(seed=episode_seed(self.settings.seed, self.episode))

    # ------------------------------------------------------------------------- evaluations, files
    def evaluate(self) -> None:
        """``eval_episodes`` deterministic episodes on the evaluation env: the record goes to the
        history, ``evaluations.csv``, the progress bar and ``on_eval``; a new best actor to
        ``best_actor.pt``."""
        s = self.settings
        mean, std, _ = evaluate_policy(self.agent, self.eval_env, s.eval_episodes, s.seed + 100)
        rec = EvalRecord(self.t, mean, std, self.wall())
        self.history.append(rec)
        if self.out is not None:
            _append_csv(self.out / EVAL_CSV, rec)
            if mean > self.best_mean and hasattr(self.agent, "actor"):
                save_actor(_actor_view(self.agent, self.dims), self.out / BEST_ACTOR, env_id=s.env_id,
                           step=self.t, eval_return=mean, eval_std=std, seed=s.seed)
        self.best_mean = max(self.best_mean, mean)
        if self.bar is not None:
            self.bar.set_postfix(eval=f"{mean:.1f}", refresh=False)
        if self.on_eval is not None:
            self.on_eval(rec, self.history)

    def checkpoint(self, mid_episode: bool) -> None:
        """Write ``checkpoint.pt`` (with a run folder, and an agent whose state can be saved), and
        schedule the next periodic one: the first episode end after the next multiple of
        ``checkpoint_every``."""
        self.next_ckpt = self._next_checkpoint_step()
        if self.out is None or not (self.own or hasattr(self.agent, "state_dict")):
            return
        save_training_checkpoint(
            self.out / CHECKPOINT_NAME, settings=asdict(self.settings),
            agent=lecture_state_dict(self.agent, self.dims, self.cfg) if self.own else self.agent.state_dict(),
            replay_buffer=self.buffer.state_dict(), progress=self._progress(mid_episode),
            evaluations=[asdict(e) for e in self.history], env=self.env, noise_rng=self.noise_rng)
        self.last_ckpt = self.t

    def finish(self) -> None:
        """The end of the run (or of this slice of it): a last evaluation when the run is complete
        and the last one is not at this step, a checkpoint, and ``final_actor.pt``."""
        s = self.settings
        if self.t >= s.steps and (not self.history or self.history[-1].step != self.t):
            self.evaluate()  # the end of the run always has an evaluation
        self.checkpoint(mid_episode=self.ep_len > 0)
        if self.out is not None and self.t >= s.steps and hasattr(self.agent, "actor"):
            last = self.history[-1]
            save_actor(_actor_view(self.agent, self.dims), self.out / FINAL_ACTOR, env_id=s.env_id,
                       step=self.t, eval_return=last.mean, eval_std=last.std, seed=s.seed)

    def result(self) -> TrainResult:
        return TrainResult(self.agent, self.history, self.t, self.wall(), self.out, self.episode_returns)

    # ------------------------------------------------------------------------- interrupts, progress bar
    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """While training: a first Ctrl-C (Jupyter's stop button) only sets ``asked``, read by
        ``stop_if_interrupted`` between two env steps; a second one stops at once, without a
        checkpoint, as TrainingInterrupted. At the end the progress bar and both envs are closed."""
        interrupt = _deferred_interrupt()
        self.asked = interrupt.__enter__()
        try:
            yield
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt:  # a second interrupt, or one outside the main thread
            raise TrainingInterrupted(self._interrupted_message(ckpt_written=False)) from None
        finally:
            interrupt.__exit__(None, None, None)
            if self.bar is not None:
                self.bar.close()
            self.env.close()
            self.eval_env.close()

    def stop_if_interrupted(self) -> None:
        """After a Ctrl-C: write a checkpoint at this step, then raise TrainingInterrupted, whose
        message says where the run stands and how to resume."""
        if not self.asked[0]:
            return
        if self.bar is not None:
            self.bar.update(self.t - self.last_bar)
            self.bar.close()
            self.bar = None
        self.checkpoint(mid_episode=self.ep_len > 0)
        raise TrainingInterrupted(self._interrupted_message(ckpt_written=self.last_ckpt == self.t))

    def show_progress(self, end: int) -> None:
        """Move the progress bar on, every 100 steps and at the end; when the warm-up is over its
        rate and ETA restart, measuring update steps only."""
        if self.bar is None or not (self.t - self.last_bar >= 100 or self.t == end):
            return
        self.bar.update(self.t - self.last_bar)
        if self.last_bar < self.settings.start_steps <= self.t < self.settings.steps:
            _restart_rate(self.bar, f"{self.settings.env_id} training")
        self.last_bar = self.t

    # ------------------------------------------------------------------------- small helpers
    @property
    def max_action(self) -> float:
        return self.dims[2]

    @property
    def ep_len(self) -> int:
        """Steps played in the current episode."""
        return len(self.ep_actions)

    @property
    def checkpoint_file(self) -> Path | None:
        return self.out / CHECKPOINT_NAME if self.out is not None else None

    def wall(self) -> float:
        """Seconds of training, summed over the sessions of this run."""
        return self.wall_before + time.perf_counter() - self.session_start

    def _next_checkpoint_step(self) -> int:
        every = self.settings.checkpoint_every
        return (self.t // every + 1) * every

    def _progress(self, mid_episode: bool) -> dict:
        """Where the run stands, as a checkpoint stores it (``save_training_checkpoint``)."""
        actions = torch.from_numpy(np.asarray(self.ep_actions, dtype=np.float64).reshape(
            len(self.ep_actions), self.dims[1]))
        return {"t": self.t, "episode": self.episode, "wall_time": self.wall(),
                "mid_episode": bool(mid_episode), "best_mean": self.best_mean,
                "episode_returns": list(map(float, self.episode_returns)),
                "episode_return": float(self.ep_return), "episode_actions": actions}

    def _interrupted_message(self, ckpt_written: bool) -> str:
        return _interrupted_message(self.t, self.settings, self.history, self.out, self.last_ckpt,
                                    ckpt_written)


def _saved_settings(saved: dict, overrides: dict[str, Any], ckpt_file) -> RunSettings:
    """A resumed run's settings: the checkpoint's, on the same env (given even if it is the
    default), with ``steps`` raised when asked (refusing ``steps < 1``)."""
    settings = RunSettings.from_dict(saved["settings"])
    env_id, steps = overrides.get("env_id"), overrides.get("steps")
    if env_id is not None and env_id != settings.env_id:
        raise CheckpointError(f"{ckpt_file} is a run on {settings.env_id}; resuming it on "
                              f"{env_id} is not possible. Drop --env or pick another --out.")
    if steps is not None:
        settings.steps = int(steps)
        RunSettings(**{**asdict(settings), "steps": settings.steps})  # refuse steps < 1
    return settings


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
