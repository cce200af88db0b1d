"""The most common ``com.microsoft`` fused ops that onnxruntime's optimizer writes.

Formulas follow the operator definitions in onnxruntime's
``docs/ContribOperators.md``, and count exactly what the unfused graph would:
a fused op costs the sum of the ops it replaces.

Notation: B batch, S sequence length, L key length (past + current), N heads,
N_kv key/value heads, d head size, h hidden size.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import Count, exact_div, prod
from archcost.ops.conv import conv
from archcost.ops.gemm import matmul
from archcost.ops.registry import InputInfo, OpResult, OpView, register

MS = "com.microsoft"

#: activation_op per element of FusedConv's ``activation`` (as the standalone ops count).
_FUSED_ACTIVATIONS = {"Relu": 1, "Tanh": 1, "Sigmoid": 3, "LeakyRelu": 2, "Clip": 1,
                      "HardSigmoid": 3}


def _heads(view: OpView, key: str = "num_heads") -> Count:
    value = view.attr(key)
    if not isinstance(value, int) or value < 1:
        raise view.fail(f"the {key!r} attribute must be a positive integer")
    return value


@register("FusedConv", domain=MS, roles=("x", "weight", "bias", "x"),
          defaults={"group": 1, "auto_pad": "NOTSET"})
def fused_conv(view: OpView) -> OpResult:
    """FusedConv(X, W, B, Z): Conv's count (mac = B · N · H_out · W_out · (M/g) · K_h · K_w,
    bias_add), plus elementwise_op = 1 per output element for the sum input Z, plus the
    ``activation``'s per-element count (Relu 1, Sigmoid 3, LeakyRelu 2, ...).
    """
    inner = OpView(view.name, "Conv", view.attrs, (view.input(0), view.input(1), view.optional(2)),
                   view.defaults)
    result = conv(inner)
    out = prod(result.outputs[0])
    terms = dict(result.terms)
    if view.optional(3) is not None:
        terms["elementwise_op"] = out
    act = view.attr("activation")
    act = act.decode() if isinstance(act, bytes) else act
    if act:
        terms["activation_op"] = _FUSED_ACTIVATIONS.get(act, 1) * out
    return OpResult(outputs=result.outputs, terms=terms, category=result.category)


@register("FusedMatMul", domain=MS, roles=("weight", "weight"),
          defaults={"alpha": 1.0, "transA": 0, "transB": 0, "transBatchA": 0, "transBatchB": 0})
def fused_matmul(view: OpView) -> OpResult:
    """FusedMatMul: α · op(A) · op(B), with the last two dims of A or B transposed;
    MatMul's count, mac = (batch) · n · m · k (the α scale is folded).
    """
    a, b = view.input(0), view.input(1)
    if view.attr("transBatchA") or view.attr("transBatchB"):
        raise view.fail("transBatchA / transBatchB are not supported")
    a = _swap_last(a) if view.attr("transA") else a
    b = _swap_last(b) if view.attr("transB") else b
    return matmul(OpView(view.name, "MatMul", {}, (a, b)))


def _swap_last(info: InputInfo) -> InputInfo:
    """``info`` with its last two dims exchanged (a transposed operand)."""
    if len(info.shape) < 2:
        return info
    s = info.shape
    return InputInfo((*s[:-2], s[-1], s[-2]), info.dtype, info.is_initializer)


def _attention_terms(b: Count, n: Count, s: Count, total: Count, d: Count, d_v: Count) -> dict[str, Count]:
    return {"mac": b * n * s * total * (d + d_v), "softmax_op": 3 * b * n * s * total}


@register("Attention", domain=MS, roles=("x", "weight", "bias", "const", "x", "const", "const"))
def ms_attention(view: OpView) -> OpResult:
    """Attention(input ``[B, S, h_in]``, weights ``[h_in, h_q + h_k + h_v]``, bias, mask, past):

    * mac = B · S · h_in · (h_q + h_k + h_v) (the packed QKV projection)
      + B · N · S · L · (d + d_v) (QKᵀ and the probabilities times V), L = past + S;
    * bias_add = B · S · (h_q + h_k + h_v) with a bias; softmax_op = 3 · B · N · S · L.

    Output ``[B, S, h_v]``; present ``[2, B, N, L, d]``.
    """
    x, w = view.input(0), view.input(1)
    n = _heads(view)
    if len(x.shape) != 3 or len(w.shape) != 2:
        raise view.fail(f"input {list(x.shape)} must be rank 3 and weights {list(w.shape)} rank 2")
    b, s, h_in = x.shape
    sizes = view.attr("qkv_hidden_sizes")
    if sizes:
        h_q, _, h_v = sizes
    else:
        h_q = h_v = exact_div(w.shape[1], 3)
    d, d_v = exact_div(h_q, n), exact_div(h_v, n)
    past = view.optional(4)
    total = s + (past.shape[3] if past is not None and len(past.shape) == 5 else 0)
    terms = _attention_terms(b, n, s, total, d, d_v)
    terms["mac"] = terms["mac"] + b * s * h_in * w.shape[1]
    if view.optional(2) is not None:
        terms["bias_add"] = b * s * w.shape[1]
    return OpResult(outputs=((b, s, h_v), (2, b, n, total, d)), terms=terms,
                    category=Category.ATTENTION_MATMUL)


@register("MultiHeadAttention", domain=MS, roles=("x", "x", "x", "bias", "const", "const", "x", "x"))
def multi_head_attention(view: OpView) -> OpResult:
    """MultiHeadAttention(query ``[B, S, h]``, key ``[B, L, h]`` or ``[B, N, L, d]``, value):
    the projections are outside the op.

    * mac = B · N · S · L · (d + d_v), L = past + key length;
    * softmax_op = 3 · B · N · S · L; bias_add = B · (S·h + L·h + L·h_v) with a bias.

    Output ``[B, S, h_v]``; present_key ``[B, N, L, d]``, present_value ``[B, N, L, d_v]``.
    """
    q = view.input(0)
    k, v = view.optional(1), view.optional(2)
    n = _heads(view)
    if len(q.shape) != 3 or k is None or v is None:
        raise view.fail("only separate query [B, S, h], key and value inputs are supported")
    b, s, h = q.shape
    d = exact_div(h, n)
    if len(k.shape) == 4:
        kv_len, d_v = k.shape[2], v.shape[3]
    elif len(k.shape) == 3:
        kv_len, d_v = k.shape[1], exact_div(v.shape[2], n)
    else:
        raise view.fail(f"key must be rank 3 or 4, got {list(k.shape)}")
    past = view.optional(6)
    total = kv_len + (past.shape[2] if past is not None else 0)
    terms = _attention_terms(b, n, s, total, d, d_v)
    if view.optional(3) is not None:
        terms["bias_add"] = b * (s * h + kv_len * h + kv_len * n * d_v)
    return OpResult(outputs=((b, s, n * d_v), (b, n, total, d), (b, n, total, d_v)), terms=terms,
                    category=Category.ATTENTION_MATMUL)


@register("GroupQueryAttention", domain=MS, roles=("x", "x", "x", "x", "x", "const", "const", "const", "const"))
def group_query_attention(view: OpView) -> OpResult:
    """GroupQueryAttention(query ``[B, S, N·d]``, key and value ``[B, S, N_kv·d]``, past_key
    ``[B, N_kv, P, d]``, past_value, seqlens_k, total_sequence_length, ...):

    * mac = 2 · B · N · S · L · d, L = P + S (each query head attends over its
      shared KV head's L keys);
    * softmax_op = 3 · B · N · S · L.

    Output ``[B, S, N·d]``; present_key and present_value ``[B, N_kv, max(P, L), d]``
    (a shared buffer keeps the past length when it is larger). A packed query
    (no key input) holds ``(N + 2·N_kv)·d`` features.
    """
    q = view.input(0)
    n, n_kv = _heads(view), _heads(view, "kv_num_heads")
    if len(q.shape) != 3:
        raise view.fail(f"query must be rank 3, got {list(q.shape)}")
    b, s, width = q.shape
    key = view.optional(1)
    d = exact_div(width, n) if key is not None else exact_div(width, n + 2 * n_kv)
    past = view.optional(3)
    p = past.shape[2] if past is not None else 0
    total = p + s
    present_len = total
    if past is not None:
        from archcost.numeric import decide

        if decide(p >= total) is True:
            present_len = p
    terms = _attention_terms(b, n, s, total, d, d)
    present = (b, n_kv, present_len, d)
    return OpResult(outputs=((b, s, n * d), present, present), terms=terms,
                    category=Category.ATTENTION_MATMUL)


@register("SkipLayerNormalization", domain=MS, roles=("x", "x", "norm", "norm", "bias"),
          defaults={"epsilon": 1e-12})
def skip_layer_norm(view: OpView) -> OpResult:
    """SkipLayerNormalization(input, skip, γ, β, bias) = LayerNorm(input + skip + bias):

    * elementwise_op = 1 per element (the skip add); bias_add = 1 per element
      with a bias, and 1 more with β;
    * norm_op = 7 per element, as LayerNormalization.

    Outputs: the result, mean and inverse std ``[B, S, 1]``, and the sum input + skip + bias.
    """
    x = view.input(0)
    elements = prod(x.shape)
    terms: dict[str, Count] = {"elementwise_op": elements, "norm_op": 7 * elements}
    adds = (1 if view.optional(4) is not None else 0) + (1 if view.optional(3) is not None else 0)
    if adds:
        terms["bias_add"] = adds * elements
    stats = (*x.shape[:-1], 1)
    return OpResult(outputs=(x.shape, stats, stats, x.shape), terms=terms,
                    dtypes=(x.dtype, "float32", "float32", x.dtype))


@register("BiasGelu", domain=MS, roles=("x", "bias"))
def bias_gelu(view: OpView) -> OpResult:
    """BiasGelu(A, bias) = Gelu(A + bias): bias_add = 1 per element, activation_op = 5 per
    element (Gelu's count).
    """
    x = view.input(0)
    n = prod(x.shape)
    return OpResult(outputs=(x.shape,), terms={"bias_add": n, "activation_op": 5 * n})


@register("QuickGelu", domain=MS, defaults={"alpha": 1.702})
def quick_gelu(view: OpView) -> OpResult:
    """QuickGelu x · sigmoid(α x): activation_op = 5 per element (multiply, Sigmoid's 3, multiply)."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"activation_op": 5 * prod(x.shape)})
