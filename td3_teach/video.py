"""Record a video of a policy: one deterministic episode, rendered off-screen, saved as MP4.

Frames come from ``render_mode="rgb_array"`` and are encoded by ffmpeg through ``imageio`` (the
``imageio-ffmpeg`` wheel ships its own ffmpeg binary). Frames are written as they are produced,
so a long episode never has to fit in memory.

* PyBullet renders with its TinyRenderer on the CPU: no display, no GPU, no OpenGL needed.
* MuJoCo renders with OpenGL. Without a display (a server, CI, a container) it needs an
  off-screen backend, chosen by the ``MUJOCO_GL`` variable *before mujoco is first imported*:
  ``MUJOCO_GL=egl`` (libEGL: Debian/Ubuntu package ``libegl1``, with Mesa's software renderer
  ``libegl-mesa0`` where there is no GPU) or ``MUJOCO_GL=osmesa`` (``libosmesa6``; slower).
  ``headless_mujoco_gl()`` sets it for you (``make_env`` calls it). Checked on this project's
  Debian machine (no GPU, no display): egl renders (Mesa llvmpipe); glfw fails without a
  display; osmesa needs libosmesa6, which is not installed there. With a display, or on macOS
  and Windows, MuJoCo's own default works and nothing is set.

Command line: ``td3-teach watch CHECKPOINT --out run.mp4 [--env ENV] [--max-steps N]``.
In a notebook: ``show_video(record_video(agent, "HalfCheetahBulletEnv-v0"))``.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import sys
from pathlib import Path

import numpy as np

from .envs import make_env
from .evaluate import as_policy, check_fits


MUJOCO_GL_HELP = ("MuJoCo renders with OpenGL; without a display it needs libEGL (Debian/Ubuntu: "
                  "apt-get install libegl1 libegl-mesa0, then MUJOCO_GL=egl) or OSMesa (apt-get "
                  "install libosmesa6, then MUJOCO_GL=osmesa), set before mujoco is imported.")


def headless_mujoco_gl() -> str | None:
    """Choose MuJoCo's off-screen OpenGL backend where there is no display; return MUJOCO_GL.

    mujoco reads ``MUJOCO_GL`` once, when it is first imported, and an import with a backend
    whose library is missing fails outright, so a backend is set only where its library is found:

    * ``MUJOCO_GL`` already set: kept (your choice wins);
    * not Linux (macOS, Windows), or a display (``DISPLAY`` / ``WAYLAND_DISPLAY``): nothing set,
      MuJoCo's default works;
    * Linux without a display: ``egl`` where libEGL is found, else ``osmesa`` where libOSMesa
      is, else nothing (training works; filming then fails with ``MUJOCO_GL_HELP``).
    """
    chosen = os.environ.get("MUJOCO_GL")
    if chosen or not sys.platform.startswith("linux"):
        return chosen
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            if "mujoco" not in sys.modules:  # too late to choose once mujoco is imported
                os.environ["MUJOCO_GL"] = backend
            return os.environ.get("MUJOCO_GL")
    return None


def record_video(agent, env_id: str = "HalfCheetahBulletEnv-v0",
                 path: str | os.PathLike = "run.mp4", seed: int = 100,
                 max_steps: int | None = None, width: int = 512, height: int = 384,
                 fps: int | None = None) -> Path:
    """Record one deterministic episode of ``agent`` on ``env_id`` to the MP4 file ``path``.

    Args:
        agent: a TD3 agent, an actor module, or a function obs -> action.
        seed: the episode starts from ``env.reset(seed=seed)`` (100: the first evaluation
            episode, so the video shows a return the evaluation also saw).
        max_steps: stop after this many steps (None: the whole episode; HalfCheetah's is 1000
            steps, about a minute to render at 512x384 on one CPU core).
        width, height: frame size (multiples of 16 keep ffmpeg from resizing).
        fps: frames per second of the video (None: the env's ``render_fps``, else 30).

    Returns:
        The path of the written video. The episode's return and length are printed by the
        ``watch`` command; ``record_episode`` returns them too.
    """
    return record_episode(agent, env_id, path, seed, max_steps, width, height, fps)[0]


def record_episode(agent, env_id: str, path: str | os.PathLike, seed: int = 100,
                   max_steps: int | None = None, width: int = 512, height: int = 384,
                   fps: int | None = None) -> tuple[Path, float, int]:
    """``record_video`` that also returns the episode's (return, length) as recorded."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    policy = as_policy(agent)
    # a first reset, as evaluate does; width/height reach MuJoCo envs here, Bullet ones below
    env = make_env(env_id, render_mode="rgb_array", seed=seed, width=width, height=height)
    try:
        check_fits(agent, env)
    except ValueError:
        env.close()
        raise
    base = env.unwrapped
    if hasattr(base, "_render_width"):  # PyBullet envs: the TinyRenderer's image size
        setattr(base, "_render_width", int(width))
        setattr(base, "_render_height", int(height))
    fps = int(fps or env.metadata.get("render_fps") or 30)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    writer = imageio.get_writer(tmp, fps=fps, codec="libx264", pixelformat="yuv420p",
                                quality=7, macro_block_size=16, ffmpeg_log_level="error")
    total, length = 0.0, 0
    try:
        obs, _ = env.reset(seed=int(seed))
        writer.append_data(_frame(_render(env, env_id)))
        done = False
        while not done and (max_steps is None or length < max_steps):
            obs, r, terminated, truncated, _ = env.step(policy(obs))
            total += float(r)
            length += 1
            done = terminated or truncated
            writer.append_data(_frame(env.render()))
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        env.close()
    writer.close()
    os.replace(tmp, path)  # a half-written video never takes the name
    return path, total, length


def _render(env, env_id: str):
    """The first frame; an OpenGL failure (MuJoCo without a usable backend) says what to install."""
    try:
        return env.render()
    except Exception as e:  # mujoco.FatalError, PyOpenGL's errors, gymnasium's RuntimeError
        if "Bullet" in env_id:
            raise
        backend = os.environ.get("MUJOCO_GL", "unset")
        raise RuntimeError(f"Cannot render {env_id} (MUJOCO_GL={backend}: "
                           f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
                           f"{MUJOCO_GL_HELP}") from None


def _frame(frame) -> np.ndarray:
    if frame is None:
        raise RuntimeError("env.render() returned None; the env was not made with "
                           "render_mode='rgb_array'.")
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise RuntimeError(f"env.render() gave an array of shape {frame.shape}; expected an "
                           "RGB image (height, width, 3).")
    return np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)


