"""How fast is td3_teach's update, and how big is its replay buffer? Side by side, in one run.

Compares, on synthetic HalfCheetah-shaped data (26-d state, 6-d action, fixed seed, no env):

  (a) td3_teach: ``TD3.train(buffer, N, batch_size=B)``: on a CPU the hand-derived update of
      ``td3_teach/fast_update.py`` (where it applies; the setup line says which update ran);
  (b) naive: the lecture notes' code with their bugs fixed, and their costs kept: a list of
      tuples as the buffer, numpy arrays stacked and converted to tensors for every batch, the
      target computed with a graph and then detached, default Adam, Polyak as a Python loop over
      parameters, and the actor loss back-propagated into the critic's weights too;
  (c) Stable-Baselines3's ``TD3.train(gradient_steps=N, batch_size=B)`` with net_arch [400, 300],
      when ``stable_baselines3`` is importable (optional, never a dependency of td3_teach);
  (d) train_step: the update the notebooks teach, ``td3_teach.update.train_step`` (autograd, one
      function per step) after the same step 4, on the same kind of agent: what ``TD3.train``
      runs where the fast update does not apply (``TD3_TEACH_UPDATE=taught``, GPUs, ablations);

and, as a yardstick, the update's matrix multiplies alone (``matmul_floor``): on a CPU they are
most of the work, and no implementation that multiplies with torch's fp32 matmul (MKL on x86)
can go faster than they do. So ``floor/naive`` is the most that ``a/naive`` can ever reach, and
``taught/naive`` what the taught ``train_step`` reached.

Throughput is training iterations per second (one update per iteration: steps 4-15, the actor
and targets every 2nd), for batch 100 and 256 and torch threads 1 and 2: the median of a few
repeats after a warm-up, the implementations taking turns so that background load hits all alike.
Memory is the replay buffer's bytes for 1,000,000 transitions against their raw float32 size.

A second table takes one td3_teach iteration apart with torch.profiler (``profile_update``):
the matrix products, Adam, Polyak, sampling, the other tensor operations, and the time between
them (Python, dispatch). The last lines print each speed and memory target of issue 18 with its
measured figure; where one is missed, why: what 1.5x naive allows an iteration, what
td3_teach takes, what the products alone take and, beside them, Adam, Polyak and sampling
(work every implementation does), and what td3_teach's products take under the profiler.
With ``--whole-loop`` (and Stable-Baselines3 installed) it also times whole training runs:
``td3_teach.trainer.train`` (what ``td3-teach train`` runs) and SB3's ``TD3.learn`` on
HalfCheetahBulletEnv-v0, 30,000 steps with 5,000 random warm-up steps, the same settings and
thread count, each twice (td3_teach, SB3, SB3, td3_teach) in fresh processes, in env steps/s
after the warm-up.

    python benchmarks/throughput.py            # the full table (about two minutes on 2 cores)
    python benchmarks/throughput.py --whole-loop   # and the whole-loop row (about 20 minutes more)
    python benchmarks/throughput.py --quick    # a smoke run: tiny sizes, timings meaningless
    python benchmarks/throughput.py --json     # the same figures as one JSON object
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not
# td3_teach's short OpenMP spin before torch, as the CLI and notebooks do (td3_teach/openmp.py):
# it only takes effect then, and every implementation below runs under it alike. (The thread
# counts below are set explicitly; steady_threads()' default count is for threads.py and the
# whole-loop row.)
import td3_teach  # noqa: E402, I001

td3_teach.short_spin()
from td3_teach import TD3, ReplayBuffer, fast_update, onednn  # noqa: E402, I001
from td3_teach.update import step04_sample_batch, train_step  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

STATE_DIM, ACTION_DIM, MAX_ACTION = 26, 6, 1.0  # HalfCheetahBulletEnv-v0
SEED = 0
TRANSITIONS_1M = 1_000_000


# ----------------------------------------------------------------------------------------------
# (b) The naive implementation: the lecture's code, correct, with its costs.
# ----------------------------------------------------------------------------------------------
class NaiveReplayBuffer:
    """The lecture's step 1: a Python list of tuples; every sample stacks numpy arrays."""

    def __init__(self, max_size=1e6):
        self.storage = []
        self.max_size = max_size
        self.ptr = 0

    def add(self, transition):
        if len(self.storage) == self.max_size:
            self.storage[int(self.ptr)] = transition
            self.ptr = (self.ptr + 1) % self.max_size
        else:
            self.storage.append(transition)

    def sample(self, batch_size):
        ind = np.random.randint(0, len(self.storage), batch_size)
        batch_states, batch_next_states, batch_actions, batch_rewards, batch_dones = [], [], [], [], []
        for i in ind:
            state, next_state, action, reward, done = self.storage[i]
            batch_states.append(np.asarray(state))
            batch_next_states.append(np.asarray(next_state))
            batch_actions.append(np.asarray(action))
            batch_rewards.append(np.asarray(reward))
            batch_dones.append(np.asarray(done))
        return (np.array(batch_states), np.array(batch_next_states), np.array(batch_actions),
                np.array(batch_rewards).reshape(-1, 1), np.array(batch_dones).reshape(-1, 1))


