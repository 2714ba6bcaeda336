"""MuJoCo tasks (the [mujoco] extra): made, trained, resumed, evaluated and filmed like the Bullet
ones; course_env() picks the engine the notebooks use; headless_mujoco_gl() picks an OpenGL
backend only where its library exists. Skipped, with the reason, where mujoco is not installed."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from td3_teach import TD3, TD3Config
from td3_teach import envs as envs_mod
from td3_teach import video as video_mod
from td3_teach.envs import MUJOCO_ENVS, course_env, env_dims, is_mujoco, make_env, mujoco_available
from td3_teach.errors import EnvError
from td3_teach.trainer import train

torch.set_num_threads(1)
needs_mujoco = pytest.mark.skipif(not mujoco_available(),
                                  reason='needs mujoco: pip install -e ".[mujoco]"')


# --------------------------------------------------------------------------- envs, no mujoco needed
def test_mujoco_ids_are_recognised_from_gymnasiums_registry():
    assert all(is_mujoco(e) for e in MUJOCO_ENVS)
    assert not any(is_mujoco(e) for e in ("Pendulum-v1", "HalfCheetahBulletEnv-v0", "NoSuchEnv-v0"))


def test_mujoco_missing_is_an_env_error_naming_the_extra(monkeypatch):
    monkeypatch.setattr(envs_mod, "mujoco_available", lambda: False)
    with pytest.raises(EnvError, match=r'HalfCheetah-v5 is a MuJoCo task.*\.\[mujoco\]'):
        make_env("HalfCheetah-v5")


def test_course_env_uses_bullet_where_installed_and_mujoco_where_not(monkeypatch, capsys):
    monkeypatch.delenv(envs_mod.ENGINE_VARIABLE, raising=False)
    monkeypatch.setattr(envs_mod, "bullet_available", lambda: True)
    assert course_env() == "HalfCheetahBulletEnv-v0"
    assert "PyBullet" in capsys.readouterr().out
    monkeypatch.setattr(envs_mod, "bullet_available", lambda: False)
    monkeypatch.setattr(envs_mod, "mujoco_available", lambda: True)
    assert course_env() == "HalfCheetah-v5"
    assert course_env("HopperBulletEnv-v0", verbose=False) == "Hopper-v5"
    out = capsys.readouterr().out
    assert "MuJoCo" in out and "PyBullet is not installed" in out
    monkeypatch.setattr(envs_mod, "mujoco_available", lambda: False)
    with pytest.raises(EnvError, match=r"Neither engine.*\[mujoco\]"):
        course_env()


def test_course_env_obeys_the_engine_variable(monkeypatch):
    monkeypatch.setattr(envs_mod, "bullet_available", lambda: True)
    monkeypatch.setattr(envs_mod, "mujoco_available", lambda: True)
    monkeypatch.setenv(envs_mod.ENGINE_VARIABLE, "mujoco")
    assert course_env(verbose=False) == "HalfCheetah-v5"
    monkeypatch.setenv(envs_mod.ENGINE_VARIABLE, "bullet")
    assert course_env(verbose=False) == "HalfCheetahBulletEnv-v0"
    monkeypatch.setenv(envs_mod.ENGINE_VARIABLE, "physx")
    with pytest.raises(EnvError, match="expected 'bullet' or 'mujoco'"):
        course_env()
    monkeypatch.delenv(envs_mod.ENGINE_VARIABLE)
    with pytest.raises(EnvError, match="expected one of"):
        course_env("Pendulum-v1")


# --------------------------------------------------------------------------- the OpenGL backend
@pytest.fixture
def headless_linux(monkeypatch):
    """No display, no MUJOCO_GL, mujoco not yet imported (as at a fresh kernel's start)."""
    for var in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delitem(sys.modules, "mujoco", raising=False)
    return monkeypatch


def libraries(*found: str):
    return lambda name: f"lib{name}.so.1" if name in found else None


def test_headless_gl_prefers_egl_then_osmesa_then_leaves_it_unset(headless_linux):
    import ctypes.util
    import os
    headless_linux.setattr(ctypes.util, "find_library", libraries("EGL", "OSMesa"))
    assert video_mod.headless_mujoco_gl() == "egl" and os.environ["MUJOCO_GL"] == "egl"
    headless_linux.delenv("MUJOCO_GL")
    headless_linux.setattr(ctypes.util, "find_library", libraries("OSMesa"))
    assert video_mod.headless_mujoco_gl() == "osmesa"
    headless_linux.delenv("MUJOCO_GL")
    headless_linux.setattr(ctypes.util, "find_library", libraries())
    assert video_mod.headless_mujoco_gl() is None and "MUJOCO_GL" not in os.environ


def test_headless_gl_keeps_a_users_choice_and_a_display(headless_linux):
    import ctypes.util
    import os
    headless_linux.setattr(ctypes.util, "find_library", libraries("EGL"))
    headless_linux.setenv("MUJOCO_GL", "osmesa")
    assert video_mod.headless_mujoco_gl() == "osmesa"
    headless_linux.delenv("MUJOCO_GL")
    headless_linux.setenv("DISPLAY", ":0")
    assert video_mod.headless_mujoco_gl() is None and "MUJOCO_GL" not in os.environ


# --------------------------------------------------------------------------- with mujoco
@needs_mujoco
@pytest.mark.parametrize("env_id, dims", [("HalfCheetah-v5", (17, 6, 1.0)), ("Hopper-v5", (11, 3, 1.0)),
                                          ("Walker2d-v5", (17, 6, 1.0)), ("Ant-v5", (105, 8, 1.0))])
def test_mujoco_paper_tasks_fit_td3_and_reset_by_seed(env_id, dims):
    env = make_env(env_id, seed=0)
    try:
        assert env_dims(env) == dims
        o1, _ = env.reset(seed=4)
        o2, _ = env.reset(seed=4)
        o3, _ = env.reset(seed=5)
        np.testing.assert_array_equal(o1, o2)
        assert not np.array_equal(o1, o3)
        a = TD3(*dims, device="cpu").select_action(o1)
        obs, r, terminated, truncated, _ = env.step(a.astype(np.float32))
        assert obs.shape == (dims[0],) and np.isfinite(r)
    finally:
        env.close()


def evals(folder: Path) -> list[tuple[str, str]]:
    with open(folder / "evaluations.csv", newline="") as f:
        return [(r["step"], r["mean_return"]) for r in csv.DictReader(f)]


@needs_mujoco
def test_mujoco_run_stopped_and_resumed_equals_one_that_never_stopped(tmp_path):
    """HalfCheetah-v5's episodes are 1,000 steps: stop at that boundary, resume, compare."""
    kw = dict(start_steps=900, eval_every=600, eval_episodes=1, checkpoint_every=1000,
              config=TD3Config(batch_size=32), progress=False, device="cpu")
    train("HalfCheetah-v5", 1200, seed=2, out_dir=tmp_path / "broken", stop_at=1000, **kw)
    resumed = train("HalfCheetah-v5", 1200, seed=2, out_dir=tmp_path / "broken", resume=True,
                    progress=False, device="cpu")
    whole = train("HalfCheetah-v5", 1200, seed=2, out_dir=tmp_path / "whole", **kw)
    assert [e.step for e in whole.evaluations] == [0, 600, 1200]
    assert evals(tmp_path / "broken") == evals(tmp_path / "whole")
    assert resumed.evaluations[-1].mean == whole.evaluations[-1].mean
    # the policy changed after 300 updates: the last evaluation is not the untrained one
    assert whole.evaluations[-1].mean != whole.evaluations[0].mean

    out = subprocess.run([sys.executable, "-m", "td3_teach.cli", "evaluate", str(tmp_path / "whole"),
                          "--episodes", "1", "--seed", "700"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HalfCheetah-v5: mean return")


def egl_or_display() -> bool:
    import ctypes.util
    import os
    return bool(os.environ.get("MUJOCO_GL") or os.environ.get("DISPLAY")
                or ctypes.util.find_library("EGL") or ctypes.util.find_library("OSMesa"))


@needs_mujoco
@pytest.mark.skipif(not egl_or_display(), reason="no display and no libEGL/libOSMesa: "
                    "apt-get install libegl1 libegl-mesa0 (see td3_teach/video.py)")
def test_mujoco_video_is_a_readable_mp4_of_the_asked_size(tmp_path):
    import imageio.v2 as imageio

    agent = TD3(17, 6, 1.0, device="cpu")
    path, ret, length = video_mod.record_episode(agent, "HalfCheetah-v5", tmp_path / "c.mp4",
                                                 seed=3, max_steps=6, width=96, height=64)
    with imageio.get_reader(path) as reader:
        frames = [frame for frame in reader]  # not list(): its length hint can be inf
    assert length == 6 and len(frames) == 7
    assert frames[0].shape == (64, 96, 3) and frames[0].std() > 0
    again = video_mod.record_episode(agent, "HalfCheetah-v5", tmp_path / "d.mp4", seed=3,
                                     max_steps=6, width=96, height=64)
    assert again[1:] == (ret, length)


@needs_mujoco
def test_pretrained_mujoco_cheetah_runs_forward():
    """The shipped HalfCheetah-v5 actor runs: an untrained actor scores about 0 and random
    actions about -300 on 1,000 steps; a running cheetah several thousand."""
    from td3_teach.evaluate import evaluate
    from td3_teach.pretrained import load_pretrained

    actor = load_pretrained("HalfCheetah-v5")
    assert actor.info["env_id"] == "HalfCheetah-v5" and actor.info["step"] > 25_000
    mean, _, _ = evaluate(actor, "HalfCheetah-v5", episodes=1, seed=1000)
    assert mean > 1000, f"the pretrained HalfCheetah-v5 actor scored {mean:.0f}"


@needs_mujoco
@pytest.mark.skipif(not egl_or_display(), reason="no display and no libEGL/libOSMesa")
def test_watch_pretrained_films_the_mujoco_cheetah_where_pybullet_is_missing(tmp_path, monkeypatch,
                                                                             capsys):
    from td3_teach.cli import main

    monkeypatch.delenv(envs_mod.ENGINE_VARIABLE, raising=False)
    monkeypatch.setattr(envs_mod, "bullet_available", lambda: False)
    assert main(["watch", "pretrained", "--out", str(tmp_path / "p.mp4"), "--max-steps", "3",
                 "--width", "64", "--height", "48"]) == 0
    assert "3 steps of HalfCheetah-v5" in capsys.readouterr().out
    assert (tmp_path / "p.mp4").stat().st_size > 0


@needs_mujoco
def test_mujoco_videos_of_the_robots_use_their_tracking_camera():
    import mujoco

    env = make_env("HalfCheetah-v5", render_mode="rgb_array", width=64, height=48)
    model = env.unwrapped.model
    assert env.unwrapped.mujoco_renderer.camera_id == mujoco.mj_name2id(
        model, mujoco.mjtObj.mjOBJ_CAMERA, "track") >= 0
    env.close()
    env = make_env("Reacher-v5", render_mode="rgb_array")  # a fixed arm: the free camera
    assert env.unwrapped.mujoco_renderer.camera_id == -1
    env.close()
