"""Matrix products: Gemm and MatMul.

MACs are the product of the output dims times the reduction dim. A product
with a stored (initializer) operand is a fully connected layer; a product of
two activations (attention's QKᵀ and AV) is an attention matmul.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import prod
from archcost.ops.elementwise import broadcast
from archcost.ops.registry import OpResult, OpView, register


@register(
    "Gemm",
    roles=("x", "weight", "bias"),
    defaults={"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0},
)
def gemm(view: OpView) -> OpResult:
    """Gemm: Y = αA'B' + βC, A' ``[M, K]``, B' ``[K, N]``.

    * mac = M · N · K (a fully connected layer: inputs × outputs per sample);
    * bias_add = M · N when C is given.
    """
    a, b, c = view.input(0), view.input(1), view.optional(2)
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise view.fail(f"inputs must be rank 2, got {list(a.shape)} and {list(b.shape)}")
    m, k = (a.shape[1], a.shape[0]) if view.attr("transA") else a.shape
    k_b, n = (b.shape[1], b.shape[0]) if view.attr("transB") else b.shape
    k = view.equal(k, k_b, f"inner dims of A' [{m}, {k}] and B' [{k_b}, {n}] agree")
    terms = {"mac": m * n * k}
    if c is not None:
        terms["bias_add"] = m * n
    stored = a.is_initializer or b.is_initializer
    return OpResult(
        outputs=((m, n),),
        terms=terms,
        category=Category.FULLY_CONNECTED if stored else Category.ATTENTION_MATMUL,
    )


@register("MatMul", roles=("weight", "weight"))
def matmul(view: OpView) -> OpResult:
    """MatMul with NumPy semantics: ``[..., n, k] @ [..., k, m]``.

    * mac = (product of the broadcast batch dims) · n · m · k.

    Either operand stored → fully connected; both computed → attention matmul.
    """
    a, b = view.input(0), view.input(1)
    if not a.shape or not b.shape:
        raise view.fail("MatMul inputs must have rank ≥ 1")
    a_shape = (1, *a.shape) if len(a.shape) == 1 else a.shape
    b_shape = (*b.shape, 1) if len(b.shape) == 1 else b.shape
    n, k = a_shape[-2:]
    k_b, m = b_shape[-2:]
    k = view.equal(k, k_b, f"inner dims of {list(a.shape)} @ {list(b.shape)} agree")
    batch = broadcast(view, a_shape[:-2], b_shape[:-2])
    out = [*batch, n, m]
    if len(a.shape) == 1:
        del out[-2]
    if len(b.shape) == 1:
        del out[-1]
    stored = a.is_initializer or b.is_initializer
    return OpResult(
        outputs=(tuple(out),),
        terms={"mac": prod(batch) * n * m * k},
        category=Category.FULLY_CONNECTED if stored else Category.ATTENTION_MATMUL,
    )