class NaiveActor(nn.Module):
    def __init__(self, state_dim, action_dim, max_action):
        super().__init__()
        self.layer_1 = nn.Linear(state_dim, 400)
        self.layer_2 = nn.Linear(400, 300)
        self.layer_3 = nn.Linear(300, action_dim)
        self.max_action = max_action

    def forward(self, x):
        x = F.relu(self.layer_1(x))
        x = F.relu(self.layer_2(x))
        return self.max_action * torch.tanh(self.layer_3(x))


class NaiveCritic(nn.Module):
    def __init__(self, state_dim, action_dim):
        super().__init__()
        self.layer_1 = nn.Linear(state_dim + action_dim, 400)
        self.layer_2 = nn.Linear(400, 300)
        self.layer_3 = nn.Linear(300, 1)
        self.layer_4 = nn.Linear(state_dim + action_dim, 400)
        self.layer_5 = nn.Linear(400, 300)
        self.layer_6 = nn.Linear(300, 1)

    def forward(self, x, u):
        xu = torch.cat([x, u], 1)
        x1 = F.relu(self.layer_1(xu))
        x1 = F.relu(self.layer_2(x1))
        x1 = self.layer_3(x1)
        x2 = F.relu(self.layer_4(xu))
        x2 = F.relu(self.layer_5(x2))
        x2 = self.layer_6(x2)
        return x1, x2

    def Q1(self, x, u):  # noqa: N802
        xu = torch.cat([x, u], 1)
        x1 = F.relu(self.layer_1(xu))
        x1 = F.relu(self.layer_2(x1))
        return self.layer_3(x1)


class NaiveTD3:
    def __init__(self, state_dim, action_dim, max_action, device="cpu"):
        self.device = device
        self.actor = NaiveActor(state_dim, action_dim, max_action).to(device)
        self.actor_target = NaiveActor(state_dim, action_dim, max_action).to(device)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters())
        self.critic = NaiveCritic(state_dim, action_dim).to(device)
        self.critic_target = NaiveCritic(state_dim, action_dim).to(device)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters())
        self.max_action = max_action

    def train(self, replay_buffer, iterations, batch_size=100, discount=0.99, tau=0.005,
              policy_noise=0.2, noise_clip=0.5, policy_freq=2):
        device = self.device
        for it in range(1, iterations + 1):
            batch_states, batch_next_states, batch_actions, batch_rewards, batch_dones = \
                replay_buffer.sample(batch_size)
            state = torch.Tensor(batch_states).to(device)
            next_state = torch.Tensor(batch_next_states).to(device)
            action = torch.Tensor(batch_actions).to(device)
            reward = torch.Tensor(batch_rewards).to(device)
            done = torch.Tensor(batch_dones).to(device)
            next_action = self.actor_target(next_state)
            noise = torch.Tensor(batch_actions).data.normal_(0, policy_noise * self.max_action).to(device)
            noise = noise.clamp(-noise_clip * self.max_action, noise_clip * self.max_action)
            next_action = (next_action + noise).clamp(-self.max_action, self.max_action)
            target_Q1, target_Q2 = self.critic_target(next_state, next_action)
            target_Q = torch.min(target_Q1, target_Q2)
            target_Q = reward + ((1 - done) * discount * target_Q).detach()
            current_Q1, current_Q2 = self.critic(state, action)
            critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)
            self.critic_optimizer.zero_grad()
            critic_loss.backward()
            self.critic_optimizer.step()
            if it % policy_freq == 0:
                actor_loss = -self.critic.Q1(state, self.actor(state)).mean()
                self.actor_optimizer.zero_grad()
                actor_loss.backward()
                self.actor_optimizer.step()
                for param, target_param in zip(self.actor.parameters(), self.actor_target.parameters()):
                    target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
                for param, target_param in zip(self.critic.parameters(), self.critic_target.parameters()):
                    target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)


