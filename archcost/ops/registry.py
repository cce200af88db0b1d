"""The operator registry: the single extension point for operator semantics.

Each entry maps an op type (the ONNX name: ``Conv``, ``Gemm``, ...) in a domain
to a pure *rule*. A rule takes a read-only :class:`OpView` of one node and
returns an :class:`OpResult`: output shapes, named cost terms and a category.
Rules are written over plain arithmetic so that they run on ``int`` (the fast
path) and on SymPy expressions (the symbolic path) alike.

Which inputs hold parameters is declared per entry as *roles* (``weight``,
``bias``, ``norm``, ``buffer``); the analysis walk counts each parameter tensor
once by its role, so an initializer shared by several nodes is not counted twice.

Attribute defaults live in the entry (``defaults``) and nowhere else; a test
checks them against the ONNX operator schemas.

A rule never refuses a valid node for what it cannot know. It asks its view for a
fresh symbol (:meth:`OpView.symbol`) where a value is computed at run time, and
states where two dims must agree (:meth:`OpView.equal`), which proves, disproves
or records an assumption; both go to the analysis' :class:`~archcost.ledger.Ledger`,
so every output can say what is free and what was assumed. ``OpView.opset`` gives
the opset of the node's domain, for ops whose semantics changed between opsets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from archcost.categories import Category
from archcost.errors import LimitError, ShapeError, UnknownOpError
from archcost.ledger import Ledger, require_equal
from archcost.numeric import Count, is_concrete

Shape = tuple[Count, ...]

#: Parameter roles, in the order reports show them. ``weight + bias + norm`` is
#: the trainable total; ``buffer`` (BN running statistics) is not trainable.
PARAM_ROLES = ("weight", "bias", "norm", "buffer")
#: Deepest a symbolic size may nest (``floor((floor((H - 1)/2) - 1)/2)``...). SymPy recurses over
#: expressions and meets Python's recursion limit near 200 levels; real models stay under 20.
MAX_SYMBOLIC_DEPTH = 64
#: Input roles that are not parameters: activations and constants (shapes, axes, clip bounds).
OTHER_ROLES = ("x", "const")


# InputInfo, OpView and OpResult are immutable NamedTuples rather than frozen
# dataclasses: the walk makes several per node, and a frozen dataclass costs three
# to five times as much to construct (one object.__setattr__ per field).


class InputInfo(NamedTuple):
    """What a rule may know about one input tensor."""

    shape: Shape
    dtype: str = "float32"
    #: True when the tensor is stored data (an initializer), not computed at run time.
    is_initializer: bool = False
    #: Contents of a small integer constant, when known statically.
    value: tuple[Count, ...] | None = None
    #: The tensor's name, which names the symbols for contents only the run time knows.
    name: str = ""


_NO_DEFAULTS: Mapping[str, Any] = MappingProxyType({})


class OpView(NamedTuple):
    """A read-only view of one node, handed to its rule."""

    name: str
    op_type: str
    attrs: Mapping[str, Any]
    inputs: tuple[InputInfo | None, ...]
    defaults: Mapping[str, Any] = _NO_DEFAULTS
    #: Where the rule records the symbols it makes and the equalities it assumes.
    ledger: Ledger | None = None
    #: The opset version of the node's domain (0: not known, read as the newest).
    opset: int = 0

    def attr(self, key: str, default: Any = None) -> Any:
        """The attribute ``key``: the node's, else the registry default, else ``default``."""
        if key in self.attrs:
            return self.attrs[key]
        return self.defaults.get(key, default)

    def input(self, index: int) -> InputInfo:
        """Input ``index``; a missing required input is a :class:`ShapeError`."""
        if index >= len(self.inputs) or self.inputs[index] is None:
            raise ShapeError(f"{self.op_type} node {self.name!r} needs input {index}")
        info = self.inputs[index]
        assert info is not None
        return info

    def optional(self, index: int) -> InputInfo | None:
        """Input ``index``, or ``None`` when it is absent."""
        return self.inputs[index] if index < len(self.inputs) else None

    def fail(self, problem: str) -> ShapeError:
        """A :class:`ShapeError` about this node, ready to raise."""
        return ShapeError(f"{self.op_type} node {self.name!r}: {problem}")

    def equal(self, left: Count, right: Count, what: str) -> Count:
        """The dim two tensors must share: ``left`` and ``right`` proven equal, or assumed
        equal and recorded when symbols leave it open. Provably different is an error."""
        kept = require_equal(self.ledger, self.name, what, left, right)
        if kept is None:
            raise self.fail(f"{what}: {left} and {right} differ")
        return kept

    def symbol(self, role: str, origin: str, *, sign: str = "nonnegative", owner: str = "") -> Any:
        """A fresh symbol ``<owner>_<role>`` for a value only the run time knows; the owner is
        this node unless a tensor is named (symbols for a tensor's contents are the tensor's)."""
        if not owner:
            owner = self.name
            origin = f"node {self.name!r} ({self.op_type}): {origin}"
        if self.ledger is None:
            from archcost.ledger import identifier
            from archcost.symbols import run_time_symbol

            return run_time_symbol(identifier(f"{owner}_{role}"), sign)
        return self.ledger.symbol(owner, role, origin, sign=sign)


