"""``td3-teach lab``: the course's JupyterLab defaults land where JupyterLab reads them, and its
terminal finds the course's commands."""

import json
import os
import sys
from pathlib import Path

from td3_teach import lab


def test_widget_state_is_saved_by_default_and_installed_into_the_prefix(tmp_path):
    settings = json.loads(lab.SETTINGS.read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    assert settings["@jupyterlab/apputils-extension:kernels-settings"]["commsOverSubshells"] == "disabled"
    target = lab.install_settings(tmp_path)
    assert target == tmp_path / "share/jupyter/lab/settings/overrides.d/td3-teach.json"
    assert json.loads(target.read_text()) == settings
    assert lab.install_settings(tmp_path) == target  # a second time: unchanged, no error


def test_unwritable_prefix_is_a_note_not_a_crash(tmp_path, capsys):
    blocker = tmp_path / "share"
    blocker.write_text("a file where a folder should be")
    assert lab.install_settings(tmp_path) is None
    assert "Save widget state" in capsys.readouterr().err


def test_the_terminal_finds_this_environments_td3_teach_first():
    env = lab.lab_environment({"PATH": os.pathsep.join(["/usr/bin", "/bin"])})
    first = env["PATH"].split(os.pathsep)[0]
    assert first == str(Path(sys.executable).parent)
    assert env["PATH"].split(os.pathsep)[1:] == ["/usr/bin", "/bin"]


def test_a_missing_folder_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    import argparse
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    lab.configure(parser)
    assert lab.run(parser.parse_args([])) == 2
    assert "no folder notebooks/" in capsys.readouterr().err