# ----------------------------------------------------------------------------------------------
# Synthetic data, shaped like a gym loop makes it
# ----------------------------------------------------------------------------------------------
def gym_like_transitions(n: int, seed: int = SEED):
    """Yield n transitions as a gym loop makes them: s_next of one is s of the next (same array),
    float32 observations, float64 actions (the actor's output plus numpy exploration noise),
    a python float reward and a float done flag."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal(STATE_DIM).astype(np.float32)
    for t in range(n):
        new_obs = rng.standard_normal(STATE_DIM).astype(np.float32)
        action = rng.uniform(-1.0, 1.0, ACTION_DIM)
        reward = float(rng.standard_normal())
        done_bool = float(t % 1000 == 999)
        yield obs, new_obs, action, reward, done_bool
        obs = new_obs


def make_learners(n_transitions: int) -> dict:
    """(a) and (b), each with its own buffer of the same transitions: name -> train(n, batch)."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    ours_buffer = ReplayBuffer(STATE_DIM, ACTION_DIM, max_size=n_transitions, device="cpu")
    naive_buffer = NaiveReplayBuffer()
    for tr in gym_like_transitions(n_transitions):
        ours_buffer.add(tr)
        naive_buffer.add(tr)
    ours = TD3(STATE_DIM, ACTION_DIM, MAX_ACTION, device="cpu")
    naive = NaiveTD3(STATE_DIM, ACTION_DIM, MAX_ACTION)
    taught = TD3(STATE_DIM, ACTION_DIM, MAX_ACTION, device="cpu")

    def taught_train(n, b):  # TD3.train's loop with train_step, whatever TD3.train would pick
        cfg = replace(taught.config, batch_size=b)
        for _ in range(n):
            taught.total_it += 1
            train_step(taught, step04_sample_batch(ours_buffer, b), taught.total_it, cfg)

    return {
        "td3_teach": lambda n, b: ours.train(ours_buffer, n, batch_size=b),
        "naive": lambda n, b: naive.train(naive_buffer, n, batch_size=b),
        "train_step": taught_train,
    }


# ----------------------------------------------------------------------------------------------
# The floor: the matrix multiplies of TD3's update and nothing else
# ----------------------------------------------------------------------------------------------
def matmul_floor(library: str = "torch"):
    """Every matrix multiply one TD3 iteration must do (forward and backward, actor step every
    2nd iteration), on random data, with no autograd, optimiser or elementwise work: no
    implementation of this update with that matmul library can be faster. On a CPU the update
    is mostly these. (The FLOPs are the minimum: nothing here can be skipped or shared.)
    ``library``: "torch" (``torch.mm``: MKL on x86) or "onednn" (what td3_teach's TD3 uses
    where ``td3_teach.onednn.enabled()``)."""
    def linear_shapes(net):  # (in, out) of each nn.Linear, in order
        return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]

    actor, critic = NaiveActor(STATE_DIM, ACTION_DIM, MAX_ACTION), NaiveCritic(STATE_DIM, ACTION_DIM)
    actor_layers, head = linear_shapes(actor), linear_shapes(critic)[:3]
    mats = {}

    def mm(b, i, o):  # (b, i) @ (i, o), with operands cached per shape
        right = (i, o) if library == "torch" else (o, i)  # oneDNN's linear takes W as (out, in)
        for shape in ((b, i), right):
            if shape not in mats:
                mats[shape] = torch.randn(shape)
        if library == "torch":
            torch.mm(mats[b, i], mats[right])
        else:
            onednn._linear(mats[b, i], mats[right], None)

    def forward(b, layers):
        for i, o in layers:
            mm(b, i, o)

    def backward(b, layers):  # dW of each layer, dX of all but the first (inputs need none)
        for k, (i, o) in enumerate(layers):
            mm(i, b, o)  # dW = x^T @ g
            if k > 0:
                mm(b, o, i)  # dX = g @ W

    def train(n, b):
        for it in range(1, n + 1):
            forward(b, actor_layers)                                # target: mu'(s')
            forward(b, head), forward(b, head)                      # Q1', Q2'(s', a~)
            forward(b, head), forward(b, head)                      # Q1, Q2(s, a)
            backward(b, head), backward(b, head)                    # critic gradients
            if it % 2 == 0:
                forward(b, actor_layers), forward(b, head)          # Q1(s, mu(s))
                for i, o in head:                                   # d/da only, through Q1
                    mm(b, o, i)
                backward(b, actor_layers)                           # actor gradients
    return train


# ----------------------------------------------------------------------------------------------
# (c) Stable-Baselines3, when installed
# ----------------------------------------------------------------------------------------------
def sb3_version() -> str | None:
    try:
        import stable_baselines3
    except ImportError:
        return None
    return stable_baselines3.__version__


