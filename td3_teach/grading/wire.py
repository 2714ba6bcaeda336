"""What crosses between the probe (learner's process, in the sandbox) and the judge (outside):
data only, packed and unpacked here (see ``judge`` for the protocol and why).

* ``pack`` / ``unpack``: tensors as raw bytes with a dtype from a fixed list, numpy arrays of
  numbers, numbers, strings, lists, sets and dicts of them, ``torch.device``;
* ``Packer`` / ``Unpacker``: objects of the classes in ``allowed`` only, rebuilt from the
  package's (or torch's, numpy's) own class on the other side, with their state after a call
  merged back into the caller's objects;
* ``rng_state`` / ``torch_state``: the global random and torch state around a call;
* ``describe`` / ``answer``: the probe's half of one call of a learner's function.

No pickle: nothing from the probe is ever executed or imported.
"""

from __future__ import annotations

import base64
import inspect
import types
from typing import Any, Callable

MAX_WIDTH = 10_000  # a network rebuilt from its constructor arguments: no wider than this
DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool")


class Unpackable(TypeError):
    """A value that cannot cross between probe and judge (only data can)."""


# --------------------------------------------------------------------------- data across
def pack(x: Any, depth: int = 0) -> Any:
    """``x`` as JSON-able data: tensors by dtype, shape, bytes and requires_grad."""
    import numpy as np
    import torch

    if depth > 20:
        raise Unpackable("too deeply nested")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        return x.item()  # a numpy scalar (np.bool_, np.float32, ...) as the python number
    if isinstance(x, torch.Tensor):
        return _pack_tensor(x)
    if isinstance(x, np.ndarray):
        return {"__ndarray__": str(x.dtype), "shape": list(x.shape),
                "data": base64.b64encode(np.ascontiguousarray(x).tobytes()).decode()}
    if isinstance(x, (list, tuple)):
        return {"__seq__": type(x).__name__ if type(x) in (list, tuple) else "tuple",
                "items": [pack(v, depth + 1) for v in x]}
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        return {"__map__": {k: pack(v, depth + 1) for k, v in x.items()}}
    if isinstance(x, (set, frozenset)):
        return _pack_set(x)
    raise Unpackable(f"a {type(x).__name__}")


def _pack_set(x: Any) -> dict:
    """A set of numbers and strings (a prediction's answer: the inputs a step reads)."""
    items = list(x)[:1000]
    if not all(v is None or isinstance(v, (bool, int, float, str)) for v in items):
        raise Unpackable("a set of things other than numbers and strings")
    return {"__set__": type(x).__name__ if type(x) in (set, frozenset) else "set",
            "items": items}


def pack_result(x: Any) -> Any:
    """``pack``, or, for what cannot cross (a learner's own object), a record of its type name,
    so that the check still says "your function returned a Foo; expected a tensor"."""
    try:
        return pack(x)
    except Unpackable:
        return {"__opaque__": type(x).__name__[:80]}


def unpack(x: Any, depth: int = 0) -> Any:
    """The inverse of ``pack``; refuses anything that is not such data."""
    import numpy as np
    import torch

    if depth > 20:
        raise Unpackable("too deeply nested")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        raise Unpackable("a bare list")
    if not isinstance(x, dict):
        raise Unpackable(f"a {type(x).__name__}")
    if "__tensor__" in x:
        dtype = x["__tensor__"]
        if dtype not in DTYPES:
            raise Unpackable(f"dtype {dtype!r}")
        shape = [int(n) for n in x["shape"]]
        if x.get("device") == "meta":  # a tensor without data (step 4 asks for that device)
            return torch.empty(shape, dtype=getattr(torch, dtype), device="meta")
        raw = base64.b64decode(x["data"])
        if dtype == "bfloat16":
            t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=getattr(torch, dtype)) if raw else \
                torch.empty(0, dtype=getattr(torch, dtype))
        t = t.reshape(shape).clone()
        if x.get("device"):  # where the learner's code put it, where this process can
            try:
                t = t.to(torch.device(str(x["device"])[:20]))
            except (RuntimeError, TypeError, ValueError, AssertionError):
                pass
        if x.get("rg") and t.is_floating_point():
            t.requires_grad_(True)
        return t
    if "__ndarray__" in x:
        dtype = np.dtype(x["__ndarray__"])
        if dtype.kind not in "biuf":
            raise Unpackable(f"an array of dtype {dtype}")
        return np.frombuffer(base64.b64decode(x["data"]), dtype=dtype).reshape(x["shape"]).copy()
    if "__seq__" in x:
        items = [unpack(v, depth + 1) for v in x["items"]]
        return items if x["__seq__"] == "list" else tuple(items)
    if "__map__" in x:
        return {str(k): unpack(v, depth + 1) for k, v in x["__map__"].items()}
    if "__set__" in x:
        items = [v for v in list(x["items"])[:1000]
                 if v is None or isinstance(v, (bool, int, float, str))]
        return frozenset(items) if x["__set__"] == "frozenset" else set(items)
    if "__opaque__" in x:
        name = str(x["__opaque__"])
        return type(name if name.isidentifier() else "object", (), {})()
    raise Unpackable("an unknown record")


