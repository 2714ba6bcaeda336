"""Interactive figures with a static fallback: sliders in a browser, one plot everywhere else.

``interactive(draw, gamma=(0.9, 0.999, 0.001, 0.99))`` shows ``draw`` with an ipywidgets slider
per keyword when a learner runs the notebook in Jupyter; under nbval, in CI, or without
ipywidgets it calls ``draw`` once with each slider's default, so the cell still shows its picture.
``tau=LogScale(0.001, 1.0, 0.005)`` is a slider over 0.001, 0.002, 0.005, 0.01, ... 1: small
values get as much room as large ones.

The readout shows exactly the value ``draw`` receives (rounded to the step's decimals: 0.999
reads "0.999", not "1.00"). A saved notebook keeps its sliders and pictures when JupyterLab saves
widget state with it: ``td3-teach lab`` turns that setting on (td3_teach/jupyter/).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable


@dataclass(frozen=True)
class LogScale:
    """A slider over the 1-2-5 values from ``low`` to ``high`` (0.001, 0.002, 0.005, 0.01, ...),
    starting at ``default``, which must be one of them."""

    low: float
    high: float
    default: float

    def values(self) -> list[float]:
        out = []
        for k in range(math.floor(math.log10(self.low)), math.ceil(math.log10(self.high)) + 1):
            for m in (1, 2, 5):
                v = float(f"{m}e{k}")
                if self.low * (1 - 1e-9) <= v <= self.high * (1 + 1e-9):
                    out.append(v)
        if self.default not in out:
            raise ValueError(f"LogScale default {self.default} is not one of {out}; pick one of "
                             "those (a 1, 2 or 5 times a power of ten).")
        return out


def decimals(*numbers: float) -> int:
    """How many decimals show every one of ``numbers`` exactly: 0.005 -> 3, 0.1 -> 1, 2 -> 0."""
    return max(max(0, -int(Decimal(repr(float(x))).normalize().as_tuple().exponent)) if x % 1 else 0
               for x in numbers)


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


def interactive(draw: Callable[..., Any], **sliders: tuple | LogScale) -> None:
    """Sliders ``name=(low, high, step, default)`` (default optional: the low end), or
    ``name=LogScale(low, high, default)``, driving ``draw``."""
    defaults = {k: (v.default if isinstance(v, LogScale) else v[3] if len(v) > 3 else v[0])
                for k, v in sliders.items()}
    for name, spec in sliders.items():  # a bad default fails at once, in every mode
        if isinstance(spec, LogScale):
            spec.values()
    if budget() == "short" or not _in_browser_kernel():
        draw(**defaults)
        return
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        draw(**defaults)
        return
    controls, rounding = {}, {}
    style = {"description_width": "initial"}
    for name, spec in sliders.items():
        if isinstance(spec, LogScale):
            options = [(f"{v:g}", v) for v in spec.values()]
            controls[name] = w.SelectionSlider(options=options, value=spec.default,
                                               description=name, continuous_update=False,
                                               style=style)
            continue
        low, high, step = spec[:3]
        if all(isinstance(x, int) for x in (low, high, step)):
            controls[name] = w.IntSlider(value=defaults[name], min=low, max=high, step=step,
                                         description=name, continuous_update=False, style=style)
            continue
        rounding[name] = decimals(low, step, defaults[name])
        controls[name] = w.FloatSlider(value=defaults[name], min=low, max=high, step=step,
                                       description=name, continuous_update=False, style=style,
                                       readout_format=f".{rounding[name]}f")

    def shown(**values):  # the value drawn is the value the readout shows
        draw(**{k: round(v, rounding[k]) if k in rounding else v for k, v in values.items()})

    out = w.interactive_output(shown, controls)
    display(w.VBox([*controls.values(), out]))
