"""Step 2 of 15: the actor mu(s) and its target (td3_teach.networks.Actor, make_target).

Behaviour: 400-300 ReLU, max_action * tanh output, actions bounded and reaching the bound; the
target an exact, independent copy that takes no gradient; select_action's shapes. Plus the
lecture's bugs, each by name.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from td3_teach import TD3
from td3_teach.errors import InputError
from td3_teach.networks import Actor, make_target

S, A = 26, 6


def test_step02_actor_is_400_300_and_maps_states_to_actions():
    torch.manual_seed(0)
    actor = Actor(S, A, max_action=1.0)
    assert [(m.in_features, m.out_features) for m in (actor.layer_1, actor.layer_2, actor.layer_3)] \
        == [(S, 400), (400, 300), (300, A)]
    assert actor(torch.randn(32, S)).shape == (32, A)


def test_step02_actor_forward_is_relu_relu_then_max_action_tanh():
    torch.manual_seed(0)
    actor = Actor(S, A, max_action=2.5)
    s = torch.randn(16, S)
    h = F.relu(actor.layer_2(F.relu(actor.layer_1(s))))
    torch.testing.assert_close(actor(s), 2.5 * torch.tanh(actor.layer_3(h)), rtol=0, atol=0)


@pytest.mark.parametrize("max_action", [1.0, 2.0, 0.4])
def test_step02_bug_actor_output_is_max_action_times_tanh(max_action):
    """Lecture: ``layer_3(x) * tanh(max_action)``, unbounded. Ours: ``max_action * tanh(...)``:
    every action within [-max_action, max_action], and large pre-activations reach the bound."""
    torch.manual_seed(0)
    actor = Actor(S, A, max_action)
    a = actor(1000.0 * torch.randn(512, S))  # huge inputs saturate tanh
    assert a.abs().max() <= max_action
    assert a.abs().max() >= 0.99 * max_action, "actions never get near max_action"
    assert (a > 0.99 * max_action).any() and (a < -0.99 * max_action).any()


def test_step02_bug_actor_target_is_an_exact_independent_copy():
    """Lecture: ``load_state_dict(self.actor.state_dict)`` without the call: fails. Ours: the
    target starts equal to the actor, parameter by parameter, in tensors of its own."""
    torch.manual_seed(0)
    actor = Actor(S, A, 1.0)
    target = make_target(actor)
    for (name, p), (_, q) in zip(actor.named_parameters(), target.named_parameters()):
        assert torch.equal(p, q), name
        assert p.data_ptr() != q.data_ptr(), f"{name} is shared with the actor, not copied"
    with torch.no_grad():
        actor.layer_1.weight.add_(1.0)
    assert not torch.equal(actor.layer_1.weight, target.layer_1.weight)
    assert target.max_action == actor.max_action


def test_step02_agent_actor_target_starts_as_exact_copy():
    agent = TD3(S, A, 1.0, device="cpu")
    s = torch.randn(8, S)
    assert torch.equal(agent.actor(s), agent.actor_target(s))
    assert {p.data_ptr() for p in agent.actor.parameters()}.isdisjoint(
        p.data_ptr() for p in agent.actor_target.parameters())


def test_step02_actor_target_takes_no_gradient():
    target = make_target(Actor(S, A, 1.0))
    assert not any(p.requires_grad for p in target.parameters())
    assert not target(torch.randn(4, S)).requires_grad


def test_step02_actor_is_trainable():
    actor = Actor(S, A, 1.0)
    actor(torch.randn(4, S)).sum().backward()
    assert all(p.grad is not None for p in actor.parameters())


# ------------------------------------------------------------------------------------ select_action
def test_step02_bug_select_action_on_one_state_returns_one_action():
    """Lecture: ``state.reshape(-1, 1)`` turned one state into state_dim one-feature states.
    Ours: (state_dim,) in, (action_dim,) out, equal to the actor on that one row."""
    torch.manual_seed(0)
    agent = TD3(S, A, 1.0, device="cpu")
    s = np.random.default_rng(0).standard_normal(S).astype(np.float32)
    a = agent.select_action(s)
    assert isinstance(a, np.ndarray) and a.shape == (A,) and a.dtype == np.float32
    expected = agent.actor(torch.from_numpy(s)[None])[0].detach().numpy()
    np.testing.assert_array_equal(a, expected)


def test_step02_select_action_on_a_batch_returns_a_batch():
    agent = TD3(S, A, 2.0, device="cpu")
    a = agent.select_action(np.zeros((5, S)))
    assert a.shape == (5, A) and np.all(np.abs(a) <= 2.0)


def test_step02_select_action_accepts_float64_lists_and_tensors():
    agent = TD3(S, A, 1.0, device="cpu")
    s = np.linspace(-1, 1, S)
    a64 = agent.select_action(s)
    np.testing.assert_array_equal(a64, agent.select_action(list(s)))
    np.testing.assert_array_equal(a64, agent.select_action(torch.tensor(s)))


def test_step02_select_action_builds_no_graph_and_leaves_no_gradient():
    agent = TD3(S, A, 1.0, device="cpu")
    agent.select_action(np.zeros(S))
    assert all(p.grad is None for p in agent.actor.parameters())


@pytest.mark.parametrize("shape", [(S + 1,), (S, 1), (1, S, 1), (), (3, S - 1)])
def test_step02_select_action_wrong_shape_is_an_input_error(shape):
    agent = TD3(S, A, 1.0, device="cpu")
    with pytest.raises(InputError, match=rf"expected \({S},\)"):
        agent.select_action(np.zeros(shape))
