"""Test-suite settings that the notebook kernels started by nbval inherit.

TD3_TEACH_BUDGET=short makes the long notebooks (training, ablations) run on a short budget and
the interactive figures fall back to one static plot; a learner's Jupyter has neither variable.
"""

import os

os.environ.setdefault("TD3_TEACH_BUDGET", "short")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # 2-core CI: one thread per process avoids thrashing
