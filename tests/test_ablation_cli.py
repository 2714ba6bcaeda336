"""``td3-teach train`` takes the ablation switches: --no-twin-critics, --no-target-noise,
--no-delay, and --ddpg for all three; the trained run stores the config it really used."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from td3_teach import trainer
from td3_teach.checkpoint import load_training_checkpoint
from td3_teach.cli import main
from td3_teach.config import TD3Config

torch.set_num_threads(1)


def parse(*flags: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    trainer.configure(p)
    return p.parse_args(list(flags))


SWITCHES = ("twin_critics", "target_noise", "delayed_updates")


@pytest.mark.parametrize("flags, off", [
    ((), ()),
    (("--no-twin-critics",), ("twin_critics",)),
    (("--no-target-noise",), ("target_noise",)),
    (("--no-delay",), ("delayed_updates",)),
    (("--no-twin-critics", "--no-delay"), ("twin_critics", "delayed_updates")),
    (("--ddpg",), SWITCHES),
])
def test_each_flag_switches_off_exactly_its_trick(flags, off) -> None:
    cfg = trainer.config_from_args(parse(*flags, "--batch-size", "64"))
    assert {k: getattr(cfg, k) for k in SWITCHES} == {k: k not in off for k in SWITCHES}
    assert cfg.batch_size == 64
    if flags == ("--ddpg",):
        assert cfg == TD3Config.ddpg(batch_size=64)


def test_cli_run_with_ddpg_stores_the_switched_off_config(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = main(["train", "--env", "Pendulum-v1", "--steps", "120", "--seed", "1",
                 "--start-steps", "100", "--eval-every", "120", "--eval-episodes", "1",
                 "--batch-size", "16", "--device", "cpu", "--threads", "1", "--no-progress",
                 "--ddpg", "--out", str(out)])
    assert code == 0
    stored = load_training_checkpoint(out / "checkpoint.pt", "cpu")["agent"]["meta"]["config"]
    assert TD3Config.from_dict(stored) == TD3Config.ddpg(batch_size=16)