class OpResult(NamedTuple):
    """What a rule returns: shapes, named cost terms and the node's category."""

    outputs: tuple[Shape, ...]
    terms: Mapping[str, Count] = MappingProxyType({})
    category: Category = Category.OTHER
    #: Statically known contents of small integer outputs (shape arithmetic).
    values: tuple[tuple[Count, ...] | None, ...] = ()
    #: Output dtypes; ``None`` means "the same as the first input".
    dtypes: tuple[str, ...] | None = None


Rule = Callable[[OpView], OpResult]


@dataclass(frozen=True)
class OpEntry:
    """One registered operator."""

    op_type: str
    domain: str
    rule: Rule
    roles: tuple[str, ...]
    defaults: Mapping[str, Any]

    @property
    def doc(self) -> str:
        """The rule's docstring, which states its formula."""
        return self.rule.__doc__ or ""

    def role(self, index: int) -> str:
        """The role of input ``index``; inputs past the declared ones repeat the last role."""
        if not self.roles:
            return "x"
        return self.roles[min(index, len(self.roles) - 1)]


_REGISTRY: dict[tuple[str, str], OpEntry] = {}
#: Read-only view of every registered operator, keyed by ``(domain, op_type)``.
REGISTRY: Mapping[tuple[str, str], OpEntry] = MappingProxyType(_REGISTRY)


def register(
    op_type: str,
    *,
    roles: tuple[str, ...] = ("x",),
    defaults: Mapping[str, Any] | None = None,
    domain: str = "",
) -> Callable[[Rule], Rule]:
    """Register ``rule`` for ``op_type``; registering the same key twice is an error."""
    for role in roles:
        if role not in PARAM_ROLES and role not in OTHER_ROLES:
            raise ValueError(f"unknown input role {role!r} for {op_type}")

    def decorate(rule: Rule) -> Rule:
        key = (domain, op_type)
        if key in _REGISTRY:
            raise ValueError(f"operator {domain or 'ai.onnx'}::{op_type} is registered twice")
        _REGISTRY[key] = OpEntry(op_type, domain, rule, roles, MappingProxyType(dict(defaults or {})))
        return rule

    return decorate


def lookup(op_type: str, domain: str = "") -> OpEntry:
    """The entry for ``op_type``; a miss raises and names the operators that exist."""
    entry = _REGISTRY.get((domain, op_type))
    if entry is None:
        if domain in ("ai.onnx",):
            entry = _REGISTRY.get(("", op_type))
        if entry is None:
            known = sorted(t for d, t in _REGISTRY if d == domain)
            raise UnknownOpError(
                f"no cost rule for operator {op_type!r} (domain {domain or 'ai.onnx'!r}); "
                f"registered: {', '.join(known)}"
            )
    return entry


def find(op_type: str, domain: str = "") -> OpEntry | None:
    """The entry for ``op_type``, or ``None``."""
    entry = _REGISTRY.get((domain, op_type))
    if entry is None and domain == "ai.onnx":
        entry = _REGISTRY.get(("", op_type))
    return entry


def apply_rule(
    entry: OpEntry, name: str, attrs: Mapping[str, Any], inputs: tuple[InputInfo | None, ...],
    ledger: Ledger | None = None, opset: int = 0,
) -> OpResult:
    """Run ``entry``'s rule on one node; a rule's own crash becomes a :class:`ShapeError`."""
    view = OpView(name, entry.op_type, attrs, inputs, entry.defaults, ledger, opset)
    try:
        result = entry.rule(view)
    except (TypeError, ValueError, ZeroDivisionError, IndexError, KeyError) as err:
        raise ShapeError(f"{entry.op_type} node {name!r}: cannot infer its output ({err})") from err
    for shape in result.outputs:
        for dim in shape:
            if type(dim) is int and dim >= 0:
                continue  # the fast path's every dim: checked without a call
            # A constant from the file (a length of 0.5, a size of -3) can reach a rule's
            # arithmetic; such a dim must stop here, not flow on as a count.
            if isinstance(dim, (bool, float)) or (is_concrete(dim) and (not isinstance(dim, int) or dim < 0)):
                raise view.fail(f"an output shape [{', '.join(str(d) for d in shape)}] has a dim that "
                                "is not a whole number ≥ 0")
            if not is_concrete(dim) and _depth(dim) > MAX_SYMBOLIC_DEPTH:
                raise _too_deep(entry, name)
    for values in result.values:
        if values is None:
            continue
        for v in values:
            if type(v) is not int and not is_concrete(v) and _depth(v) > MAX_SYMBOLIC_DEPTH:
                raise _too_deep(entry, name)
    return result


def _depth(expr: Any) -> int:
    """How deeply a SymPy expression nests, counted with an explicit stack."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((arg, level + 1) for arg in getattr(node, "args", ()))
    return deepest


def _too_deep(entry: OpEntry, name: str) -> LimitError:
    return LimitError(f"{entry.op_type} node {name!r}: a symbolic size nests more than {MAX_SYMBOLIC_DEPTH} "
                      "levels deep (a long chain of strided ops on a free dim); bind the dim with --set "
                      "NAME=VALUE")
