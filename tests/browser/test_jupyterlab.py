"""The course as a learner sees it in JupyterLab (Chromium): Run All stops at an unfinished
exercise, the check boxes, a slider redrawing its picture, a saved notebook reopened, and an
interrupted training run. Screenshots go to $TD3_TEACH_SCREENSHOTS (/tmp/td3_teach_browser_shots)."""

from __future__ import annotations

import json
import time
import urllib.request

EXERCISE = "def step08_min_target_q(q1_next: torch.Tensor, q2_next: torch.Tensor) -> torch.Tensor:\n"
PREDICTION = "def step08_prediction() -> str:\n    return 'A'"  # the question the check also asks


def prompts(nb):
    return nb.cells().locator(".jp-InputPrompt").all_inner_texts()


def test_run_all_stops_at_the_unfinished_exercise(notebook):
    nb = notebook("08_min_target_q.ipynb")
    nb.menu("Run", "Run All Cells")
    check = nb.cell_with("checks.step08(")
    check.locator(".jp-RenderedHTML", has_text="not implemented yet").wait_for(timeout=90_000)
    nb.wait_idle()
    nb.shot("08_run_all")
    after = prompts(nb)[[t.strip() for t in prompts(nb)].index(check.locator(".jp-InputPrompt")
                                                                .inner_text().strip()) + 1:]
    assert after and all(t.strip() == "[ ]:" for t in after), f"cells after the check ran: {after}"


def test_wrong_answer_shows_the_red_box_and_a_right_one_the_green_box(notebook):
    nb = notebook("08_min_target_q.ipynb")
    nb.shot("08_opened")
    exercise, check = nb.cell_with("def step08_min_target_q"), nb.cell_with("checks.step08(")
    nb.run(nb.cells().first)  # imports
    prediction = nb.cell_with("def step08_prediction")
    nb.set_source(prediction, PREDICTION)
    nb.run(prediction)
    nb.set_source(exercise, EXERCISE + "    return torch.max(q1_next, q2_next)")
    nb.run(exercise)
    nb.run(check)
    red = check.locator(".jp-RenderedHTML", has_text="LARGER")
    red.wait_for(timeout=60_000)
    assert "not yet right" in red.inner_text() and "Hint" in red.inner_text()
    assert "Traceback" not in check.inner_text()
    nb.shot("08_red_box")
    nb.set_source(exercise, EXERCISE + "    return torch.min(q1_next, q2_next)")
    nb.run(exercise)
    nb.run(check)
    check.locator(".jp-RenderedHTML", has_text="passed").wait_for(timeout=60_000)
    nb.wait_idle()
    assert "not yet right" not in check.inner_text()
    nb.shot("08_green_box")


def test_slider_redraws_with_the_value_its_readout_shows_and_survives_a_reopen(notebook, lab):
    nb = notebook("scratch.ipynb")
    first = nb.cells().nth(0)
    nb.run(first)
    nb.wait_ran(first)  # the imports (torch, matplotlib) can take a while on a cold machine
    cell = nb.cells().nth(1)
    nb.run(cell)
    readout = cell.locator(".widget-readout")
    try:
        readout.wait_for(timeout=90_000)
    except Exception:
        nb.shot("slider_missing")
        raise AssertionError(f"no slider readout after 90 s; {nb.describe(cell)}") from None
    cell.locator("text=drawn with tau=0.005").wait_for(timeout=90_000)
    assert readout.inner_text().strip() == "0.005"
    before = cell.locator("img").first.get_attribute("src")
    cell.locator(".noUi-handle, .ui-slider-handle").first.focus()
    nb.page.keyboard.press("ArrowLeft")
    cell.locator("text=drawn with tau=0.002").wait_for(timeout=90_000)
    assert readout.inner_text().strip() == "0.002"
    assert cell.locator("img").first.get_attribute("src") != before, "the picture was not redrawn"
    nb.shot("slider_moved")

    nb.page.keyboard.press("Control+s")
    nb.page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=90_000)
    time.sleep(1)
    for kernel in json.load(urllib.request.urlopen(
            f"{lab['base']}/api/kernels?token={lab['token']}")):  # as after a restart of the PC
        urllib.request.urlopen(urllib.request.Request(
            f"{lab['base']}/api/kernels/{kernel['id']}?token={lab['token']}", method="DELETE"))
    nb.page.close()
    again = notebook("scratch.ipynb")
    cell = again.cells().nth(1)
    cell.locator(".widget-readout").wait_for(timeout=60_000)
    assert "Error displaying widget" not in cell.inner_text()
    assert cell.locator(".widget-readout").inner_text().strip() == "0.002"
    assert cell.locator("img").count() >= 1
    again.shot("reopened")


def test_interrupting_training_prints_the_short_message(notebook):
    nb = notebook("scratch.ipynb")
    cell = nb.cells().nth(2)
    nb.run(cell)
    cell.locator(".jp-OutputArea-output", has_text="step").first.wait_for(timeout=60_000)
    time.sleep(3)  # into the update phase
    # The status bar must say Busy the whole time the cell runs. With JupyterLab's default
    # (widget comms over kernel subshells), the progress bar's create_subshell_request on the
    # control channel got its own busy/idle from ipykernel 7, and the last "idle" made the bar
    # say Idle mid-training; td3-teach lab turns comms over subshells off (td3-teach.json).
    states = []
    for _ in range(6):
        states.append(nb.page.locator("#jp-main-statusbar").inner_text().split("|")[-1].split()[0])
        time.sleep(1)
    assert states == ["Busy"] * 6, f"status bar while training: {states}"
    nb.menu("Kernel", "Interrupt Kernel")
    message = cell.locator(".jp-OutputArea-output", has_text="Training interrupted at step")
    message.wait_for(timeout=60_000)
    nb.wait_idle()
    text = message.inner_text()
    nb.shot("interrupted")
    assert "Checkpoint written" in text and "--resume" in text
    assert "Traceback" not in cell.inner_text() and len(text.strip().splitlines()) <= 4
