"""Importing td3_teach first makes torch's OpenMP threads spin only briefly (benchmarks/threads.py:
on 2 cores with one busy, 2-thread updates run at 61 instead of 37 per second), unless the user
chose how OpenMP threads wait."""

import os
import subprocess
import sys

import pytest

OPENMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _after_import(env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in OPENMP_VARS}
    env.update(env_extra)
    code = ("import td3_teach, os; "
            "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return dict(zip(OPENMP_VARS, out))


def test_import_sets_a_short_spin_when_nothing_is_chosen():
    assert _after_import({}) == {"OMP_WAIT_POLICY": "None", "GOMP_SPINCOUNT": "1000"}


@pytest.mark.parametrize("chosen", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"OMP_WAIT_POLICY": "PASSIVE"},
                                    {"GOMP_SPINCOUNT": "50000"}])
def test_import_keeps_what_the_user_chose(chosen):
    expected = {"OMP_WAIT_POLICY": "None", "GOMP_SPINCOUNT": "None", **chosen}
    assert _after_import(chosen) == expected
