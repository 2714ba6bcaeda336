"""Shared test set-up. Kept minimal: each test file builds what it needs itself."""

import torch

# One thread: the test machine has 2 cores, and small-network tests are faster without
# thread hand-offs. Results do not depend on it.
torch.set_num_threads(1)
