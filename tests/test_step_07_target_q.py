"""Step 7 of 15: the twin critic targets value (s', a~) (td3_teach.update.step07_target_q).

Also: no gradient ever reaches a target network (they move only by Polyak averaging).
"""

import numpy as np
import torch

from td3_teach import TD3
from td3_teach.networks import Critic, make_target
from td3_teach.replay_buffer import ReplayBuffer
from td3_teach.update import step07_target_q

S, A = 26, 6


def test_step07_target_q_values_are_two_columns_from_the_critic_target():
    torch.manual_seed(0)
    critic = Critic(S, A)
    target = make_target(critic)
    with torch.no_grad():
        critic.layer_3.bias.add_(1.0)  # the online critic has moved on
    s_next, a_tilde = torch.randn(32, S), torch.rand(32, A) * 2 - 1
    q1_next, q2_next = step07_target_q(target, s_next, a_tilde)
    assert q1_next.shape == (32, 1) and q2_next.shape == (32, 1)
    t1, t2 = target(s_next, a_tilde)
    assert torch.equal(q1_next, t1) and torch.equal(q2_next, t2)
    assert not torch.allclose(q1_next, critic(s_next, a_tilde)[0])


def test_step07_no_gradient_flows_into_target_networks():
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(S, A, max_size=300, device="cpu")
    for _ in range(300):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A), 1.0, False))
    agent = TD3(S, A, 1.0, device="cpu")
    agent.train(buf, 4, batch_size=32)
    for net in (agent.actor_target, agent.critic_target):
        for name, p in net.named_parameters():
            assert p.grad is None, f"{name} of a target received a gradient"
            assert not p.requires_grad, name
    # while the online networks did learn
    assert all(p.grad is not None for p in agent.critic.parameters())
