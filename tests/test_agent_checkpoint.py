"""TD3.save / TD3.load: a weights-only round trip, and a CheckpointError that names the file, the
network and both shapes when a checkpoint does not fit, or cannot be read at all."""

import numpy as np
import pytest
import torch

from td3_teach import TD3, ReplayBuffer, TD3Config
from td3_teach.agent import NETWORKS, OPTIMIZERS
from td3_teach.errors import CheckpointError

S, A = 26, 6  # HalfCheetahBulletEnv-v0


def trained(state_dim=S, action_dim=A, max_action=1.0, config=None, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    agent = TD3(state_dim, action_dim, max_action, config, device="cpu")
    buf = ReplayBuffer(state_dim, action_dim, max_size=64, device="cpu")
    for _ in range(64):
        buf.add((rng.standard_normal(state_dim), rng.standard_normal(state_dim),
                 rng.uniform(-1, 1, action_dim), 1.0, False))
    agent.train(buf, 3, batch_size=16)
    return agent, buf


def test_agent_save_load_round_trip(tmp_path):
    agent, buf = trained()
    path = agent.save(tmp_path / "sub" / "td3.pt")
    assert path.is_file() and not path.with_name("td3.pt.tmp").exists()
    fresh = TD3(S, A, 1.0, device="cpu").load(path)
    for name in NETWORKS:
        for (k, v), w in zip(getattr(agent, name).state_dict().items(),
                             getattr(fresh, name).state_dict().values()):
            assert torch.equal(v, w), f"{name}.{k}"
    assert fresh.total_it == agent.total_it == 3
    # the optimisers' moments came back too: one more identical step stays identical
    torch.manual_seed(9)
    agent.train(buf, 1, batch_size=16)
    torch.manual_seed(9)
    fresh.train(buf, 1, batch_size=16)
    assert all(torch.equal(p, q) for p, q in zip(agent.actor.parameters(), fresh.actor.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(agent.critic.parameters(), fresh.critic.parameters()))


def test_agent_checkpoint_loads_with_torch_weights_only(tmp_path):
    agent, _ = trained(config=TD3Config(batch_size=100, tau=0.01))
    d = torch.load(agent.save(tmp_path / "td3.pt"), weights_only=True)
    assert set(d) == set(NETWORKS) | set(OPTIMIZERS) | {"meta"}
    assert d["meta"]["state_dim"] == S and d["meta"]["action_dim"] == A
    assert d["meta"]["config"]["tau"] == 0.01


def test_agent_from_checkpoint_rebuilds_sizes_and_config(tmp_path):
    agent, _ = trained(17, 6, 1.0, TD3Config(policy_freq=3))
    again = TD3.from_checkpoint(agent.save(tmp_path / "walker.pt"), device="cpu")
    assert (again.state_dim, again.action_dim, again.max_action) == (17, 6, 1.0)
    assert again.config == agent.config
    s = np.linspace(-1, 1, 17)
    np.testing.assert_array_equal(again.select_action(s), agent.select_action(s))


def test_agent_checkpoint_of_another_env_size_names_file_network_and_shapes(tmp_path):
    hopper, _ = trained(15, 3)  # HopperBulletEnv-v0 sizes
    path = hopper.save(tmp_path / "hopper.pt")
    cheetah = TD3(S, A, 1.0, device="cpu")
    before = [p.clone() for p in cheetah.actor.parameters()]
    with pytest.raises(CheckpointError) as err:
        cheetah.load(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "'actor'" in msg and "'layer_1.weight'" in msg
    assert "(400, 15)" in msg and "(400, 26)" in msg  # found vs expected
    assert all(torch.equal(p, q) for p, q in zip(cheetah.actor.parameters(), before)), \
        "a refused checkpoint changed the agent"


def test_agent_checkpoint_with_only_the_action_size_differing(tmp_path):
    path = trained(S, 3)[0].save(tmp_path / "a3.pt")
    with pytest.raises(CheckpointError, match=r"'actor'.*'layer_3.weight'.*\(3, 300\).*\(6, 300\)"):
        TD3(S, A, 1.0, device="cpu").load(path)


def test_agent_checkpoint_of_another_max_action_is_refused(tmp_path):
    path = trained(max_action=2.0)[0].save(tmp_path / "max2.pt")
    with pytest.raises(CheckpointError, match=r"max_action 2\.0.*max_action 1\.0"):
        TD3(S, A, 1.0, device="cpu").load(path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_agent_corrupt_or_truncated_checkpoint_is_a_checkpoint_error(tmp_path, damage):
    good = trained()[0].save(tmp_path / "good.pt").read_bytes()
    bad = tmp_path / f"{damage}.pt"
    bad.write_bytes({"truncated": good[: len(good) // 2], "garbage": b"not a checkpoint" * 50,
                     "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=rf"{bad.name}.*truncated or corrupt"):
        TD3(S, A, 1.0, device="cpu").load(bad)


def test_agent_missing_checkpoint_and_foreign_files_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint"):
        TD3(S, A, 1.0, device="cpu").load(tmp_path / "nothing.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no 'actor' entry"):
        TD3(S, A, 1.0, device="cpu").load(tmp_path / "foreign.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(CheckpointError, match="not a td3_teach checkpoint"):
        TD3(S, A, 1.0, device="cpu").load(tmp_path / "tensor.pt")


def test_agent_checkpoint_holding_code_is_refused_by_weights_only(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (print, ("this would run on load",))

    path = tmp_path / "sneaky.pt"
    torch.save({"actor": Sneaky()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        TD3(S, A, 1.0, device="cpu").load(path)
