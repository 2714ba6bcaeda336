"""Evaluate a policy: its deterministic actions, over a few episodes, on a separate env.

Why deterministic: exploration noise is there to collect data; the policy we *learned* is mu(s).
Why a separate env, reset with fixed seeds: the training env is mid-episode and its random
state belongs to training. Episode k of every evaluation starts from ``env.reset(seed=seed + k)``,
so every evaluation of a run sees the same start states (a fair curve), and evaluating never
changes what training does next (the trainer's runs resume exactly).

Command line: ``td3-teach evaluate CHECKPOINT [--episodes N] [--env ENV] [--seed S]``.
"""

from __future__ import annotations

import argparse
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .envs import make_env
from .protocols import Agent


def as_policy(agent: Agent | nn.Module | Callable) -> Callable[[np.ndarray], np.ndarray]:
    """A function obs -> action from a TD3 agent (``select_action``), an actor module, or a
    plain callable. Anything else gets an error saying what is accepted."""
    if hasattr(agent, "select_action"):
        return agent.select_action
    if isinstance(agent, nn.Module):
        device = next(agent.parameters()).device

        def act(obs: np.ndarray) -> np.ndarray:
            s = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=device).reshape(1, -1)
            with torch.no_grad():
                return agent(s)[0].cpu().numpy()
        return act
    if callable(agent):
        return agent
    raise TypeError(f"Cannot act with a {type(agent).__name__}: pass a TD3 agent (anything with "
                    "select_action), an actor nn.Module, or a function obs -> action.")


def check_fits(agent: Agent | nn.Module | Callable, env: gym.Env) -> None:
    """An agent trained on one env cannot act in another with other sizes: say so plainly."""
    want = getattr(agent, "state_dim", None)
    if want is None and isinstance(agent, nn.Module) and hasattr(agent, "layer_1"):
        want = getattr(agent.layer_1, "in_features", None)
    have = env.observation_space.shape
    if want is not None and have is not None and tuple(have) != (int(want),):
        name = env.spec.id if env.spec else type(env.unwrapped).__name__
        raise ValueError(f"The agent takes observations of size {want}, but {name} gives shape "
                         f"{tuple(have)}: it was trained on another environment. Pass the env it "
                         "was trained on (--env), or load the matching checkpoint.")


def run_episode(policy: Callable[[np.ndarray], np.ndarray], env: gym.Env, seed: int,
                on_step: Callable[[gym.Env], None] | None = None) -> tuple[float, int]:
    """One episode of ``policy`` from ``env.reset(seed=seed)``: (return, length).

    Ends on terminated or truncated (the env's time limit). ``on_step(env)`` is called after the
    reset and after every step (the video recorder grabs a frame there).
    """
    obs, _ = env.reset(seed=int(seed))
    if on_step:
        on_step(env)
    total, length, done = 0.0, 0, False
    while not done:
        obs, r, terminated, truncated, _ = env.step(policy(obs))
        total += float(r)
        length += 1
        done = terminated or truncated
        if on_step:
            on_step(env)
    return total, length


def evaluate(agent: Agent | nn.Module | Callable, env_id: str | gym.Env = "HalfCheetahBulletEnv-v0", episodes: int = 10,
             seed: int = 100) -> tuple[float, float, list[float]]:
    """Mean and std of the returns of ``episodes`` deterministic episodes: ``(mean, std, returns)``.

    ``env_id`` may be an env id (an env is made and closed here) or an env instance (reused;
    its episodes are still reset with seeds seed, seed+1, ...). The trainer passes seed+100 as
    the authors' code does, so evaluation start states differ from training's.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1; got {episodes}.")
    policy = as_policy(agent)
    # make_env(seed=...) resets once: PyBullet's first reset differs slightly from later ones
    # (the first step's reward), so every evaluation episode must come after a first reset.
    own = isinstance(env_id, str)
    env = make_env(env_id, seed=seed) if isinstance(env_id, str) else env_id
    try:
        check_fits(agent, env)
        returns = [run_episode(policy, env, seed + k)[0] for k in range(int(episodes))]
    finally:
        if own:
            env.close()
    return float(np.mean(returns)), float(np.std(returns)), returns


# --------------------------------------------------------------------------------- command line
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a run folder, a training checkpoint, an actor file "
                                           "or a TD3.save file")
    parser.add_argument("--episodes", type=int, default=10, help="episodes to average (10)")
    parser.add_argument("--env", default=None, help="env id (default: the one stored in the "
                                                   "checkpoint)")
    parser.add_argument("--seed", type=int, default=100, help="episode k resets with seed+k (100)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")


def run(args: argparse.Namespace) -> int:
    from .checkpoint import load_policy

    agent, stored_env = load_policy(args.checkpoint, args.device)
    env_id = args.env or stored_env
    if env_id is None:
        raise SystemExit(f"{args.checkpoint} does not say which env it was trained on; pass "
                         "--env ENV_ID (e.g. --env HalfCheetahBulletEnv-v0).")
    mean, std, returns = evaluate(agent, env_id, args.episodes, args.seed)
    print(f"{env_id}: mean return {mean:.1f} +/- {std:.1f} over {args.episodes} episodes "
          f"(deterministic policy; seeds {args.seed}..{args.seed + args.episodes - 1})")
    print("returns: " + ", ".join(f"{r:.1f}" for r in returns))
    return 0
