"""Overestimation bias, measured as in the paper's Figure 1 (taught in notebook 20).

Fujimoto et al. (ICML 2018, section 4.1, Figure 1) plot two curves over training: what the
critic *believes* the policy's states are worth, and what they are *really* worth. DDPG's belief
climbs far above the truth; with clipped double Q-learning it stays close to it, or below.

What is measured here, every ``measure_every`` env steps of training:

* **estimate** = mean of ``Q1(s, pi(s))`` over every state ``s`` visited in a few fresh
  evaluation episodes of the deterministic policy ``pi`` (no exploration noise). Q1 is the head
  the actor climbs and, with twin critics off, the only one trained.
* **true** = mean, over those same states, of the discounted return actually collected from ``s``
  by following ``pi``: ``G_t = sum_k gamma^k r_{t+k}`` (Monte Carlo, gamma = the config's
  discount).
* **bias** = estimate - true. Positive is overestimation. With Pendulum's negative rewards both
  numbers are negative: overestimation means the critic's number is *less negative* than the truth.

Truncation (the one subtle point). The critic is trained with time-limit truncations *not* masked
(step 9), so it estimates the value of an endless episode: ``Q(s, a)`` counts rewards after the
time limit too. A return cut at the time limit would count only the rewards up to it, and the
states near the end of an episode would look artificially cheap or dear. So each measurement
episode runs on an env whose time limit is raised by ``extra_steps`` (default: enough steps that
``gamma^extra_steps <= 0.01``); only the states of the first ``max_episode_steps`` (the env's own
time limit, 200 for Pendulum-v1) are measured, and each of their returns is summed over at least
``extra_steps`` further rewards. What is left out weighs ``gamma^extra_steps`` at most: below 1 %
of the largest possible value (``record.tail_bound`` says how much, in return units). An episode
that *terminates* (the robot fell) has an exact return: nothing follows a terminal state.

Deterministic policy, one rollout per state: for a deterministic env (Pendulum) the tail of the
episode *is* the rollout from ``s``. For a stochastic env it is one Monte Carlo sample per state;
the mean over hundreds of states is still an unbiased estimate of the mean true value.

Use: ``run(env_id, config, steps, seed)`` trains with ``td3_teach.trainer.train`` and measures at
each evaluation; ``measure(agent, env_id, ...)`` measures one agent once.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from .config import TD3Config
from .envs import QuietReset, check_box_actions, env_dims, make_env, register_bullet_envs
from .seeding import seed_everything


@dataclass
class OverestimationRecord:
    """One measurement after ``step`` env steps of training (all values in return units)."""

    step: int
    estimate: float
    """Mean Q1(s, pi(s)) over the measured states: what the critic believes."""
    true: float
    """Mean discounted Monte Carlo return from the same states under pi: what is real."""
    n_states: int
    """How many states the two means are over."""
    tail_bound: float
    """Largest possible effect of the rewards left out after ``extra_steps`` (see module doc)."""
    eval_return: float = math.nan
    """The trainer's evaluation return (undiscounted, mean over its episodes) at this step."""
    wall_time: float = math.nan
    """Seconds since the start of the run."""

    @property
    def bias(self) -> float:
        """estimate - true: positive means the critic overestimates."""
        return self.estimate - self.true

    def as_row(self) -> dict:
        return {**asdict(self), "bias": self.bias}


