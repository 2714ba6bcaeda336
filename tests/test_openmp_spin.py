"""``td3_teach.short_spin()``, called before torch is imported (the training notebooks' first cell,
and ``td3-teach`` before any command), makes torch's OpenMP threads spin only briefly
(benchmarks/threads.py: on 2 cores with one busy, 2-thread updates run at 61 instead of 37 per
second), unless the user chose how OpenMP threads wait. ``import td3_teach`` alone changes nothing."""

import os
import subprocess
import sys

import pytest

OPENMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
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
               "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_NUM_THREADS'), "
               "'torch' in sys.modules)")
    assert out == ["None", "None", "False"]


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


def test_cli_sets_the_short_spin_and_the_thread_count_before_importing_any_command():
    code = ("import sys, os\nfrom td3_teach import cli, openmp\ntry:\n    cli.main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_NUM_THREADS'), "
            "openmp.default_threads(), 'torch' in sys.modules)")
    spin, count, default, torch_loaded = _run(code)[-4:]
    assert (spin, count, torch_loaded) == ("1000", default, "False")


# ------------------------------------------------------------------ how many threads
@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 1), (3, 1), (4, 2), (6, 3), (8, 4), (64, 4)])
def test_default_threads_is_half_the_cores_at_least_one_at_most_four(cores, threads):
    from td3_teach.openmp import default_threads
    assert default_threads(cores) == threads


def test_default_threads_counts_the_cores_this_process_may_use():
    code = ("import os, td3_teach.openmp as o; os.sched_setaffinity(0, {0}); "
            "print(o.default_threads())")
    assert _run(code) == ["1"]


def test_steady_threads_before_torch_sets_the_count_that_torch_then_uses():
    code = ("import td3_teach, td3_teach.openmp as o; n = td3_teach.steady_threads(); "
            "import torch, os; print(n, o.default_threads(), torch.get_num_threads(), "
            "os.environ['OMP_NUM_THREADS'], os.environ['GOMP_SPINCOUNT'])")
    n, default, torch_threads, env, spin = _run(code)
    assert n == default == torch_threads == env and spin == "1000"


def _not_the_default() -> str:
    from td3_teach.openmp import default_threads
    return "2" if default_threads() == 1 else "1"


def test_steady_threads_keeps_the_users_thread_count():
    chosen = _not_the_default()
    code = "import td3_teach; n = td3_teach.steady_threads(); import torch; print(n, torch.get_num_threads())"
    assert _run(code, {"OMP_NUM_THREADS": chosen}) == [chosen, chosen]


def test_steady_threads_after_torch_still_sets_the_count():
    code = (f"import torch; torch.set_num_threads({_not_the_default()}); import td3_teach, "
            "td3_teach.openmp as o; n = td3_teach.steady_threads(); "
            "print(n, o.default_threads(), torch.get_num_threads())")
    n, default, torch_threads = _run(code)
    assert n == default == torch_threads
