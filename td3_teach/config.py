"""TD3's hyperparameters in one typed dataclass, each documented with what it does to learning.

The defaults are a mix, chosen one by one: the paper (Fujimoto et al., 2018, Section 6.1 and its
appendix) and the authors' maintained code (github.com/sfujim/TD3, whose README says it "is no
longer exactly representative of the code used in the paper"). ``HYPERPARAMETERS`` below is the
one table of paper vs authors' code vs this course, with the reason for every choice; notebook
00 shows it and ``tests/test_hyperparameter_table.py`` keeps its "course" column equal to the
defaults of ``TD3Config``, ``RunSettings`` and ``networks``. Where the lecture notes differ, the
field says so.

=====================  ==========================  ==========================  ============
hyperparameter         paper                       authors' code               this course
=====================  ==========================  ==========================  ============
hidden layers          400, 300                    256, 256                    400, 300
learning rates         1e-3 (Adam)                 3e-4 (Adam)                 3e-4 (Adam)
batch_size             100                         256                         256
discount (gamma)       0.99                        0.99                        0.99
tau                    0.005                       0.005                       0.005
policy_noise, clip     0.2, 0.5                    0.2, 0.5 x max_action       0.2, 0.5 x max_action
policy_freq (d)        2                           2                           2
replay memory          entire history              1e6                         1e6
warm-up steps          1e4 (HalfCheetah, Ant),     25e3                        25e3
                       1e3 (others)
exploration noise      N(0, 0.1)                   0.1 x max_action            0.1 x max_action
evaluation             10 episodes / 5e3 steps     10 episodes / 5e3 steps     same
=====================  ==========================  ==========================  ============
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple, TypeVar, cast


_D = TypeVar("_D", bound="FromDict")


class FromDict:
    """``from_dict(d)`` for a dataclass of settings stored in checkpoints (``TD3Config``,
    ``trainer.RunSettings``): the fields ``d`` has, the defaults for the others; keys the class
    no longer has (a checkpoint from another version) are left out."""

    @classmethod
    def from_dict(cls: type[_D], d: dict) -> _D:
        known = {f.name for f in fields(cast(Any, cls))}
        return cast(Any, cls)(**{k: v for k, v in d.items() if k in known})


@dataclass
class TD3Config(FromDict):
    """Hyperparameters of the TD3 update (steps 4 to 15).

    The three switches at the end turn TD3's tricks off one at a time; with all three off the
    update is the paper's "our DDPG" baseline (used by the ablation benchmark).
    """

    batch_size: int = 256
    """Transitions per update (step 4). The paper used 100; the authors' current code and most
    Bullet/MuJoCo results use 256. The lecture used 100: it works, with noisier gradients."""

    discount: float = 0.99
    """gamma: how much a reward one step later is worth. 0.99 looks ~100 steps ahead."""

    tau: float = 0.005
    """Polyak rate of the target networks (steps 14/15): each delayed update moves a target
    0.5 % of the way to its online network, so the Bellman target drifts slowly."""

    policy_noise: float = 0.2
    """sigma~ of target policy smoothing (step 6), in units of max_action: the noise added to a'
    is N(0, (policy_noise * max_action)^2). The lecture forgot the max_action scaling."""

    noise_clip: float = 0.5
    """c of target policy smoothing (step 6), in units of max_action: the noise is clipped to
    [-c * max_action, c * max_action] so a' stays near the target actor's choice."""

    policy_freq: int = 2
    """d, the policy delay (step 13): the actor and all targets are updated once every d critic
    updates, so the actor climbs a critic that has had time to settle."""

    actor_lr: float = 3e-4
    """Adam learning rate of the actor (the authors' code; the lecture used Adam's 1e-3 default)."""

    critic_lr: float = 3e-4
    """Adam learning rate of the twin critics."""

    twin_critics: bool = True
    """Clipped double Q-learning (steps 7-8). False: the target uses Q1' alone and only Q1 is
    trained, as in DDPG, which overestimates."""

    target_noise: bool = True
    """Target policy smoothing (step 6). False: a' is the target actor's action, noise-free."""

    delayed_updates: bool = True
    """Delayed policy updates (steps 13-15). False: actor and targets update every iteration."""

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {self.batch_size}.")
        if not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"discount (gamma) must be in [0, 1]; got {self.discount}.")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1]; got {self.tau}.")
        if self.policy_noise < 0 or self.noise_clip < 0:
            raise ValueError("policy_noise and noise_clip must be >= 0.")
        if self.policy_freq < 1:
            raise ValueError(f"policy_freq must be at least 1; got {self.policy_freq}.")

    @property
    def policy_delay(self) -> int:
        """The delay actually used: policy_freq, or 1 when delayed updates are switched off."""
        return self.policy_freq if self.delayed_updates else 1

    @classmethod
    def ddpg(cls, **overrides) -> "TD3Config":
        """The paper's "our DDPG": TD3's architecture and defaults with all three tricks off."""
        base = dict(twin_critics=False, target_noise=False, delayed_updates=False)
        base.update(overrides)
        return cls(**base)

    def to_dict(self) -> dict:
        return asdict(self)


class Hyperparameter(NamedTuple):
    """One row of the table: the paper's value, the authors' code's, this course's, and why."""

    name: str
    paper: str
    authors_code: str
    course: str
    why: str
    where: str  # where the course's value is set in the package


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter("hidden layers (actor and each critic)", "400, 300 (Section 6.1)",
                   "256, 256 (TD3.py)", "400, 300",
                   "The paper's sizes, with the lecture's layer names: the course builds the "
                   "paper's networks and compares with the paper's results.",
                   "networks.Actor, networks.Critic"),
    Hyperparameter("optimizer, learning rates", "Adam, 1e-3 for actor and critic (Section 6.1)",
                   "Adam, 3e-4 (TD3.py)", "Adam, 3e-4",
                   "The authors' maintained value, used together with their batch of 256.",
                   "TD3Config.actor_lr, TD3Config.critic_lr"),
    Hyperparameter("batch_size N", "100 (Section 6.1)", "256 (main.py)", "256",
                   "The authors' maintained value; the short test budgets use 64 for speed.",
                   "TD3Config.batch_size"),
    Hyperparameter("discount gamma", "0.99 (appendix)", "0.99 (main.py: discount)", "0.99",
                   "All agree. The code calls it discount, the paper gamma.",
                   "TD3Config.discount"),
    Hyperparameter("target rate tau", "0.005 (Section 6.1)", "0.005 (main.py)", "0.005",
                   "All agree.", "TD3Config.tau"),
    Hyperparameter("target policy noise sigma~, clip c",
                   "0.2, 0.5, for actions in [-1, 1] (Section 6.1)",
                   "0.2 and 0.5, times max_action (main.py)", "0.2 and 0.5, times max_action",
                   "The code's scaling keeps the noise a fraction of any action range (Pendulum's "
                   "torque is in [-2, 2]); for HalfCheetah (max_action 1) all three agree.",
                   "TD3Config.policy_noise, TD3Config.noise_clip"),
    Hyperparameter("clip of a~ to the action range", "not in the paper (Algorithm 1 clips "
                   "the noise only)", "yes (TD3.py)", "yes",
                   "The environment accepts only valid actions, so the target values one.",
                   "update.step06_target_policy_noise"),
    Hyperparameter("policy delay d", "2 (Section 6.1)", "2 (main.py: policy_freq)", "2",
                   "All agree. The code calls it policy_freq, the paper d.",
                   "TD3Config.policy_freq"),
    Hyperparameter("replay memory size", "the entire history (Section 6.1)",
                   "1e6 (utils.py: max_size)", "1e6",
                   "The authors' cap, which is the entire history of a run of up to 1e6 steps.",
                   "RunSettings.buffer_size"),
    Hyperparameter("warm-up (random actions)",
                   "1e4 steps for HalfCheetah and Ant, 1e3 for the others (Section 6.1)",
                   "25e3 steps (main.py: start_timesteps)", "25e3 steps",
                   "The authors' maintained value, one setting for every environment; the "
                   "notebooks' short budgets use fewer, and say so.",
                   "RunSettings.start_steps"),
    Hyperparameter("exploration noise sigma", "N(0, 0.1) (Section 6.1)",
                   "0.1 times max_action (main.py: expl_noise)", "0.1 times max_action",
                   "As for the target noise: a fraction of the action range.",
                   "RunSettings.expl_noise"),
    Hyperparameter("evaluation", "every 5e3 steps, 10 episodes, no noise (Section 6.1)",
                   "every 5e3 steps, 10 episodes (main.py)", "every 5e3 steps, 10 episodes",
                   "All agree; the course seeds each evaluation episode (100 + k) so that two "
                   "agents face the same start states.", "RunSettings.eval_every, eval_episodes"),
    Hyperparameter("training length", "1e6 steps (Section 6.1)", "1e6 (main.py: max_timesteps)",
                   "3e5 by default (td3-teach train), 1e5 in notebook 18",
                   "A CPU budget: notebook 18 names the time it takes.", "RunSettings.steps"),
)


def hyperparameter_table() -> str:
    """``HYPERPARAMETERS`` as a Markdown table (shown in notebook 00)."""
    rows = ["| hyperparameter | paper | authors' code | this course | why this course's value |",
            "|---|---|---|---|---|"]
    rows += [f"| {h.name} | {h.paper} | {h.authors_code} | **{h.course}** | {h.why} |"
             for h in HYPERPARAMETERS]
    return "\n".join(rows)
