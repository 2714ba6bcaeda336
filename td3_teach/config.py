"""TD3's hyperparameters in one typed dataclass, each documented with what it does to learning.

Defaults are those of the paper (Fujimoto et al., 2018, Table 3) and its authors' code
(github.com/sfujim/TD3). Where the lecture notes differ, the field says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TD3Config:
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

    @classmethod
    def from_dict(cls, d: dict) -> "TD3Config":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
