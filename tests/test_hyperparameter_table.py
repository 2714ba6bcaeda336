"""The table of paper vs authors' code vs course (td3_teach.config.HYPERPARAMETERS) says what the
code really does: its "course" column must follow the package's defaults, so a changed default
that the table does not follow fails here."""

import re

from td3_teach.config import HYPERPARAMETERS, TD3Config, hyperparameter_table
from td3_teach.networks import Actor, Critic
from td3_teach.trainer import RunSettings


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def course(name_start: str) -> list[float]:
    row = next(h for h in HYPERPARAMETERS if h.name.startswith(name_start))
    return numbers(row.course)


def test_the_course_column_is_what_the_package_uses():
    c, r = TD3Config(), RunSettings()
    actor, critic = Actor(3, 2, 1.0), Critic(3, 2)
    assert course("hidden layers") == [actor.layer_1.out_features, actor.layer_2.out_features] \
        == [critic.layer_1.out_features, critic.layer_2.out_features]
    assert course("optimizer") == [c.actor_lr] == [c.critic_lr]
    assert course("batch_size") == [c.batch_size]
    assert course("discount") == [c.discount]
    assert course("target rate") == [c.tau]
    assert course("target policy noise") == [c.policy_noise, c.noise_clip]
    assert course("policy delay") == [c.policy_freq]
    assert course("replay memory") == [r.buffer_size]
    assert course("warm-up") == [r.start_steps]
    assert course("exploration") == [r.expl_noise]
    assert course("evaluation") == [r.eval_every, r.eval_episodes]
    assert course("training length")[0] == r.steps


def test_every_row_has_all_three_columns_and_a_reason():
    for h in HYPERPARAMETERS:
        assert all(x.strip() for x in (h.paper, h.authors_code, h.course, h.why, h.where)), h
    table = hyperparameter_table()
    assert table.count("\n") == len(HYPERPARAMETERS) + 1 and "| warm-up" in table
