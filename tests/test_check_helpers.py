"""The checks' helpers are one family (issue 15): each helper is defined once, in the module
named for its idea; ``seeded`` is repeatable and leaves every global RNG as it was; every check
is guarded; the grader's hidden checks use the public check API, not the private modules."""

from __future__ import annotations

import ast
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import torch

import td3_teach
from td3_teach import checks
from td3_teach.checks import api
from td3_teach.checks._seeded import Sizes, randint, seeded, size_generator, sizes

CHECKS = Path(checks.__file__).parent


def _draws() -> tuple[float, float, float]:
    return torch.rand(1).item(), float(np.random.rand()), random.random()


def test_seeded_repeats_torch_numpy_and_random_and_puts_them_back():
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    untouched = _draws()
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    with seeded(7):
        first = _draws()
    assert _draws() == untouched, "seeded() changed what the notebook draws afterwards"
    with seeded(7):
        again = _draws()
    with seeded(8):
        other = _draws()
    assert first == again
    assert all(x != y for x, y in zip(first, other)), "another seed gave the same draws"


def test_sizes_are_one_dataclass_drawn_from_the_seed():
    drawn = [sizes(s) for s in range(30)]
    assert all(isinstance(z, Sizes) and z.state_dim != z.action_dim for z in drawn)
    assert len({(z.B, z.state_dim, z.action_dim, z.max_action) for z in drawn}) > 10
    g1, g2 = size_generator(3, salt=5), size_generator(3, salt=5)
    assert [randint(g1, 2, 9) for _ in range(20)] == [randint(g2, 2, 9) for _ in range(20)]
    assert {randint(size_generator(s), 1, 3) for s in range(40)} == {1, 2, 3}


def test_each_helper_is_defined_in_one_module_only():
    names: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for path in sorted(CHECKS.glob("_*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                names[node.name] += 1
                where.setdefault(node.name, []).append(path.name)
    twice = {n: where[n] for n, k in names.items() if k > 1}
    assert not twice, f"helpers defined in more than one module: {twice}"


def test_every_check_is_guarded():
    names = [n for n in checks.__all__ if re.fullmatch(r"step\d\d|agent|bug_hunt|exploration", n)]
    assert len(names) == 18
    unguarded = [n for n in names if not getattr(getattr(checks, n), "__td3_guarded__", False)]
    assert not unguarded, f"checks without the guard: {unguarded}"


def test_the_hidden_checks_use_only_the_public_check_api():
    tree = ast.parse((Path(td3_teach.__file__).parent / "grading" / "hidden.py").read_text())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module and "checks" in node.module]
    assert imported and all(m == "checks.api" for m in imported), imported
    assert all(hasattr(api, n) for n in api.__all__)
    assert not set(api.__all__) & set(dir(checks)) - {"CheckFailed"}, \
        "an API name in td3_teach.checks would count as a check there"
