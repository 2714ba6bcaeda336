"""Step 1 of 15: the replay memory (td3_teach.replay_buffer.ReplayBuffer).

Behaviour: preallocated float32 storage, O(1) add, ring overwrite when full, uniform sampling
with replacement, float32 (B, 1)-shaped batches on the buffer's device, clear errors, and a
state_dict round trip. Plus the lecture's bugs, each by name.
"""

import io

import numpy as np
import pytest
import torch

from td3_teach.errors import InputError, ReplayBufferError
from td3_teach.replay_buffer import Batch, ReplayBuffer

S, A = 26, 6  # HalfCheetahBulletEnv-v0


def numbered_transition(i: int, state_dim: int = S, action_dim: int = A):
    """A transition whose every field encodes i, so a sampled row says where it came from."""
    return (np.full(state_dim, i, np.float32), np.full(state_dim, i + 0.5, np.float32),
            np.full(action_dim, -i, np.float32), float(i), i % 2 == 1)


def filled(n: int, max_size: int | None = None) -> ReplayBuffer:
    buf = ReplayBuffer(S, A, max_size=max_size or n, device="cpu")
    for i in range(1, n + 1):
        buf.add(numbered_transition(i))
    return buf


# ------------------------------------------------------------------------------------ storage
def test_step01_storage_is_preallocated_float32_of_raw_size():
    buf = ReplayBuffer(S, A, max_size=1000, device="cpu")
    shapes = {name: tuple(getattr(buf, name).shape) for name in ("s", "s_next", "a", "r", "terminated")}
    assert shapes == {"s": (1000, S), "s_next": (1000, S), "a": (1000, A), "r": (1000, 1),
                      "terminated": (1000, 1)}
    assert all(getattr(buf, n).dtype == torch.float32 for n in shapes)
    assert buf.nbytes() == 1000 * (2 * S + A + 2) * 4
    assert len(buf) == 0


def test_step01_add_is_o1_writes_one_row_in_place_no_reallocation():
    buf = ReplayBuffer(S, A, max_size=50, device="cpu")
    ptrs = [buf.s.data_ptr(), buf.s_next.data_ptr(), buf.a.data_ptr(), buf.r.data_ptr(),
            buf.terminated.data_ptr()]
    for i in range(1, 121):  # more than max_size: wraps twice
        buf.add(numbered_transition(i))
        assert len(buf) == min(i, 50)
    assert [buf.s.data_ptr(), buf.s_next.data_ptr(), buf.a.data_ptr(), buf.r.data_ptr(),
            buf.terminated.data_ptr()] == ptrs
    assert buf.nbytes() == 50 * (2 * S + A + 2) * 4


def test_step01_add_stores_each_field_in_its_row():
    buf = filled(3, max_size=10)
    assert torch.equal(buf.s[1], torch.full((S,), 2.0))
    assert torch.equal(buf.s_next[1], torch.full((S,), 2.5))
    assert torch.equal(buf.a[1], torch.full((A,), -2.0))
    assert buf.r[1].item() == 2.0 and buf.terminated[1].item() == 0.0
    assert buf.terminated[0].item() == 1.0  # transition 1: terminated=True
    assert torch.count_nonzero(buf.s[3:]) == 0  # untouched rows stay zero


def test_step01_ring_buffer_overwrites_the_oldest_when_full():
    buf = filled(5, max_size=3)  # transitions 1..5 into 3 slots: 4, 5, 3 remain
    assert len(buf) == 3 and buf.ptr == 2
    assert buf.r.flatten().tolist() == [4.0, 5.0, 3.0]
    assert buf.s[:, 0].tolist() == [4.0, 5.0, 3.0]
    buf.add(numbered_transition(6))  # overwrites the oldest (3)
    assert buf.r.flatten().tolist() == [4.0, 5.0, 6.0] and buf.ptr == 0


def test_step01_add_accepts_numpy_float64_lists_tensors_and_python_scalars():
    buf = ReplayBuffer(2, 1, max_size=4, device="cpu")
    buf.add((np.array([1.0, 2.0]), [3.0, 4.0], torch.tensor([0.5]), np.float64(1.5), np.bool_(True)))
    buf.add(([1, 2], (3, 4), [0.25], 2, 0))
    assert buf.s.dtype == torch.float32
    assert buf.s[0].tolist() == [1.0, 2.0] and buf.s_next[0].tolist() == [3.0, 4.0]
    assert buf.r[:2].flatten().tolist() == [1.5, 2.0]
    assert buf.terminated[:2].flatten().tolist() == [1.0, 0.0]


