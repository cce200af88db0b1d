"""Ops transformer exporters emit around LayerNormalization, GELU and attention:
Erf, Pow, Sqrt, Exp, Log, Neg, Reciprocal, Abs, Max, Min, Where, Equal, Less,
Greater, Not, Cast, Einsum.

Unary math costs ``activation_op`` (one per element, as fvcore and ptflops count
a transcendental); binary and ternary elementwise ops cost ``elementwise_op``
(one per output element). Einsum is a product like MatMul and costs ``mac``.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from functools import reduce

from archcost.categories import Category
from archcost.numeric import Count, is_concrete, prod, same
from archcost.ops.elementwise import binary, broadcast, comparison
from archcost.ops.registry import OpResult, OpView, register
from archcost.ops.tensor import cast_dtype


def _unary(view: OpView, ops_per_element: int) -> OpResult:
    shape = view.input(0).shape
    return OpResult(outputs=(shape,), terms={"activation_op": ops_per_element * prod(shape)})


@register("Erf")
def erf(view: OpView) -> OpResult:
    """Erf: activation_op = 1 per element."""
    return _unary(view, 1)


@register("Sqrt")
def sqrt(view: OpView) -> OpResult:
    """Sqrt: activation_op = 1 per element."""
    return _unary(view, 1)


@register("Exp")
def exp(view: OpView) -> OpResult:
    """Exp: activation_op = 1 per element."""
    return _unary(view, 1)


@register("Log")
def log(view: OpView) -> OpResult:
    """Log: activation_op = 1 per element."""
    return _unary(view, 1)


@register("Reciprocal")
def reciprocal(view: OpView) -> OpResult:
    """Reciprocal 1/x: activation_op = 1 per element."""
    return _unary(view, 1)


@register("Neg")
def neg(view: OpView) -> OpResult:
    """Neg: activation_op = 1 per element."""
    x = view.input(0)
    value = tuple(-v for v in x.value) if x.value is not None else None
    return OpResult(outputs=(x.shape,), terms={"activation_op": prod(x.shape)}, values=(value,))


@register("Abs")
def abs_(view: OpView) -> OpResult:
    """Abs: activation_op = 1 per element."""
    x = view.input(0)
    value = tuple(abs(v) for v in x.value) if x.value is not None else None
    return OpResult(outputs=(x.shape,), terms={"activation_op": prod(x.shape)}, values=(value,))


@register("Pow", roles=("x", "const"))
def pow_(view: OpView) -> OpResult:
    """Pow x^y (LayerNorm's square when y = 2): elementwise_op = 1 per output element."""
    return binary(view, None)


def _extreme(view: OpView, pick: Callable[[Count, Count], Count]) -> OpResult:
    """Variadic Max or Min: (n − 1) compares per output element; contents fold pairwise."""
    infos = [view.input(i) for i in range(len(view.inputs))]
    out = broadcast(view, *(i.shape for i in infos))
    value = None
    size = prod(out)
    if all(i.value is not None for i in infos) and isinstance(size, int):
        parts = [i.value for i in infos]
        if all(len(p) in (1, size) for p in parts):  # type: ignore[arg-type]
            value = tuple(reduce(pick, (p[k % len(p)] for p in parts))  # type: ignore[index,arg-type]
                          for k in range(size))
    return OpResult(outputs=(out,), terms={"elementwise_op": (len(infos) - 1) * size}, values=(value,))


def _larger(a: Count, b: Count) -> Count:
    if is_concrete(a) and is_concrete(b):
        return max(a, b)
    import sympy

    return sympy.Max(a, b)


def _smaller(a: Count, b: Count) -> Count:
    if is_concrete(a) and is_concrete(b):
        return min(a, b)
    import sympy

    return sympy.Min(a, b)


@register("Max")
def max_(view: OpView) -> OpResult:
    """Max of n tensors: elementwise_op = (n − 1) per output element (a compare each)."""
    return _extreme(view, _larger)


@register("Min")
def min_(view: OpView) -> OpResult:
    """Min of n tensors: elementwise_op = (n − 1) per output element (a compare each)."""
    return _extreme(view, _smaller)


@register("Equal", roles=("x", "const"))
def equal(view: OpView) -> OpResult:
    """Equal: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(same), "bool")


@register("Less", roles=("x", "const"))
def less(view: OpView) -> OpResult:
    """Less: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(lambda a, b: a < b), "bool")


