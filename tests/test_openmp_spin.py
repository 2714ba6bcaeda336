"""``td3_teach.short_spin()``, called before torch is imported (the training notebooks' first cell,
and ``td3-teach`` before any command), makes torch's OpenMP threads spin only briefly
(benchmarks/threads.py: on 2 cores with one busy, 2-thread updates run at 61 instead of 37 per
second), unless the user chose how OpenMP threads wait. ``import td3_teach`` alone changes nothing."""

import os
import subprocess
import sys

import pytest

OPENMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
PRINT = "import os; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"


def _run(code: str, env_extra: dict | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in OPENMP_VARS}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def _after(code: str, env_extra: dict | None = None) -> dict:
    return dict(zip(OPENMP_VARS, _run(f"{code}; {PRINT}", env_extra)))


def test_import_alone_changes_no_environment_and_loads_no_torch():
    out = _run("import sys, td3_teach; import os; "
               "print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)")
    assert out == ["None", "False"]


def test_short_spin_sets_a_short_spin_when_nothing_is_chosen():
    assert _after("import td3_teach; assert td3_teach.short_spin() is True") == \
        {"OMP_WAIT_POLICY": "None", "GOMP_SPINCOUNT": "1000"}


@pytest.mark.parametrize("chosen", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"OMP_WAIT_POLICY": "PASSIVE"},
                                    {"GOMP_SPINCOUNT": "50000"}])
def test_short_spin_keeps_what_the_user_chose(chosen):
    expected = {"OMP_WAIT_POLICY": "None", "GOMP_SPINCOUNT": "None", **chosen}
    assert _after("import td3_teach; assert td3_teach.short_spin() is False", chosen) == expected


def test_short_spin_after_torch_says_it_is_too_late_even_when_called_again():
    out = _run("import torch, td3_teach; print(td3_teach.short_spin(), td3_teach.short_spin())")
    assert out == ["False", "False"]


def test_short_spin_called_again_before_torch_stays_in_effect():
    assert _run("import td3_teach; print(td3_teach.short_spin(), td3_teach.short_spin())") == \
        ["True", "True"]


def test_cli_sets_the_short_spin_before_importing_any_command():
    code = ("import sys, os\nfrom td3_teach import cli\ntry:\n    cli.main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)")
    assert _run(code)[-2:] == ["1000", "False"]
