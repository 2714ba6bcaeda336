"""Step 3 of 15: the twin critics Q1, Q2 and their targets (td3_teach.networks.Critic).

Behaviour: two independent 400-300 heads on cat(s, a), each ending in ONE output; Q1 alone for
the actor; targets exact, independent copies taking no gradient. Plus the lecture's bugs.
"""

import torch
import torch.nn.functional as F

from td3_teach import TD3
from td3_teach.networks import Critic, make_target

S, A = 26, 6


def test_step03_critic_heads_are_400_300_on_state_and_action():
    c = Critic(S, A)
    layers = [c.layer_1, c.layer_2, c.layer_3, c.layer_4, c.layer_5, c.layer_6]
    assert [(m.in_features, m.out_features) for m in layers] == \
        [(S + A, 400), (400, 300), (300, 1)] * 2


def test_step03_bug_critic_heads_have_width_one():
    """Lecture: ``nn.Linear(300, action_dim)``: action_dim "Q-values" per pair. A Q-value is one
    number per (s, a): both heads end in width 1, so q1 and q2 are (B, 1)."""
    torch.manual_seed(0)
    c = Critic(S, A)
    q1, q2 = c(torch.randn(64, S), torch.rand(64, A) * 2 - 1)
    assert q1.shape == (64, 1) and q2.shape == (64, 1)
    assert c.layer_3.out_features == 1 and c.layer_6.out_features == 1


def test_step03_forward_is_two_relu_mlps_on_cat_s_a():
    torch.manual_seed(0)
    c = Critic(S, A)
    s, a = torch.randn(8, S), torch.randn(8, A)
    sa = torch.cat([s, a], 1)
    q1, q2 = c(s, a)
    torch.testing.assert_close(q1, c.layer_3(F.relu(c.layer_2(F.relu(c.layer_1(sa))))), rtol=0, atol=0)
    torch.testing.assert_close(q2, c.layer_6(F.relu(c.layer_5(F.relu(c.layer_4(sa))))), rtol=0, atol=0)


def test_step03_the_twin_heads_are_independent():
    torch.manual_seed(0)
    c = Critic(S, A)
    assert not torch.equal(c.layer_1.weight, c.layer_4.weight), "heads start identical"
    q1, q2 = c(torch.randn(8, S), torch.randn(8, A))
    assert not torch.allclose(q1, q2)
    q1.sum().backward()  # Q1's gradient reaches head 1 only
    assert all(getattr(c, f"layer_{i}").weight.grad is not None for i in (1, 2, 3))
    assert all(getattr(c, f"layer_{i}").weight.grad is None for i in (4, 5, 6))


def test_step03_q1_equals_the_first_head_of_forward():
    torch.manual_seed(0)
    c = Critic(S, A)
    s, a = torch.randn(8, S), torch.randn(8, A)
    assert torch.equal(c.Q1(s, a), c(s, a)[0])


def test_step03_bug_critic_targets_are_exact_independent_copies():
    """Lecture: ``load_state_dict(self.critic.state_dict)`` without the call. Ours: equal values,
    separate tensors, no gradient."""
    agent = TD3(S, A, 1.0, device="cpu")
    for (name, p), (_, q) in zip(agent.critic.named_parameters(),
                                 agent.critic_target.named_parameters()):
        assert torch.equal(p, q), name
        assert p.data_ptr() != q.data_ptr(), name
        assert p.requires_grad and not q.requires_grad, name
    with torch.no_grad():
        agent.critic.layer_6.bias.add_(1.0)
    assert not torch.equal(agent.critic.layer_6.bias, agent.critic_target.layer_6.bias)


def test_step03_critic_target_outputs_carry_no_graph():
    target = make_target(Critic(S, A))
    q1, q2 = target(torch.randn(4, S), torch.randn(4, A))
    assert not q1.requires_grad and not q2.requires_grad