# --------------------------------------------------------------------------- objects across
def allowed() -> dict[str, dict[str, Any]]:
    """The package's and torch's classes whose objects cross as data, rebuilt from the class on
    the other side: networks by constructor arguments and parameters, optimizers by their state
    bound to the rebuilt parameters, the checks' agents and batches by their attributes, numpy's
    random generators by their bit generator's state."""
    import numpy as np
    import torch

    from ..checks._stand_in_agent import StandInAgent
    from ..checks.step01_replay_buffer import _RecordingBuffer
    from ..networks import Actor, Critic
    from ..replay_buffer import Batch
    return {
        "nets": {"Actor": (Actor, lambda m: [int(m.layer_1.in_features),
                                             int(m.layer_3.out_features), float(m.max_action)]),
                 # Critic(state_dim, action_dim) only uses the sum: the same layers either way
                 "Critic": (Critic, lambda m: [int(m.layer_1.in_features) - 1, 1])},
        "opts": {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam},
        "objects": {"SimpleNamespace": types.SimpleNamespace, "StandInAgent": StandInAgent,
                    "_RecordingBuffer": _RecordingBuffer},
        "tuples": {"Batch": Batch},
        "generators": {n: getattr(np.random, n) for n in ("PCG64", "PCG64DXSM", "MT19937",
                                                          "Philox", "SFC64")},
    }


def _pack_tensor(x: Any) -> dict:
    import torch

    dtype = str(x.dtype).replace("torch.", "")
    if dtype not in DTYPES:
        raise Unpackable(f"a tensor of dtype {x.dtype}")
    if x.device.type == "meta":
        return {"__tensor__": dtype, "shape": list(x.shape), "rg": bool(x.requires_grad),
                "device": "meta"}
    t = x.detach().cpu().contiguous()
    raw = t.view(torch.int16).numpy().tobytes() if dtype == "bfloat16" else t.numpy().tobytes()
    out = {"__tensor__": dtype, "shape": list(t.shape), "rg": bool(x.requires_grad),
           "data": base64.b64encode(raw).decode()}
    if x.device.type != "cpu":
        out["device"] = str(x.device)
    return out