def discounted_returns(rewards, gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma * G_{t+1}`` for every t of one rollout (``G`` after the last reward is 0).

    Shapes: rewards (T,) -> returns (T,), computed backwards in one pass (float64).
    """
    r = np.asarray(rewards, dtype=np.float64)
    g = np.zeros_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        g[t] = running
    return g


def default_extra_steps(gamma: float, weight: float = 0.01) -> int:
    """Steps after which ``gamma^k <= weight`` (459 for gamma 0.99 and 1 %); 0 when gamma is 0."""
    if gamma <= 0.0:
        return 0
    if gamma >= 1.0:
        raise ValueError("gamma = 1 has no finite horizon to cut at; measure with gamma < 1.")
    return int(math.ceil(math.log(weight) / math.log(gamma)))


def make_long_env(env_id: str, extra_steps: int) -> tuple[gym.Env, int]:
    """``(env, T)``: ``env_id`` with its time limit ``T`` raised to ``T + extra_steps``."""
    if "Bullet" in env_id:
        register_bullet_envs()
    spec = gym.spec(env_id)
    limit = spec.max_episode_steps
    if limit is None:
        raise ValueError(f"{env_id} has no time limit; pass a limit with gym.register first.")
    env = QuietReset(gym.make(env_id, max_episode_steps=int(limit) + int(extra_steps)))
    check_box_actions(env)
    env.reset(seed=0)  # PyBullet's first reset differs from later ones: get it out of the way
    return env, int(limit)


@torch.no_grad()
def measure(agent, env_id: str = "Pendulum-v1", episodes: int = 5, seed: int = 10_000,
            gamma: float | None = None, extra_steps: int | None = None, step: int = 0,
            env: tuple[gym.Env, int] | None = None) -> OverestimationRecord:
    """Critic estimate vs true discounted return on ``episodes`` fresh deterministic episodes.

    Args:
        agent: a TD3 agent (``actor``, ``critic`` with ``Q1``, ``device``, ``config``), or one
            in the lecture's shape (notebook 16's ``MyTD3``; pass ``gamma`` then).
        env_id: the env the agent was trained on.
        episodes: measurement episodes; episode k starts from ``reset(seed=seed + k)``.
        gamma: discount of the true return (default: the agent's ``config.discount``).
        extra_steps: rewards summed after the time limit (default: ``gamma^k <= 1 %``).
        step: the training step to stamp on the record.
        env: a ``make_long_env`` result to reuse (built, and closed, here when None).

    Returns:
        OverestimationRecord over ``episodes * T`` states (fewer if episodes terminate).
    """
    gamma = float(agent.config.discount if gamma is None else gamma)
    extra = default_extra_steps(gamma) if extra_steps is None else int(extra_steps)
    # Your agent from notebook 16 may keep no .device, and its critic's first head may have
    # another name than Q1: then the first of the two values its forward returns is Q1.
    device = getattr(agent, "device", None) or next(agent.actor.parameters()).device
    q1 = getattr(agent.critic, "Q1", None) or (lambda s, a: agent.critic(s, a)[0])
    own = env is None
    long_env, limit = make_long_env(env_id, extra) if env is None else env
    estimates, truths, r_max = [], [], 0.0
    try:
        for k in range(int(episodes)):
            obs, _ = long_env.reset(seed=int(seed) + k)
            states, rewards, done = [], [], False
            while not done:
                states.append(np.asarray(obs, dtype=np.float32))
                s = torch.as_tensor(states[-1], device=device).reshape(1, -1)
                a = agent.actor(s)[0].cpu().numpy()
                obs, r, terminated, truncated, _ = long_env.step(a)
                rewards.append(float(r))
                done = terminated or truncated
            g = discounted_returns(rewards, gamma)
            n = min(limit, len(states))  # only states inside the env's own time limit
            s = torch.as_tensor(np.stack(states[:n]), device=device)
            q = q1(s, agent.actor(s))
            estimates.append(q.squeeze(1).double().cpu().numpy())
            truths.append(g[:n])
            r_max = max(r_max, float(np.abs(rewards).max()))
    finally:
        if own:
            long_env.close()
    est, tru = np.concatenate(estimates), np.concatenate(truths)
    tail = gamma ** extra * r_max / (1.0 - gamma) if gamma < 1.0 else math.inf
    return OverestimationRecord(step=int(step), estimate=float(est.mean()), true=float(tru.mean()),
                                n_states=int(est.size), tail_bound=float(tail))


@dataclass
class RunResult:
    """A training run with its overestimation measurements and evaluation curve."""

    records: list[OverestimationRecord] = field(default_factory=list)
    wall_time: float = 0.0
    steps: int = 0
    agent: object = None


def run(env_id: str = "Pendulum-v1", config: TD3Config | None = None, steps: int = 15_000,
        seed: int = 0, measure_every: int = 1_000, start_steps: int = 1_000,
        eval_episodes: int = 10, measure_episodes: int = 5, expl_noise: float = 0.1,
        device: str | torch.device | None = "cpu", on_record=None,
        out_dir=None, checkpoint_every: int = 5_000) -> RunResult:
    """Train with ``td3_teach.trainer.train`` and measure overestimation at every evaluation.

    Every ``measure_every`` steps (and at step 0) the trainer evaluates ``eval_episodes``
    deterministic episodes (its usual seeds, seed+100+k), then ``measure`` runs
    ``measure_episodes`` *fresh* ones: their reset seeds are new at every measurement
    (``10_000 + 1_000 * seed + measure_episodes * i + k`` at measurement i), so the critic is
    judged on states it was never evaluated on before. Measuring uses no training randomness,
    so a run gives the same training with or without it.

    ``on_record(record, records)`` is called after each measurement (printing, live plots).
    Switch TD3's tricks off through ``config`` (``TD3Config(twin_critics=False)``,
    ``TD3Config.ddpg()``).

    With ``out_dir`` the run survives a stop: the trainer checkpoints there every
    ``checkpoint_every`` steps, each measurement is appended to ``out_dir/overestimation.csv``,
    and calling ``run`` again with the same ``out_dir`` resumes exactly (the trainer's exact
    resume; measurements after the checkpoint are dropped and taken again, from the same seeds).
    A larger ``steps`` trains a finished run longer.
    """
    from .trainer import make_agent, train  # the trainer imports much; only load it here

    config = config or TD3Config()
    seed_everything(seed)
    probe = make_env(env_id)
    dims = env_dims(probe)
    probe.close()
    agent = make_agent(*dims, config=config, device=device)
    long_env = make_long_env(env_id, default_extra_steps(config.discount))
    result = RunResult(agent=agent)
    records_csv = None
    if out_dir is not None:
        from pathlib import Path
        records_csv = Path(out_dir) / "overestimation.csv"
        result.records = read_records(records_csv)
    t0 = time.perf_counter()
    wall_before = result.records[-1].wall_time if result.records else 0.0

    def on_eval(rec, history) -> None:
        if result.records and rec.step <= result.records[-1].step:
            # Resumed: the trainer shows its last evaluation again. Keep exactly the
            # measurements up to it (later ones came after the checkpoint: taken again).
            result.records = [m for m in result.records if m.step <= rec.step]
            if records_csv is not None:
                write_records(records_csv, result.records)
            return
        i = len(result.records)
        m = measure(agent, env_id, measure_episodes,
                    seed=10_000 + 1_000 * seed + measure_episodes * i, step=rec.step, env=long_env)
        m.eval_return, m.wall_time = rec.mean, wall_before + time.perf_counter() - t0
        result.records.append(m)
        if records_csv is not None:
            write_records(records_csv, result.records)
        if on_record is not None:
            on_record(m, result.records)

    try:
        out = train(env_id, steps, seed, out_dir, agent=agent, config=config,
                    start_steps=start_steps, expl_noise=expl_noise, eval_every=measure_every,
                    eval_episodes=eval_episodes, device=device, on_eval=on_eval, progress=False,
                    checkpoint_every=max(steps, 1) if out_dir is None else int(checkpoint_every),
                    resume=out_dir is not None)
    finally:
        long_env[0].close()
    result.wall_time, result.steps = out.wall_time, out.steps
    return result


# --------------------------------------------------------------------------------- the ablation
#: TD3 and the paper's ablation (section 6.2, Table 2): each trick off alone, and all three off.
#: The names are the paper's: CDQ clipped double Q-learning (sec. 4.2), TPS target policy
#: smoothing (sec. 5.3), DP delayed policy updates (sec. 5.2); "DDPG-style" is the paper's "AHE"
#: row (TD3's architecture and hyperparameters, none of its tricks), ``TD3Config.ddpg()``.
VARIANTS: dict[str, dict] = {
    "TD3": {},
    "TD3-CDQ": {"twin_critics": False},
    "TD3-TPS": {"target_noise": False},
    "TD3-DP": {"delayed_updates": False},
    "DDPG-style": {"twin_critics": False, "target_noise": False, "delayed_updates": False},
    # Figure 1's other curve: DDPG-style plus clipped double Q-learning alone (the paper's "CDQ").
    "CDQ": {"target_noise": False, "delayed_updates": False},
}
#: The five rows of the ablation (Table 2's TD3, its three "- trick" rows, and AHE).
ABLATION = ("TD3", "TD3-CDQ", "TD3-TPS", "TD3-DP", "DDPG-style")


def variant_config(name: str, **overrides) -> TD3Config:
    """The TD3Config of an ablation variant (``VARIANTS``), with ``overrides`` (batch_size, ...)."""
    if name not in VARIANTS:
        raise ValueError(f"Unknown variant '{name}'; known: {', '.join(VARIANTS)}.")
    return TD3Config(**{**VARIANTS[name], **overrides})


RECORD_FIELDS = ("step", "estimate", "true", "bias", "n_states", "tail_bound", "eval_return",
                 "wall_time")
_STORED = tuple(f for f in RECORD_FIELDS if f != "bias")  # bias is derived


def write_records(path, records: list[OverestimationRecord]) -> None:
    """All measurements so far, written whole (atomically) after each one."""
    import csv
    import os
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RECORD_FIELDS)
        w.writeheader()
        w.writerows({k: r.as_row()[k] for k in RECORD_FIELDS} for r in records)
    os.replace(tmp, path)


def read_records(path) -> list[OverestimationRecord]:
    """The measurements ``write_records`` left (none when the file does not exist)."""
    import csv
    import os
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [OverestimationRecord(**_stored_values(row)) for row in csv.DictReader(f)]


def _stored_values(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row of ``write_records`` as the record's fields: counts as ints, the rest floats."""
    return {k: int(float(row[k])) if k in ("step", "n_states") else float(row[k]) for k in _STORED}


