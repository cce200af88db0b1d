"""Attention-era ops of the default domain: Attention (opset 23), RotaryEmbedding,
TensorScatter, SwiGLU, CausalConvWithState, LinearAttention.

Notation: B batch, S query length, T total key length (past + current),
H_q and H_kv query and key/value heads, d and d_v head sizes. Attention's
products are attention matmuls: mac = B · H_q · S · T · (d + d_v) (QKᵀ and the
probabilities times V, as two MatMuls would count), and softmax_op = 3 per
score, as Softmax counts.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import Count, exact_div, prod
from archcost.ops.registry import OpResult, OpView, register

Shape = tuple[Count, ...]


def _heads(view: OpView, key: str) -> Count:
    value = view.attr(key)
    if not isinstance(value, int) or value < 1:
        raise view.fail(f"the {key!r} attribute must be a positive integer for 3-D inputs")
    return value


@register("Attention", roles=("x", "x", "x", "const", "x", "x", "const"),
          defaults={"is_causal": 0, "qk_matmul_output_mode": 0, "softcap": 0.0,
                    "left_window_size": -1, "right_window_size": -1})
def attention(view: OpView) -> OpResult:
    """Attention(Q, K, V, mask, past_key, past_value), 4-D ``[B, H, S, d]`` or 3-D ``[B, S, H·d]``.

    * mac = B · H_q · S · T · d (QKᵀ) + B · H_q · S · T · d_v (softmax(·) V);
    * softmax_op = 3 · B · H_q · S · T.

    T = past length + key length. Outputs Y, present_key ``[B, H_kv, T, d]``,
    present_value ``[B, H_kv, T, d_v]`` and the ``[B, H_q, S, T]`` scores.
    """
    q, k, v = view.input(0), view.input(1), view.input(2)
    past_key = view.optional(4)
    if len(q.shape) == 4:
        b, h_q, s, d = q.shape
        h_kv, kv_len, d_v = k.shape[1], k.shape[2], v.shape[3]
        four_d = True
    elif len(q.shape) == 3:
        h_q, h_kv = _heads(view, "q_num_heads"), _heads(view, "kv_num_heads")
        b, s = q.shape[0], q.shape[1]
        d = exact_div(q.shape[2], h_q)
        kv_len = k.shape[1]
        d_v = exact_div(v.shape[2], h_kv)
        four_d = False
    else:
        raise view.fail(f"Q must be rank 3 or 4, got {list(q.shape)}")
    total = kv_len + (past_key.shape[2] if past_key is not None else 0)
    y: Shape = (b, h_q, s, d_v) if four_d else (b, s, h_q * d_v)
    terms = {"mac": b * h_q * s * total * (d + d_v), "softmax_op": 3 * b * h_q * s * total}
    return OpResult(outputs=(y, (b, h_kv, total, d), (b, h_kv, total, d_v), (b, h_q, s, total)),
                    terms=terms, category=Category.ATTENTION_MATMUL,
                    dtypes=(q.dtype, q.dtype, q.dtype, q.dtype))


@register("RotaryEmbedding", roles=("x", "const", "const", "const"),
          defaults={"interleaved": 0, "rotary_embedding_dim": 0})
def rotary_embedding(view: OpView) -> OpResult:
    """RotaryEmbedding: the input's shape; elementwise_op = 3 per rotated element (two
    multiplies and an add), rotated elements = elements · r / d, r = rotary_embedding_dim
    (or the head size d).
    """
    x = view.input(0)
    if len(x.shape) == 4:
        head = x.shape[3]
    elif len(x.shape) == 3:
        head = exact_div(x.shape[2], _heads(view, "num_heads"))
    else:
        raise view.fail(f"input must be rank 3 or 4, got {list(x.shape)}")
    rotary = view.attr("rotary_embedding_dim") or head
    rotated = exact_div(prod(x.shape) * rotary, head)
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": 3 * rotated})


@register("TensorScatter", roles=("x", "x", "const"), defaults={"axis": -2, "mode": "linear"})
def tensor_scatter(view: OpView) -> OpResult:
    """TensorScatter: write ``update`` into the cache; the cache's shape; no cost (a copy)."""
    return OpResult(outputs=(view.input(0).shape,))


@register("SwiGLU", defaults={"alpha": 1.0})
def swiglu(view: OpView) -> OpResult:
    """SwiGLU Swish_α(A) · B: activation_op = 6 per element (Swish's 5, and the multiply by B)."""
    a = view.input(0)
    return OpResult(outputs=(a.shape,), terms={"activation_op": 6 * prod(a.shape)})


