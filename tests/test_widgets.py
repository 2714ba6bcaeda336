"""The notebooks' sliders: the readout shows the value the picture was drawn with, tau gets a
1-2-5 log scale, and outside a browser the cell draws its picture once."""

import pytest

from td3_teach import widgets


def test_decimals_cover_the_step_and_the_default():
    assert widgets.decimals(0.9, 0.001, 0.99) == 3   # gamma 0.999 must not read "1.00"
    assert widgets.decimals(0.005) == 3 and widgets.decimals(0.25, 4.0, 2.0) == 2
    assert widgets.decimals(2.0, 4.0) == 0


def test_log_scale_offers_small_taus_and_refuses_a_default_off_its_grid():
    assert widgets.LogScale(0.001, 1.0, 0.005).values() == [
        0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    with pytest.raises(ValueError, match="not one of"):
        widgets.LogScale(0.001, 1.0, 0.004).values()


@pytest.fixture
def browser(monkeypatch):
    """interactive() as in a learner's JupyterLab: full budget, a browser kernel; the widget
    shown is captured instead of displayed."""
    pytest.importorskip("ipywidgets")
    import IPython.display
    monkeypatch.setenv("TD3_TEACH_BUDGET", "full")
    monkeypatch.setattr(widgets, "_in_browser_kernel", lambda: True)
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    return shown


def test_moving_a_slider_draws_exactly_the_value_its_readout_shows(browser):
    drawn = []
    widgets.interactive(lambda gamma, tau, n: drawn.append((gamma, tau, n)),
                        gamma=(0.9, 0.999, 0.001, 0.99), tau=widgets.LogScale(0.001, 1.0, 0.005),
                        n=(1, 5, 1, 2))
    box, = browser
    gamma, tau, n, _out = box.children
    assert gamma.readout_format == ".3f" and tau.readout and tau.label == "0.005"
    assert drawn[-1] == (0.99, 0.005, 2)
    gamma.value = 0.9 + 99 * 0.001  # what the browser sends: 0.9990000000000001
    assert drawn[-1][0] == 0.999 and f"{0.999:{gamma.readout_format}}" == "0.999"
    tau.value = 0.002
    assert drawn[-1][1] == 0.002 and tau.label == "0.002"


def test_outside_a_browser_the_picture_is_drawn_once_with_the_defaults(monkeypatch):
    monkeypatch.setenv("TD3_TEACH_BUDGET", "short")
    drawn = []
    widgets.interactive(lambda tau: drawn.append(tau), tau=widgets.LogScale(0.001, 1.0, 0.05))
    assert drawn == [0.05]
