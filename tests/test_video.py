"""Videos: a short recording is a readable MP4 with one frame per step (plus the reset frame)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import pytest
import torch

from td3_teach import TD3
from td3_teach.envs import course_env
from td3_teach.video import record_episode, record_video, show_video

torch.set_num_threads(1)
ENV = course_env(verbose=False)  # PyBullet's cheetah where installed, else MuJoCo's (Python 3.12+)
S = 26 if "Bullet" in ENV else 17  # its observation size; both have 6 actions


def read_frames(path: Path) -> list:
    with imageio.get_reader(path) as reader:
        return [frame for frame in reader]


def test_record_video_writes_a_readable_mp4(tmp_path: Path) -> None:
    torch.manual_seed(0)
    agent = TD3(S, 6, 1.0, device="cpu")
    path = record_video(agent, ENV, tmp_path / "cheetah.mp4", max_steps=12, width=160, height=128)
    assert path == tmp_path / "cheetah.mp4" and path.stat().st_size > 0
    frames = read_frames(path)
    assert len(frames) == 13  # the reset frame and one per step
    assert frames[0].shape == (128, 160, 3)
    assert frames[0].std() > 0  # a picture, not a blank frame
    assert not list(tmp_path.glob("*.tmp*"))


def test_recorded_return_matches_a_deterministic_rerun(tmp_path: Path) -> None:
    torch.manual_seed(1)
    agent = TD3(S, 6, 1.0, device="cpu")
    _, r1, n1 = record_episode(agent, ENV, tmp_path / "a.mp4", seed=5, max_steps=8, width=64, height=48)
    _, r2, n2 = record_episode(agent, ENV, tmp_path / "b.mp4", seed=5, max_steps=8, width=64, height=48)
    assert (r1, n1) == (r2, n2) and n1 == 8


def test_wrong_env_for_the_agent_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size 3.*trained on another environment"):
        record_video(TD3(3, 1, 2.0, device="cpu"), ENV, tmp_path / "x.mp4", max_steps=2)
    assert not (tmp_path / "x.mp4").exists()


def test_watch_command_and_notebook_helper(tmp_path: Path) -> None:
    agent = TD3(S, 6, 1.0, device="cpu")
    agent.save(tmp_path / "agent.pt")
    out = subprocess.run([sys.executable, "-m", "td3_teach.cli", "watch", str(tmp_path / "agent.pt"),
                          "--env", ENV, "--out", str(tmp_path / "w.mp4"), "--max-steps", "5",
                          "--width", "96", "--height", "64"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "5 steps" in out.stdout and len(read_frames(tmp_path / "w.mp4")) == 6
    html = show_video(tmp_path / "w.mp4", embed=True)._repr_html_()
    assert "data:video/mp4;base64," in html
    linked = show_video(tmp_path / "w.mp4")._repr_html_()  # the default: the notebook stays small
    assert "base64" not in linked and len(linked) < 500
    assert f'src="{os.path.relpath(tmp_path / "w.mp4")}"' in linked