def make_sb3(n_transitions: int):
    """SB3's TD3 with the paper's 400-300 networks and a replay buffer of synthetic transitions."""
    import gymnasium as gym
    from stable_baselines3 import TD3 as SB3TD3
    from stable_baselines3.common.logger import configure

    class Shaped(gym.Env):  # only the spaces matter: SB3 never steps it here
        observation_space = gym.spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float32)
        action_space = gym.spaces.Box(-MAX_ACTION, MAX_ACTION, (ACTION_DIM,), np.float32)

        def reset(self, *, seed=None, options=None):
            return np.zeros(STATE_DIM, np.float32), {}

        def step(self, action):
            return np.zeros(STATE_DIM, np.float32), 0.0, False, False, {}

    model = SB3TD3("MlpPolicy", Shaped(), learning_rate=3e-4, buffer_size=n_transitions,
                   learning_starts=0, policy_kwargs={"net_arch": [400, 300]}, device="cpu",
                   seed=SEED)
    model.set_logger(configure(None, []))
    rb = model.replay_buffer
    s, s_next, a, r, d = (np.array(x) for x in zip(*gym_like_transitions(n_transitions)))
    rb.observations[:n_transitions, 0] = s
    rb.next_observations[:n_transitions, 0] = s_next
    rb.actions[:n_transitions, 0] = a
    rb.rewards[:n_transitions, 0] = r
    rb.dones[:n_transitions, 0] = d
    rb.pos, rb.full = 0, True
    return lambda n, b: model.train(gradient_steps=n, batch_size=b)


# ----------------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------------
def iterations_per_second(learners: dict, threads: int, batch: int, warmup: int, repeats: int,
                          seconds: float, min_iters: int) -> dict[str, list[float]]:
    """Iterations/s of each learner in ``repeats`` timed turns of about ``seconds`` each (sized
    from the warm-up's speed); within a repeat the learners run one after the other."""
    torch.set_num_threads(threads)
    iters = {}
    for name, train in learners.items():
        t0 = time.perf_counter()
        train(warmup, batch)
        iters[name] = max(min_iters, round(seconds * warmup / (time.perf_counter() - t0)))
    rates: dict[str, list[float]] = {name: [] for name in learners}
    for _ in range(repeats):
        for name, train in learners.items():
            t0 = time.perf_counter()
            train(iters[name], batch)
            rates[name].append(iters[name] / (time.perf_counter() - t0))
    return rates


def naive_buffer_bytes(sample: int) -> int:
    """Bytes of the naive buffer holding ``sample`` gym-like transitions (tracemalloc)."""
    transitions = gym_like_transitions(sample, seed=SEED + 1)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    buffer = NaiveReplayBuffer()
    for tr in transitions:
        buffer.add(tr)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del buffer
    return after - before


FLOORS = ("matmul_floor", "onednn_floor")

# ----------------------------------------------------------------------------------------------
# The profile: where one of td3_teach's iterations spends its time
# ----------------------------------------------------------------------------------------------
# Each operator torch.profiler records at the top level (not inside another operator) goes to
# one of these parts by its name; "between ops" is the iteration's time under the profiler that
# no operator took: Python, and handing each call to torch.
PROFILE_PARTS = {
    "products": ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear",
                 "mkldnn::_linear_pointwise"),
    "Adam": ("aten::_fused_adam_", "aten::_foreach_add_"),  # the kernel, and its step counts
    "Polyak": ("aten::lerp_", "aten::_foreach_lerp_"),
    "sampling": ("aten::randint", "aten::index_select"),
}
PROFILE_COLUMNS = (*PROFILE_PARTS, "other ops", "between ops")
# The parts every implementation of the update does as well, whatever its products: stream the
# parameters and Adam's state, the target networks, and the sampled batch through memory.
UNSKIPPABLE = ("Adam", "Polyak", "sampling")
PROFILE_SECONDS = 0.5  # of profiled iterations per row, after as many unprofiled