@register("CausalConvWithState", roles=("x", "weight", "bias", "x"), defaults={"activation": "none"})
def causal_conv_with_state(view: OpView) -> OpResult:
    """CausalConvWithState, depthwise over ``[B, C, L]`` with weight ``[C, 1, k]``.

    * mac = B · C · L · k (a depthwise conv);
    * bias_add = B · C · L with a bias; activation_op = 5 per output element with a
      fused SiLU/Swish.

    Outputs: ``[B, C, L]`` and the carried state ``[B, C, k − 1]``.
    """
    x, w = view.input(0), view.input(1)
    if len(x.shape) != 3 or len(w.shape) != 3:
        raise view.fail(f"input {list(x.shape)} and weight {list(w.shape)} must be rank 3")
    b, c, length = x.shape
    k = w.shape[2]
    terms = {"mac": b * c * length * k}
    if view.optional(2) is not None:
        terms["bias_add"] = b * c * length
    act = view.attr("activation")
    if (act.decode() if isinstance(act, bytes) else act) in ("silu", "swish"):
        terms["activation_op"] = 5 * b * c * length
    return OpResult(outputs=(x.shape, (b, c, k - 1)), terms=terms, category=Category.DEPTHWISE)


@register("LinearAttention", roles=("x", "x", "x", "x", "x", "x"),
          defaults={"chunk_size": 64, "scale": 0.0, "update_rule": "gated_delta"})
def linear_attention(view: OpView) -> OpResult:
    """LinearAttention over ``[B, T, H·d]`` inputs, run as its recurrence per token.

    * mac = B · T · d_k · d_v · (H_kv · u + H_q): the state update k ⊗ v per KV
      head (u = 1), plus Sᵀk for the delta rules (u = 2), and the readout qᵀS per
      query head.
    * elementwise_op = B · T · H_kv · d_k · d_v per gated decay (``gated``,
      ``gated_delta``).

    Outputs ``[B, T, H_q·d_v]`` and the state ``[B, H_kv, d_k, d_v]``.
    """
    q, k, v = view.input(0), view.input(1), view.input(2)
    h_q, h_kv = _heads(view, "q_num_heads"), _heads(view, "kv_num_heads")
    b, t = q.shape[0], q.shape[1]
    d_k = exact_div(k.shape[2], h_kv)
    d_v = exact_div(v.shape[2], h_kv)
    rule = view.attr("update_rule")
    rule = rule.decode() if isinstance(rule, bytes) else rule
    updates = 2 if rule in ("delta", "gated_delta") else 1
    terms = {"mac": b * t * d_k * d_v * (h_kv * updates + h_q)}
    if rule in ("gated", "gated_delta"):
        terms["elementwise_op"] = b * t * h_kv * d_k * d_v
    return OpResult(outputs=((b, t, h_q * d_v), (b, h_kv, d_k, d_v)), terms=terms,
                    category=Category.ATTENTION_MATMUL)


@register("FlexAttention", domain="ai.onnx.preview", roles=("x", "x", "x"))
def flex_attention(view: OpView) -> OpResult:
    """FlexAttention(Q, K, V) with optional ``score_mod`` and ``prob_mod`` subgraphs.

    Q ``[B, H_q, L, d]``, K ``[B, H_kv, S, d]``, V ``[B, H_kv, S, d_v]`` → ``[B, H_q, L, d_v]``.

    * mac = B · H_q · L · S · (d + d_v) (QKᵀ and the probabilities times V);
    * softmax_op = 3 · B · H_q · L · S;
    * each modifier subgraph's own terms, applied once to the ``[B, H_q, L, S]`` scores.
    """
    from archcost.ops.control import BodyResult

    q, k, v = view.input(0), view.input(1), view.input(2)
    if len(q.shape) != 4 or len(k.shape) != 4 or len(v.shape) != 4:
        raise view.fail(f"Q, K and V must be rank 4, got {list(q.shape)}, {list(k.shape)}, {list(v.shape)}")
    b, h_q, length, d = q.shape
    view.equal(d, k.shape[3], "Q and K have one head size")
    span = view.equal(k.shape[2], v.shape[2], "K and V have one sequence length")
    scores = b * h_q * length * span
    terms: dict[str, Count] = {"mac": scores * (d + v.shape[3]), "softmax_op": 3 * scores}
    for key in ("score_mod", "prob_mod"):
        body = view.attrs.get(key)
        if isinstance(body, BodyResult):
            for term, value in body.terms.items():
                terms[term] = terms.get(term, 0) + value
    return OpResult(outputs=((b, h_q, length, v.shape[3]),), terms=terms, category=Category.ATTENTION_MATMUL)