def run_settings(env_id: str, variant: str, seed: int, steps: int, batch_size: int,
                 **run_kwargs) -> dict:
    """What makes two stored runs the same run (``run_cached`` reuses a run only on a match)."""
    config = variant_config(variant, batch_size=batch_size)
    return {"env_id": env_id, "variant": variant, "seed": int(seed), "steps": int(steps),
            "config": config.to_dict(), **{k: v for k, v in sorted(run_kwargs.items())}}


def run_cached(runs_dir, variant: str, seed: int, env_id: str = "Pendulum-v1",
               steps: int = 15_000, batch_size: int = 100, log=print,
               checkpoint_every: int = 0, **run_kwargs) -> dict:
    """``run`` one (variant, seed), or read it back if ``runs_dir`` already holds the same run.

    Writes ``runs_dir/ENV/VARIANT/seedS.csv`` (the records) and ``seedS.json`` (the settings and
    wall time). A stored run is reused only when every setting matches, so the ablation and the
    overestimation benchmarks can share their TD3 and DDPG-style runs without training them twice.
    With ``checkpoint_every`` > 0 the run checkpoints into ``runs_dir/ENV/VARIANT/seedS.run/``
    and a stopped run resumes from there when called again (long MuJoCo runs, issue 19); the
    stored settings do not depend on it, since resuming gives the same run.
    Returns ``{"settings": ..., "wall_time": ..., "records": [row dicts]}``.
    """
    import csv
    import json
    from pathlib import Path

    folder = Path(runs_dir) / env_id / variant
    csv_path, json_path = folder / f"seed{seed}.csv", folder / f"seed{seed}.json"
    config = variant_config(variant, batch_size=batch_size)
    settings = run_settings(env_id, variant, seed, steps, batch_size, **run_kwargs)
    if json_path.exists() and csv_path.exists():
        stored = json.loads(json_path.read_text())
        if stored.get("settings") == settings:
            with open(csv_path, newline="") as f:
                rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
            log(f"{variant} seed {seed}: reusing {csv_path}")
            return {**stored, "records": rows}

    def on_record(m: OverestimationRecord, records) -> None:
        log(f"{variant:>10s} seed {seed} step {m.step:>6d}  eval {m.eval_return:8.1f}  "
            f"Q1 estimate {m.estimate:8.1f}  true {m.true:8.1f}  bias {m.bias:+7.1f}  "
            f"wall {m.wall_time:6.0f} s")

    resumable: dict[str, Any] = {"out_dir": folder / f"seed{seed}.run",
                                 "checkpoint_every": int(checkpoint_every)} if checkpoint_every > 0 else {}
    res = run(env_id, config, steps, seed, on_record=on_record, **resumable, **run_kwargs)
    rows = [{k: float(r.as_row()[k]) for k in RECORD_FIELDS} for r in res.records]
    folder.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RECORD_FIELDS)
        w.writeheader()
        w.writerows(rows)
    stored = {"settings": settings, "wall_time": res.wall_time,
              "steps_per_s": res.steps / max(res.wall_time, 1e-9)}
    json_path.write_text(json.dumps(stored, indent=1))
    return {**stored, "records": rows}
