"""Steps 5-15 once more, with the gradients written out by hand: what ``TD3.train`` runs on a CPU.

``update.train_step`` is the update the course teaches, one function per step, with autograd
finding the gradients. This module is the same update for the package's own networks (``Actor``,
``Critic``) with autograd's work done by hand: every product is one ``addmm``/``mm`` into a
buffer, ReLU and tanh overwrite their input, their derivatives are applied in place to the
incoming gradient, and the gradients are written into ``.grad`` buffers kept from one iteration
to the next. No graph is built and no module is called. The optimisers are the agent's own: they
read ``.grad`` as after ``backward()``, and their Adam step is torch's functional ``adam`` on
their own state, without ``step()``'s wrappers where no hook needs them (``_adam_step``). Polyak
averaging (steps 14-15) is ``update.polyak_update``, as in ``train_step``.

Why it exists: on a CPU the framework's bookkeeping around the small products is 6 per cent
to a sixth of the update. Without it the update ran 1.06x-1.20x as fast on this project's 2-core
AMD EPYC (batch 100 and 256, 1 and 2 threads; ``benchmarks/throughput.py``, columns
``td3_teach`` and ``train_step``; ``benchmarks/results/speed.md``). Nothing a learner writes or
reads in the notebooks is here, and learners' own agents never run it.

Why it can be trusted: ``tests/test_fast_update.py`` runs it beside ``train_step`` on the same
batches and noise and finds the same gradients (every iteration) and the same parameters,
targets, optimiser states and losses (to float rounding, 1e-6), with and without the delayed
actor step; ``tests/test_golden_update.py`` checks both against Algorithm 1 written out plainly.

When it runs (``why_not`` says why not): on a CPU, for ``TD3``'s own ``Actor`` and ``Critic``
(exactly those classes), float32, every parameter trainable, TD3 itself (twin critics and
target-policy noise on: the ablations' variants without them take ``train_step``), and modules
whose calls nobody watches: where ``onednn.py`` switches the layers to oneDNN, ``train_step``
keeps that faster library, and a forward hook or a replaced ``forward`` (a check's spy, your own
instrument) sees the calls it expects. Everything else, GPUs included, takes ``train_step``.
``TD3_TEACH_UPDATE=taught`` in the environment makes ``TD3.train`` always take ``train_step``
(``auto``, the default, takes this one where it applies).
The two are equal to float rounding, not bit for bit, and training is chaotic: to retrain a
committed run exactly, use the update it was trained with (``benchmarks/results/`` says which).

Gradients (B = batch, h = a ReLU's output, ``*`` elementwise; the MSE's derivative 2 (q - y) / B):

    critic head:  dq = 2 (q - y) / B;  dW3 = dq^T h2;  dh2 = (dq W3) * [h2 > 0];  dW2 = dh2^T h1;
                  dh1 = (dh2 W2) * [h1 > 0];  dW1 = dh1^T [s, a];  each bias: its gradient's column sums
    actor (loss -mean Q1(s, mu(s))): dq = -1 / B; through Q1 as above down to d[s, a], of which the
                  action columns da;  a = max_action * tanh(u) gives du = da * max_action * (1 - tanh(u)^2);
                  then the actor's layers as the critic's
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules import module as _module
from torch.optim import Adam, optimizer as _optimizer
from torch.optim.adam import adam

from .config import TD3Config
from .errors import env_choice
from .networks import Actor, Critic
from .protocols import Networks
from .replay_buffer import Batch
from .update import polyak_update

_threshold_backward = torch.ops.aten.threshold_backward.grad_input  # its out= form

ENV = "TD3_TEACH_UPDATE"
MODES = ("auto", "taught")


def mode() -> str:
    """The user's choice in ``TD3_TEACH_UPDATE`` (``auto`` when unset)."""
    return env_choice(ENV, MODES, f"unset it (auto), or set {ENV}=taught to always run update.train_step.")


def why_not(agent: Networks, cfg: TD3Config) -> str | None:
    """Why ``agent`` takes ``train_step`` rather than this update under ``cfg`` (None: it need not).
    ``TD3.train`` asks at every call: about 40 us, against 4-10 ms for one update on a CPU."""
    if mode() == "taught":
        return f"{ENV}=taught"
    if not (cfg.twin_critics and cfg.target_noise):
        return "an ablation (twin critics or target-policy noise off)"
    nets = (agent.actor, agent.actor_target, agent.critic, agent.critic_target)
    if not (type(agent.actor) is type(agent.actor_target) is Actor
            and type(agent.critic) is type(agent.critic_target) is Critic):
        return "networks other than td3_teach.networks.Actor and Critic"
    # (.to() and .double() move or convert a whole network: its first weight tells)
    if any(w.device.type != "cpu" or w.dtype != torch.float32 for w in (n.layer_1.weight for n in nets)):
        return "not float32 on a CPU"
    if not all(p.requires_grad for net in (agent.actor, agent.critic) for p in net.parameters()):
        return "a frozen parameter (requires_grad=False: train_step leaves it, this would train it)"
    if _global_hooks() or any(_watched(m) for net in nets for m in (net, *net.children())):
        return "a network's forward is replaced or hooked (onednn.py's layers, a spy, a hook)"
    return None


