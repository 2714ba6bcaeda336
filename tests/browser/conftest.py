"""JupyterLab in Chromium, driven by Playwright, on a temporary copy of notebooks/.

One JupyterLab for each test, started as the course starts it (``td3-teach lab``) on a
free localhost port with a token, in a temporary folder; stopped afterwards. Skipped, with the
reason, where Playwright or Chromium is missing (``.ci/run`` installs Chromium with apt-get).
Playwright's own browser download is not used: the system Chromium is launched by path.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = [os.environ.get("TD3_TEACH_CHROMIUM", ""), "/usr/bin/chromium",
            "/usr/bin/chromium-browser", shutil.which("chromium") or "",
            shutil.which("chromium-browser") or ""]
SHOTS = Path(os.environ.get("TD3_TEACH_SCREENSHOTS", "/tmp/td3_teach_browser_shots"))


def chromium() -> str | None:
    return next((c for c in CHROMIUM if c and Path(c).exists()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCRATCH = [
    "from td3_teach.widgets import LogScale, interactive\n"
    "import matplotlib.pyplot as plt",
    "def draw(tau=0.005):\n"
    "    plt.figure(figsize=(4, 2)); plt.plot([0, 1], [0, tau]); plt.title(f'tau={tau}')\n"
    "    plt.show(); print(f'drawn with tau={tau}')\n\n"
    "interactive(draw, tau=LogScale(0.001, 1.0, 0.005))",
    "from td3_teach.trainer import train\n"
    "train('Pendulum-v1', 100_000, seed=0, out_dir='../runs/browser_interrupt', start_steps=100, "
    "eval_every=50_000, eval_episodes=1)",
]


def _require_browser() -> None:
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e \".[test]\")")
    if chromium() is None:
        pytest.skip("no Chromium found (/usr/bin/chromium); on Debian: apt-get install chromium")


@pytest.fixture
def lab(tmp_path_factory):
    """A fresh JupyterLab for each test: one shared by all of them left a later test's page
    unable to open its notebook (a kernel deleted by the reopen test, a dialog left open)."""
    _require_browser()
    home = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "notebooks", home / "notebooks")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in SCRATCH]
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nbformat.write(nb, home / "notebooks" / "scratch.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    # A learner's kernel: neither the suite's TD3_TEACH_BUDGET nor CI's CI=true, either of which
    # makes budget() "short", and then sliders are drawn once without their widgets.
    env = {k: v for k, v in os.environ.items() if k not in ("TD3_TEACH_BUDGET", "CI")}
    env.update(OMP_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(home / ".jupyter-config"),
               JUPYTERLAB_SETTINGS_DIR=str(home / ".lab-user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / ".lab-workspaces"))
    cmd = [sys.executable, "-m", "td3_teach.cli", "lab", "notebooks", "--no-browser",
           f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
           "--LabApp.news_url=", "--ServerApp.disable_check_xsrf=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"JupyterLab did not start: {(home / 'jupyterlab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield {"base": base, "token": token, "home": home}
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its kernels
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


class Notebook:
    """One notebook open in JupyterLab, with what the tests do to it."""

    def __init__(self, page, lab, name):
        self.page, self.lab, self.name = page, lab, name

    def open(self):
        self.page.goto(f"{self.lab['base']}/lab/tree/notebooks/{self.name}?token={self.lab['token']}")
        self.page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
        self.wait_idle()
        return self

    def wait_idle(self, timeout=90_000):
        self.page.wait_for_function(
            "() => (document.querySelector('#jp-main-statusbar') || {}).innerText"
            "?.includes('| Idle')", timeout=timeout)

    def cells(self):
        return self.page.locator(".jp-Notebook .jp-CodeCell")

    def cell_with(self, text):
        return self.cells().filter(has_text=text).first

    def menu(self, top, item):
        self.page.click(f".lm-MenuBar-itemLabel:text-is('{top}')")
        self.page.click(f".lm-Menu-itemLabel:text-is('{item}')")

    def run(self, cell):
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Shift+Enter")

    def wait_ran(self, cell, timeout=120_000):
        """Until the cell's prompt shows an execution count ([3]:), i.e. the kernel finished it."""
        cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout)

    def describe(self, cell) -> str:
        """What the learner would see in the cell and the status bar (for failure messages)."""
        bar = self.page.locator("#jp-main-statusbar").inner_text(timeout=5_000)
        return f"cell shows: {cell.inner_text(timeout=5_000)[-1500:]!r}; status bar: {bar!r}"

    def set_source(self, cell, code):
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(code)

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture
def notebook(browser, lab):
    pages = []

    def opener(name):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(90_000)  # a loaded 2-core machine: clicks wait for the page
        pages.append(page)
        return Notebook(page, lab, name).open()
    yield opener
    for page in pages:
        page.close()
