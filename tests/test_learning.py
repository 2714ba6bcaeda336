"""TD3 learns: on Pendulum-v1 it beats a clear threshold within a small budget, with a fixed seed.

Settings (chosen for a fast, robust test; the paper's other defaults unchanged): 8,000 env steps,
1,000 random warm-up steps, batch 64, Adam learning rate 1e-3 for actor and critics, gamma 0.98
(rl-baselines3-zoo's Pendulum values), evaluation over 10 deterministic episodes. A random policy
scores about -1,200 (here the untrained actor: about -1,400); seeds 0-3 reached -160 to -195 at
8,000 steps and -196 to -263 at 7,000 when the test was written, so -400 leaves a wide margin.
About 1-2 minutes on one CPU thread.
"""

from __future__ import annotations

import torch

from td3_teach import TD3Config
from td3_teach.trainer import train

torch.set_num_threads(1)


def test_td3_learns_pendulum() -> None:
    config = TD3Config(batch_size=64, actor_lr=1e-3, critic_lr=1e-3, discount=0.98)
    result = train("Pendulum-v1", 8_000, 0, None, config=config, start_steps=1_000,
                   eval_every=2_000, eval_episodes=10, progress=False, device="cpu")
    first, last = result.evaluations[0], result.evaluations[-1]
    curve = ", ".join(f"{e.step}: {e.mean:.0f}" for e in result.evaluations)
    assert last.step == 8_000
    assert last.mean > -400, f"TD3 did not learn Pendulum-v1 (evaluations {curve}); expected > -400"
    assert last.mean - first.mean > 800, f"too little improvement: {curve}"