def profile_update(train, threads: int, batch: int, iterations: int) -> dict[str, float]:
    """td3_teach's iteration taken apart by torch.profiler: ms per iteration in each part of
    ``PROFILE_COLUMNS``, their sum (``total``, under the profiler, which slows each call a
    little) and the same iterations' time without it (``unprofiled``)."""
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(threads)
    train(max(2, iterations // 10), batch)  # warm
    t0 = time.perf_counter()
    train(iterations, batch)
    unprofiled = time.perf_counter() - t0
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        train(iterations, batch)
        total = time.perf_counter() - t0
    part_of = {name: part for part, names in PROFILE_PARTS.items() for name in names}
    us = dict.fromkeys(PROFILE_COLUMNS, 0.0)
    for event in prof.events():
        if event.cpu_parent is None:
            us[part_of.get(event.name, "other ops")] += event.cpu_time_total
    us["between ops"] = max(0.0, total * 1e6 - sum(us.values()))
    per_it = {k: v / 1e3 / iterations for k, v in us.items()}
    return {**per_it, "total": total * 1e3 / iterations, "unprofiled": unprofiled * 1e3 / iterations}


def td3_teach_update() -> str:
    """Which update ``TD3.train`` runs here for the benchmark's agent, and why."""
    agent = TD3(STATE_DIM, ACTION_DIM, MAX_ACTION, device="cpu")
    why = fast_update.why_not(agent, agent.config)
    return "fast_update (hand-derived gradients)" if why is None else f"train_step ({why})"


def own_floor() -> str:
    """The floor of the matmul library td3_teach's TD3 multiplies with on this machine."""
    return "onednn_floor" if onednn.enabled() else "matmul_floor"


def run(quick: bool) -> dict:
    batches, thread_counts = (100, 256), (1, 2)
    # Many short turns rather than a few long ones: background load comes and goes within seconds.
    warmup, repeats, seconds, min_iters = (2, 1, 0.0, 3) if quick else (20, 15, 0.3, 5)
    n_transitions = 2_000 if quick else 100_000
    mem_sample = 2_000 if quick else 20_000

    sb3 = sb3_version()
    learners = make_learners(n_transitions)
    if sb3:
        learners["sb3"] = make_sb3(n_transitions)  # one model serves every batch size
    learners["matmul_floor"] = matmul_floor()
    if onednn.enabled():  # td3_teach's TD3 multiplies with oneDNN here: its own floor too
        learners["onednn_floor"] = matmul_floor("onednn")

    throughput = []
    for threads in thread_counts:
        for batch in batches:
            rates = iterations_per_second(learners, threads, batch, warmup, repeats, seconds,
                                          min_iters)
            ours = rates["td3_teach"]
            profiled = max(min_iters, round(PROFILE_SECONDS * statistics.median(ours))) if not quick else 3
            profile = profile_update(learners["td3_teach"], threads, batch, profiled)
            # A ratio is the median of per-repeat ratios: the two runs it compares were
            # back to back, so load that comes and goes mostly cancels out.
            paired = lambda a, b: statistics.median(x / y for x, y in zip(a, b))  # noqa: E731
            throughput.append({
                "threads": threads, "batch_size": batch,
                "iterations_per_s": {n: statistics.median(v) for n, v in rates.items()},
                "td3_teach_speedup": {n: paired(ours, v) for n, v in rates.items()
                                      if n not in ("td3_teach",) + FLOORS},
                "matmul_floor_over_td3_teach": paired(rates["matmul_floor"], ours),
                "own_floor_over_td3_teach": paired(rates[own_floor()], ours),
                "matmul_floor_over_naive": paired(rates["matmul_floor"], rates["naive"]),
                "own_floor_over_naive": paired(rates[own_floor()], rates["naive"]),
                "train_step_over_naive": paired(rates["train_step"], rates["naive"]),
                "td3_teach_profile_ms": profile,
            })

    raw = TRANSITIONS_1M * (2 * STATE_DIM + ACTION_DIM + 2) * 4  # s, s', a, r, terminated
    ours_bytes = ReplayBuffer(STATE_DIM, ACTION_DIM, max_size=TRANSITIONS_1M, device="cpu").nbytes()
    naive_bytes = naive_buffer_bytes(mem_sample) * (TRANSITIONS_1M / mem_sample)
    return {
        "setup": {"torch": torch.__version__, "python": platform.python_version(),
                  "cpu_count": os.cpu_count(), "cpu": onednn.cpu_name(),
                  "openmp": {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                                        "OMP_NUM_THREADS") if k in os.environ},
                  "stable_baselines3": sb3, "td3_teach_matmul": "onednn" if onednn.enabled() else "torch",
                  "td3_teach_update": td3_teach_update(),
                  "cpu_capability": torch.backends.cpu.get_cpu_capability(), "quick": quick,
                  "seconds_per_repeat": seconds,
                  "warmup_iterations": warmup, "repeats": repeats,
                  "transitions_in_buffer": n_transitions, "state_dim": STATE_DIM,
                  "action_dim": ACTION_DIM, "seed": SEED},
        "throughput": throughput,
        "replay_buffer_bytes_1M": {
            "raw_float32": raw,
            "td3_teach": ours_bytes,
            "naive": int(naive_bytes),
            "naive_scaled_from": mem_sample,
        },
    }


def ms(row: dict, name: str) -> float:
    """ms per iteration of ``name`` in a throughput row."""
    return 1e3 / row["iterations_per_s"][name]


def budget_ms(row: dict) -> float:
    """The most ms per iteration td3_teach may take to be TARGETS["naive"] times naive's speed."""
    return ms(row, "naive") / TARGETS["naive"]


def print_table(res: dict) -> None:
    setup = res["setup"]
    names = list(res["throughput"][0]["iterations_per_s"])
    print(f"TD3 training throughput (iterations/s, median of {setup['repeats']} turns of "
          f"~{setup['seconds_per_repeat']:g} s each after {setup['warmup_iterations']} warm-up "
          "iterations)")
    print(f"torch {setup['torch']}, python {setup['python']}, {setup['cpu_count']} CPUs ({setup['cpu']}), "
          f"stable_baselines3 {setup['stable_baselines3'] or 'not installed'}"
          + f", OpenMP settings {setup['openmp'] or 'default'}"
          + ("   [--quick: timings are meaningless]" if setup["quick"] else ""))
    header = f"{'threads':>7} {'batch':>5} " + " ".join(f"{n:>12}" for n in names)
    ratios = [n for n in names if n not in ("td3_teach",) + FLOORS]
    header += "  " + " ".join(f"{'a/' + n:>10}" for n in ratios) + f"  {'floor/a':>10} {'floor/naive':>12}"
    header += f" {'taught/naive':>13}"
    if "onednn_floor" in names:
        header += f" {'onednn_fl/a':>12}"
    print(header)
    for row in res["throughput"]:
        its = row["iterations_per_s"]
        line = f"{row['threads']:>7} {row['batch_size']:>5} " + " ".join(f"{its[n]:>12.1f}" for n in names)
        line += "  " + " ".join(f"{row['td3_teach_speedup'][n]:>9.2f}x" for n in ratios)
        line += f"  {row['matmul_floor_over_td3_teach']:>9.2f}x"
        line += f" {row['matmul_floor_over_naive']:>11.2f}x"
        line += f" {row['train_step_over_naive']:>12.2f}x"
        if "onednn_floor" in names:
            line += f" {row['own_floor_over_td3_teach']:>11.2f}x"
        print(line)
    print("ratios: median over repeats of back-to-back runs' ratios")
    print("a = td3_teach; matmul_floor = the update's matrix multiplies alone (no autograd, optimiser "
          "or elementwise work): the most an implementation using torch's matmul can reach;\n"
          "floor/a = how far a is from it; floor/naive = the highest a/naive any such "
          "implementation can have;\ntrain_step = the update the notebooks teach (autograd), "
          "taught/naive its speed-up over naive")
    print(f"td3_teach's TD3.train runs: {setup['td3_teach_update']}")
    print(f"td3_teach multiplies with: {setup['td3_teach_matmul']} (CPU capability "
          f"{setup['cpu_capability']}; td3_teach/onednn.py says when)"
          + ("; onednn_floor = the same multiplies by oneDNN, td3_teach's own floor here"
             if "onednn_floor" in names else ""))
    print()
    allows = f"{TARGETS['naive']}x naive allows"
    print("Where td3_teach's iteration goes (ms per iteration; torch.profiler, each operator "
          "the profiler saw at the top level, by name)")
    print(f"{'threads':>7} {'batch':>5} " + " ".join(f"{c:>11}" for c in PROFILE_COLUMNS)
          + f" {'total':>8} {'unprofiled':>11} {'floor':>7} {allows:>18}")
    for row in res["throughput"]:
        prof = row["td3_teach_profile_ms"]
        print(f"{row['threads']:>7} {row['batch_size']:>5} "
              + " ".join(f"{prof[c]:>11.2f}" for c in PROFILE_COLUMNS)
              + f" {prof['total']:>8.2f} {prof['unprofiled']:>11.2f} {ms(row, own_floor()):>7.2f}"
              + f" {budget_ms(row):>18.2f}")
    print("products = addmm/mm; Adam = the fused kernel and its step counts; Polyak = lerp_; "
          "sampling = randint and index_select;\nbetween ops = Python and handing each call to "
          "torch (and the profiler's own cost: total - unprofiled); floor = the products alone, "
          f"outside the loop;\n{allows} = naive's ms per iteration / {TARGETS['naive']}")
    mem = res["replay_buffer_bytes_1M"]
    mib = lambda b: f"{b / 2**20:8.1f} MiB"  # noqa: E731
    print()
    print("Replay buffer, 1,000,000 HalfCheetah transitions (26-d state, 6-d action)")
    print(f"  raw float32 (s, s', a, r, terminated): {mib(mem['raw_float32'])}")
    print(f"  td3_teach (preallocated tensors):      {mib(mem['td3_teach'])}  "
          f"{mem['td3_teach'] / mem['raw_float32']:.2f}x raw")
    print(f"  naive (list of tuples of arrays):      {mib(mem['naive'])}  "
          f"{mem['naive'] / mem['raw_float32']:.2f}x raw  (scaled from "
          f"{mem['naive_scaled_from']:,} transitions measured with tracemalloc)")


# ----------------------------------------------------------------------------------------------
# The whole loop: td3_teach's trainer against SB3's learn, env steps/s after the warm-up
# ----------------------------------------------------------------------------------------------
WHOLE_LOOP = {"env_id": "HalfCheetahBulletEnv-v0", "steps": 30_000, "start_steps": 5_000,
              "batch_size": 256, "seed": SEED}


def whole_loop_worker(which: str) -> None:
    """Train one whole run (in its own process) and print env steps/s after the warm-up."""
    w = WHOLE_LOOP
    marks: list[float] = []
    if which == "td3_teach":
        from td3_teach.config import TD3Config
        from td3_teach.trainer import exploration_action, train

        def explore(mu_s, max_action, expl_noise, rng):  # called once per step after the warm-up
            marks.append(time.perf_counter())
            return exploration_action(mu_s, max_action, expl_noise, rng)

        train(w["env_id"], w["steps"], w["seed"], start_steps=w["start_steps"], explore=explore,
              eval_every=w["steps"], eval_episodes=1, config=TD3Config(batch_size=w["batch_size"]),
              device="cpu", progress=False)
        first, last, n = marks[0], marks[-1], len(marks) - 1
    else:
        from stable_baselines3 import TD3 as SB3TD3
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.noise import NormalActionNoise

        from td3_teach.envs import env_dims, make_env

        class Clock(BaseCallback):
            def _on_step(self) -> bool:
                if self.num_timesteps > w["start_steps"]:
                    marks.append(time.perf_counter())
                return True

        env = make_env(w["env_id"])
        _, action_dim, max_action = env_dims(env)
        noise = NormalActionNoise(np.zeros(action_dim), 0.1 * max_action * np.ones(action_dim))
        model = SB3TD3("MlpPolicy", env, learning_rate=3e-4, buffer_size=w["steps"],
                       learning_starts=w["start_steps"], batch_size=w["batch_size"], tau=0.005,
                       gamma=0.99, train_freq=1, gradient_steps=1, action_noise=noise,
                       policy_delay=2, target_policy_noise=0.2, target_noise_clip=0.5,
                       policy_kwargs={"net_arch": [400, 300]}, device="cpu", seed=w["seed"])
        model.learn(w["steps"], callback=Clock())
        first, last, n = marks[0], marks[-1], len(marks) - 1
    print(json.dumps({"steps_per_s": n / (last - first), "threads": torch.get_num_threads()}))


def whole_loop() -> dict:
    """Each whole run twice, in the order td3_teach, SB3, SB3, td3_teach (a machine that speeds
    up or slows down during the ~20 minutes then weighs on both alike), each in a fresh process
    with the package's default thread count (``steady_threads()``, which the CLI sets); the mean
    steps/s of each and their ratio."""
    import subprocess

    env = dict(os.environ)
    code = "import td3_teach, json, os; td3_teach.steady_threads(); print(json.dumps(dict(os.environ)))"
    env = json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                    text=True, check=True).stdout)
    each: dict[str, list[dict]] = {"td3_teach": [], "sb3": []}
    for which in ("td3_teach", "sb3", "sb3", "td3_teach"):
        res = subprocess.run([sys.executable, __file__, "--whole-loop-worker", which], env=env,
                             capture_output=True, text=True)
        if res.returncode:
            raise SystemExit(f"whole-loop run {which} failed:\n{res.stderr[-2000:]}")
        each[which].append(json.loads(res.stdout.strip().splitlines()[-1]))
    out = {which: {"steps_per_s": statistics.mean(r["steps_per_s"] for r in runs),
                   "threads": runs[0]["threads"], "each_steps_per_s": [r["steps_per_s"] for r in runs]}
           for which, runs in each.items()}
    return {**WHOLE_LOOP, "runs": out,
            "td3_teach_over_sb3": out["td3_teach"]["steps_per_s"] / out["sb3"]["steps_per_s"]}


