"""benchmarks/threads.py (issue 18's no-collapse target): its worker measures, its default row
is what ``td3_teach.steady_threads()`` sets, each situation really runs, and its verdict lines say
"NOT met" when the default is slower than one thread. Timings are never asserted."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "threads.py"


@pytest.fixture(scope="module")
def threads():
    spec = importlib.util.spec_from_file_location("threads_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_threads_benchmark_worker_prints_its_updates_per_second():
    res = subprocess.run([sys.executable, str(SCRIPT), "--worker", "1", "--batch", "32",
                          "--seconds", "0.05"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.strip().splitlines()[-1]) > 0


def test_threads_benchmark_default_row_is_what_steady_threads_sets(threads):
    sets = threads.package_choice()
    expected = max(1, min(4, (os.cpu_count() or 1) // 2))
    assert sets["OMP_NUM_THREADS"] == str(expected)
    assert sets["GOMP_SPINCOUNT"] == "1000"
    assert threads.SETTINGS[threads.DEFAULT] == (0, None)  # 0: no set_num_threads in the worker


@pytest.mark.parametrize("situation", ["quiet", "busy core", "two runs"])
def test_threads_benchmark_measures_each_situation(threads, situation):
    assert threads.measure("1 thread", situation, batch=32, seconds=0.05) > 0


def fake_result(threads, default_rates: dict) -> dict:
    rows = {s: {k: 100.0 for k in threads.SITUATIONS} for s in threads.SETTINGS}
    rows[threads.DEFAULT] = default_rates
    return {"batch_size": 256, "cpu_count": 2, "seconds": 3.0, "repeats": 3,
            "td3_teach_sets": {"OMP_NUM_THREADS": "1"}, "updates_per_s": rows}


def test_threads_benchmark_says_not_met_where_the_default_is_slower_than_one_thread(threads):
    lines = threads.report(fake_result(threads, {"quiet": 130.0, "busy core": 60.0, "two runs": 96.0}))
    verdicts = {line.split(",")[1].split(":")[0].strip(): line.rsplit(": ", 1)[1]
                for line in lines if line.startswith("target:")}
    assert verdicts == {"quiet": "met", "busy core": "NOT met", "two runs": "met"}
    assert any("0.60x 1 thread" in line for line in lines)
    assert len([line for line in lines if line.startswith(threads.DEFAULT)]) == 1


def test_threads_benchmark_verdict_reads_the_back_to_back_ratios(threads):
    """The medians say 0.90x, the back-to-back pairs 1.00x (drift between repeats): the pairs decide."""
    result = fake_result(threads, {"quiet": 90.0, "busy core": 100.0, "two runs": 100.0})
    result["default_over_1_thread"] = {"quiet": 1.0, "busy core": 0.9, "two runs": 1.0}
    lines = [line for line in threads.report(result) if line.startswith("target:")]
    assert lines[0].endswith("quiet: 1.00x 1 thread: met"), lines
    assert lines[1].endswith("busy core: 0.90x 1 thread: NOT met"), lines
