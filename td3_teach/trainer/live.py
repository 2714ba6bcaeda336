"""A learning curve that redraws itself in a notebook while ``train`` runs (``on_eval``)."""

from __future__ import annotations


import numpy as np
from .settings import EvalRecord



# --------------------------------------------------------------------------------- notebook help
def live_learning_curve(title: str = "TD3 learning curve", random_return: float | None = None):
    """An ``on_eval`` callback that redraws a matplotlib learning curve in a notebook.

    The figure is shown once and updated in place at every evaluation (mean return with a
    +/- std band); ``random_return`` draws a dashed line for comparison.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig, ax = plt.subplots(figsize=(6, 3.5))
    handle = display(fig, display_id=True)
    plt.close(fig)  # shown through the handle only, not again at the cell's end

    def on_eval(rec: EvalRecord, history: list[EvalRecord]) -> None:
        x = [e.step for e in history]
        m = np.array([e.mean for e in history])
        sd = np.array([e.std for e in history])
        ax.clear()
        ax.plot(x, m, marker="o", ms=3, label="evaluation return (mean)")
        ax.fill_between(x, m - sd, m + sd, alpha=0.25, label="+/- std")
        if random_return is not None:
            ax.axhline(random_return, ls="--", c="grey", label="random policy")
        ax.set(xlabel="env steps", ylabel="return", title=f"{title}: {rec.mean:.1f} at {rec.step}")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        if handle is not None:
            handle.update(fig)
    return on_eval
