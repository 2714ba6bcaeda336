"""The bug hunt's check: ``checks.bug_hunt(T3D, ReplayBuffer)``, taught in notebook 17.

Notebook 17 hands out the lecture's T3D listing with its bugs. This check counts the known bugs
still in it and names each one's class (what goes wrong, never the fix), and once none is left
runs the whole-agent check (``checks.agent``), so the count reaches zero only when the listing IS
TD3. A bug counts as present when its fingerprint is still in the source (most of them stop the
code before anything can be measured) or when running the code shows it.

Probe, then judge (as ``checks.agent``): the learner's process only records (``sources``: the
listing's source text; ``buffer_outcome``: what its ReplayBuffer did; the agent's records), and
``static_bugs_of``, ``buffer_bugs_of`` and the whole-agent check's judge decide.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import numpy as np

from ._core import CheckFailed, CheckPassed
from ._agent_probe import LocalSession, Session
from .agent import agent as agent_check

LABEL = "Bug hunt"

# The listing's bugs, in the order they appear in it: id -> the class of the bug, in words.
HUNT: dict[str, str] = {
    "buffer_four_lists": "ReplayBuffer.sample unpacks into more names than it builds lists",
    "buffer_copy_false": "ReplayBuffer.sample asks NumPy for arrays without a copy, which "
                         "NumPy 2 refuses for Python numbers",
    "head_width": "the critic's heads have the wrong width",
    "state_dict_uncalled": "a target is loaded from something that is not a state dict",
    "lowercase_critic": "a class is called by a name the notebook does not define",
    "comma_critic": "a typo turns an attribute access into a second argument",
    "max_action_unset": "train reads an attribute that __init__ never sets",
    "reshape_column": "select_action hands the actor the state in the wrong shape",
    "select_action_graph": "select_action records an autograd graph it never needs",
    "train_outside_class": "T3D has no train method",
    "normal_0": "step 6 calls a torch method that does not exist",
    "noise_into_batch": "step 6 writes its noise into the sampled actions",
    "noise_unscaled": "the target noise and its clip ignore max_action",
    "zero_dot_grad": "step 12 calls an optimizer method that does not exist",
    "grad_zero": "step 13 clears the gradients with a method that does not exist",
    "steo": "step 13 steps the optimizer with a method that does not exist",
    "local_counter": "the policy delay counts the iterations of one train call, not the agent's",
    "polyak_every_iteration": "the targets are averaged at every iteration, not only on delayed ones",
}


class BugHuntReport(CheckFailed):
    """How many known bugs remain, one line each."""

    label = "bugs remain"

    def __init__(self, remaining: list[str], extra: CheckFailed | None = None) -> None:
        self.remaining, self.extra = remaining, extra
        n = len(remaining)
        head = (f"{n} of the {len(HUNT)} known bugs remain" if n else
                f"0 of the {len(HUNT)} known bugs remain, but the listing is not TD3 yet: a "
                "mistake of another kind")
        super().__init__(LABEL, head + ":" if n else head + ".",
                         hint="Fix one, run its cell and this one again. The names say what goes "
                         "wrong, not where: read the listing with Algorithm 1 (notebook 16) next "
                         "to it.")

    def lines(self) -> list[tuple[str, str]]:
        rows = [("", self.problem)] + [("", f"• {HUNT[b]}") for b in self.remaining]
        if self.extra is not None:
            rows += [("The whole-agent check says", self.extra.problem)]
        return rows + [("Hint", self.hint)]


# --------------------------------------------------------------------------- reading the listing
def _source(obj: Any) -> str:
    from ..my_agent import AgentFileError, _source_of
    if obj is None:
        return ""
    try:
        return _source_of(obj)
    except (AgentFileError, OSError, TypeError, SyntaxError):
        return ""


def _code(src: str) -> str:
    """The source without comments (naive: the listing has no '#' inside strings)."""
    return "\n".join(re.sub(r"#.*", "", line) for line in src.splitlines())


def _train_of(T3D: Any) -> Any:
    train = getattr(T3D, "train", None)
    if train is None:  # the lecture's: a top-level function in its own cell
        init = getattr(T3D, "__init__", None)
        train = getattr(init, "__globals__", {}).get("train")
    return getattr(train, "__func__", train)


def _polyak_outside_delay(src: str) -> bool:
    """Whether a loop over zip(... .parameters() ...) that writes a target sits outside every
    ``if ... policy_freq ...`` block of train."""
    try:
        tree = ast.parse(src.strip() and __import__("textwrap").dedent(src))
    except SyntaxError:
        return False
    found = []

    def visit(node: ast.AST, in_delay: bool) -> None:
        for child in ast.iter_child_nodes(node):
            delay = in_delay or (isinstance(child, ast.If) and "policy_freq" in ast.unparse(child.test))
            if isinstance(child, ast.For) and "parameters" in ast.unparse(child.iter) \
                    and re.search(r"copy_|lerp_|mul_|add_", ast.unparse(child)):
                found.append(delay)
            visit(child, delay)

    visit(tree, False)
    return any(not d for d in found)


def sources(T3D: Any, ReplayBuffer: Any) -> dict:
    """What the bug hunt reads of the listing (the probe's record): the source of T3D's
    ``__init__``, ``select_action`` and ``train``, of the ``Critic`` it builds and of
    ``ReplayBuffer.sample``, and whether T3D has a ``train`` of its own."""
    init = getattr(T3D, "__init__", None)
    return {"init": _source(init), "select": _source(getattr(T3D, "select_action", None)),
            "train": _source(_train_of(T3D)),
            "critic": _source(getattr(init, "__globals__", {}).get("Critic")),
            "sample": _source(getattr(ReplayBuffer, "sample", None)),
            "has_train": getattr(T3D, "train", None) is not None}


def static_bugs(T3D: Any, ReplayBuffer: Any) -> set[str]:
    """The bugs whose fingerprint is still in the source."""
    return static_bugs_of(sources(T3D, ReplayBuffer))


def static_bugs_of(listing: dict) -> set[str]:
    """``static_bugs`` on the sources the probe read (``sources``)."""
    init = _code(str(listing.get("init") or ""))
    select = _code(str(listing.get("select") or ""))
    train_src = str(listing.get("train") or "")
    train = _code(train_src)
    critic = _code(str(listing.get("critic") or ""))
    sample = _code(str(listing.get("sample") or ""))
    found = set()
    rules = {
        "buffer_copy_false": (sample, r"copy\s*=\s*False"),
        "head_width": (critic, r"nn\.Linear\(\s*300\s*,\s*action_dim\s*\)"),
        "state_dict_uncalled": (init, r"load_state_dict\(\s*self\s*[.,]\s*\w+\.state_dict\s*\)"),
        "lowercase_critic": (init, r"=\s*critic\s*\("),
        "comma_critic": (init, r"self\s*,\s*critic\b"),
        "reshape_column": (select, r"reshape\(\s*-1\s*,\s*1\s*\)"),
        "normal_0": (train, r"\.normal_0\b"),
        "noise_into_batch": (train, r"Tensor\(\s*batch_actions\s*\)[\w.]*\.normal_"),
        "noise_unscaled": (train, r"clamp\(\s*-\s*noise_clip\s*,\s*noise_clip\s*\)"),
        "zero_dot_grad": (train, r"\.zero\.grad\("),
        "grad_zero": (train, r"\.grad_zero\("),
        "steo": (train, r"\.steo\("),
    }
    for bug, (src, pattern) in rules.items():
        if re.search(pattern, src):
            found.add(bug)
    if sample and _unpack_mismatch(sample):
        found.add("buffer_four_lists")
    if init and "self.max_action" in train and not re.search(r"self\.max_action\s*=", init):
        found.add("max_action_unset")
    if select and not re.search(r"no_grad|inference_mode", select):
        found.add("select_action_graph")
    if not listing.get("has_train"):
        found.add("train_outside_class")
    m = re.search(r"for\s+(\w+)\s+in\s+range\(\s*iterations\s*\)", train)
    if m and re.search(rf"if\s+{m.group(1)}\s*%\s*policy_freq", train):
        found.add("local_counter")
    if train and _polyak_outside_delay(train_src):
        found.add("polyak_every_iteration")
    return found


def _unpack_mismatch(src: str) -> bool:
    """``a, b, c = [], []``: more names than values, in one assignment."""
    try:
        tree = ast.parse(__import__("textwrap").dedent(src))
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            for t in node.targets:
                if isinstance(t, ast.Tuple) and len(t.elts) != len(node.value.elts):
                    return True
    return False


# --------------------------------------------------------------------------- running it
def buffer_outcome(ReplayBuffer: Any) -> dict:
    """Run the listing's replay memory (the probe's record): add transitions as the lecture's
    loop does (numpy states, a numpy action, a Python float reward and done), then sample; what
    it raised, or the shapes of what ``sample(8)`` returned."""
    if ReplayBuffer is None:
        return {"none": True}
    rng = np.random.default_rng(0)
    try:
        memory = ReplayBuffer()
        for _ in range(20):
            memory.add((rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32),
                        rng.uniform(-1, 1, size=2).astype(np.float32), float(rng.normal()), 0.0))
        out = memory.sample(8)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return {"raised": type(e).__name__[:80], "value_error": isinstance(e, ValueError),
                "message": str(e).splitlines()[0][:300] if str(e) else ""}
    shapes = [list(np.shape(x)) for x in out] if isinstance(out, (tuple, list)) and len(out) == 5 \
        else None
    return {"shapes": shapes}


def buffer_bugs(ReplayBuffer: Any) -> tuple[set[str], str | None]:
    """The bugs running the listing's replay memory shows, and any other problem it has."""
    return buffer_bugs_of(buffer_outcome(ReplayBuffer))


