"""The trainer accepts an agent written in the lecture's shape (notebook 16's MyTD3): as a class,
with the config's hyperparameters passed to its train, checkpointed and resumed through its six
attributes, and saved and loaded through td3_teach.my_agent."""

import pytest
import torch

from td3_teach import TD3Config
from td3_teach.checkpoint import load_actor
from td3_teach.my_agent import AgentFileError, load_agent_class, save_agent_class
from td3_teach.trainer import lecture_train_kwargs, train
from notebook_code import exercise_namespace

KW = dict(start_steps=100, eval_every=100, eval_episodes=1, checkpoint_every=100,
          config=TD3Config(batch_size=32), progress=False)


@pytest.fixture(scope="module")
def my_td3():
    return exercise_namespace("16_your_td3.ipynb")["MyTD3"]


def test_train_builds_and_trains_your_class_and_writes_its_files(my_td3, tmp_path):
    result = train("Pendulum-v1", 300, seed=0, out_dir=tmp_path, agent=my_td3, **KW)
    assert type(result.agent) is my_td3 and result.agent.total_it == 200  # one update per step
    assert [e.step for e in result.evaluations] == [0, 100, 200, 300]
    actor, meta = load_actor(tmp_path / "final_actor.pt")
    assert meta["state_dim"] == 3 and torch.equal(actor.layer_3.weight, result.agent.actor.layer_3.weight)


def test_an_interrupted_run_of_your_agent_resumes_to_the_same_results(my_td3, tmp_path):
    train("Pendulum-v1", 400, seed=1, out_dir=tmp_path / "cut", agent=my_td3, stop_at=200, **KW)
    resumed = train("Pendulum-v1", 400, seed=1, out_dir=tmp_path / "cut", agent=my_td3, resume=True,
                    progress=False)
    whole = train("Pendulum-v1", 400, seed=1, out_dir=tmp_path / "whole", agent=my_td3, **KW)
    assert resumed.agent.total_it == whole.agent.total_it == 300
    assert [e.mean for e in resumed.evaluations] == [e.mean for e in whole.evaluations]


def test_train_passes_the_configs_hyperparameters_to_your_train():
    cfg = TD3Config(batch_size=64, discount=0.9, tau=0.01, policy_freq=3, target_noise=False)
    assert lecture_train_kwargs(cfg) == dict(batch_size=64, discount=0.9, tau=0.01, policy_noise=0.0,
                                             noise_clip=0.0, policy_freq=3)
    assert lecture_train_kwargs(TD3Config(delayed_updates=False))["policy_freq"] == 1
    with pytest.raises(ValueError, match="twin_critics"):
        lecture_train_kwargs(TD3Config(twin_critics=False))


def test_save_and_load_agent_class_round_trip(my_td3, tmp_path, monkeypatch):
    path = save_agent_class(my_td3, tmp_path / "my_td3.py")
    text = path and (tmp_path / "my_td3.py").read_text()
    assert "class MyTD3" in text and "### BEGIN SOLUTION" not in text
    assert "from td3_teach.networks import Actor" in text and "device = torch.device(" in text
    loaded = load_agent_class(tmp_path / "my_td3.py")
    assert loaded.__name__ == "MyTD3" and loaded is not my_td3
    from td3_teach import checks
    assert checks.agent(loaded)


def test_save_agent_class_writes_nothing_when_the_check_fails(tmp_path):
    cls = exercise_namespace("16_your_td3.ipynb", {"(1 - terminated)": "terminated"})["MyTD3"]
    from td3_teach import checks
    with pytest.raises(checks.CheckFailed):
        save_agent_class(cls, tmp_path / "my_td3.py")
    assert not (tmp_path / "my_td3.py").exists()


def test_load_agent_class_without_a_file_says_what_to_do_or_falls_back(tmp_path, capsys):
    with pytest.raises(AgentFileError, match="Run notebook 16 to the end"):
        load_agent_class(tmp_path / "missing.py")
    from td3_teach import TD3
    assert load_agent_class(tmp_path / "missing.py", fallback=TD3) is TD3
    assert "Using td3_teach.agent.TD3 instead" in capsys.readouterr().out


def test_load_agent_class_from_a_file_python_cannot_import_says_so(tmp_path):
    (tmp_path / "my_td3.txt").write_text("AGENT_CLASS = None\n")  # no .py: no importer for it
    with pytest.raises(AgentFileError, match="cannot be imported as a Python file"):
        load_agent_class(tmp_path / "my_td3.txt")