# ------------------------------------------------------------------------------------ sampling
def test_step01_sample_gives_float32_tensors_shaped_b_by_dim_on_the_device():
    batch = filled(300).sample(256)
    assert isinstance(batch, Batch)
    assert batch.s.shape == (256, S) and batch.s_next.shape == (256, S)
    assert batch.a.shape == (256, A)
    assert batch.r.shape == (256, 1) and batch.terminated.shape == (256, 1)
    for t in batch:
        assert t.dtype == torch.float32 and t.device == torch.device("cpu")
        assert not t.requires_grad


def test_step01_sampled_rows_are_whole_transitions_from_filled_rows_only():
    buf = filled(10, max_size=100)  # 90 rows still zero: they must never be sampled
    torch.manual_seed(0)
    batch = Batch(*(torch.cat(parts) for parts in zip(*(buf.sample(10) for _ in range(50)))))
    i = batch.r.flatten()
    assert set(i.tolist()) <= set(range(1, 11))
    assert torch.equal(batch.s, i[:, None].expand(-1, S))
    assert torch.equal(batch.s_next, (i + 0.5)[:, None].expand(-1, S))
    assert torch.equal(batch.a, (-i)[:, None].expand(-1, A))
    assert torch.equal(batch.terminated.flatten(), (i % 2 == 1).float())


