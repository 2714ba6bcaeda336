"""Step 3's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""

from torch import nn

from td3_teach import checks

Q1_RETURN = "return self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(sa)))))"
FORWARD = '''    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s (B, state_dim), a (B, action_dim) -> q1 (B, 1), q2 (B, 1)."""
        ### BEGIN SOLUTION
        sa = torch.cat([s, a], dim=1)
        q1 = self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(sa)))))
        q2 = self.layer_6(F.relu(self.layer_5(F.relu(self.layer_4(sa)))))
        return q1, q2
        ### END SOLUTION
'''


MUTATIONS = {
    "the lecture's nn.Linear(300, action_dim)": (
        {"nn.Linear(300, 1)": "nn.Linear(300, action_dim)"}, "ONE number"),
    "first layer takes the state alone": (
        {"nn.Linear(state_dim + action_dim, 400)": "nn.Linear(state_dim, 400)"}, "state alone"),
    "heads share a layer": (
        {"self.layer_5(F.relu(self.layer_4(sa)))": "self.layer_5(F.relu(self.layer_1(sa)))"},
        "not independent"),
    "one shared trunk with two outputs": (
        {"self.layer_5(F.relu(self.layer_4(sa)))": "self.layer_2(F.relu(self.layer_1(sa)))"},
        "not independent"),
    "heads start from the same weights": (
        {"self.layer_6 = nn.Linear(300, 1)":
         "self.layer_6 = nn.Linear(300, 1)\n"
         "        for mine, theirs in ((self.layer_4, self.layer_1), (self.layer_5, self.layer_2),"
         " (self.layer_6, self.layer_3)):\n"
         "            mine.load_state_dict(theirs.state_dict())"}, "same weights"),
    "Q1 uses head 2": (
        {Q1_RETURN: "return self.layer_6(F.relu(self.layer_5(F.relu(self.layer_4(sa)))))"},
        "second head"),
    "concatenated along dim 0": ({"torch.cat([s, a], dim=1)": "torch.cat([s, a], dim=0)"}, "dim=1"),
    "concatenated (a, s)": ({"torch.cat([s, a], dim=1)": "torch.cat([a, s], dim=1)"}, "(a, s)"),
    "returns only q1": ({"return q1, q2": "return q1"}, "one tensor"),
    "returns one (B, 2) tensor": ({"return q1, q2": "return torch.cat([q1, q2], dim=1)"}, "one tensor"),
    "returns q1 twice": ({"return q1, q2": "return q1, q1"}, "same tensor twice"),
    "ReLU after the output layer": (
        {"q1 = self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(sa)))))":
         "q1 = F.relu(self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(sa))))))"}, "none after the last"),
    "detached values": ({"return q1, q2": "return q1.detach(), q2.detach()"}, "without gradients"),
    "no Q1 method": ({"def Q1(": "def q1_value("}, "no Q1 method"),
    "forward indented inside __init__ (the lecture notes' slip)": (
        {FORWARD: "\n".join(("    " + line) if line else line for line in FORWARD.split("\n"))},
        "indented inside __init__"),
    "not an nn.Module": ({"class Critic(nn.Module):": "class Critic:"}, "nn.Module"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {name: "lecture" for name in ("the lecture's nn.Linear(300, action_dim)",
                                "forward indented inside __init__ (the lecture notes' slip)")}


def test_step03_check_accepts_sequential_heads():
    import torch

    class Critic(nn.Module):
        def __init__(self, state_dim, action_dim):
            super().__init__()
            def head():
                return nn.Sequential(nn.Linear(state_dim + action_dim, 400), nn.ReLU(),
                                     nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 1))
            self.q1_net, self.q2_net = head(), head()

        def forward(self, s, a):
            sa = torch.cat((s, a), -1)
            return self.q1_net(sa), self.q2_net(sa)

        def Q1(self, s, a):  # noqa: N802
            return self.q1_net(torch.cat((s, a), -1))

    assert checks.step03(Critic, seed=5)
