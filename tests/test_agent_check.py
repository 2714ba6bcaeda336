"""The whole-agent check (``checks.agent``): passes notebook 16's solution and other correct
designs, and names every lecture bug and classic assembly mistake injected into the solution."""

import re
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from td3_teach import TD3, TD3Config, checks, update
from td3_teach.checks import _agent_reference as reference
from notebook_code import assert_names_the_mistake, check_failure, exercise_namespace

NB = "16_your_td3.ipynb"
INIT_ACTOR_COPY = "        self.actor_target.load_state_dict(self.actor.state_dict())\n"
CRITIC_TARGET = "self.critic_target = Critic(state_dim, action_dim).to(device)"
NOISE = "noise = torch.randn_like(a_next) * (policy_noise * self.max_action)"
CLIP = "noise = noise.clamp(-noise_clip * self.max_action, noise_clip * self.max_action)"
ACTOR_LOSS = "actor_loss = -self.critic.Q1(s, self.actor(s)).mean()"
POLYAK = "p_target.copy_(tau * p + (1 - tau) * p_target)"
NO_GRAD = "with torch.no_grad():  # steps 5-9 build the target y: a constant, no graph"
LOOP = "for _ in range(iterations):\n            self.total_it += 1\n"
DELAY = "if self.total_it % policy_freq == 0:"
POLYAK_BLOCK = """                with torch.no_grad():
                    for p, p_target in zip(self.actor.parameters(), self.actor_target.parameters()):
                        p_target.copy_(tau * p + (1 - tau) * p_target)                   # Step 14
                    for p, p_target in zip(self.critic.parameters(), self.critic_target.parameters()):
                        p_target.copy_(tau * p + (1 - tau) * p_target)                   # Step 15
"""
ACTOR_STEP = """                actor_loss = -self.critic.Q1(s, self.actor(s)).mean()                    # Step 13
                self.actor_optimizer.zero_grad()
                actor_loss.backward()
                self.actor_optimizer.step()
"""


def dedent(block: str, by: int = 4) -> str:
    return "".join(line[by:] + "\n" for line in block.splitlines())


def my_td3(replace=None):
    return exercise_namespace(NB, replace)["MyTD3"]


# --------------------------------------------------------------------------- correct designs pass
def test_agent_check_passes_the_solution():
    text = checks.agent(my_td3()).text()
    assert text.startswith("Your TD3 ✓") and "noise on equal under the same seed" in text


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 17])
def test_agent_check_passes_the_solution_on_other_seeds(seed):
    assert checks.agent(my_td3(), seed=seed)


def test_agent_check_passes_the_packages_agent():
    assert checks.agent(TD3)


def test_agent_check_passes_the_first_head_of_forward_instead_of_q1():
    assert checks.agent(my_td3({ACTOR_LOSS: "actor_loss = -self.critic(s, self.actor(s))[0].mean()"}))


def test_agent_check_passes_lerp_polyak_and_deepcopy_targets():
    cls = my_td3({POLYAK: "p_target.lerp_(p, tau)",
                  INIT_ACTOR_COPY: "        self.actor_target = copy.deepcopy(self.actor)\n"})
    cls.__init__.__globals__["copy"] = __import__("copy")
    assert checks.agent(cls)


def test_agent_check_passes_noise_drawn_with_normal_():
    """Another random call than randn_like, same stream: still compared exactly."""
    cls = my_td3({NOISE: "noise = torch.empty_like(a_next).normal_(0, policy_noise * self.max_action)"})
    assert "same seed" in checks.agent(cls).text()


def test_agent_check_passes_noise_from_another_stream_statistically():
    """numpy noise cannot match torch's draws: checked statistically, then compared with it."""
    cls = my_td3({NOISE: "noise = torch.as_tensor(np.random.normal(0, policy_noise * self.max_action, "
                         "a_next.shape), dtype=torch.float32)"})
    assert "checked statistically" in checks.agent(cls).text()


class SeqActor(nn.Module):
    def __init__(self, state_dim, action_dim, max_action):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(state_dim, 400), nn.ReLU(), nn.Linear(400, 300), nn.ReLU(),
                                 nn.Linear(300, action_dim), nn.Tanh())
        self.max_action = max_action

    def forward(self, s):
        return self.max_action * self.net(s)