class Packer:
    """Packs the values of one message. Plain data as ``pack`` does; besides, objects of the
    ``allowed`` classes go into tables by key (``tables``): every parameter (a network's, an
    optimizer's, or a leaf tensor that requires grad) once, with its value, ``requires_grad``,
    ``.grad`` and whether it has a ``grad_fn``; networks as class, constructor arguments and
    their parameters' keys; optimizers as class, param groups (hyperparameters and parameter
    keys) and state. A tensor with a graph crosses as its value plus the gradient of its sum
    with respect to each tabled parameter (``graph``), which is all the checks differentiate.
    ``known`` (object id -> key) gives objects that crossed before the keys they had."""

    def __init__(self, prefix: str, known: dict[int, str] | None = None,
                 arrays: dict[int, str] | None = None) -> None:
        self.prefix, self.known = prefix, dict(known or {})
        self.arrays = arrays or {}  # id of a numpy array -> its key (``Judge``'s shared arrays)
        self.keep: list[Any] = []  # keeps the objects keyed by id alive
        self.params: dict[str, dict] = {}
        self.nets: dict[str, dict] = {}
        self.opts: dict[str, dict] = {}
        self.tensors: dict[str, Any] = {}  # param key -> the tensor, for gradients
        self.graphs: list[tuple[dict, Any]] = []
        self.seen: dict[int, int] | None = None  # in ``result``: id of a tensor -> its number
        self.held: list[Any] = []
        self.allowed = allowed()

    def by_key(self) -> dict[str, Any]:
        """key -> object, for everything this packer keyed."""
        return {self.known[id(o)]: o for o in self.keep}

    def _key(self, obj: Any) -> tuple[str, bool]:
        key = self.known.get(id(obj))
        if key is None:
            key = f"{self.prefix}{len(self.known) + 1}"
            self.known[id(obj)] = key
        self.keep.append(obj)
        return key, key in self.params or key in self.nets or key in self.opts

    def param(self, p: Any, owner: list | None = None) -> str:
        key, seen = self._key(p)
        if not seen:
            grad = p.grad if p.is_leaf else None  # a non-leaf keeps no .grad
            self.params[key] = {"data": _pack_tensor(p), "rg": bool(p.requires_grad),
                                "gfn": p.grad_fn is not None, "owner": owner,
                                "grad": None if grad is None else _pack_tensor(grad)}
            self.tensors[key] = p
        return key

    def net(self, m: Any, name: str) -> str:
        key, seen = self._key(m)
        if not seen:
            rec = {"cls": name, "args": self.allowed["nets"][name][1](m),
                   "training": bool(m.training), "params": {}}
            self.nets[key] = rec
            for pname, p in m.named_parameters():
                rec["params"][pname] = self.param(p, [key, pname])
        return key

    def opt(self, o: Any, name: str) -> str:
        key, seen = self._key(o)
        if not seen:
            groups = []
            for g in o.param_groups:
                groups.append({"hyper": self.pack({k: v for k, v in g.items() if k != "params"}),
                               "params": [self.param(p) for p in g["params"]]})
            state = o.state_dict()["state"]
            self.opts[key] = {"cls": name, "groups": groups,
                              "state": [[int(i), self.pack({str(k): v for k, v in st.items()})]
                                        for i, st in state.items()]}
        return key

    def pack(self, x: Any, depth: int = 0) -> Any:
        import numpy as np
        import torch

        if depth > 20:
            raise Unpackable("too deeply nested")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, np.generic) and x.dtype.kind in "biuf":
            return x.item()
        if isinstance(x, Proxy) or (isinstance(x, type) and issubclass(x, Proxy)):
            return {"__handle__": int(x.__td3_handle__)}  # a learner's object, back to its own side
        if isinstance(x, torch.Tensor):
            if id(x) in self.known and self.known[id(x)] in self.params:
                return {"__ref__": self.known[id(x)]}
            if isinstance(x, torch.nn.Parameter) or (x.is_leaf and x.requires_grad):
                return {"__ref__": self.param(x)}
            number: dict[str, int] = {}
            if self.seen is not None:  # in a result: the same tensor twice stays one tensor
                if id(x) in self.seen:
                    return {"__again__": self.seen[id(x)]}
                self.seen[id(x)] = len(self.seen)
                self.held.append(x)
                number = {"n": self.seen[id(x)]}
            if x.grad_fn is not None:
                rec = {"__graph__": _pack_tensor(x), "grads": {}, **number}
                self.graphs.append((rec, x))
                return rec
            return {**_pack_tensor(x), **number}
        if isinstance(x, np.ndarray):
            if x.dtype.kind not in "biuf":
                raise Unpackable(f"an array of dtype {x.dtype}")
            arr: dict[str, Any] = {"__ndarray__": str(x.dtype), "shape": list(x.shape),
                                   "data": base64.b64encode(np.ascontiguousarray(x).tobytes()).decode()}
            if id(x) in self.arrays:
                arr["key"] = self.arrays[id(x)]
            return arr
        if isinstance(x, torch.device):
            return {"__device__": str(x)}
        if isinstance(x, np.random.Generator):
            bits = type(x.bit_generator).__name__
            if self.allowed["generators"].get(bits) is not type(x.bit_generator):
                raise Unpackable(f"a generator of {bits}")
            return {"__generator__": bits, "state": self.pack(x.bit_generator.state, depth + 1)}
        name = type(x).__name__
        if isinstance(x, torch.nn.Module):
            if self.allowed["nets"].get(name, (None,))[0] is not type(x):
                raise Unpackable(f"a {name} network")
            return {"__ref__": self.net(x, name)}
        if isinstance(x, torch.optim.Optimizer):
            if self.allowed["opts"].get(name) is not type(x):
                raise Unpackable(f"a {name} optimizer")
            return {"__ref__": self.opt(x, name)}
        if self.allowed["tuples"].get(name) is type(x):
            return {"__tuple__": name, "items": [self.pack(v, depth + 1) for v in x]}
        if self.allowed["objects"].get(name) is type(x):
            return {"__object__": name, "attrs": {str(k): self.pack(v, depth + 1)
                                                  for k, v in vars(x).items()}}
        if isinstance(x, (list, tuple)):
            return {"__seq__": type(x).__name__ if type(x) in (list, tuple) else "tuple",
                    "items": [self.pack(v, depth + 1) for v in x]}
        if isinstance(x, dict) and all(isinstance(k, str) for k in x):
            return {"__map__": {k: self.pack(v, depth + 1) for k, v in x.items()}}
        if isinstance(x, (set, frozenset)):
            return _pack_set(x)
        raise Unpackable(f"a {name}")

    def result(self, x: Any, register: Callable[[Any], dict] | None = None, depth: int = 0) -> Any:
        """``pack``, or, for what cannot cross (a learner's own object), a record of its type
        name, so that the check still says "your function returned a Foo"; inside a list or
        tuple, item by item. With ``register`` (the probe's ``Handles.add``) such an object
        also gets a handle and the names of its methods: the judge's stand-in for it calls
        them on the learner's object, where it stays."""
        if depth == 0:
            self.seen = {}
        try:
            return self.pack(x)
        except Unpackable:
            pass
        finally:
            if depth == 0:
                self.seen = None
        if type(x) in (list, tuple) and depth < 3 and len(x) <= 1000:
            return {"__seq__": type(x).__name__,
                    "items": [self.result(v, register, depth + 1) for v in x]}
        rec: dict[str, Any] = {"__opaque__": type(x).__name__[:80]}
        if register is not None and (isinstance(x, type) or not callable(x) or _is_module(x)):
            rec.update(register(x))
        return rec

    def tables(self) -> dict:
        """The tables, after the gradients of every graph tensor packed so far were taken."""
        import torch

        keys = [k for k, t in self.tensors.items() if t.requires_grad]
        for rec, t in self.graphs:
            if not keys or t.numel() == 0:
                continue
            try:
                with torch.enable_grad():
                    grads = torch.autograd.grad(t.sum(), [self.tensors[k] for k in keys],
                                                retain_graph=True, allow_unused=True)
            except RuntimeError:  # the graph was freed already (a loss after its backward)
                continue
            rec["grads"] = {k: _pack_tensor(g) for k, g in zip(keys, grads) if g is not None}
        return {"params": self.params, "nets": self.nets, "opts": self.opts}


