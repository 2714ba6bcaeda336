"""The training loop: the 15 steps put to work on an environment (taught in notebook 18).

The loop follows the authors' ``main.py`` (github.com/sfujim/TD3):

1. Warm-up: the first ``start_steps`` (25,000) actions are uniform random
   (``env.action_space.sample()``). A fresh actor's actions are all alike; random ones fill the
   replay memory with varied data before the first update.
2. Then act with exploration noise: ``a = clip(mu(s) + N(0, (expl_noise * max_action)^2),
   -max_action, max_action)`` with expl_noise 0.1. (Not the same noise as step 6's target
   smoothing: this one makes *data*, that one smooths the *target*.)
3. Store ``(s, s_next, a, r, terminated)``: terminated only, never truncated. HalfCheetah's
   episodes end only by the 1000-step time limit; those states have a future and must not be
   masked in the Bellman target (step 9).
4. One ``agent.train(buffer, 1)`` (steps 4-15) per env step once the warm-up is over.
5. Every ``eval_every`` steps: 10 deterministic episodes on a separate env (seeds seed+100+k),
   mean and std, written to ``evaluations.csv`` and passed to ``on_eval`` (a live plot, say).

Resuming: checkpoints are written at episode boundaries (the first boundary after each
``checkpoint_every`` steps), at the end, and when training is interrupted (Ctrl-C, Jupyter's
stop button). Every episode starts with ``env.reset(seed=episode_seed(seed, episode_index))``
and a checkpoint keeps the actions played so far in the current episode, so a restarted env
(Bullet's physics state cannot be saved) is brought back to the very state by replaying them;
with every RNG state restored, a resumed run gives the same evaluation returns as one that never
stopped.

An interrupt is taken at the end of the env step in progress (an evaluation in progress finishes
first; a second interrupt stops at once, without a checkpoint), then ``train`` raises
``TrainingInterrupted``: a short message saying where the run stands, where the checkpoint is and
how to resume, instead of a traceback through torch.

Command line: ``td3-teach train --env ENV --steps N --seed S [--out DIR] [--resume DIR]``.

The subpackage, one module per job: ``settings`` (RunSettings, EvalRecord, TrainResult, the run
folder), ``loop`` (``train``, which reads as the loop), ``training_run`` (the run object that
``train`` drives: envs, agent, replay memory, counters, files; one method per job of the loop),
``exploration`` (the noisy action, the episode seeds), ``own_agent`` (your networks, or notebook
16's MyTD3), ``interrupt`` (Ctrl-C between two env steps), ``evaluations`` (evaluations.csv),
``live`` (the notebook's live learning curve) and ``cli`` (``td3-teach train``). Every name is
importable from ``td3_teach.trainer`` as before. A checkpoint is written and read in
``td3_teach.checkpoint`` (``save_training_checkpoint``, ``load_training_checkpoint``).
"""

from .cli import config_from_args, configure, run
from .evaluations import _append_csv, _csv_row, _write_csv, read_evaluations
from .exploration import episode_seed, exploration_action
from .interrupt import TrainingInterrupted, _deferred_interrupt
from .live import live_learning_curve
from .loop import train
from .own_agent import (lecture_shaped, lecture_state_dict, lecture_train_kwargs,
                        load_lecture_state_dict, make_agent)
from .settings import (BEST_ACTOR, ENV_CHOICES, EVAL_CSV, FINAL_ACTOR, RUNS, EvalRecord, RunSettings,
                       TrainResult, cli_command, runs_dir)

__all__ = ["BEST_ACTOR", "ENV_CHOICES", "EVAL_CSV", "FINAL_ACTOR", "RUNS", "EvalRecord", "RunSettings",
           "TrainResult", "TrainingInterrupted", "cli_command", "config_from_args", "configure",
           "episode_seed", "exploration_action", "lecture_shaped", "lecture_state_dict",
           "lecture_train_kwargs", "live_learning_curve", "load_lecture_state_dict", "make_agent",
           "read_evaluations", "run", "runs_dir", "train",
           "_append_csv", "_csv_row", "_deferred_interrupt", "_write_csv"]
