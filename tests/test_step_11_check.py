"""Step 11's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""



from step_contracts import run, solution

LOSS = "return F.mse_loss(q1, y) + F.mse_loss(q2, y)"
DETACH = "y = y.detach()"


def test_step11_check_passes_a_hand_written_mse():
    ns = solution(11, {LOSS: "return ((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean()"})
    assert run(11, ns)


MUTATIONS = {
    "only one critic's loss": ({LOSS: "return F.mse_loss(q1, y)"}, "only q1's loss"),
    "only the second critic's loss": ({LOSS: "return F.mse_loss(q2, y)"}, "only q2's loss"),
    "loss through y (no detach)": ({DETACH: "pass"}, "gradient into y"),
    "predictions detached instead of the target":
        ({DETACH: "pass", LOSS: "return F.mse_loss(q1.detach(), y) + F.mse_loss(q2.detach(), y)"},
         "reversed"),
    "(B,) against (B, 1) inside MSE": ({LOSS: "return F.mse_loss(q1.squeeze(), y) + F.mse_loss(q2.squeeze(), y)"},
                                      "broadcast"),
    "sum instead of mean": ({LOSS: "return F.mse_loss(q1, y, reduction='sum') + F.mse_loss(q2, y, reduction='sum')"},
                            "summed"),
    "no reduction": ({LOSS: "return F.mse_loss(q1, y, reduction='none') + F.mse_loss(q2, y, reduction='none')"},
                     "single number"),
    "L1 loss": ({LOSS: "return F.l1_loss(q1, y) + F.l1_loss(q2, y)"}, "L1"),
    "Huber loss": ({LOSS: "return F.smooth_l1_loss(q1, y) + F.smooth_l1_loss(q2, y)"}, "Huber"),
    "min(q1, q2) against y": ({LOSS: "return 2 * F.mse_loss(torch.min(q1, q2), y)"}, "min(Q1, Q2)"),
    "average of the two losses": ({LOSS: "return (F.mse_loss(q1, y) + F.mse_loss(q2, y)) / 2"}, "averaged"),
    ".item() (a float, no graph)": ({LOSS: "return (F.mse_loss(q1, y) + F.mse_loss(q2, y)).item()"}, "float"),
    "square root (RMSE)": ({LOSS: "return F.mse_loss(q1, y).sqrt() + F.mse_loss(q2, y).sqrt()"}, "wrong values"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {"loss through y (no detach)": "detach"}
