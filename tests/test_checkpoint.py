"""Checkpoints: atomic writes, weights_only reads, RNG round trips, and clear CheckpointErrors for
corrupt, truncated and mismatched files (with nothing already saved overwritten)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from td3_teach import TD3, TD3Config
from td3_teach.checkpoint import (FORMAT, PARTS, VERSION, atomic_save, capture_rng, load_actor, load_policy,
                                  load_training_checkpoint, restore_rng, save_training_checkpoint)
from td3_teach import atomic
from td3_teach.atomic import atomic_write_text
from td3_teach.envs import make_env
from td3_teach.errors import CheckpointError
from td3_teach.networks import Actor
from td3_teach.trainer import train

torch.set_num_threads(1)
TINY = dict(start_steps=100, eval_every=200, eval_episodes=1, checkpoint_every=200,
            progress=False, device="cpu", config=TD3Config(batch_size=32))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished 400-step Pendulum run: checkpoint.pt, evaluations.csv, actor files."""
    out = tmp_path_factory.mktemp("run")
    train("Pendulum-v1", 400, 1, out, **TINY)
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    return dst


def test_checkpoint_holds_every_part_and_loads_with_weights_only(run_dir: Path) -> None:
    d = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert {"settings", "agent", "replay_buffer", "progress", "rng", "evaluations"} <= set(d)
    assert d["progress"]["t"] == 400 and d["replay_buffer"]["size"] == 400
    assert d["replay_buffer"]["s"].shape == (400, 3)  # filled rows only
    assert {"python", "numpy_global", "torch_cpu", "noise", "env", "action_space"} <= set(d["rng"])
    assert {"actor", "actor_target", "critic", "critic_target", "actor_optimizer",
            "critic_optimizer"} <= set(d["agent"])


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path: Path) -> None:
    env = make_env("Pendulum-v1", seed=0)
    noise = np.random.default_rng(7)
    random.seed(1); np.random.seed(2); torch.manual_seed(3)  # noqa: E702
    np.random.normal(size=3)  # leaves a cached gaussian in numpy's legacy state
    atomic_save(capture_rng(env, noise), tmp_path / "rng.pt")

    def draws():
        return (random.random(), np.random.normal(), torch.rand(1).item(), noise.normal(),
                env.action_space.sample().tolist(), env.unwrapped.np_random.random())
    first = draws()
    draws()  # move every generator on
    restore_rng(torch.load(tmp_path / "rng.pt", weights_only=True), env, noise)
    assert draws() == first


# Every file kept goes through td3_teach/atomic.py: a checkpoint, a saved agent, a text file.
WRITERS = {
    "atomic_save": lambda path: atomic_save({"x": torch.ones(3)}, path),
    "TD3.save": lambda path: TD3(3, 1, 1.0, device="cpu").save(path),
    "atomic_write_text": lambda path: atomic_write_text("class MyTD3: ...\n", path),
}


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "checkpoint.pt"
    atomic_save({"x": torch.ones(3)}, path)
    good = path.read_bytes()

    def broken_save(obj, f, *a, **k):
        f.write(b"half a file")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"x": torch.zeros(3)}, path)
    assert path.read_bytes() == good
    assert not (tmp_path / "checkpoint.pt.tmp").exists()


@pytest.mark.parametrize("writer", WRITERS)
def test_every_writer_keeps_the_old_file_when_the_rename_fails(tmp_path: Path, monkeypatch, writer) -> None:
    path = tmp_path / "saved"
    WRITERS[writer](path)
    good = path.read_bytes()
    assert good and not (tmp_path / "saved.tmp").exists()

    def no_rename(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(atomic.os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        WRITERS[writer](path)
    assert path.read_bytes() == good
    assert not (tmp_path / "saved.tmp").exists()


def assert_resume_refused(run: Path, match: str, env_id: str = "Pendulum-v1") -> None:
    """Resuming ``run`` on ``env_id`` raises a CheckpointError matching ``match`` and leaves every
    file of the run as it was."""
    before = snapshot(run)
    with pytest.raises(CheckpointError, match=match):
        train(env_id, 600, 1, run, resume=True, progress=False)
    assert snapshot(run) == before


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_checkpoint_is_a_clear_error_and_nothing_is_overwritten(
        run_dir: Path, tmp_path: Path, damage: str) -> None:
    run = copy_run(run_dir, tmp_path)
    ckpt = run / "checkpoint.pt"
    data = ckpt.read_bytes()
    ckpt.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00not a zip" * 100,
                      "empty": b""}[damage])
    assert_resume_refused(run, "truncated or corrupt")


def test_checkpoint_of_another_env_is_refused(run_dir: Path, tmp_path: Path) -> None:
    assert_resume_refused(copy_run(run_dir, tmp_path), "is a run on Pendulum-v1", "MountainCarContinuous-v0")


def test_resuming_on_the_default_env_given_explicitly_is_refused(run_dir: Path, tmp_path: Path) -> None:
    """An env id equal to train's default is still an env given: not "left out"."""
    assert_resume_refused(copy_run(run_dir, tmp_path), "is a run on Pendulum-v1", "HalfCheetahBulletEnv-v0")