class SeqCritic(nn.Module):
    """Two nn.Sequential heads, and no Q1 method."""

    def __init__(self, state_dim, action_dim):
        super().__init__()
        head = lambda: nn.Sequential(nn.Linear(state_dim + action_dim, 400), nn.ReLU(),  # noqa: E731
                                     nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 1))
        self.q1, self.q2 = head(), head()

    def forward(self, s, a):
        sa = torch.cat([s, a], 1)
        return self.q1(sa), self.q2(sa)


def test_agent_check_passes_sequential_networks_without_q1():
    cls = my_td3({"Actor(": "SeqActor(", "Critic(": "SeqCritic(",
                  ACTOR_LOSS: "actor_loss = -self.critic(s, self.actor(s))[0].mean()"})
    cls.__init__.__globals__.update(SeqActor=SeqActor, SeqCritic=SeqCritic)
    assert checks.agent(cls)


def test_agent_check_passes_train_built_from_the_step_notebooks_functions():
    """The learner's step functions of notebooks 05-15 fit the calls notebook 16 lists."""
    steps = {}
    for nb in ("05_target_action.ipynb", "06_target_policy_noise.ipynb", "07_target_q.ipynb",
               "08_min_target_q.ipynb", "09_bellman_target.ipynb", "10_current_q.ipynb",
               "11_critic_loss.ipynb", "12_critic_update.ipynb", "13_actor_update.ipynb",
               "14_15_update_targets.ipynb"):
        mine = ("step" + nb[:2], "step" + nb[3:5], "delayed") if nb.startswith("14") else ("step" + nb[:2],)
        steps.update({k: v for k, v in exercise_namespace(nb).items() if k.startswith(mine)})
    ns = exercise_namespace(NB)
    base = ns["MyTD3"]

    class FromSteps(base):
        def train(self, replay_buffer, iterations, batch_size=256, discount=0.99, tau=0.005,
                  policy_noise=0.2, noise_clip=0.5, policy_freq=2):
            for _ in range(iterations):
                self.total_it += 1
                batch = replay_buffer.sample(batch_size)                                   # Step 4
                a_next = steps["step05_target_action"](self, batch)                       # Step 5
                a_tilde = steps["step06_target_policy_noise"](a_next, self.max_action,    # Step 6
                                                              policy_noise, noise_clip)
                q1_next, q2_next = steps["step07_target_q"](self, batch, a_tilde)         # Step 7
                q_next = steps["step08_min_target_q"](q1_next, q2_next)                   # Step 8
                y = steps["step09_bellman_target"](batch.r, batch.terminated, q_next,     # Step 9
                                                   discount)
                q1, q2 = steps["step10_current_q"](self.critic, batch.s, batch.a)         # Step 10
                critic_loss = steps["step11_critic_loss"](q1, q2, y)                      # Step 11
                steps["step12_critic_update"](self.critic_optimizer, critic_loss)         # Step 12
                steps["delayed_updates"](self, batch.s, self.total_it, policy_freq, tau)  # 13-15

    assert checks.agent(FromSteps)


def test_reference_iteration_is_the_packages_train_step():
    """The check's reference (with its default Variant) is update.train_step, number for number."""
    torch.manual_seed(0)
    a, b = TD3(5, 2, 2.0), TD3(5, 2, 2.0)
    b.load_state_dict(a.state_dict())
    ref = SimpleNamespace(**{n: getattr(b, n) for n in reference.NETS + reference.OPTIMIZERS},
                          max_action=2.0)
    cfg = TD3Config(batch_size=8, discount=0.9, tau=0.2, policy_freq=2)
    hp = reference.Hyper(8, 0.9, 0.2, 0.2, 0.5, 2, 2.0)
    for it in (1, 2, 3, 4):
        batch = update.Batch(torch.randn(8, 5), torch.randn(8, 5), torch.rand(8, 2), torch.randn(8, 1),
                             (torch.rand(8, 1) < 0.3).float())
        torch.manual_seed(it)
        update.train_step(a, batch, it, cfg)
        torch.manual_seed(it)
        reference.iteration(ref, batch, it, hp)
        for n in reference.NETS:
            for p, q in zip(getattr(a, n).parameters(), getattr(b, n).parameters()):
                assert torch.allclose(p, q, atol=1e-6), (it, n)


