"""The grading run's settings: the points file (``Points``, from ``points.toml`` and
``--points``) and the options' checks (``validate_options``), and ``GradingError``, the
one-line error for a run that cannot start."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import TD3TeachError

DEFAULT_POINTS = Path(__file__).with_name("points.toml")
MIN_MEMORY_MB = 1024  # torch's import alone reserves several hundred MiB of address space


class GradingError(TD3TeachError):
    """A problem with the grading command itself (an option, the points file, --out): the whole
    run cannot start. The CLI prints it as one line."""


@dataclass
class Points:
    """Points per check and the hidden seeds, from points.toml and --points."""

    per_step: dict[str, float]
    default: float | None
    seeds: list[int]

    @classmethod
    def load(cls, override: Path | None = None) -> "Points":
        data = _read_toml(DEFAULT_POINTS)
        if override is not None:
            for section, values in _read_toml(Path(override)).items():
                if not isinstance(values, dict):
                    raise GradingError(f"--points {override}: `{section} = ...` is outside a "
                                       "section. Fix: put it under [points] or [hidden], as in "
                                       f"{DEFAULT_POINTS}.")
                data.setdefault(section, {}).update(values)
        pts = dict(data.get("points", {}))
        for key, value in pts.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                    or value != value or value == float("inf"):
                raise GradingError(f"--points: [points] {key} = {value!r} is not a number of "
                                   "points. Fix: a number >= 0, e.g. `step08 = 1`.")
        seeds = data.get("hidden", {}).get("seeds", [])
        if not isinstance(seeds, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                  and x >= 0 for x in seeds):
            raise GradingError(f"--points: [hidden] seeds = {seeds!r} is not a list of seeds. "
                               "Fix: integers >= 0, e.g. `seeds = [11, 12, 13]`.")
        default = pts.pop("default", None)
        return cls({k: float(v) for k, v in pts.items()},
                   None if default is None else float(default), [int(x) for x in seeds])

    def of(self, check: str | int, fallback: float = 1.0) -> float:
        """Points of a check: ``of("step08")`` (``of(8)`` works too), ``of("agent")``."""
        key = f"step{check:02d}" if isinstance(check, int) else check
        if key in self.per_step:
            return self.per_step[key]
        return self.default if self.default is not None else fallback


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradingError(f"--points {path}: no such file. Fix: check the path (the format is "
                           f"that of {DEFAULT_POINTS}).") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GradingError(f"--points {path}: cannot be read ({e}). Fix: pass a readable UTF-8 "
                           "TOML file.") from None
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        raise GradingError(f"--points {path}: not valid TOML ({e}). Fix: the format is that of "
                           f"{DEFAULT_POINTS}, e.g. `[points]` then `step08 = 2`.") from None


def validate_options(timeout_cell: float, timeout_notebook: float, memory_mb: int, jobs: int,
                     max_output_kb: int) -> None:
    """Refuse option values that would grade everyone wrongly (a negative timeout fails every
    cell; 0 would switch the timeout off; 1 MiB of memory cannot even start Python)."""
    def finite(x: float) -> bool:
        return x == x and abs(x) != float("inf")
    if not (finite(timeout_cell) and timeout_cell > 0):
        raise GradingError(f"--timeout-cell {timeout_cell:g}: must be a number of seconds > 0. "
                           "Fix: e.g. --timeout-cell 120 (the default).")
    if not (finite(timeout_notebook) and timeout_notebook > 0):
        raise GradingError(f"--timeout-notebook {timeout_notebook:g}: must be a number of seconds "
                           "> 0. Fix: e.g. --timeout-notebook 900 (the default).")
    if timeout_notebook < timeout_cell:
        raise GradingError(f"--timeout-notebook {timeout_notebook:g} is shorter than "
                           f"--timeout-cell {timeout_cell:g}. Fix: give the notebook at least "
                           "one cell's time.")
    if memory_mb < MIN_MEMORY_MB:
        raise GradingError(f"--memory-mb {memory_mb}: torch and Jupyter need at least "
                           f"{MIN_MEMORY_MB} MiB of address space. Fix: e.g. --memory-mb 4096 "
                           "(the default).")
    if jobs < 1:
        raise GradingError(f"--jobs {jobs}: must be at least 1. Fix: e.g. --jobs 2.")
    if max_output_kb < 1:
        raise GradingError(f"--max-output-kb {max_output_kb}: must be at least 1. Fix: e.g. "
                           "--max-output-kb 1024 (the default).")
