"""Packaging: pyproject.toml and environment.yml name the same packages with the same version
specifiers, torch is pinned to 2.13.0 in both, CI runs README's test command, and the
throughput benchmark's smoke run prints its keys."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
# PyYAML comes with jupyterlab (jupyterlab -> jupyter_server -> jupyter-events -> pyyaml), and
# packaging with pytest; neither needs a line of its own.
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TORCH_PIN = "torch==2.13.0"


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + extras["test"] + extras["mujoco"]]


def environment_yml_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml needs exactly one `- pip:` list"
    return pip[0]


def by_name(reqs) -> dict[str, str]:
    """normalised name -> specifier (markers set aside: the conda env pins python 3.11). A name
    may appear twice only with one specifier (mujoco: a dependency on 3.12+, an extra on 3.11)."""
    out = {}
    for r in reqs:
        name = r.name.lower().replace("_", "-")
        assert name not in out or out[name] == str(r.specifier), f"{name} is listed twice"
        out[name] = str(r.specifier)
    return out


def test_packaging_pyproject_and_environment_yml_agree():
    pip = environment_yml_pip()
    assert "-e ." in pip, "environment.yml should install the course itself (-e .)"
    yml = by_name(Requirement(line) for line in pip if line != "-e .")
    toml = by_name(pyproject_requirements())
    only_toml = {k: v for k, v in toml.items() if k not in yml}
    only_yml = {k: v for k, v in yml.items() if k not in toml}
    differ = {k: (toml[k], yml[k]) for k in toml.keys() & yml.keys() if toml[k] != yml[k]}
    assert not (only_toml or only_yml or differ), (
        f"only in pyproject.toml: {only_toml}; only in environment.yml: {only_yml}; "
        f"different specifiers (pyproject, yml): {differ}")


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_packaging_every_supported_python_gets_a_physics_engine(python):
    """requires-python admits 3.11-3.13, and on each the default install brings an engine for
    the locomotion tasks: PyBullet up to 3.11 (its wheels stop there), MuJoCo from 3.12."""
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert python in SpecifierSet(project["requires-python"])
    env = {"python_version": python, "python_full_version": f"{python}.0"}
    names = {Requirement(r).name for r in project["dependencies"]
             if Requirement(r).marker is None or Requirement(r).marker.evaluate(env)}
    engines = {"pybullet", "mujoco"} & names
    assert engines == ({"pybullet"} if python == "3.11" else {"mujoco"}), engines
    assert Requirement(project["optional-dependencies"]["mujoco"][0]).name == "mujoco"


def test_packaging_torch_is_pinned_exactly_in_both():
    assert [str(r) for r in pyproject_requirements() if r.name == "torch"] == [TORCH_PIN]
    assert [line for line in environment_yml_pip() if line.startswith("torch")] == [TORCH_PIN]


def test_packaging_environment_yml_python_is_one_pybullet_supports():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert "python=3.11" in env["dependencies"]


# ------------------------------------------------------------------------------------ CI
def readme_test_command(text: str) -> str:
    lines = text.splitlines()
    i = lines.index("<!-- test-command -->")
    assert lines[i + 1] == "```bash", "the test command must be a ```bash block right after the marker"
    j = lines.index("```", i + 2)
    return "\n".join(lines[i + 2:j])


def test_packaging_readme_test_command_installs_the_test_extra_and_runs_pytest():
    cmd = readme_test_command((ROOT / "README.md").read_text(encoding="utf-8"))
    assert 'pip install -e ".[test,mujoco]"' in cmd  # CI covers both engines
    assert cmd.rstrip().endswith("-m pytest")


def test_packaging_readme_test_command_lints_and_type_checks_before_the_tests():
    cmd = readme_test_command((ROOT / "README.md").read_text(encoding="utf-8"))
    steps = [part.strip() for part in cmd.split("&&")]
    assert steps[-3:] == [".venv/bin/ruff check", ".venv/bin/mypy", ".venv/bin/python -m pytest"], steps
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    files, excluded = tools["mypy"]["files"], [re.compile(p) for p in tools["mypy"].get("exclude", [])]

    def typed(path: str) -> bool:  # listed itself or under a listed folder, and not excluded
        listed = any(path == f or path.startswith(f.rstrip("/") + "/") for f in files)
        return listed and not any(p.search(path) for p in excluded)

    core = {"agent", "networks", "replay_buffer", "update", "steps", "config", "seeding", "checkpoint", "envs"}
    untyped = sorted(m for m in core if not typed(f"td3_teach/{m}.py"))
    assert not untyped, f"mypy does not check {untyped}"
    assert {"td3_teach/**/*.py", "tests/**/*.py", "benchmarks/**/*.py"} <= set(tools["ruff"]["include"])


def test_packaging_ci_runs_the_readme_test_command(tmp_path):
    """.ci/run, on a copy of README.md whose test command is swapped for a marker, runs it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = "echo ran-the-readme-command > marker.txt"
    (tmp_path / "README.md").write_text(readme.replace(readme_test_command(readme), marker))
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    res = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "CI": "true"})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "marker.txt").read_text().strip() == "ran-the-readme-command"
    assert f"+ {marker}" in res.stdout