def buffer_bugs_of(rec: dict) -> tuple[set[str], str | None]:
    """``buffer_bugs`` on what the probe recorded (``buffer_outcome``)."""
    if rec.get("none"):
        return set(), None
    if rec.get("raised"):
        text = str(rec.get("message", ""))
        if rec.get("value_error"):
            if "not enough values to unpack" in text or "too many values to unpack" in text:
                return {"buffer_four_lists"}, None
            if "copy" in text:
                return {"buffer_copy_false"}, None
            return set(), f"ReplayBuffer raised ValueError: {text}"
        return set(), f"ReplayBuffer raised {rec['raised']}: {text}"
    shapes = rec.get("shapes")
    shapes = None if shapes is None else [tuple(x) for x in shapes]
    if shapes != [(8, 3), (8, 3), (8, 2), (8, 1), (8, 1)]:
        return set(), (f"ReplayBuffer.sample(8) returned shapes {shapes}; the listing's train "
                       "expects (states, next states, actions, rewards (8, 1), dones (8, 1)).")
    return set(), None


def _asked(session: Session, op: str) -> dict:
    rec = session.ask(op)
    if "oops" in rec or "raised" in rec:  # the probe's own reading failed: nothing to count
        return {}
    return rec


def bug_hunt(T3D: Any, ReplayBuffer: Any = None, seed: int = 0) -> CheckPassed:
    """Count the known bugs left in the lecture's listing (``T3D``, its ``train``, the ``Critic``
    it builds, and ``ReplayBuffer`` when given); pass when none is left and the agent matches the
    reference TD3 (``checks.agent``)."""
    session = T3D if isinstance(T3D, Session) else LocalSession(T3D, ReplayBuffer)
    if _asked(session, "describe")["none"]:
        raise CheckFailed(LABEL, "T3D is None. Did you run the listing's cells above?")
    present = static_bugs_of(_asked(session, "sources"))
    more, buffer_problem = buffer_bugs_of(_asked(session, "buffer"))
    present |= more
    failure = None
    try:
        passed = agent_check(session, seed=seed)
    except CheckFailed as e:
        failure, passed = e, None
        bug = getattr(e, "bug_id", None)
        if bug in HUNT:
            present.add(bug)
    remaining = [b for b in HUNT if b in present]
    if remaining or failure is not None or buffer_problem:
        extra = failure if not remaining else None
        if extra is None and buffer_problem and not remaining:
            extra = CheckFailed(LABEL, buffer_problem)
        raise BugHuntReport(remaining, extra)
    assert passed is not None  # no failure: the whole-agent check passed
    return CheckPassed(LABEL, f"0 of the {len(HUNT)} known bugs remain, and the listing is TD3: "
                       + passed.verified.split(": ", 1)[-1])