class Unpacker:
    """The other side of ``Packer``: ``load(tables)`` builds the tabled objects from the
    package's own classes, or, for a key in ``known`` (key -> an object that crossed the other
    way before), puts the new state into that object; ``value`` unpacks a structure; ``merge``
    puts a packed structure's new contents into the objects it was packed from."""

    def __init__(self, known: dict[str, Any] | None = None,
                 arrays: dict[str, Any] | None = None,
                 resolve: Callable[[dict], Any] | None = None) -> None:
        self.objects: dict[str, Any] = dict(known or {})
        self.allowed = allowed()
        self.arrays = arrays  # key -> the array this side holds for it (``Handles.arrays``)
        self.resolve = resolve  # a handle's record -> the object it stands for here
        self.seen: dict[int, Any] = {}  # a tensor's number in the message -> the tensor

    def keys(self) -> dict[int, str]:
        return {id(v): k for k, v in self.objects.items()}

    def load(self, tables: Any) -> None:
        import torch

        if not isinstance(tables, dict):
            raise Unpackable("tables that are not a record")
        params, nets, opts = (dict(tables.get(k) or {}) for k in ("params", "nets", "opts"))
        for key, rec in nets.items():
            if key in self.objects:
                m = self.objects[key]
            else:
                cls = self.allowed["nets"].get(str(rec.get("cls")))
                if cls is None:
                    raise Unpackable(f"a network of class {str(rec.get('cls'))[:40]!r}")
                args = [float(a) if isinstance(a, float) else int(a) for a in rec["args"]][:3]
                if any(not 0 <= a <= MAX_WIDTH for a in args):  # the checks' sizes are small
                    raise Unpackable(f"a network of sizes {args}")
                with torch.random.fork_rng(devices=[]):  # no draw from anyone's generator
                    m = cls[0](*args)
                self.objects[key] = m
            m.train(bool(rec.get("training", True)))
            named = dict(m.named_parameters())
            for pname, pkey in dict(rec.get("params", {})).items():
                if pname in named and pkey not in self.objects:
                    self.objects[str(pkey)] = named[pname]
        for key, rec in params.items():
            self._param(str(key), rec)
        for key, rec in opts.items():
            self._opt(str(key), rec)

    def _param(self, key: str, rec: dict) -> None:
        import torch

        new = unpack(rec["data"])
        if not isinstance(new, torch.Tensor):
            raise Unpackable("a parameter that is not a tensor")
        new.requires_grad_(False)
        p = self.objects.get(key)
        if p is None:
            p = new
            self.objects[key] = p
        else:
            with torch.no_grad():
                if p.shape == new.shape and p.dtype == new.dtype:
                    if not torch.equal(p.detach(), new):
                        p.copy_(new)
                else:
                    p.data = new
        if p.is_leaf and p.requires_grad != bool(rec.get("rg")):
            if p.is_floating_point():
                p.requires_grad_(bool(rec.get("rg")))
        grad = rec.get("grad")
        try:
            p.grad = None if grad is None else unpack(grad).detach()
        except (RuntimeError, TypeError):
            p.grad = None
        if rec.get("gfn") and p.grad_fn is None and p.is_floating_point():
            # the parameter became part of an autograd graph there: make it so here too
            with torch.no_grad():
                p.requires_grad_(False)
            with torch.enable_grad():
                p.add_(torch.zeros((), dtype=p.dtype, requires_grad=True))

    def _opt(self, key: str, rec: dict) -> None:
        groups = []
        for g in list(rec.get("groups", [])):
            hyper = self.value(g.get("hyper", {"__map__": {}}))
            if not isinstance(hyper, dict):
                raise Unpackable("optimizer hyperparameters that are not a record")
            hyper.pop("params", None)
            groups.append((hyper, [self.objects[str(k)] for k in g.get("params", [])]))
        state = {int(i): self.value(st) for i, st in list(rec.get("state", []))}
        o = self.objects.get(key)
        if o is None:
            cls = self.allowed["opts"].get(str(rec.get("cls")))
            if cls is None:
                raise Unpackable(f"an optimizer of class {str(rec.get('cls'))[:40]!r}")
            o = cls([{"params": ps, **hyper} for hyper, ps in groups])
            self.objects[key] = o
        n = 0
        saved = []
        for hyper, ps in groups:
            saved.append({**hyper, "params": list(range(n, n + len(ps)))})
            n += len(ps)
        o.load_state_dict({"state": state, "param_groups": saved})

    def value(self, x: Any, depth: int = 0) -> Any:

        if depth > 20:
            raise Unpackable("too deeply nested")
        if isinstance(x, dict) and "__again__" in x:
            if not isinstance(x["__again__"], int) or x["__again__"] not in self.seen:
                raise Unpackable("a tensor that was not sent")
            return self.seen[x["__again__"]]
        if isinstance(x, dict) and isinstance(x.get("n"), int) and not isinstance(x["n"], bool) \
                and ("__graph__" in x or "__tensor__" in x):
            n = x["n"]
            t = self._value({k: v for k, v in x.items() if k != "n"}, depth)
            self.seen[n] = t
            return t
        return self._value(x, depth)

    def _value(self, x: Any, depth: int) -> Any:
        import numpy as np
        import torch

        if isinstance(x, dict):
            if "__handle__" in x:
                if self.resolve is None:
                    raise Unpackable("a handle where none is expected")
                return self.resolve(x)
            if "__ndarray__" in x and "key" in x and self.arrays is not None:
                key = str(x["key"])[:40]
                new = unpack(x)
                old = self.arrays.get(key)
                if old is not None and old.shape == new.shape and old.dtype == new.dtype:
                    np.copyto(old, new)  # the same array as before, as it is now
                    return old
                self.arrays[key] = new
                return new
            if "__ref__" in x:
                obj = self.objects.get(str(x["__ref__"]))
                if obj is None:
                    raise Unpackable("a reference to nothing")
                return obj
            if "__graph__" in x:
                value = unpack(x["__graph__"])
                # each term saves its parameter, as the original graph did: a parameter
                # changed in place before backward() fails backward() here too
                terms = [(self.objects[str(k)] * unpack(g).requires_grad_(True)).sum()
                         for k, g in dict(x.get("grads", {})).items()
                         if isinstance(self.objects.get(str(k)), torch.Tensor)]
                if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                    return value
                value = value.detach()
                if not terms or value.numel() == 0:
                    return value.requires_grad_(True)
                with torch.enable_grad():
                    total = sum(terms)
                    return value + ((total - total.detach()) / value.numel()).to(value.dtype)
            if "__device__" in x:
                try:
                    return torch.device(str(x["__device__"])[:20])
                except (RuntimeError, TypeError, ValueError):
                    raise Unpackable("a device") from None
            if "__generator__" in x:
                import numpy as np
                bits = self.allowed["generators"].get(str(x["__generator__"]))
                if bits is None:
                    raise Unpackable("a generator of unknown kind")
                g = np.random.Generator(bits())
                g.bit_generator.state = self.value(x["state"], depth + 1)
                return g
            if "__tuple__" in x:
                cls = self.allowed["tuples"].get(str(x["__tuple__"]))
                if cls is None:
                    raise Unpackable("a tuple of unknown kind")
                return cls(*[self.value(v, depth + 1) for v in x["items"]])
            if "__object__" in x:
                cls = self.allowed["objects"].get(str(x["__object__"]))
                if cls is None:
                    raise Unpackable("an object of unknown kind")
                obj = cls.__new__(cls)
                for k, v in dict(x["attrs"]).items():
                    if not str(k).isidentifier() or str(k).startswith("__"):
                        raise Unpackable(f"an attribute named {str(k)[:40]!r}")
                    setattr(obj, str(k), self.value(v, depth + 1))
                return obj
            if "__seq__" in x:
                items = [self.value(v, depth + 1) for v in x["items"]]
                return items if x["__seq__"] == "list" else tuple(items)
            if "__map__" in x:
                return {str(k): self.value(v, depth + 1) for k, v in x["__map__"].items()}
        return unpack(x, depth)

    def merge(self, orig: Any, after: Any, depth: int = 0) -> Any:
        """``orig`` with the contents ``after`` (packed from the object ``orig`` became on the
        other side) put into it; returns the object to keep (a new one where it cannot change in
        place, e.g. an array whose shape changed)."""
        import numpy as np
        import torch

        if depth > 20 or not isinstance(after, dict) or "__ref__" in after:
            return orig  # tabled objects got their state in load()
        if isinstance(orig, torch.Tensor):
            if orig.device.type == "meta":
                return orig  # no data to change
            new = self.value(after)
            with torch.no_grad():
                if isinstance(new, torch.Tensor) and new.shape == orig.shape \
                        and new.dtype == orig.dtype and new.device == orig.device:
                    if not torch.equal(new, orig.detach()):
                        orig.copy_(new)
                elif isinstance(new, torch.Tensor):
                    orig.data = new
            return orig
        if isinstance(orig, np.random.Generator) and "__generator__" in after:
            orig.bit_generator.state = self.value(after["state"], depth + 1)  # what was drawn
            return orig
        if isinstance(orig, np.ndarray):
            new = self.value(after)
            if isinstance(new, np.ndarray) and new.shape == orig.shape and new.dtype == orig.dtype:
                if orig.flags.writeable:
                    np.copyto(orig, new)
                return orig
            return new
        if isinstance(orig, dict) and "__map__" in after:
            now = dict(after["__map__"])
            for k in [k for k in orig if k not in now]:
                del orig[k]
            for k, v in now.items():
                orig[k] = self.merge(orig[k], v, depth + 1) if k in orig else self.value(v)
            return orig
        if isinstance(orig, list) and "__seq__" in after:
            items = list(after["items"])
            orig[:] = [self.merge(o, v, depth + 1) for o, v in zip(orig, items)] + \
                [self.value(v) for v in items[len(orig):]]
            return orig
        if isinstance(orig, tuple) and ("__seq__" in after or "__tuple__" in after):
            for o, v in zip(orig, after["items"]):
                self.merge(o, v, depth + 1)
            return orig
        if "__object__" in after and hasattr(orig, "__dict__"):
            for k, v in dict(after["attrs"]).items():
                if hasattr(orig, k):
                    new = self.merge(getattr(orig, k), v, depth + 1)
                    if new is not getattr(orig, k):
                        setattr(orig, k, new)
            return orig
        return orig


