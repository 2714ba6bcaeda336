"""The bug hunt (notebook 17): the handout holds every known bug, the fixed listing none, and
each bug put back alone into the fixed listing is counted and named, alone."""

import linecache

import nbformat
import pytest

from td3_teach import checks
from td3_teach.build_notebooks import handout
from td3_teach.checks.bug_hunt import HUNT
from notebook_code import SOLUTIONS, check_failure, exercise_namespace

NB = "17_bug_hunt.ipynb"


def handout_namespace() -> dict:
    """The learner's notebook 17 as handed out (the bugs in place), executed up to the check."""
    ns: dict = {}
    for i, cell in enumerate(nbformat.read(SOLUTIONS / NB, as_version=4).cells):
        if cell.cell_type != "code" or "checks.bug_hunt" in cell.source:
            continue
        src = handout(cell.source) if "### BEGIN HANDOUT" in cell.source else cell.source
        name = f"<{NB} handout cell {i}>"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        exec(compile(src, name, "exec"), ns)
    return ns


def test_the_fixed_listing_passes_and_is_td3():
    ns = exercise_namespace(NB)
    text = checks.bug_hunt(ns["T3D"], ns["ReplayBuffer"]).text()
    assert text.startswith("Bug hunt ✓ 0 of the 18 known bugs remain")


@pytest.mark.parametrize("seed", [1, 2])
def test_the_fixed_listing_passes_on_other_seeds(seed):
    ns = exercise_namespace(NB)
    assert checks.bug_hunt(ns["T3D"], ns["ReplayBuffer"], seed=seed)


def test_the_handout_runs_and_holds_every_known_bug():
    ns = handout_namespace()  # runs: only the syntax was repaired
    report = check_failure(checks.bug_hunt, ns["T3D"], ns["ReplayBuffer"])
    assert report.remaining == list(HUNT)
    assert f"{len(HUNT)} of the {len(HUNT)} known bugs remain" in str(report)


POLYAK = "\n      #Step - 14: Still"
PUT_BACK = {
    "buffer_four_lists": {"batch_dones = [], [], [], [], []": "batch_dones = [], [], [], []"},
    "buffer_copy_false": {"np.array(reward, copy=None)": "np.array(reward, copy = False)"},
    "head_width": {"self.layer_6 = nn.Linear(300, 1)": "self.layer_6 = nn.Linear(300, action_dim)"},
    "state_dict_uncalled": {"load_state_dict(self.actor.state_dict())": "load_state_dict(self.actor.state_dict)"},
    "lowercase_critic": {"self.critic_target = Critic(": "self.critic_target = critic("},
    "comma_critic": {"load_state_dict(self.critic.state_dict())": "load_state_dict(self,critic.state_dict())"},
    "max_action_unset": {"    self.max_action = max_action\n    self.total_it": "    self.total_it"},
    "reshape_column": {"state.reshape(1, -1)": "state.reshape(-1,1)"},
    "select_action_graph": {"    with torch.no_grad():\n      state = torch.Tensor(state.reshape(1, -1)).to(device)\n"
                            "      return": "    state = torch.Tensor(state.reshape(1, -1)).to(device)\n    return"},
    "train_outside_class": {"T3D.train = train  # the function becomes T3D's method": ""},
    "normal_0": {"noise = torch.randn_like(next_action) * policy_noise * self.max_action":
                 "noise = next_action.clone().normal_0(0, policy_noise * self.max_action)"},
    "noise_into_batch": {"noise = torch.randn_like(next_action) * policy_noise * self.max_action":
                         "noise = torch.Tensor(batch_actions).data.normal_(0, policy_noise * self.max_action)"},
    "noise_unscaled": {"noise = torch.randn_like(next_action) * policy_noise * self.max_action":
                       "noise = torch.randn_like(next_action) * policy_noise",
                       "noise.clamp(-noise_clip * self.max_action, noise_clip * self.max_action)":
                       "noise.clamp(-noise_clip, noise_clip)"},
    "zero_dot_grad": {"self.critic_optimizer.zero_grad()": "self.critic_optimizer.zero.grad()"},
    "grad_zero": {"self.actor_optimizer.zero_grad()": "self.actor_optimizer.grad_zero()"},
    "steo": {"self.actor_optimizer.step()": "self.actor_optimizer.steo()"},
    "local_counter": {"if self.total_it % policy_freq == 0:": "if it % policy_freq == 0:"},
    "polyak_every_iteration": {POLYAK: "\n    if True:" + POLYAK},
}


def test_every_known_bug_has_a_put_back_test():
    assert set(PUT_BACK) == set(HUNT)


@pytest.mark.parametrize("bug", list(HUNT))
def test_each_bug_put_back_alone_is_counted_and_named(bug):
    ns = exercise_namespace(NB, PUT_BACK[bug])
    report = check_failure(checks.bug_hunt, ns["T3D"], ns["ReplayBuffer"])
    assert report.remaining == [bug], str(report)
    assert f"1 of the {len(HUNT)} known bugs remain" in str(report) and HUNT[bug] in str(report)


def test_a_new_mistake_beyond_the_known_bugs_is_reported_by_the_agent_check():
    ns = exercise_namespace(NB, {"target_Q = torch.min(target_Q1, target_Q2)": "target_Q = target_Q1"})
    text = str(check_failure(checks.bug_hunt, ns["T3D"], ns["ReplayBuffer"]))
    assert "0 of the 18 known bugs remain, but the listing is not TD3" in text and "Q1' alone" in text, text


def test_the_bug_names_never_say_the_fix():
    for name in HUNT.values():
        for fix in ("state_dict()", "Linear(300, 1)", "reshape(1, -1)", "zero_grad", "no_grad",
                    "randn_like", "total_it", "max_action *"):
            assert fix not in name, (fix, name)
