"""How the trainer explores: the seeds of its episodes and the noisy action it plays
(taught in notebook 18)."""

from __future__ import annotations


import numpy as np



def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of training episode ``episode``: a hash of (seed, episode) in [0, 2^32).

    Why not just seed + episode: that would make run seed 0's episode 1 equal run seed 1's
    episode 0. SeedSequence mixes the two numbers into independent streams.
    """
    return int(np.random.SeedSequence([int(seed), int(episode)]).generate_state(1)[0])


def exploration_action(mu_s: np.ndarray, max_action: float, expl_noise: float,
                       rng: np.random.Generator) -> np.ndarray:
    """The action played while learning: ``clip(mu(s) + N(0, (expl_noise * max_action)^2))``.

    One independent Gaussian draw per action dimension, scaled by max_action (a noise of 0.1 on
    an action range of [-2, 2] would be too timid), clipped so the env gets a legal action.
    Why not use step 6's noise: that one smooths the Bellman *target*; this one makes *data*.
    """
    noise = rng.normal(0.0, expl_noise * max_action, size=np.shape(mu_s))
    return np.clip(mu_s + noise, -max_action, max_action)