def test_packaging_ci_fails_without_a_readme_test_command(tmp_path):
    (tmp_path / "README.md").write_text("# no command here\n")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    res = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode != 0 and "test-command" in res.stderr


# ------------------------------------------------------------------------------------ benchmark
def test_packaging_throughput_benchmark_quick_json_prints_its_keys():
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--quick",
                          "--json"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"setup", "throughput", "replay_buffer_bytes_1M"}
    assert {(r["threads"], r["batch_size"]) for r in out["throughput"]} == \
        {(1, 100), (1, 256), (2, 100), (2, 256)}
    for row in out["throughput"]:
        assert {"td3_teach", "naive", "train_step", "matmul_floor"} <= set(row["iterations_per_s"])
        assert all(v > 0 for v in row["iterations_per_s"].values())
        assert "naive" in row["td3_teach_speedup"] and row["matmul_floor_over_td3_teach"] > 0
        prof = row["td3_teach_profile_ms"]  # where an iteration goes, for the targets' "why"
        assert set(prof) == {"products", "Adam", "Polyak", "sampling", "other ops", "between ops",
                             "total", "unprofiled"}
        assert all(prof[k] > 0 for k in ("products", "Adam", "Polyak", "sampling", "other ops"))
        assert prof["products"] < prof["total"]
    assert out["setup"]["td3_teach_update"].split()[0] in ("fast_update", "train_step")
    mem = out["replay_buffer_bytes_1M"]
    assert mem["raw_float32"] == 1_000_000 * (2 * 26 + 6 + 2) * 4
    assert mem["td3_teach"] <= 1.1 * mem["raw_float32"]
    assert mem["naive"] > mem["raw_float32"]


def test_packaging_throughput_missed_target_says_what_the_products_and_streaming_leave():
    """A miss's why: 1.5x naive allows naive's ms / 1.5; the floor's products and Adam, Polyak and
    sampling (the profile's) come off it; what is left, or how far over, is printed."""
    code = """if True:
        import sys; sys.path.insert(0, "benchmarks")
        import throughput
        prof = {"products": 8.8, "Adam": 0.25, "Polyak": 0.05, "sampling": 0.1, "other ops": 0.5,
                "between ops": 0.7, "total": 10.4, "unprofiled": 10.0}
        def row(naive_ms, floor_ms):
            return {"threads": 1, "batch_size": 256, "td3_teach_speedup": {"naive": 1.3},
                    "own_floor_over_naive": 1.5, "train_step_over_naive": 1.2,
                    "own_floor_over_td3_teach": 1.2, "td3_teach_profile_ms": prof,
                    "iterations_per_s": {"naive": 1e3 / naive_ms, "td3_teach": 1e3 / 10.0,
                                         "matmul_floor": 1e3 / floor_ms}}
        for naive_ms, floor_ms in ((13.5, 8.4), (12.0, 8.4)):
            res = {"throughput": [row(naive_ms, floor_ms)], "setup": {"td3_teach_matmul": "torch"},
                   "replay_buffer_bytes_1M": {"td3_teach": 1, "raw_float32": 1}}
            print(throughput.target_lines(res)[0])
    """
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    roomy, over = res.stdout.splitlines()
    # 13.5 / 1.5 = 9.00 allowed; 9.00 - 8.40 - (0.25 + 0.05 + 0.1) = 0.20 left
    assert "1.5x allows 9.00 ms an iteration, td3_teach takes 10.00; the products alone take 8.40" in roomy
    assert "Adam, Polyak and sampling 0.40" in roomy and "leaving 0.20 for the rest" in roomy
    # 12.0 / 1.5 = 8.00 allowed: 8.40 + 0.40 is 0.80 over
    assert "1.5x allows 8.00 ms" in over and "already 0.80 over" in over and "leaving" not in over
    assert roomy.endswith("NOT met") and over.endswith("NOT met")


def test_packaging_throughput_target_line_never_prints_a_miss_as_the_target():
    """1.4969x naive is a miss: printed 1.496x, not 1.50x; 1.5001x is met and printed 1.50x."""
    code = """if True:
        import sys; sys.path.insert(0, "benchmarks")
        import throughput
        def row(threads, x):
            return {"threads": threads, "batch_size": 100, "td3_teach_speedup": {"naive": x},
                    "own_floor_over_naive": 2.0, "train_step_over_naive": 1.3,
                    "own_floor_over_td3_teach": 1.2}
        res = {"throughput": [row(1, 1.4969), row(2, 1.5001)], "setup": {"td3_teach_matmul": "torch"},
               "replay_buffer_bytes_1M": {"td3_teach": 1, "raw_float32": 1}}
        print("\\n".join(throughput.target_lines(res)))
    """
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stdout.splitlines() if "naive, " in line]
    assert lines[0].startswith("target: >= 1.5x naive, 1 thread(s), batch 100: 1.496x (")
    assert lines[0].endswith("NOT met")
    assert lines[1] == "target: >= 1.5x naive, 2 thread(s), batch 100: 1.50x: met"