def test_cli_resume_with_another_env_is_one_line_and_changes_nothing(run_dir: Path, tmp_path: Path,
                                                                     capsys) -> None:
    from td3_teach.cli import main

    run = copy_run(run_dir, tmp_path)
    before = snapshot(run)
    assert main(["train", "--resume", str(run), "--env", "HalfCheetahBulletEnv-v0"]) == 2
    err = capsys.readouterr().err
    assert "is a run on Pendulum-v1" in err and "drop --env" in err and len(err.strip().splitlines()) == 1
    assert snapshot(run) == before


def test_checkpoint_with_wrong_network_shapes_is_refused(run_dir: Path, tmp_path: Path) -> None:
    run = copy_run(run_dir, tmp_path)
    d = torch.load(run / "checkpoint.pt", weights_only=True)
    d["agent"]["actor"]["layer_1.weight"] = torch.zeros(400, 5)  # as if state_dim were 5
    atomic_save(d, run / "checkpoint.pt")
    assert_resume_refused(run, r"layer_1.weight.*\(400, 5\)")


def test_incomplete_or_foreign_files_are_refused(run_dir: Path, tmp_path: Path) -> None:
    d = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    del d["replay_buffer"]
    atomic_save(d, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="lacks.*replay_buffer"):
        load_training_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        load_training_checkpoint(run_dir / "final_actor.pt")
    with pytest.raises(CheckpointError, match="No checkpoint"):
        load_training_checkpoint(tmp_path / "missing")


def small_training_checkpoint(path: Path, env, noise) -> Path:
    progress = {"t": 7, "episode": 1, "wall_time": 0.5, "mid_episode": True, "best_mean": -3.0,
                "episode_returns": [-1.5], "episode_return": -0.25,
                "episode_actions": torch.zeros(2, 1, dtype=torch.float64)}
    return save_training_checkpoint(path, settings={"env_id": "Pendulum-v1", "steps": 10}, agent={"meta": {}},
                                    replay_buffer={"size": 7}, progress=progress,
                                    evaluations=[{"step": 0, "mean": -3.0, "std": 0.0, "wall_time": 0.0}],
                                    env=env, noise_rng=noise)


def test_save_training_checkpoint_writes_what_load_training_checkpoint_reads(tmp_path: Path) -> None:
    env, noise = make_env("Pendulum-v1", seed=0), np.random.default_rng(7)
    small_training_checkpoint(tmp_path / "checkpoint.pt", env, noise)
    expected = env.action_space.sample(), noise.normal()  # the draws after the checkpoint
    d = load_training_checkpoint(tmp_path)  # a run folder means its checkpoint.pt
    assert (d["format"], d["version"]) == (FORMAT, VERSION) and set(PARTS) <= set(d)
    assert d["progress"]["t"] == 7 and d["progress"]["episode_returns"] == [-1.5]
    assert d["progress"]["episode_actions"].dtype == torch.float64 and d["evaluations"][0]["mean"] == -3.0
    env.action_space.sample(), noise.normal()  # move both on; restoring brings them back
    restore_rng(d["rng"], env, noise)
    again = env.action_space.sample(), noise.normal()
    assert np.array_equal(again[0], expected[0]) and again[1] == expected[1]


@pytest.mark.parametrize("part", PARTS)
def test_a_training_checkpoint_without_any_one_part_is_refused(tmp_path: Path, part: str) -> None:
    d = torch.load(small_training_checkpoint(tmp_path / "full.pt", make_env("Pendulum-v1", seed=0), None),
                   weights_only=True)
    del d[part]
    atomic_save(d, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match=f"lacks.*{part}"):
        load_training_checkpoint(tmp_path)


def test_actor_file_is_small_and_acts_like_the_trained_agent(run_dir: Path) -> None:
    actor, meta = load_actor(run_dir / "final_actor.pt")
    assert isinstance(actor, Actor) and meta["env_id"] == "Pendulum-v1" and meta["step"] == 400
    agent, env_id = load_policy(run_dir)
    assert isinstance(agent, TD3) and env_id == "Pendulum-v1"
    s = torch.randn(5, 3)
    torch.testing.assert_close(actor(s), agent.actor(s), rtol=0, atol=0)
    assert (run_dir / "final_actor.pt").stat().st_size < 600_000


def test_td3_save_file_loads_as_a_policy_without_env(tmp_path: Path) -> None:
    agent = TD3(3, 1, 2.0, device="cpu")
    agent.save(tmp_path / "agent.pt")
    loaded, env_id = load_policy(tmp_path / "agent.pt")
    assert env_id is None and isinstance(loaded, TD3)


def test_pretrained_cheetah_actor_loads_with_its_facts() -> None:
    from td3_teach.pretrained import available, load_pretrained, pretrained_path
    assert "HalfCheetahBulletEnv-v0" in available()
    path = pretrained_path("HalfCheetahBulletEnv-v0")
    assert path.stat().st_size < 700_000  # the actor alone, not the critics or the buffer
    actor = load_pretrained("HalfCheetahBulletEnv-v0")
    assert isinstance(actor, Actor) and not actor.training
    assert actor.info["env_id"] == "HalfCheetahBulletEnv-v0" and actor.info["step"] > 25_000
    a = actor(torch.zeros(2, 26))
    assert a.shape == (2, 6) and a.abs().max() <= 1.0
    with pytest.raises(CheckpointError, match="available: .*HalfCheetahBulletEnv-v0"):
        load_pretrained("NoSuchEnv-v0")
