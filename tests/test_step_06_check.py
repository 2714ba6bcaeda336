"""Step 6's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from td3_teach import checks

DRAW = "torch.randn_like(a_next)"
SCALED = "torch.randn_like(a_next) * (policy_noise * max_action)"
CLIP_NOISE = "noise = noise.clamp(-noise_clip * max_action, noise_clip * max_action)"
RESULT = "return (a_next + noise).clamp(-max_action, max_action)"


def test_step06_check_passes_the_package_reference():
    from td3_teach.update import step06_target_policy_noise
    assert checks.step06(step06_target_policy_noise, seed=7)


MUTATIONS = {
    "the lecture's normal_0 typo": (
        {SCALED: "a_next.clone().normal_0(0, policy_noise * max_action)"}, "normal_0"),
    "the lecture's unscaled normal_(0, policy_noise), clip unscaled": (
        {SCALED: "a_next.clone().normal_(0, policy_noise)",
         CLIP_NOISE: "noise = noise.clamp(-noise_clip, noise_clip)"}, "not scaled by max_action"),
    "the lecture notes' torch.randn(1, policy_noise)": (
        {DRAW: "torch.randn(1, policy_noise)"}, "SIZE"),
    "one scalar noise for the batch": ({DRAW: "torch.randn(1)"}, "same number"),
    "noise of shape (1, action_dim)": ({DRAW: "torch.randn(1, a_next.shape[1])"}, "every row"),
    "noise of shape (B, 1)": ({DRAW: "torch.randn(a_next.shape[0], 1)"}, "every action dimension"),
    "noise not scaled by max_action": ({"(policy_noise * max_action)": "policy_noise"}, "not scaled"),
    "noise clip not scaled by max_action": (
        {CLIP_NOISE: "noise = noise.clamp(-noise_clip, noise_clip)"}, "clipped at ±"),
    "noise not clipped": ({CLIP_NOISE: "noise = noise"}, "not clipped"),
    "clips a' + noise to the noise bound": (
        {CLIP_NOISE: "noise = noise",
         RESULT: "return (a_next + noise).clamp(-noise_clip * max_action, noise_clip * max_action)"},
        "the SUM"),
    "result not clipped to the action range": ({RESULT: "return a_next + noise"}, "not clipped to the action"),
    "result clipped to [-1, 1]": ({RESULT: "return (a_next + noise).clamp(-1, 1)"}, "[-1, 1]"),
    "uniform noise instead of Gaussian": ({DRAW: "(torch.rand_like(a_next) * 2 - 1)"}, "standard deviation"),
    "reseeded inside: the same noise every call": (
        {SCALED: "(torch.manual_seed(0), " + SCALED + ")[1]"}, "afresh"),
    "numpy's generator": (
        {DRAW: "torch.as_tensor(__import__('numpy').random.randn(*a_next.shape), dtype=torch.float32)"},
        "number for number"),
    "a_next changed in place": (
        {RESULT: "return a_next.add_(noise).clamp_(-max_action, max_action)"}, "in place"),
    "forgot return": ({RESULT: "(a_next + noise).clamp(-max_action, max_action)"}, "return"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {name: "lecture" for name in ("the lecture's normal_0 typo",
                                "the lecture's unscaled normal_(0, policy_noise), clip unscaled",
                                "the lecture notes' torch.randn(1, policy_noise)",
                                "one scalar noise for the batch")}
