"""A yardstick for ``throughput.py``: TD3's update with its gradients written out by hand.

Not part of the package, and nothing a learner reads: ``td3_teach.update.train_step`` is the
update the course teaches and the package runs. This is the same update (steps 5-15 of one
iteration, on the same networks and optimisers) with every product, gradient and step spelled
out as torch operations: no autograd, no ``nn.Module`` calls, gradients written into buffers
allocated once, activations overwritten in place (ReLU, tanh), the products where torch's
``addmm``/``mm`` put them, Polyak averaging as one fused call per network. It is what an eager
implementation can reach once the framework's bookkeeping is gone, so ``throughput.py``
prints it beside the matrix-multiply floor: when td3_teach misses a speed target, this column
says how much of the miss any eager code could win back, and the floor how much is the
products' own time.

``tests/test_handwritten_update.py`` checks that it moves every parameter as ``train_step`` does
(to float rounding) over iterations with and without the delayed actor step.

Gradients (B = batch, h = ReLU output, ``*`` elementwise; MSE's derivative 2 (q - y) / B):
    critic head:  dq = 2 (q - y) / B;  dW3 = dq^T h2;  dh2 = (dq W3) * [h2 > 0];  dW2 = dh2^T h1;
                  dh1 = (dh2 W2) * [h1 > 0];  dW1 = dh1^T [s, a];  each bias: the column sums
    actor (ascent on Q1, loss -mean Q1): dq = -1 / B; through Q1 as above down to d[s, a], keep
                  its action columns da;  then a = max_action * tanh(u) gives du = da * max_action
                  * (1 - tanh(u)^2), and the actor's layers as the critic's.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from td3_teach.config import TD3Config
from td3_teach.replay_buffer import Batch


def _linear(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    """x W^T + b, one ``addmm``."""
    return torch.addmm(layer.bias, x, layer.weight.t())


def _backward_linear(g: torch.Tensor, x: torch.Tensor, layer: nn.Linear) -> None:
    """Write dW = g^T x and db = sum of g's rows into the layer's gradient buffers."""
    torch.mm(g.t(), x, out=layer.weight.grad)
    torch.sum(g, 0, out=layer.bias.grad)


def _relu_backward(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g where the ReLU's output h was positive, 0 elsewhere (one operation)."""
    return torch.ops.aten.threshold_backward(g, h, 0.0)


class HandwrittenUpdate:
    """TD3's update for ``agent`` (a ``td3_teach.TD3``) with hand-derived gradients."""

    def __init__(self, agent) -> None:
        if not (agent.config.twin_critics and agent.config.target_noise):
            raise ValueError("the handwritten update is TD3's: twin critics and target noise on")
        self.agent = agent
        for net in (agent.actor, agent.critic):
            for p in net.parameters():
                p.grad = torch.zeros_like(p)  # written in place from now on: no zero_grad
        self.pairs = [(list(agent.actor_target.parameters()), list(agent.actor.parameters())),
                      (list(agent.critic_target.parameters()), list(agent.critic.parameters()))]

    def train(self, replay_buffer, iterations: int, batch_size: int) -> None:
        """Like ``TD3.train``: sample a batch (step 4), then one update, ``iterations`` times."""
        cfg = replace(self.agent.config, batch_size=batch_size)
        for _ in range(int(iterations)):
            self.agent.total_it += 1
            self.step(replay_buffer.sample(batch_size), self.agent.total_it, cfg)

    @torch.no_grad()
    def step(self, batch: Batch, iteration: int, cfg: TD3Config) -> None:
        agent, m = self.agent, self.agent.max_action
        actor, actor_target, critic, critic_target = (agent.actor, agent.actor_target, agent.critic,
                                                      agent.critic_target)
        s, s_next, a, r, terminated = batch
        n = s.shape[0]

        # Steps 5-9: the target y.
        x = _linear(_linear(s_next, actor_target.layer_1).relu_(), actor_target.layer_2).relu_()
        a_next = _linear(x, actor_target.layer_3).tanh_().mul_(m)
        eps = torch.randn_like(a_next).mul_(cfg.policy_noise * m)
        a_next.add_(eps.clamp_(-cfg.noise_clip * m, cfg.noise_clip * m)).clamp_(-m, m)
        sa_next = torch.cat([s_next, a_next], 1)
        q_next = [_linear(_linear(_linear(sa_next, l1).relu_(), l2).relu_(), l3)
                  for l1, l2, l3 in ((critic_target.layer_1, critic_target.layer_2, critic_target.layer_3),
                                     (critic_target.layer_4, critic_target.layer_5, critic_target.layer_6))]
        y = r + cfg.discount * (1.0 - terminated) * torch.min(q_next[0], q_next[1])

        # Steps 10-12: both heads' forward, the MSE's gradient by hand, one Adam step.
        sa = torch.cat([s, a], 1)
        for l1, l2, l3 in ((critic.layer_1, critic.layer_2, critic.layer_3),
                           (critic.layer_4, critic.layer_5, critic.layer_6)):
            h1 = _linear(sa, l1).relu_()
            h2 = _linear(h1, l2).relu_()
            dq = _linear(h2, l3).sub_(y).mul_(2.0 / n)
            _backward_linear(dq, h2, l3)
            dh2 = _relu_backward(torch.mm(dq, l3.weight), h2)
            _backward_linear(dh2, h1, l2)
            dh1 = _relu_backward(torch.mm(dh2, l2.weight), h1)
            _backward_linear(dh1, sa, l1)
        agent.critic_optimizer.step()

        if iteration % cfg.policy_delay:
            return
        # Step 13: ascent on Q1(s, mu(s)); the critic's weights take no gradient.
        g1 = _linear(s, actor.layer_1).relu_()
        g2 = _linear(g1, actor.layer_2).relu_()
        t = _linear(g2, actor.layer_3).tanh_()
        sa = torch.cat([s, t * m], 1)
        h1 = _linear(sa, critic.layer_1).relu_()
        h2 = _linear(h1, critic.layer_2).relu_()
        dh2 = _relu_backward(critic.layer_3.weight.mul(-1.0 / n).expand(n, -1), h2)
        dh1 = _relu_backward(torch.mm(dh2, critic.layer_2.weight), h1)
        da = torch.mm(dh1, critic.layer_1.weight[:, agent.state_dim:])
        du = da.mul_(t.square_().neg_().add_(1.0)).mul_(m)
        _backward_linear(du, g2, actor.layer_3)
        dg2 = _relu_backward(torch.mm(du, actor.layer_3.weight), g2)
        _backward_linear(dg2, g1, actor.layer_2)
        dg1 = _relu_backward(torch.mm(dg2, actor.layer_2.weight), g1)
        _backward_linear(dg1, s, actor.layer_1)
        agent.actor_optimizer.step()

        # Steps 14-15: Polyak averaging, one fused call per network.
        for targets, params in self.pairs:
            torch._foreach_lerp_(targets, params, cfg.tau)