# --------------------------------------------------------------------------- the lecture's bugs
LECTURE_CRITIC = """
from torch import nn

class LectureCritic(nn.Module):
    def __init__(self, state_dim, action_dim):
        super().__init__()
        self.layer_1 = nn.Linear(state_dim + action_dim, 400)
        self.layer_2 = nn.Linear(400, 300)
        self.layer_3 = nn.Linear(300, action_dim)
        self.layer_4 = nn.Linear(state_dim + action_dim, 400)
        self.layer_5 = nn.Linear(400, 300)
        self.layer_6 = nn.Linear(300, action_dim)

    def forward(self, x, u):
        xu = torch.cat([x, u], 1)
        x1 = self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(xu)))))
        x2 = self.layer_6(F.relu(self.layer_5(F.relu(self.layer_4(xu)))))
        return x1, x2
"""

LECTURE_SELECT = """        with torch.no_grad():
            s = torch.as_tensor(state, dtype=torch.float32, device=device).reshape(1, -1)  # a batch of one
            return self.actor(s).cpu().numpy().flatten()
"""

LECTURE_BUGS = {
    "load_state_dict(self.actor.state_dict)": (
        {INIT_ACTOR_COPY: INIT_ACTOR_COPY.replace("state_dict())", "state_dict)")},
        "the method itself is handed over"),
    "critic(...) with a lower-case class name": (
        {CRITIC_TARGET: CRITIC_TARGET.replace("= Critic(", "= critic(")}, "lower-case class name"),
    "self,critic": (
        {"load_state_dict(self.critic.state_dict())": "load_state_dict(self,critic.state_dict())"},
        "a comma where an attribute was meant"),
    "state.reshape(-1, 1)": ({".reshape(1, -1)": ".reshape(-1, 1)"}, "one-feature states"),
    "select_action with autograd on (the lecture's .data)": (
        {LECTURE_SELECT: "        s = torch.Tensor(state.reshape(1, -1)).to(device)\n"
                         "        return self.actor(s).cpu().data.numpy().flatten()\n"}, "autograd on"),
    "Polyak on every iteration": ({POLYAK_BLOCK: dedent(POLYAK_BLOCK)}, "at every iteration"),
    "the missing minus sign": ({ACTOR_LOSS: ACTOR_LOSS.replace("= -", "= ")}, "without the minus sign"),
    "noise shared by the batch": ({NOISE: NOISE.replace("torch.randn_like(a_next)",
                                                        "torch.randn(1, a_next.shape[1])")},
                                  "noise shared by the batch"),
    "a critic target built as an actor": (
        {CRITIC_TARGET: "self.critic_target = Actor(state_dim, action_dim, max_action).to(device)"},
        "critic target built as an actor"),
    ".zero.grad()": ({"self.critic_optimizer.zero_grad()": "self.critic_optimizer.zero.grad()"},
                     "zero.grad()"),
    "normal_0": ({NOISE: "noise = a_next.clone().normal_0(0, policy_noise * self.max_action)"},
                 "normal_0"),
    "steo": ({"self.actor_optimizer.step()": "self.actor_optimizer.steo()"}, "steo()"),
    "grad_zero": ({"self.actor_optimizer.zero_grad()": "self.actor_optimizer.grad_zero()"},
                  "grad_zero()"),
    "self.max_action never set": ({"        self.max_action = float(max_action)\n": ""},
                                  "never set in __init__"),
    "the delay counted within one call (for it in range(iterations))": (
        {LOOP: "for it in range(iterations):\n", DELAY: "if it % policy_freq == 0:"},
        "your counter restarts in each call"),
    "noise not scaled by max_action": (
        {NOISE: NOISE.replace("(policy_noise * self.max_action)", "policy_noise"),
         CLIP: "noise = noise.clamp(-noise_clip, noise_clip)"}, "not scaled by max_action"),
    "normal_ into torch.Tensor(batch actions)": (
        {NOISE: "noise = torch.Tensor(a).data.normal_(0, policy_noise * self.max_action)"},
        "overwrites the sampled actions"),
    "target_param.data.copy_ = ... (assigns, never copies)": (
        {POLYAK: "p_target.data.copy_ = tau * p.data + (1 - tau) * p_target.data"}, "copy_ ="),
}


