"""Step 1's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from td3_teach import checks
from step_contracts import solution


def test_step01_check_passes_the_buffer_alone():
    ns = solution(1)
    assert "store_step" not in checks.step01(ns["ReplayBuffer"]).text()


SAMPLE_IDX = "idx = np.random.randint(0, self.size, size=batch_size)"
MUTATIONS = {
    # the ring
    "buffer grows past max_size": (
        {"self.size = min(self.size + 1, self.max_size)": "self.size = self.size + 1"},
        "grows past max_size"),
    "write position does not wrap": (
        {"self.ptr = (self.ptr + 1) % self.max_size": "self.ptr = self.ptr + 1"}, "wrap"),
    "full buffer keeps the oldest (never overwrites)": (
        {"s, s_next, a, r, terminated = transition":
         "if self.size == self.max_size:\n            return\n"
         "        s, s_next, a, r, terminated = transition"}, "overwritten"),
    # sampling
    "samples the first rows, not random ones": (
        {SAMPLE_IDX: "idx = np.arange(batch_size)"}, "same transitions"),
    "samples only among the first batch_size rows": (
        {SAMPLE_IDX: "idx = np.random.randint(0, batch_size, size=batch_size)"}, "never drawn"),
    "off by one: the newest row is never drawn": (
        {SAMPLE_IDX: "idx = np.random.randint(0, self.size - 1, size=batch_size)"}, "upper end"),
    "samples empty rows (up to max_size)": (
        {SAMPLE_IDX: "idx = np.random.randint(0, self.max_size, size=batch_size)"}, "never written"),
    "samples below the write position only": (
        {SAMPLE_IDX: "idx = np.random.randint(0, self.ptr, size=batch_size)"}, "write position"),
    "not uniform (min of two draws)": (
        {SAMPLE_IDX: "idx = np.minimum(np.random.randint(0, self.size, size=batch_size), "
                     "np.random.randint(0, self.size, size=batch_size))"}, "not uniform"),
    "separate random indices per field": (
        {"torch.as_tensor(x[idx])": "torch.as_tensor(x[np.random.randint(0, self.size, size=batch_size)])"},
        "mixes transitions"),
    # types and shapes
    "r stored flat, sampled as (B,)": (
        {"self.r = np.zeros((self.max_size, 1), dtype=np.float32)":
         "self.r = np.zeros(self.max_size, dtype=np.float32)"}, "broadcasts"),
    "float64 storage (numpy's default)": (
        {"self.s = np.zeros((self.max_size, state_dim), dtype=np.float32)":
         "self.s = np.zeros((self.max_size, state_dim))"}, "float64"),
    "returns numpy arrays": ({"torch.as_tensor(x[idx])": "x[idx]"}, "numpy"),
    "forgot return in sample": ({"return tuple(": "tuple("}, "return"),
    "the lecture notes' three returned arrays": (
        {"for x in fields)": "for x in fields[:3])"}, "three arrays"),
    "the lecture's batch_dones list bug": (
        {"fields = (self.s, self.s_next, self.a, self.r, self.terminated)":
         "batch_states, batch_next_states, batch_actions, batch_rewards, batch_dones = [], [], [], []"},
        "batch_dones"),
    # what is stored
    "s and s_next swapped in add": (
        {"self.s[i], self.s_next[i], self.a[i] = s, s_next, a":
         "self.s[i], self.s_next[i], self.a[i] = s_next, s, a"}, "swapped"),
    "stores not_done = 1 - terminated": (
        {"self.r[i], self.terminated[i] = r, terminated":
         "self.r[i], self.terminated[i] = r, 1.0 - terminated"}, "1 - terminated"),
    "keeps references (the lecture's list of tuples)": (
        {"self.s = np.zeros((self.max_size, state_dim), dtype=np.float32)":
         "self.s = [np.zeros(state_dim)] * self.max_size",
         "fields = (self.s, ": "fields = (np.array(self.s, dtype=np.float32), "},
        "reference"),
    # store_step: terminated vs truncated
    "stores terminated or truncated (the lecture's done)": (
        {"replay_buffer.add((s, s_next, a, r, terminated))":
         "replay_buffer.add((s, s_next, a, r, terminated or truncated))"}, "terminated only"),
    "episode ends on terminated only": (
        {"return terminated or truncated": "return terminated"}, "never end"),
    "transition in the wrong order": (
        {"replay_buffer.add((s, s_next, a, r, terminated))":
         "replay_buffer.add((s, a, s_next, r, terminated))"}, "order"),
    "add called with five arguments": (
        {"replay_buffer.add((s, s_next, a, r, terminated))":
         "replay_buffer.add(s, s_next, a, r, terminated)"}, "ONE argument"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {"stores terminated or truncated (the lecture's done)": "done"}


def test_step01_check_accepts_the_lectures_list_design_done_right():
    """A list of copied tuples, torch.randint sampling: another correct ring buffer."""
    import numpy as np
    import torch

    class ListBuffer:
        def __init__(self, state_dim, action_dim, max_size=1_000_000):
            self.storage, self.max_size, self.ptr = [], int(max_size), 0

        def __len__(self):
            return len(self.storage)

        def add(self, transition):
            t = tuple(np.array(x, dtype=np.float32, copy=True) for x in transition)
            if len(self.storage) == self.max_size:
                self.storage[self.ptr] = t
                self.ptr = (self.ptr + 1) % self.max_size
            else:
                self.storage.append(t)

        def sample(self, batch_size):
            rows = [self.storage[i] for i in torch.randint(0, len(self.storage), (batch_size,))]
            s, s_next, a, r, d = (torch.as_tensor(np.stack(c)) for c in zip(*rows))
            return s, s_next, a, r.reshape(-1, 1), d.reshape(-1, 1)

    assert checks.step01(ListBuffer, seed=3)
