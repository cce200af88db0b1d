"""Ops transformer exporters emit around LayerNormalization, GELU and attention:
Erf, Pow, Sqrt, Exp, Log, Neg, Reciprocal, Abs, Max, Min, Where, Equal, Less,
Greater, Not, Cast, Einsum.

Unary math costs ``activation_op`` (one per element, as fvcore and ptflops count
a transcendental); binary and ternary elementwise ops cost ``elementwise_op``
(one per output element). Einsum is a product like MatMul and costs ``mac``.
"""

from __future__ import annotations

import string

from archcost.categories import Category
from archcost.numeric import Count, decide, prod
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
    return _unary(view, 1)


@register("Pow", roles=("x", "const"))
def pow_(view: OpView) -> OpResult:
    """Pow x^y (LayerNorm's square when y = 2): elementwise_op = 1 per output element."""
    return binary(view, None)


@register("Max")
def max_(view: OpView) -> OpResult:
    """Max of two tensors: elementwise_op = 1 per output element (a compare)."""
    if len(view.inputs) != 2:
        raise view.fail("only the two-input form is supported")
    return binary(view, lambda a, b: a if decide(a >= b) else b)


@register("Min")
def min_(view: OpView) -> OpResult:
    """Min of two tensors: elementwise_op = 1 per output element (a compare)."""
    if len(view.inputs) != 2:
        raise view.fail("only the two-input form is supported")
    return binary(view, lambda a, b: a if decide(a <= b) else b)


@register("Equal", roles=("x", "const"))
def equal(view: OpView) -> OpResult:
    """Equal: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(lambda a, b: a == b), "bool")


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


def _parse_einsum(view: OpView, operands: int) -> tuple[list[str], str]:
    equation = view.attr("equation")
    if isinstance(equation, bytes):
        equation = equation.decode()
    if not isinstance(equation, str):
        raise view.fail("the 'equation' attribute is required")
    text = equation.replace(" ", "")
    if "." in text:
        raise view.fail(f"equation {equation!r}: ellipsis ('...') is not supported")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    letters = set(string.ascii_letters)
    if len(terms) != operands or any(set(t) - letters for t in [*terms, rhs]):
        raise view.fail(f"equation {equation!r} does not match {operands} operand(s)")
    if not arrow:
        counts = {c: lhs.count(c) for c in lhs if c in letters}
        rhs = "".join(sorted(c for c, n in counts.items() if n == 1))
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
    terms, rhs = _parse_einsum(view, len(inputs))
    sizes: dict[str, Count] = {}
    for term, info in zip(terms, inputs, strict=True):
        if len(term) != len(info.shape):
            raise view.fail(f"operand {term!r} does not match shape {list(info.shape)}")
        for letter, dim in zip(term, info.shape, strict=True):
            known = sizes.get(letter)
            if known is None or decide(known == 1):
                sizes[letter] = dim
            elif decide(dim == 1) is not True and decide(dim == known) is False:
                raise view.fail(f"index {letter!r} has sizes {known} and {dim}")
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