@register("Greater", roles=("x", "const"))
def greater(view: OpView) -> OpResult:
    """Greater: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(lambda a, b: a > b), "bool")


@register("Not")
def not_(view: OpView) -> OpResult:
    """Not: elementwise_op = 1 per element; bool output."""
    x = view.input(0)
    value = tuple(int(not v) for v in x.value) if x.value is not None else None
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": prod(x.shape)}, values=(value,),
                    dtypes=("bool",))


@register("Where", roles=("const", "x", "x"))
def where(view: OpView) -> OpResult:
    """Where(cond, X, Y): elementwise_op = 1 per output element (a select)."""
    cond, x, y = view.input(0), view.input(1), view.input(2)
    out = broadcast(view, cond.shape, x.shape, y.shape)
    value = None
    size = prod(out)
    if cond.value is not None and x.value is not None and y.value is not None and isinstance(size, int):
        parts = [cond.value, x.value, y.value]
        if all(len(p) in (1, size) for p in parts):
            value = tuple(
                (x.value[i % len(x.value)] if cond.value[i % len(cond.value)] else y.value[i % len(y.value)])
                for i in range(size)
            )
    return OpResult(outputs=(out,), terms={"elementwise_op": size}, values=(value,),
                    dtypes=(x.dtype,))


@register("Cast", defaults={"saturate": 1})
def cast(view: OpView) -> OpResult:
    """Cast to the dtype ``to``: no cost (a conversion the convention does not count)."""
    x = view.input(0)
    dtype = cast_dtype(view)
    value = x.value
    if value is not None and dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16",
                                       "uint32", "uint64"):
        # Float contents (Fractions) truncate toward zero, as a C cast does.
        value = tuple(int(v) if not hasattr(v, "free_symbols") else v for v in value)
    return OpResult(outputs=(x.shape,), values=(value,), dtypes=(dtype,))


def _parse_einsum(view: OpView, ranks: list[int]) -> tuple[list[str], str]:
    """The equation's operand terms and output term, an ellipsis spelled out in letters the
    equation does not use (right-aligned, as the dims it stands for broadcast)."""
    equation = view.attr("equation")
    if isinstance(equation, bytes):
        equation = equation.decode()
    if not isinstance(equation, str):
        raise view.fail("the 'equation' attribute is required")
    text = equation.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    letters = set(string.ascii_letters)
    if len(terms) != len(ranks) or any(set(t.replace("...", "")) - letters for t in [*terms, rhs]):
        raise view.fail(f"equation {equation!r} does not match {len(ranks)} operand(s)")
    spare = [c for c in string.ascii_letters if c not in text]
    widths = [rank - len(t.replace("...", "")) if "..." in t else 0 for t, rank in zip(terms, ranks, strict=True)]
    width = max(widths, default=0)
    if width > len(spare) or any(w < 0 for w in widths):
        raise view.fail(f"equation {equation!r} does not match operand ranks {ranks}")
    ellipsis = "".join(spare[:width])
    terms = [t.replace("...", ellipsis[width - w:]) for t, w in zip(terms, widths, strict=True)]
    if not arrow:
        counts = {c: "".join(terms).count(c) for c in "".join(terms) if c not in ellipsis}
        rhs = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        rhs = rhs.replace("...", ellipsis)
    return terms, rhs


@register("Einsum", roles=("weight", "weight"))
def einsum(view: OpView) -> OpResult:
    """Einsum, contracted left to right one pair at a time.

    * mac = Σ over pairwise products of (product of the sizes of every index in
      the pair): ``bhid,bhjd->bhij`` gives B·H·I·J·D, as MatMul does.
    * A single operand (a transpose or a sum) has no mac; summing indices away
      costs elementwise_op = its element count.

    Either operand stored → fully connected; all computed → attention matmul.
    """
    inputs = [view.input(i) for i in range(len(view.inputs))]
    terms, rhs = _parse_einsum(view, [len(i.shape) for i in inputs])
    sizes: dict[str, Count] = {}
    for term, info in zip(terms, inputs, strict=True):
        if len(term) != len(info.shape):
            raise view.fail(f"operand {term!r} does not match shape {list(info.shape)}")
        for letter, dim in zip(term, info.shape, strict=True):
            known = sizes.get(letter)
            if known is None or same(known, 1) is True:
                sizes[letter] = dim
            elif same(dim, 1) is not True:
                sizes[letter] = view.equal(known, dim, f"index {letter!r} has one size")
    if set(rhs) - set(sizes):
        raise view.fail(f"output indices {rhs!r} do not all appear in the inputs")
    macs: Count = 0
    current = terms[0]
    for i, term in enumerate(terms[1:], start=1):
        later = set(rhs).union(*terms[i + 1:])
        union = "".join(dict.fromkeys(current + term))
        macs = macs + prod(sizes[c] for c in union)
        current = "".join(c for c in union if c in later)
    out = tuple(sizes[c] for c in rhs)
    cost = {"mac": macs} if len(terms) > 1 else {}
    if len(terms) == 1 and set(terms[0]) - set(rhs):
        cost = {"elementwise_op": prod(inputs[0].shape)}
    stored = any(info.is_initializer for info in inputs)
    category = Category.OTHER
    if len(terms) > 1:
        category = Category.FULLY_CONNECTED if stored else Category.ATTENTION_MATMUL
    return OpResult(outputs=(out,), terms=cost, category=category)
