"""Importing td3_teach first makes OpenMP wait passively (2 it/s -> 85 it/s under a busy core)."""

import os
import subprocess
import sys


def _policy_after_import(env_extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(env_extra)
    code = "import td3_teach, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_sets_passive_wait_policy_when_unset():
    assert _policy_after_import({}) == "PASSIVE"


def test_import_keeps_a_policy_the_user_chose():
    assert _policy_after_import({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