TARGETS = {"naive": 1.5, "floor_fraction": 0.75, "sb3": 1.0, "buffer": 1.1, "whole_loop": 1.2}


def target_lines(res: dict) -> list[str]:
    """Each target of issue 18 with its measured figure and whether it is met."""
    def line(what: str, figure: str, met: bool) -> str:
        return f"target: {what}: {figure}: {'met' if met else 'NOT met'}"

    rows = {(r["threads"], r["batch_size"]): r for r in res["throughput"]}
    lines = []
    for (threads, batch), r in sorted(rows.items()):
        x = r["td3_teach_speedup"]["naive"]
        figure = f"{x:.2f}x"
        if x < TARGETS["naive"] <= round(x, 2):  # just below: never print a miss as "1.50x"
            figure = f"{math.floor(x * 1000) / 1000:.3f}x"
        if x < TARGETS["naive"]:  # how far any implementation could get, and where the time goes
            figure += (f" (the floor is {r['own_floor_over_naive']:.2f}x naive; train_step "
                       f"{r['train_step_over_naive']:.2f}x)")
            if "td3_teach_profile_ms" in r:
                prof = r["td3_teach_profile_ms"]
                floor, streamed = ms(r, own_floor()), sum(prof[part] for part in UNSKIPPABLE)
                left = budget_ms(r) - floor - streamed
                figure += (f" [why: {TARGETS['naive']}x allows {budget_ms(r):.2f} ms an iteration, "
                           f"td3_teach takes {ms(r, 'td3_teach'):.2f}; the products alone take "
                           f"{floor:.2f} (the floor), and {', '.join(UNSKIPPABLE[:-1])} and {UNSKIPPABLE[-1]} "
                           f"{streamed:.2f} (profiled; work every implementation does), "
                           + (f"leaving {left:.2f} for the rest" if left > 0 else f"already {-left:.2f} over")
                           + f"; under the profiler td3_teach's products take {prof['products']:.2f} "
                           f"of its {prof['total']:.2f} ms ('Where td3_teach's iteration goes')]")
        lines.append(line(f">= {TARGETS['naive']}x naive, {threads} thread(s), batch {batch}",
                          figure, x >= TARGETS["naive"]))
    for (threads, batch), r in sorted(rows.items()):
        if threads == 1 and batch == max(b for _, b in rows):
            frac = 1 / r["own_floor_over_td3_teach"]
            lib = res["setup"]["td3_teach_matmul"]
            lines.append(line(f">= {TARGETS['floor_fraction']:.0%} of the matmul floor ({lib}, the "
                              f"library td3_teach multiplies with), 1 thread, batch {batch}",
                              f"{frac:.0%}", frac >= TARGETS["floor_fraction"]))
    sb3 = [r["td3_teach_speedup"]["sb3"] for r in rows.values() if "sb3" in r["td3_teach_speedup"]]
    if sb3:
        lines.append(line(">= SB3 in every row", f"{min(sb3):.2f}x at worst", min(sb3) >= TARGETS["sb3"]))
    else:
        lines.append("target: >= SB3 in every row: not measured (stable_baselines3 not installed)")
    mem = res["replay_buffer_bytes_1M"]
    ratio = mem["td3_teach"] / mem["raw_float32"]
    lines.append(line(f"replay memory <= {TARGETS['buffer']}x the raw bytes", f"{ratio:.2f}x",
                      ratio <= TARGETS["buffer"]))
    if "whole_loop" in res:
        wl = res["whole_loop"]
        lines.append(line(f"whole loop >= {TARGETS['whole_loop']}x SB3 ({wl['env_id']}, "
                          f"{wl['steps']:,} steps, {wl['start_steps']:,} warm-up, "
                          f"{wl['runs']['td3_teach']['threads']} thread(s))",
                          f"{wl['runs']['td3_teach']['steps_per_s']:.1f} vs "
                          f"{wl['runs']['sb3']['steps_per_s']:.1f} steps/s (each the mean of "
                          f"{len(wl['runs']['sb3'].get('each_steps_per_s', [0]))} run(s)) = "
                          f"{wl['td3_teach_over_sb3']:.2f}x",
                          wl["td3_teach_over_sb3"] >= TARGETS["whole_loop"]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few iterations")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--whole-loop", action="store_true",
                        help="also time whole training runs against SB3 (needs stable_baselines3)")
    parser.add_argument("--whole-loop-worker", choices=("td3_teach", "sb3"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.whole_loop_worker:
        whole_loop_worker(args.whole_loop_worker)
        return 0
    res = run(args.quick)
    if args.whole_loop:
        if not sb3_version():
            raise SystemExit("--whole-loop compares with Stable-Baselines3: pip install stable-baselines3")
        res["whole_loop"] = whole_loop()
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res)
        print()
        print("\n".join(target_lines(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