def rng_state() -> dict:
    """torch's, numpy's and ``random``'s global random state (a learner's code may draw)."""
    import random

    import numpy as np
    import torch
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {"torch": pack(torch.get_rng_state()),
            "numpy": [kind, pack(np.asarray(keys)), int(pos), int(has_gauss), float(cached)],
            "random": [int(version), [int(v) for v in internal], gauss]}


def set_rng_state(state: dict) -> None:
    import random

    import numpy as np
    import torch
    torch.set_rng_state(unpack(state["torch"]).to(torch.uint8))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((str(kind), unpack(keys).astype(np.uint32), int(pos), int(has_gauss),
                         float(cached)))
    if state.get("random"):
        version, internal, gauss = state["random"]
        random.setstate((int(version), tuple(int(v) for v in internal),
                         None if gauss is None else float(gauss)))


FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")


def torch_state() -> dict:
    """The global torch settings a check sets and a learner's code may change (``_guard``)."""
    import torch
    return {"dtype": str(torch.get_default_dtype()).replace("torch.", ""),
            "grad": bool(torch.is_grad_enabled()), "anomaly": bool(torch.is_anomaly_enabled())}


def set_torch_state(state: Any) -> None:
    import torch
    if not isinstance(state, dict):
        return
    if str(state.get("dtype")) in FLOAT_DTYPES:
        torch.set_default_dtype(getattr(torch, str(state["dtype"])))
    torch.set_grad_enabled(bool(state.get("grad", True)))
    torch.set_anomaly_enabled(bool(state.get("anomaly", False)))


