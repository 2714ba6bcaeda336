"""Step 8's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""




MUTATIONS = {
    "max instead of min": ({"torch.min(q1_next, q2_next)": "torch.max(q1_next, q2_next)"}, "LARGER"),
    "one critic only (DDPG)": ({"torch.min(q1_next, q2_next)": "q1_next"}, "one of the critics"),
    "average of the two": ({"torch.min(q1_next, q2_next)": "(q1_next + q2_next) / 2"}, "averaged"),
    "min over the whole batch": ({"torch.min(q1_next, q2_next)": "torch.min(torch.cat([q1_next, q2_next]))"},
                                 "single number"),
    "numpy instead of torch": ({"return torch.min(q1_next, q2_next)":
                                "return __import__('numpy').minimum(q1_next.numpy(), q2_next.numpy())"}, "numpy"),
    "forgot return": ({"return torch.min(q1_next, q2_next)": "torch.min(q1_next, q2_next)"}, "return"),
    "flattened to (B,)": ({"torch.min(q1_next, q2_next)": "torch.min(q1_next, q2_next).squeeze(1)"},
                          "shape"),
}
