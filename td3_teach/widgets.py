"""Interactive figures with a static fallback: sliders in a browser, one plot everywhere else.

``interactive(draw, tau=(0.001, 0.1, 0.005))`` shows ``draw`` with an ipywidgets slider per
keyword when a learner runs the notebook in Jupyter; under nbval, in CI, or without ipywidgets it
calls ``draw`` once with each slider's default, so the cell still shows its picture.
"""

from __future__ import annotations

import os
from typing import Any, Callable


def budget() -> str:
    """``"short"`` under the test suite and CI (set by conftest.py / CI), else ``"full"``."""
    if os.environ.get("TD3_TEACH_BUDGET"):
        return os.environ["TD3_TEACH_BUDGET"]
    return "short" if os.environ.get("CI") else "full"


def _in_browser_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def interactive(draw: Callable[..., Any], **sliders: tuple) -> None:
    """Sliders ``name=(low, high, step, default)`` (default optional: the low end) driving ``draw``."""
    defaults = {k: (v[3] if len(v) > 3 else v[0]) for k, v in sliders.items()}
    if budget() == "short" or not _in_browser_kernel():
        draw(**defaults)
        return
    try:
        import ipywidgets as w
    except ImportError:
        draw(**defaults)
        return
    controls = {}
    for name, spec in sliders.items():
        low, high, step = spec[:3]
        cls = w.IntSlider if all(isinstance(x, int) for x in (low, high, step)) else w.FloatSlider
        controls[name] = cls(value=defaults[name], min=low, max=high, step=step, description=name,
                             continuous_update=False)
    w.interact(draw, **controls)