WARNINGS = {"UserWarning": UserWarning, "RuntimeWarning": RuntimeWarning,
            "DeprecationWarning": DeprecationWarning, "FutureWarning": FutureWarning}


KEPT_DUNDERS = ("__len__", "__call__")  # the special methods a stand-in object answers


def methods_of(x: Any) -> list[str]:
    """The names of the methods of ``x`` (a class, or an object of one) that a check may call:
    those its classes define (not ``object``'s), and an object's callable attributes."""
    cls = x if isinstance(x, type) else type(x)
    names: list[str] = []
    try:
        for klass in cls.__mro__[:-1]:
            if str(klass.__module__).split(".")[0] in ("torch", "builtins"):
                continue  # nn.Module's own methods: the stand-in inherits them from nn.Module
            for name, v in list(vars(klass).items()):
                if (callable(v) or isinstance(v, (staticmethod, classmethod))) \
                        and name.isidentifier() and name not in names \
                        and (not name.startswith("__") or name in KEPT_DUNDERS):
                    names.append(name)
        if not isinstance(x, type) and isinstance(getattr(x, "__dict__", None), dict):
            names += [k for k, v in list(vars(x).items()) if isinstance(k, str)
                      and k.isidentifier() and not k.startswith("__") and callable(v)
                      and k not in names]
    except Exception:  # noqa: BLE001 - an odd class: no methods, the check will say so
        pass
    return names[:200]


