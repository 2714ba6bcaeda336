"""Step 2's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""

from torch import nn

from td3_teach import checks
from step_contracts import solution

OUTPUT = "return self.max_action * torch.tanh(self.layer_3(x))"
DEEPCOPY = "target = copy.deepcopy(net)"


def test_step02_check_passes_the_actor_alone():
    assert "make_target" not in checks.step02(solution(2)["Actor"]).text()


MUTATIONS = {
    # the actor
    "the lecture's layer_3(x) * tanh(max_action), float max_action": (
        {OUTPUT: "return self.layer_3(x) * torch.tanh(self.max_action)"}, "lecture"),
    "the lecture's layer_3(x) * tanh(max_action), tensor max_action": (
        {OUTPUT: "return self.layer_3(x) * torch.tanh(torch.tensor(self.max_action))"}, "lecture"),
    "no tanh": ({OUTPUT: "return self.max_action * self.layer_3(x)"}, "no tanh"),
    "no max_action scaling": ({OUTPUT: "return torch.tanh(self.layer_3(x))"}, "not scaled"),
    "clamp instead of tanh": (
        {OUTPUT: "return (self.max_action * self.layer_3(x)).clamp(-self.max_action, self.max_action)"},
        "instead of squashing"),
    "no ReLU on the second layer": ({"x = F.relu(self.layer_2(x))": "x = self.layer_2(x)"}, "relu"),
    "tanh hidden activations": ({"x = F.relu(": "x = torch.tanh("}, "activations"),
    "hidden layer 400 -> 400": (
        {"nn.Linear(400, 300)": "nn.Linear(400, 400)", "nn.Linear(300, action_dim)": "nn.Linear(400, action_dim)"},
        "Linear(400, 300)"),
    "one output instead of action_dim": (
        {"nn.Linear(300, action_dim)": "nn.Linear(300, 1)"}, "action_dim"),
    "a fourth layer": (
        {"self.max_action = max_action": "self.max_action = max_action\n        self.layer_4 = nn.Linear(300, 300)"},
        "4 nn.Linear"),
    "detached hidden layer": ({"x = F.relu(self.layer_1(s))": "x = F.relu(self.layer_1(s)).detach()"},
                              "gradient"),
    "not an nn.Module": ({"class Actor(nn.Module):": "class Actor:"}, "nn.Module"),
    "forgot super().__init__()": ({"super().__init__()\n": ""}, "super().__init__()"),
    "forward indented inside __init__ (the lecture notes' slip)": (
        {"    def forward(self, s: torch.Tensor) -> torch.Tensor:":
         "        def forward(self, s: torch.Tensor) -> torch.Tensor:",
         '        """s (B, state_dim) -> a (B, action_dim), every entry in [-max_action, max_action]."""':
         '            """s (B, state_dim) -> a (B, action_dim), every entry in [-max_action, max_action]."""',
         "        x = F.relu(self.layer_1(s))\n        x = F.relu(self.layer_2(x))\n        return":
         "            x = F.relu(self.layer_1(s))\n            x = F.relu(self.layer_2(x))\n            return"},
        "indented inside __init__"),
    # make_target
    "the lecture's load_state_dict(net.state_dict) without the call": (
        {DEEPCOPY: DEEPCOPY + "\n    target.load_state_dict(net.state_dict)"}, "state_dict is a method"),
    "returns the network itself": ({DEEPCOPY: "target = net"}, "itself"),
    "shallow copy.copy shares tensors": ({DEEPCOPY: "target = copy.copy(net)"}, "shares tensors"),
    "parameters aliased by .data": (
        {DEEPCOPY: DEEPCOPY + "\n    for t, p in zip(target.parameters(), net.parameters()):\n"
         "        t.data = p.data"}, "shares tensors"),
    "a fresh network: different weights": (
        {DEEPCOPY: "target = Actor(net.layer_1.in_features, net.layer_3.out_features, net.max_action)"},
        "weights differ"),
    "target not frozen": ({"target.requires_grad_(False)": "pass"}, "still require gradients"),
    "froze the online network": (
        {"target.requires_grad_(False)": "net.requires_grad_(False)"}, "froze the actor"),
    "forgot return in make_target": ({"return target": "target"}, "return"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {name: "lecture" for name in ("the lecture's layer_3(x) * tanh(max_action), float max_action",
                                "the lecture's layer_3(x) * tanh(max_action), tensor max_action",
                                "the lecture's load_state_dict(net.state_dict) without the call",
                                "forward indented inside __init__ (the lecture notes' slip)")}


def test_step02_check_accepts_a_sequential_actor():
    import copy

    import torch

    class Actor(nn.Module):
        def __init__(self, state_dim, action_dim, max_action):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(state_dim, 400), nn.ReLU(), nn.Linear(400, 300),
                                     nn.ReLU(), nn.Linear(300, action_dim), nn.Tanh())
            self.register_buffer("scale", torch.tensor(float(max_action)))

        def forward(self, s):
            return self.scale * self.net(s)

    def make_target(net):
        target = copy.deepcopy(net)
        for p in target.parameters():
            p.requires_grad = False
        return target

    assert checks.step02(Actor, make_target, seed=2)