@pytest.mark.parametrize("name", LECTURE_BUGS)
def test_agent_check_names_each_lecture_bug(name):
    replace, expected = LECTURE_BUGS[name]
    assert_names_the_mistake(checks.agent, my_td3(replace), expected)


def test_agent_check_names_the_lectures_critic_heads():
    ns = exercise_namespace(NB, {"Critic(state_dim, action_dim)": "LectureCritic(state_dim, action_dim)"})
    exec(LECTURE_CRITIC, ns)
    assert_names_the_mistake(checks.agent, ns["MyTD3"], "heads have the wrong width")


def test_agent_check_names_a_train_outside_the_class():
    ns = exercise_namespace(NB)

    class NoTrain:
        __init__ = ns["MyTD3"].__init__
        select_action = ns["MyTD3"].select_action

    assert_names_the_mistake(checks.agent, NoTrain, "not a method of T3D")


# --------------------------------------------------------------------------- assembly mistakes
ASSEMBLY = {
    "actor and targets every iteration (no delay)": ({DELAY: "if True:"}, "there is no delay at all"),
    "the delay counted from 0": ({LOOP: "for _ in range(iterations):\n",
                                  DELAY: "if self.total_it % policy_freq == 0:\n                pass\n"
                                         "            self.total_it += 1\n"
                                         "            if (self.total_it - 1) % policy_freq == 0:"},
                                 "moved on iterations [1, 3, 5, 7]; expected [2, 4, 6, 8]"),
    "online critic in the target": ({"self.critic_target(s_next, a_tilde)": "self.critic(s_next, a_tilde)"},
                                    "critic target was never called"),
    "online actor in the target": ({"a_next = self.actor_target(s_next)": "a_next = self.actor(s_next)"},
                                   "came from the online actor"),
    "state instead of next state in the target": (
        {"a_next = self.actor_target(s_next)": "a_next = self.actor_target(s)",
         "self.critic_target(s_next, a_tilde)": "self.critic_target(s, a_tilde)"}, "instead of s'"),
    "critic optimiser over the actor": (
        {"torch.optim.Adam(self.critic.parameters(), lr=3e-4)": "torch.optim.Adam(self.actor.parameters(), lr=3e-4)"},
        "`critic_optimizer` holds the parameters of `actor`"),
    "critic optimiser over the critic target": (
        {"torch.optim.Adam(self.critic.parameters(), lr=3e-4)":
         "torch.optim.Adam(self.critic_target.parameters(), lr=3e-4)"},
        "`critic_optimizer` holds the parameters of `critic_target`"),
    "critic optimiser over head 1 only": (
        {"torch.optim.Adam(self.critic.parameters(), lr=3e-4)":
         "torch.optim.Adam(list(self.critic.parameters())[:6], lr=3e-4)"}, "missing from it"),
    "SGD instead of Adam": ({"torch.optim.Adam(self.critic.parameters(), lr=3e-4)":
                             "torch.optim.SGD(self.critic.parameters(), lr=3e-4)"}, "expected a torch.optim.Adam"),
    "actor loss on Q2": ({ACTOR_LOSS: "actor_loss = -self.critic(s, self.actor(s))[1].mean()"}, "climbed Q2"),
    "actor loss on min(Q1, Q2)": ({ACTOR_LOSS: "actor_loss = -torch.min(*self.critic(s, self.actor(s))).mean()"},
                                  "min(Q1, Q2)"),
    "actor loss on the critic target": (
        {ACTOR_LOSS: "actor_loss = -self.critic_target.Q1(s, self.actor(s)).mean()"}, "critic TARGET's Q1"),
    "no no_grad on the target": ({NO_GRAD: "if True:"}, "holds gradients"),
    "target actor not copied from the actor": ({INIT_ACTOR_COPY: ""}, "does not start with `actor`'s weights"),
    "target is the network itself": ({"self.actor_target = Actor(state_dim, action_dim, max_action).to(device)":
                                      "self.actor_target = self.actor"}, "same object"),
    "wrong tau direction": ({POLYAK: "p_target.copy_((1 - tau) * p + tau * p_target)"}, "swapped"),
    "hard copy instead of Polyak": ({POLYAK: "p_target.copy_(p)"}, "copied (tau = 1)"),
    "tau hard-coded": ({POLYAK: "p_target.copy_(0.005 * p + (1 - 0.005) * p_target)"}, "hard-coded to 0.005"),
    "Polyak before the actor update": ({ACTOR_STEP + POLYAK_BLOCK: POLYAK_BLOCK + ACTOR_STEP}, "before the actor"),
    "done mask inverted": ({"(1 - terminated)": "terminated"}, "inverted"),
    "done mask missing": ({"(1 - terminated) * ": ""}, "mask is missing"),
    "discount hard-coded": ({"y = r + discount *": "y = r + 0.99 *"}, "hard-coded to 0.99"),
    "no min of the twin targets": ({"q_next = torch.min(q1_next, q2_next)": "q_next = q1_next"}, "Q1' alone"),
    "max of the twin targets": ({"torch.min(q1_next, q2_next)": "torch.max(q1_next, q2_next)"}, "max(Q1', Q2')"),
    "only Q1 trained": ({"F.mse_loss(q1, y) + F.mse_loss(q2, y)": "F.mse_loss(q1, y)"}, "only Q1 is trained"),
    "critic gradients never cleared": ({"self.critic_optimizer.zero_grad()": "pass"}, "never cleared"),
    "no target noise": ({NOISE: "noise = torch.zeros_like(a_next)"}, "no target policy noise"),
    "noise not clipped": ({CLIP: "noise = noise"}, "clipped at exactly"),
    "reused noise": ({LOOP: "eps = None\n        " + LOOP,
                      NOISE: "eps = torch.randn_like(a_next) if eps is None else eps\n"
                             "                noise = eps * (policy_noise * self.max_action)"},
                            "drawn once and reused"),
    "one batch per call": ({LOOP + "            s, s_next, a, r, terminated = replay_buffer.sample(batch_size)":
                            "s, s_next, a, r, terminated = replay_buffer.sample(batch_size)\n        " + LOOP},
                           "sampled 1 batch"),
    "batch_size ignored": ({"replay_buffer.sample(batch_size)": "replay_buffer.sample(256)"}, "batch of 256"),
}