def describe(fn: Any) -> dict:
    """What the judge's stand-in needs to look like the learner's function to a check: its
    name, its signature, and its code as data (``CodeFacts``: the names it uses, for the checks
    that say *which* mistake a wrong result is). For a class (the learner's ``ReplayBuffer``)
    or an object, ``kind`` says which, with its methods' names (``methods_of``) and, for a
    class, the signature of its ``__init__``."""
    from ..checks._code_facts import CodeFacts

    if isinstance(fn, type) or not callable(fn):
        params = None
        if isinstance(fn, type):
            try:
                params = [{"name": p.name, "kind": int(p.kind), "default": p.default is not p.empty}
                          for p in inspect.signature(getattr(fn, "__init__")).parameters.values()]
            except (TypeError, ValueError):
                params = None
        nested = []
        if isinstance(fn, type):  # local functions of its methods (a `def forward` nested in __init__)
            for f in list(vars(fn).values())[:200]:
                code = getattr(f, "__code__", None)
                if isinstance(code, types.CodeType):
                    nested += [str(c.co_name)[:80] for c in code.co_consts
                               if isinstance(c, types.CodeType)]
        return {"kind": "class" if isinstance(fn, type) else "object",
                "name": str(fn.__name__ if isinstance(fn, type) else type(fn).__name__)[:100],
                "params": params, "methods": methods_of(fn), "nested": nested[:50],
                "module": _is_module(fn)}
    if _is_module(fn):
        return {"kind": "object", "name": type(fn).__name__[:100], "methods": methods_of(fn),
                "module": True}
    try:
        params = [{"name": p.name, "kind": int(p.kind), "default": p.default is not p.empty}
                  for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        params = None
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    facts = CodeFacts.of(code).to_data() if isinstance(code, types.CodeType) else None
    return {"name": str(getattr(fn, "__name__", type(fn).__name__))[:100], "params": params,
            "code": facts}


def _is_module(x: Any) -> bool:
    """``x`` is an ``nn.Module`` (or, a class, a subclass of it): it crosses as a mirror."""
    import torch
    return issubclass(x, torch.nn.Module) if isinstance(x, type) else \
        isinstance(x, torch.nn.Module)


class Proxy:
    """Base of the judge's stand-ins for a learner's class or object that stays in the probe
    (``judge.Judge.stand_in``): it crosses back as its handle, ``__td3_handle__``."""

    __td3_handle__ = 0


class Handles:
    """The probe's side of one judged check: the learner's objects the judge knows by number
    (the functions and classes the check cell passed, and what their calls returned that is not
    data), and the numpy arrays the judge handed to their methods by key. An array that crossed
    before is the same array when it crosses again, and what the judge wrote into its own copy
    since is written into it first (``updates``): a buffer that kept a reference to the
    caller's array sees it change, as it would in one process."""

    def __init__(self) -> None:
        self.objs: dict[int, Any] = {}
        self.arrays: dict[str, Any] = {}
        self.mod_keys: dict[int, str] = {}  # id of a learner's module -> its key
        self.mods: dict[str, Any] = {}
        self.tensors: dict[str, Any] = {}  # key -> a parameter of those modules

    def add(self, x: Any) -> int:
        for h, o in self.objs.items():
            if o is x:
                return h
        h = len(self.objs) + 1
        self.objs[h] = x
        return h

    def register(self, x: Any) -> dict:
        """``x`` (a learner's object its code returned) kept here: the record of its handle,
        with its description and, for a network, its key among the mirrored modules."""
        rec = {**describe(x), "__handle__": self.add(x)}
        if _is_module(x):
            rec["module"] = self._module_key(x)
        return rec

    def _module_key(self, m: Any) -> str:
        key = self.mod_keys.get(id(m))
        if key is None:
            key = self.mod_keys[id(m)] = f"m{len(self.mod_keys) + 1}"
            self.mods[key] = m
        return key

    def _param_key(self, p: Any) -> str:
        for key, t in self.tensors.items():
            if t is p:
                return key
        key = f"h{len(self.tensors) + 1}"
        self.tensors[key] = p
        return key

    def modules(self) -> dict:
        """Every learner network kept here, as data the judge builds its mirror from
        (``judge.Judge.mirror``): per module its class name, training flag, ``nn.Linear``
        sizes, children and parameters (by key, with their storage address: parameters that
        share storage there share it in the mirror)."""
        out: dict[str, dict] = {}
        roots = {}
        todo = [(h, o) for h, o in self.objs.items() if _is_module(o) and not isinstance(o, type)]
        for h, m in todo:
            roots[self._module_key(m)] = {"handle": h, "methods": methods_of(m)}
        stack = [self.mods[k] for k in roots]
        while stack and len(out) < 500:
            m = stack.pop()
            key = self._module_key(m)
            if key in out:
                continue
            rec: dict[str, Any] = {"cls": type(m).__name__[:80], "training": bool(m.training),
                                   "params": [], "children": []}
            for name, p in list(vars(m).get("_parameters", {}).items())[:100]:  # in order
                rec["params"].append([str(name)[:80], None, 0] if p is None else
                                     [str(name)[:80], self._param_key(p), int(p.data_ptr())])
            for name, c in list(vars(m).get("_modules", {}).items())[:100]:
                if c is not None and _is_module(c):
                    rec["children"].append([str(name)[:80], self._module_key(c)])
                    stack.append(c)
            import torch
            if isinstance(m, torch.nn.Linear):
                rec["linear"] = [int(m.in_features), int(m.out_features)]
            out[key] = rec
        return {"mods": out, "roots": roots}

    def target(self, req: dict) -> Callable | None:
        """What a call request names: a handle's object, or one of its methods (looked up
        when called, so an attribute error is the learner's, like any other)."""
        obj = self.objs.get(int(req.get("handle", 0)))
        method = req.get("method")
        if obj is None or method is None:
            return obj
        method = str(method)
        if method == "__len__":
            return lambda: len(obj)
        if not method.isidentifier():
            return None
        return lambda *a, **k: getattr(obj, method)(*a, **k)

    def resolve(self, rec: dict) -> Any:
        obj = self.objs.get(int(rec.get("__handle__", 0)))
        if obj is None:
            raise Unpackable("a handle to nothing")
        return obj

    def update(self, updates: Any) -> None:
        import numpy as np
        for key, rec in dict(updates or {}).items():
            old, new = self.arrays.get(str(key)), unpack(rec)
            if old is not None and isinstance(new, np.ndarray) and old.shape == new.shape \
                    and old.dtype == new.dtype and old.flags.writeable:
                np.copyto(old, new)


def answer(req: dict, fn: Callable, invoke: Callable[[Callable, list, dict], dict],
           normalise: Callable[[], None] = lambda: None, handles: Handles | None = None) -> dict:
    """The probe's half of one call: rebuild the judge's objects from the request (``Unpacker``),
    take its random and torch state, ``invoke(fn, args, kwargs)`` (which returns ``{"type":
    "return", "value": v}``, ``{"type": "timeout"}`` or the description of what the learner's
    code raised), and answer with the result packed and the inputs' state after the call. With
    ``handles``, the learner's objects stay here and cross as handles (``Handles``)."""
    import warnings

    if handles is not None:
        handles.update(req.get("updates"))
    there = Unpacker(None if handles is None else handles.tensors,
                     arrays=None if handles is None else handles.arrays,
                     resolve=None if handles is None else handles.resolve)
    there.load(req.get("tables") or {})
    a, kw = there.value(req["args"]), there.value(req["kwargs"])
    if not isinstance(a, list) or not isinstance(kw, dict):
        raise Unpackable("a call without arguments")
    set_rng_state(req["rng"])
    normalise()
    set_torch_state(req.get("torch"))
    back = Packer("p", there.keys())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reply = invoke(fn, a, kw)
    if reply.get("type") == "return":
        reply["value"] = back.result(reply["value"], None if handles is None else handles.register)
    reply["torch"] = torch_state()
    normalise()
    try:  # what the call did to its inputs (tabled objects: their new state)
        reply["after"] = [back.result(x) for x in list(a) + list(kw.values())]
        if handles is not None and any(_is_module(o) for o in handles.objs.values()):
            reply["modules"] = handles.modules()  # the learner's networks, every parameter
            back.known.update({id(t): k for k, t in handles.tensors.items()})
            for t in list(handles.tensors.values()):
                back.param(t)
        reply["tables"] = back.tables()
    except Exception as e:  # noqa: BLE001 - e.g. an input turned into something odd
        reply = {"type": "raise", "ename": "Unpackable", "torch": reply["torch"],
                 "message": f"the grader could not read your function's inputs back: {e}"[:500]}
    reply["warnings"] = [[type(w.message).__name__, str(w.message)[:500]] for w in caught[:20]]
    reply["rng"] = rng_state()
    return reply