def _global_hooks() -> bool:
    """Whether a hook is registered for every module's calls (``register_module_forward_hook``...)."""
    return bool(_module._global_forward_hooks or _module._global_forward_pre_hooks
                or _module._global_backward_hooks or _module._global_backward_pre_hooks)


def _watched(module: nn.Module) -> bool:
    """Whether calling ``module`` would run more than its class's ``forward``: a forward set on the
    instance (``onednn.attach``, a check's spy) or a hook of its own."""
    return ("forward" in vars(module) or bool(module._forward_hooks or module._forward_pre_hooks
                                              or module._backward_hooks or module._backward_pre_hooks))


def _linear(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    """x W^T + b, one ``addmm``."""
    return torch.addmm(layer.bias, x, layer.weight.t())


def _backward_linear(g: torch.Tensor, x: torch.Tensor, layer: nn.Linear) -> None:
    """Write dW = g^T x and db = the column sums of g into the layer's gradient buffers."""
    torch.mm(g.t(), x, out=layer.weight.grad)
    torch.sum(g, 0, out=layer.bias.grad)


def _relu_backward(g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g where the ReLU's output h was positive, 0 elsewhere, written into g (autograd's own ReLU
    backward, ``threshold_backward``, with g as its output: one pass, nothing allocated)."""
    return _threshold_backward(g, h, 0.0, grad_input=g)


def _adam_step(opt: torch.optim.Optimizer) -> None:
    """``opt.step()``, and for the agent's own Adam the same update without ``step()``'s per-call
    bookkeeping (hook and profiler wrappers, state set-up: about 3 % of the update at batch 100):
    torch's functional ``adam`` on the optimiser's own state, with its group's settings. Anything
    that bookkeeping serves (another optimiser, several groups, AMSGrad, a hook, a ``step``
    wrapped by an LR scheduler or an instrument, a first step with no state yet, a parameter
    without a gradient) takes ``opt.step()``."""
    group = opt.param_groups[0]
    params = group["params"]
    if (type(opt) is not Adam or len(opt.param_groups) != 1 or group["amsgrad"] or "step" in vars(opt)
            or opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks
            or _optimizer._global_optimizer_pre_hooks or _optimizer._global_optimizer_post_hooks
            or not all(opt.state.get(p) and p.grad is not None for p in params)):
        opt.step()
        return
    states = [opt.state[p] for p in params]
    beta1, beta2 = group["betas"]
    adam(params, [p.grad for p in params], [st["exp_avg"] for st in states],
         [st["exp_avg_sq"] for st in states], [], [st["step"] for st in states],
         foreach=group["foreach"], capturable=group["capturable"], differentiable=group["differentiable"],
         fused=group["fused"], grad_scale=getattr(opt, "grad_scale", None),
         found_inf=getattr(opt, "found_inf", None), decoupled_weight_decay=group["decoupled_weight_decay"],
         amsgrad=False, beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
         eps=group["eps"], maximize=group["maximize"])


class FastUpdate:
    """``train_step`` for one ``TD3`` agent (see the module's docstring for when it applies)."""

    def __init__(self, agent: Networks) -> None:
        self.agent = agent
        self.nets = (agent.actor, agent.actor_target, agent.critic, agent.critic_target)
        self.grads = [p for net in (agent.actor, agent.critic) for p in net.parameters()]

    def serves(self, agent: Networks) -> bool:
        """Whether ``agent`` still has the networks this update was made for."""
        return self.agent is agent and all(a is b for a, b in zip(self.nets, (
            agent.actor, agent.actor_target, agent.critic, agent.critic_target)))

    @torch.no_grad()
    def step(self, batch: Batch, iteration: int, cfg: TD3Config) -> dict[str, torch.Tensor]:
        """One iteration of Algorithm 1 on ``batch``, as ``train_step(agent, batch, iteration, cfg)``:
        the same parameter updates and the same returned losses (0-d tensors)."""
        agent = self.agent
        actor, actor_target, critic, critic_target = self.nets
        for p in self.grads:  # train_step's zero_grad(set_to_none=True) may have emptied them
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        s, s_next, a, r, terminated = batch
        n, m = s.shape[0], agent.max_action

        # Steps 5-9: the target y (nothing here needs a gradient).
        x = _linear(_linear(s_next, actor_target.layer_1).relu_(), actor_target.layer_2).relu_()
        a_next = _linear(x, actor_target.layer_3).tanh_().mul_(actor_target.max_action)   # Step 5
        eps = torch.randn_like(a_next).mul_(cfg.policy_noise * m)                          # Step 6
        a_next.add_(eps.clamp_(-cfg.noise_clip * m, cfg.noise_clip * m)).clamp_(-m, m)
        sa_next = torch.cat([s_next, a_next], 1)                                           # Step 7
        q1_next, q2_next = (
            _linear(_linear(_linear(sa_next, l1).relu_(), l2).relu_(), l3)
            for l1, l2, l3 in ((critic_target.layer_1, critic_target.layer_2, critic_target.layer_3),
                               (critic_target.layer_4, critic_target.layer_5, critic_target.layer_6)))
        y = r + cfg.discount * (1.0 - terminated) * torch.min(q1_next, q2_next)            # Steps 8-9

        # Steps 10-12: each head's Q(s, a), its squared error, its gradients by hand; one Adam step.
        sa = torch.cat([s, a], 1)
        critic_loss = torch.zeros(())
        for l1, l2, l3 in ((critic.layer_1, critic.layer_2, critic.layer_3),
                           (critic.layer_4, critic.layer_5, critic.layer_6)):
            h1 = _linear(sa, l1).relu_()                                                   # Step 10
            h2 = _linear(h1, l2).relu_()
            error = _linear(h2, l3).sub_(y)
            critic_loss += error.square().mean()                                           # Step 11
            dq = error.mul_(2.0 / n)
            _backward_linear(dq, h2, l3)
            dh2 = _relu_backward(torch.mm(dq, l3.weight), h2)
            _backward_linear(dh2, h1, l2)
            dh1 = _relu_backward(torch.mm(dh2, l2.weight), h1)
            _backward_linear(dh1, sa, l1)
        _adam_step(agent.critic_optimizer)                                                 # Step 12
        losses = {"critic_loss": critic_loss}

        if iteration % cfg.policy_delay:  # the delay d
            return losses
        # Step 13: ascent on Q1(s, mu(s)); the critic's weights take no gradient.
        g1 = _linear(s, actor.layer_1).relu_()
        g2 = _linear(g1, actor.layer_2).relu_()
        t = _linear(g2, actor.layer_3).tanh_()
        sa = torch.cat([s, t * actor.max_action], 1)
        h1 = _linear(sa, critic.layer_1).relu_()
        h2 = _linear(h1, critic.layer_2).relu_()
        losses["actor_loss"] = _linear(h2, critic.layer_3).mean().neg()
        dh2 = _relu_backward(critic.layer_3.weight.mul(-1.0 / n).repeat(n, 1), h2)  # dq = -1/B in each row
        dh1 = _relu_backward(torch.mm(dh2, critic.layer_2.weight), h1)
        da = torch.mm(critic.layer_1.weight[:, s.shape[1]:].t(), dh1.t()).t()  # (B, A), as (A, B)^T: faster
        du = da.mul_(t.square_().neg_().add_(1.0)).mul_(actor.max_action)
        _backward_linear(du, g2, actor.layer_3)
        dg2 = _relu_backward(torch.mm(du, actor.layer_3.weight), g2)
        _backward_linear(dg2, g1, actor.layer_2)
        dg1 = _relu_backward(torch.mm(dg2, actor.layer_2.weight), g1)
        _backward_linear(dg1, s, actor.layer_1)
        _adam_step(agent.actor_optimizer)

        polyak_update(actor, actor_target, cfg.tau)                                        # Step 14
        polyak_update(critic, critic_target, cfg.tau)                                      # Step 15
        return losses


def for_agent(agent: Networks, cfg: TD3Config) -> FastUpdate | None:
    """The agent's ``FastUpdate`` (made once, kept on the agent), or None where ``why_not`` says
    ``train_step`` must run."""
    if why_not(agent, cfg) is not None:
        return None
    fast = getattr(agent, "_fast_update", None)
    if fast is None or not fast.serves(agent):
        fast = FastUpdate(agent)
        agent._fast_update = fast  # type: ignore[attr-defined]
    return fast
