"""The checks that are not one step (notebook 16's whole agent) are graded too, with their points,
and handing the package's TD3 to them earns nothing, nor does a class of the learner's that keeps
a TD3 inside and hands its calls on (reference use is what runs, whatever wraps it)."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from td3_teach.cli import main

ROOT = Path(__file__).resolve().parents[1]
NAME = "16_your_td3.ipynb"


def test_the_whole_agent_check_is_graded_and_the_packages_td3_earns_nothing(tmp_path):
    subs = tmp_path / "submissions"
    (subs / "honest").mkdir(parents=True)
    (subs / "passes_td3_through").mkdir()
    (subs / "honest" / NAME).write_bytes((ROOT / "solutions" / NAME).read_bytes())
    nb = nbformat.read(ROOT / "notebooks" / NAME, as_version=4)
    exercise = next(c for c in nb.cells if c.cell_type == "code" and "# YOUR CODE HERE" in c.source)
    exercise.source = "import td3_teach\nMyTD3 = td3_teach.TD3\n"
    nbformat.write(nb, subs / "passes_td3_through" / NAME)
    for learner, source in WRAPPERS.items():
        (subs / learner).mkdir()
        exercise.source = source
        nbformat.write(nb, subs / learner / NAME)

    assert main(["grade", str(subs), "--out", str(tmp_path / "out"),
                 "--solutions", str(ROOT / "solutions"), "--jobs", "1"]) == 0

    rows = {r["learner"]: r for r in csv.DictReader(open(tmp_path / "out" / "gradebook.csv"))}
    assert float(rows["honest"]["agent"]) == 5  # grading/points.toml: agent = 5
    assert float(rows["passes_td3_through"]["agent"]) == 0
    feedback = (tmp_path / "out" / "feedback" / "passes_td3_through.md").read_text()
    assert "package's own reference" in feedback
    for learner in WRAPPERS:
        feedback = (tmp_path / "out" / "feedback" / f"{learner}.md").read_text()
        assert float(rows[learner]["agent"]) == 0, feedback
        assert "uses the package's reference" in feedback, feedback


DELEGATES = """import td3_teach


class MyTD3:
    \"\"\"Looks like the learner's own class; every call goes to the package's TD3 inside.\"\"\"

    def __init__(self, state_dim, action_dim, max_action):
        self._inner = td3_teach.TD3(state_dim, action_dim, max_action)
        for name in ("actor", "actor_target", "critic", "critic_target", "actor_optimizer",
                     "critic_optimizer", "max_action"):
            setattr(self, name, getattr(self._inner, name))

    def select_action(self, state):
        return self._inner.select_action(state)

    def train(self, replay_buffer, iterations, batch_size=256, discount=0.99, tau=0.005,
              policy_noise=0.2, noise_clip=0.5, policy_freq=2):
        return self._inner.train(replay_buffer, iterations, batch_size, discount, tau,
                                 policy_noise, noise_clip, policy_freq)
"""
# the learner's own networks, and the package's train_step for the update itself
CALLS_TRAIN_STEP = """import torch
from td3_teach import update
from td3_teach.config import TD3Config
from td3_teach.networks import Actor, Critic


class MyTD3:
    def __init__(self, state_dim, action_dim, max_action):
        self.actor = Actor(state_dim, action_dim, max_action)
        self.actor_target = Actor(state_dim, action_dim, max_action)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.critic = Critic(state_dim, action_dim)
        self.critic_target = Critic(state_dim, action_dim)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.max_action = float(max_action)
        self.total_it = 0

    def select_action(self, state):
        with torch.no_grad():
            s = torch.as_tensor(state, dtype=torch.float32).reshape(1, -1)
            return self.actor(s).numpy().flatten()

    def train(self, replay_buffer, iterations, batch_size=256, discount=0.99, tau=0.005,
              policy_noise=0.2, noise_clip=0.5, policy_freq=2):
        cfg = TD3Config(batch_size=batch_size, discount=discount, tau=tau,
                        policy_noise=policy_noise, noise_clip=noise_clip, policy_freq=policy_freq)
        for _ in range(iterations):
            self.total_it += 1
            update.train_step(self, update.step04_sample_batch(replay_buffer, batch_size),
                              self.total_it, cfg)
"""
# the same, with the package's hand-derived update (what TD3.train runs on a CPU) instead, and
# nothing else of the package's update (its own step 4)
CALLS_FAST_UPDATE = CALLS_TRAIN_STEP.replace(
    "from td3_teach import update", "from td3_teach import fast_update, update").replace(
    """            update.train_step(self, update.step04_sample_batch(replay_buffer, batch_size),
                              self.total_it, cfg)""",
    """            fast_update.FastUpdate(self).step(replay_buffer.sample(batch_size), self.total_it, cfg)""")
assert CALLS_FAST_UPDATE.count("fast_update") == 2 and "update." not in CALLS_FAST_UPDATE.replace("fast_update.", "")
WRAPPERS = {"delegates_to_td3": DELEGATES, "calls_train_step": CALLS_TRAIN_STEP,
            "calls_fast_update": CALLS_FAST_UPDATE}


def test_the_bug_hunts_listing_replaced_by_a_wrapper_around_td3_earns_nothing(tmp_path):
    """Notebook 17's check runs the whole-agent check on the fixed listing: a T3D that hands its
    calls to the package's TD3 has none of the listing's bugs and matches TD3, and earns
    nothing; the fixed listing keeps its point."""
    bug_hunt = "17_bug_hunt.ipynb"
    subs = tmp_path / "submissions"
    for learner in ("honest", "delegates_to_td3"):
        (subs / learner).mkdir(parents=True)
    (subs / "honest" / bug_hunt).write_bytes((ROOT / "solutions" / bug_hunt).read_bytes())
    nb = nbformat.read(ROOT / "solutions" / bug_hunt, as_version=4)
    cell = next(c for c in nb.cells
                if (c.metadata.get("nbgrader") or {}).get("grade_id") == "17_bug_hunt_device")
    cell.source = "device = torch.device('cpu')\n\n" + DELEGATES.replace("class MyTD3", "class T3D")
    nbformat.write(nb, subs / "delegates_to_td3" / bug_hunt)

    assert main(["grade", str(subs), "--out", str(tmp_path / "out"),
                 "--solutions", str(ROOT / "solutions"), "--jobs", "2"]) == 0

    rows = {r["learner"]: r for r in csv.DictReader(open(tmp_path / "out" / "gradebook.csv"))}
    feedback = (tmp_path / "out" / "feedback" / "delegates_to_td3.md").read_text()
    assert float(rows["honest"]["bug_hunt"]) > 0
    assert float(rows["delegates_to_td3"]["bug_hunt"]) == 0, feedback
    assert "uses the package's reference" in feedback, feedback
