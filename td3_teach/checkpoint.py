"""Checkpoints of a training run: write atomically, read safely, restore every random state.

A training checkpoint holds everything needed to continue a run as if it had never stopped:
the agent (networks, targets, optimisers, iteration counter), the replay buffer (filled rows
only), the step and episode counters, the evaluation history, and every random number
generator the run draws from (python ``random``, numpy's global state, the trainer's own
exploration-noise ``Generator``, torch CPU and CUDA, the env's ``np_random`` and its action
space's RNG used by the random warm-up actions).

Why the RNG states are stored as JSON strings: the files are read back with
``torch.load(weights_only=True)``, which refuses arbitrary pickled objects (a file that could run
code is a file nobody should open). numpy's states hold arrays and 128-bit integers, which
weights_only does not accept; a JSON string is a plain ``str`` and always does.

Why writes are atomic (``atomic.atomic_save``): the file is written to ``<name>.tmp``, flushed to
disk, and only then renamed over the old one with ``os.replace``. A run killed with ``kill -9``
halfway through a write leaves the previous checkpoint intact, never half a file.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .agent import TD3, read_checkpoint
from .atomic import atomic_save
from .errors import CheckpointError
from .networks import Actor

FORMAT = "td3_teach.train_checkpoint"
ACTOR_FORMAT = "td3_teach.actor"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
PARTS = ("settings", "agent", "replay_buffer", "progress", "rng", "evaluations")
"""What a training checkpoint holds besides its format and version: ``save_training_checkpoint``
writes every part, ``load_training_checkpoint`` refuses a file that lacks one."""


# --------------------------------------------------------------------------------- RNG states
def _to_json(state: Any) -> str:
    def plain(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return {"__ndarray__": x.tolist(), "dtype": str(x.dtype)}
        if isinstance(x, (tuple, list)):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, np.generic):
            return x.item()
        return x
    return json.dumps(plain(state))


def _from_json(text: str) -> Any:
    def back(x: Any) -> Any:
        if isinstance(x, dict):
            if "__ndarray__" in x:
                return np.asarray(x["__ndarray__"], dtype=x["dtype"])
            return {k: back(v) for k, v in x.items()}
        if isinstance(x, list):
            return [back(v) for v in x]
        return x
    return back(json.loads(text))


def capture_rng(env=None, noise_rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Every random state a training run draws from, in a form ``weights_only`` accepts."""
    rng: dict[str, Any] = {
        "python": _to_json(random.getstate()),
        "numpy_global": _to_json(np.random.get_state()),
        "torch_cpu": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        rng["torch_cuda"] = torch.cuda.get_rng_state_all()
    if noise_rng is not None:
        rng["noise"] = _to_json(noise_rng.bit_generator.state)
    if env is not None:
        rng["env"] = _to_json(env.unwrapped.np_random.bit_generator.state)
        rng["action_space"] = _to_json(env.action_space.np_random.bit_generator.state)
    return rng


def restore_rng(rng: dict[str, Any], env=None, noise_rng: np.random.Generator | None = None) -> None:
    """Put back what ``capture_rng`` stored (the env's generators are changed in place, so
    objects sharing them, such as a Bullet robot, see the restored state too)."""
    random.setstate(_python_state(_from_json(rng["python"])))
    kind, keys, pos, has_gauss, cached = _from_json(rng["numpy_global"])
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(rng["torch_cpu"])
    if "torch_cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["torch_cuda"])
    if noise_rng is not None and "noise" in rng:
        noise_rng.bit_generator.state = _from_json(rng["noise"])
    if env is not None:
        if "env" in rng:
            env.unwrapped.np_random.bit_generator.state = _from_json(rng["env"])
        if "action_space" in rng:
            env.action_space.np_random.bit_generator.state = _from_json(rng["action_space"])


def _python_state(state: list) -> tuple:
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


# --------------------------------------------------------------------------------- writing
def save_training_checkpoint(path: str | os.PathLike, *, settings: dict, agent: dict,
                             replay_buffer: dict, progress: dict, evaluations: list[dict],
                             env: Any = None, noise_rng: np.random.Generator | None = None) -> Path:
    """Write a training checkpoint atomically (read back by ``load_training_checkpoint``).

    Args:
        settings: the run's ``RunSettings`` as a dict.
        agent: the agent's state (``TD3.state_dict``: networks, targets, optimisers, meta).
        replay_buffer: ``ReplayBuffer.state_dict`` (the filled rows only).
        progress: where the run stands: ``t``, ``episode``, ``wall_time``, ``mid_episode``,
            ``best_mean``, ``episode_returns``, ``episode_return`` and ``episode_actions`` (the
            current episode's actions, a float64 tensor of shape (n, action_dim), replayed on
            resume to bring a restarted env back to the same state).
        evaluations: the evaluation records so far, as dicts.
        env, noise_rng: the training env and the exploration-noise generator, whose random
            states are stored with every global one (``capture_rng``), taken last.
    """
    state = {"format": FORMAT, "version": VERSION, "settings": settings, "agent": agent,
             "replay_buffer": replay_buffer, "progress": progress, "evaluations": evaluations,
             "rng": capture_rng(env, noise_rng)}
    return atomic_save(state, path)


# --------------------------------------------------------------------------------- reading
def checkpoint_path(path: str | os.PathLike) -> Path:
    """A run folder means its ``checkpoint.pt``; a file means itself."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def load_training_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """Read a training checkpoint (``weights_only=True``) and check it is one, and complete.

    Raises CheckpointError naming the file and what is wrong: missing, truncated, corrupt,
    written by something else, or missing a part.
    """
    path = checkpoint_path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}. Expected a run folder holding "
                              f"{CHECKPOINT_NAME} (written by `td3-teach train --out DIR`) or "
                              "the path of such a file.")
    d = read_checkpoint(path, device)
    if d.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a training checkpoint (format "
                              f"{d.get('format')!r}; expected {FORMAT!r}). Agent files from "
                              "TD3.save and actor files can be evaluated or watched, not resumed.")
    if int(d.get("version", -1)) > VERSION:
        raise CheckpointError(f"{path} has checkpoint version {d.get('version')}; this td3_teach "
                              f"reads up to version {VERSION}. Upgrade td3_teach.")
    missing = [k for k in PARTS if k not in d]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}; it is incomplete. Resume from an earlier "
                              "copy or start the run again.")
    return d


def save_actor(agent: TD3, path: str | os.PathLike, **info: Any) -> Path:
    """Write the actor alone (about 0.5 MB for HalfCheetah): all that acting needs.

    ``info`` (env_id, step, eval_return, ...) is stored beside the weights as plain values.
    """
    meta = {"state_dim": agent.state_dim, "action_dim": agent.action_dim,
            "max_action": agent.max_action}
    meta.update({k: v for k, v in info.items() if v is not None})
    return atomic_save({"format": ACTOR_FORMAT, "version": VERSION,
                        "actor": agent.actor.state_dict(), "meta": meta}, path)


def load_actor(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[Actor, dict]:
    """An actor file written by ``save_actor``: the network (eval mode) and its meta dict."""
    d = read_checkpoint(path, device)
    if d.get("format") != ACTOR_FORMAT or "actor" not in d or "meta" not in d:
        raise CheckpointError(f"{path} is not an actor file (format {d.get('format')!r}; "
                              f"expected {ACTOR_FORMAT!r}).")
    meta = d["meta"]
    actor = Actor(meta["state_dim"], meta["action_dim"], meta["max_action"]).to(device)
    from .agent import _check_shapes
    _check_shapes(actor, d["actor"], "actor", str(path))
    actor.load_state_dict(d["actor"])
    actor.eval()
    return actor, dict(meta)


def load_policy(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """Whatever ``path`` holds, as something that acts: returns ``(agent_or_actor, env_id)``.

    Accepts a run folder or a training checkpoint (env id known), an actor file (env id known
    when it was stored), or an agent file from ``TD3.save`` (env id None: pass ``--env``).
    """
    file = checkpoint_path(path)
    d = read_checkpoint(file, device)
    fmt = d.get("format")
    if fmt == FORMAT:
        d = load_training_checkpoint(file, device)
        meta = d["agent"]["meta"]
        agent = TD3(meta["state_dim"], meta["action_dim"], meta["max_action"], device=device)
        agent.load_state_dict(d["agent"], source=str(file))
        return agent, d["settings"]["env_id"]
    if fmt == ACTOR_FORMAT:
        actor, meta = load_actor(file, device)
        return actor, meta.get("env_id")
    return TD3.from_checkpoint(file, device=device), None