def show_video(path: str | os.PathLike, width: int = 512, embed: bool = False):
    """The video in the notebook. By default a link to the file (``<video src=...>``, resolved
    by JupyterLab relative to the notebook), so a saved notebook stays small: an embedded
    1,000-step episode is about 3 MB of base64 in the notebook. ``embed=True`` puts the video
    itself into the output, for a notebook that must travel without its ``runs/`` folder."""
    from IPython.display import Video
    if embed:
        return Video(str(path), embed=True, width=width,
                     html_attributes="controls loop autoplay muted")
    src = Path(os.path.relpath(Path(path).resolve(), Path.cwd().resolve())).as_posix()
    return Video(src, width=width, html_attributes="controls loop autoplay muted")


# --------------------------------------------------------------------------------- command line
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a run folder, a training checkpoint, an actor file, "
                                           "a TD3.save file, or 'pretrained'")
    parser.add_argument("--out", default="run.mp4", help="video file to write (run.mp4)")
    parser.add_argument("--env", default=None, help="env id (default: the checkpoint's)")
    parser.add_argument("--seed", type=int, default=100, help="the episode's reset seed (100)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N steps")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--device", default="cpu")


def run(args: argparse.Namespace) -> int:
    from .checkpoint import load_policy

    if args.checkpoint == "pretrained":
        from .envs import course_env
        from .pretrained import load_pretrained
        env_id = args.env or course_env(verbose=False)  # MuJoCo's cheetah where PyBullet is missing
        agent = load_pretrained(env_id, device=args.device)
    else:
        agent, stored_env = load_policy(args.checkpoint, args.device)
        env_id = args.env or stored_env
    if env_id is None:
        raise SystemExit(f"{args.checkpoint} does not say which env it was trained on; pass "
                         "--env ENV_ID (e.g. --env HalfCheetahBulletEnv-v0).")
    path, total, length = record_episode(agent, env_id, args.out, args.seed, args.max_steps,
                                         args.width, args.height)
    print(f"wrote {path}: {length} steps of {env_id}, return {total:.1f}")
    return 0