@pytest.mark.parametrize("name", ASSEMBLY)
def test_agent_check_names_each_assembly_mistake(name):
    replace, expected = ASSEMBLY[name]
    assert_names_the_mistake(checks.agent, my_td3(replace), expected)


def test_agent_check_says_after_which_iteration_and_what_still_matches():
    text = str(check_failure(checks.agent, my_td3(LECTURE_BUGS["Polyak on every iteration"][0])))
    assert "After iteration 1" in text, text
    # The actor target equals the actor until the first actor update: only the critic target shows it.
    assert "critic, actor and actor_target match, but critic_target moved on a non-delayed" in text, text


def test_agent_check_hints_never_hold_the_fix():
    """The fix is for the learner to find: no message quotes the solution's lines."""
    for replace, _ in list(LECTURE_BUGS.values()) + list(ASSEMBLY.values()):
        text = re.sub(r"\(`.*?`\)", "", str(check_failure(checks.agent, my_td3(replace))))  # your own line
        for line in ("load_state_dict(self.actor.state_dict())", "reshape(1, -1)", "torch.randn_like(a_next)",
                     ACTOR_LOSS, POLYAK, "(1 - terminated)"):
            assert line not in text, (line, text)


def test_agent_check_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    checks.agent(my_td3())
    assert torch.equal(torch.rand(3), want)


def test_agent_check_refuses_an_instance_and_none():
    assert_names_the_mistake(checks.agent, None, "did you run the exercise cell")
    assert_names_the_mistake(checks.agent, TD3(3, 1, 1.0), "needs your agent's class")


def test_agent_check_reports_the_stub_as_not_implemented():
    stub = my_td3({LECTURE_SELECT: "        raise NotImplementedError('stub')\n"})
    assert "not implemented yet" in str(check_failure(checks.agent, stub))


_ = F  # the lecture critic's source uses F in the notebook namespace