def test_step01_sampling_is_uniform_chi_square_with_a_seed():
    k, draws = 10, 20_000
    buf = filled(k)
    torch.manual_seed(1234)
    drawn = torch.cat([buf.sample(k).r.flatten() for _ in range(draws // k)])
    counts = torch.bincount(drawn.long(), minlength=k + 1)[1:]
    expected = draws / k
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # 9 degrees of freedom: P(chi2 > 27.88) = 0.001 for a uniform sampler.
    assert chi2 < 27.88, f"counts {counts.tolist()} are not uniform (chi2 = {chi2:.1f})"


def test_step01_sampling_is_with_replacement_and_reproducible_with_torch_seed():
    buf = filled(5)
    torch.manual_seed(7)
    first = [buf.sample(5) for _ in range(20)]
    torch.manual_seed(7)
    second = [buf.sample(5) for _ in range(20)]
    assert all(torch.equal(x, y) for b1, b2 in zip(first, second) for x, y in zip(b1, b2))
    # with replacement: some batch of 5 out of 5 holds a transition twice
    assert any(len(set(b.r.flatten().tolist())) < 5 for b in first)


def test_step01_sampling_draws_indices_with_torch_randint():
    """The golden test relies on it: one torch.randint(0, size, (B,)) per batch, nothing else."""
    buf = filled(40, max_size=64)
    torch.manual_seed(3)
    idx = torch.randint(0, 40, (16,))
    after = torch.rand(1)
    torch.manual_seed(3)
    batch = buf.sample(16)
    assert torch.equal(batch.r.flatten(), (idx + 1).float())
    assert torch.equal(torch.rand(1), after)  # the sampler drew nothing more from the RNG


def test_step01_a_batch_is_a_copy_not_a_view_of_the_storage():
    buf = filled(8)
    batch = buf.sample(8)
    batch.s.add_(1000.0)
    assert buf.s.max().item() <= 8.0


# ------------------------------------------------------------------------------------ errors
def test_step01_error_sampling_an_empty_buffer():
    with pytest.raises(ReplayBufferError, match="empty"):
        ReplayBuffer(S, A, max_size=10, device="cpu").sample(1)


def test_step01_error_batch_larger_than_the_buffer_names_both_sizes():
    with pytest.raises(ReplayBufferError, match=r"batch of 256.*only 100"):
        filled(100).sample(256)


@pytest.mark.parametrize("field, position, bad", [
    ("s", 0, np.zeros(S + 1)), ("s_next", 1, np.zeros((S, 1, 2))), ("a", 2, np.zeros(A - 1)),
    ("r", 3, np.zeros(2)),
])
def test_step01_error_wrong_shape_transition_names_the_field(field, position, bad):
    tr = list(numbered_transition(1))
    tr[position] = bad
    buf = ReplayBuffer(S, A, max_size=10, device="cpu")
    with pytest.raises(InputError, match=rf"'{field}' has shape"):
        buf.add(tuple(tr))
    assert len(buf) == 0


@pytest.mark.parametrize("position, value", [(0, np.nan), (1, np.inf), (2, -np.inf), (3, np.nan)])
def test_step01_error_nan_or_inf_is_refused(position, value):
    tr = list(numbered_transition(1))
    if position < 3:
        tr[position] = tr[position].copy()
        tr[position][0] = value
    else:
        tr[position] = value
    buf = ReplayBuffer(S, A, max_size=10, device="cpu")
    with pytest.raises(InputError, match="NaN or inf"):
        buf.add(tuple(tr))
    assert len(buf) == 0


@pytest.mark.parametrize("position", [1, 2, 3])
def test_step01_a_refused_transition_leaves_a_full_buffer_untouched(position):
    """Every field is checked before any is written: no half-overwritten oldest row."""
    buf = filled(3, max_size=3)
    before = [getattr(buf, n).clone() for n in ("s", "s_next", "a", "r", "terminated")]
    tr = list(numbered_transition(99))
    tr[position] = np.full(np.size(tr[position]), np.nan)
    with pytest.raises(InputError):
        buf.add(tuple(tr))
    after = [getattr(buf, n) for n in ("s", "s_next", "a", "r", "terminated")]
    assert all(torch.equal(x, y) for x, y in zip(before, after)) and buf.ptr == 0


def test_step01_error_transition_of_the_wrong_length():
    buf = ReplayBuffer(S, A, max_size=10, device="cpu")
    with pytest.raises(InputError, match=r"\(s, s_next, a, r, terminated\)"):
        buf.add(numbered_transition(1)[:4])


def test_step01_error_bad_max_size():
    with pytest.raises(ValueError, match="max_size"):
        ReplayBuffer(S, A, max_size=0)


# ------------------------------------------------------------------------------------ state_dict
def test_step01_state_dict_round_trip_through_a_weights_only_file():
    buf = filled(13, max_size=10)  # wrapped: ptr 3
    f = io.BytesIO()
    torch.save(buf.state_dict(), f)
    f.seek(0)
    restored = ReplayBuffer(S, A, max_size=10, device="cpu")
    restored.load_state_dict(torch.load(f, weights_only=True))
    assert (restored.ptr, len(restored)) == (buf.ptr, len(buf)) == (3, 10)
    for name in ("s", "s_next", "a", "r", "terminated"):
        assert torch.equal(getattr(restored, name), getattr(buf, name)), name
    buf.add(numbered_transition(99))
    restored.add(numbered_transition(99))  # goes on writing where the original would
    assert torch.equal(restored.r, buf.r)


def test_step01_state_dict_of_a_partly_filled_buffer_round_trips():
    buf = filled(4, max_size=10)
    restored = ReplayBuffer(S, A, max_size=10, device="cpu")
    restored.load_state_dict(buf.state_dict())
    assert len(restored) == 4 and restored.ptr == 4
    assert torch.equal(restored.s, buf.s)


def test_step01_state_dict_that_does_not_fit_is_refused():
    d = filled(4, max_size=10).state_dict()
    with pytest.raises(ReplayBufferError, match="does not fit"):
        ReplayBuffer(S + 1, A, max_size=10, device="cpu").load_state_dict(d)


# ------------------------------------------------------------------------------------ lecture bugs
def test_step01_bug_sample_returns_five_fields():
    """Lecture: ``batch_states, ..., batch_dones = [], [], [], []`` unpacks 4 lists into 5 names."""
    assert Batch._fields == ("s", "s_next", "a", "r", "terminated")
    assert len(filled(3).sample(2)) == 5


def test_step01_bug_float_max_size_1e6_works():
    """Lecture: ``max_size=1e6`` is a float; sizes and indices must be ints."""
    buf = ReplayBuffer(1, 1, max_size=1e6, device="cpu")
    assert buf.max_size == 1_000_000 and isinstance(buf.max_size, int)
    assert buf.s.shape == (1_000_000, 1)


def test_step01_bug_buffer_stores_terminated_not_done():
    """Lecture: ``done`` (terminated OR truncated). The buffer's flag is ``terminated`` only: a
    time-limit truncation is added with terminated=False, and is stored as not terminal."""
    buf = ReplayBuffer(1, 1, max_size=4, device="cpu")
    terminated, truncated = True, True
    buf.add(([0.0], [1.0], [0.0], 1.0, terminated))   # the robot fell
    buf.add(([1.0], [2.0], [0.0], 1.0, False))        # time limit: truncated, not terminated
    assert truncated and buf.terminated[:2].flatten().tolist() == [1.0, 0.0]
    assert not hasattr(buf, "done")


def test_step01_bug_float64_input_comes_out_float32():
    """Lecture: numpy float64 arrays, then ``torch.Tensor(...)`` every batch. Ours: float32 once."""
    buf = ReplayBuffer(S, A, max_size=4, device="cpu")
    for i in (1, 2):
        buf.add(tuple(np.asarray(x, np.float64) for x in numbered_transition(i)[:4]) + (False,))
    assert all(t.dtype == torch.float32 for t in buf.sample(2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_step01_batches_land_on_the_gpu_device():
    buf = ReplayBuffer(S, A, max_size=10, device="cuda")
    for i in range(1, 5):
        buf.add(numbered_transition(i))
    for t in buf.sample(3):
        assert t.device.type == "cuda" and t.dtype == torch.float32
