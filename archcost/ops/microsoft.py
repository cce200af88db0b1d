"""The float ``com.microsoft`` ops that onnxruntime's transformer optimizer writes:
fused activations, normalizations, attention and convolution.

Formulas follow the operator schemas in onnxruntime's ``docs/ContribOperators.md``
(the same text ``onnxruntime.capi.onnxruntime_pybind11_state.get_all_operator_schema()``
returns), and count exactly what the unfused graph would: a fused op costs the sum
of the ops it replaces, each at the per-element count its standalone rule states
(Gelu 5, LayerNormalization 7, RMSNormalization 4, an Add 1). Per-element counts of
standalone ops are read off their registered rules, so each is written once.
The quantized ``com.microsoft`` ops are in :mod:`archcost.ops.microsoft_quantized`.

Notation: B batch, S sequence length, L key length (past + current), N heads,
N_kv key/value heads, d head size, h hidden size.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import Count, ceil_div, exact_div, prod
from archcost.ops.activation import gelu
from archcost.ops.attention import rotary_embedding
from archcost.ops.conv import conv
from archcost.ops.gemm import gemm, matmul
from archcost.ops.normalization import rms_norm
from archcost.ops.registry import InputInfo, OpResult, OpView, lookup, register
from archcost.ops.tensor import input_values

MS = "com.microsoft"

#: The activations onnxruntime's fused kernels (FusedConv, FusedGemm) accept: MLAS's.
FUSABLE_ACTIVATIONS = ("Relu", "Tanh", "Sigmoid", "LeakyRelu", "Clip", "HardSigmoid")
#: Bits per element of BitmaskBiasDropout's uint32 mask.
_MASK_BITS = 32


def per_element(op_type: str, term: str = "activation_op") -> Count:
    """``term`` per element of the default-domain op ``op_type``, read off its own rule."""
    entry = lookup(op_type)
    one = OpView(op_type, op_type, {}, (InputInfo((1,)),), entry.defaults)
    return entry.rule(one).terms[term]


def _fused_activation(view: OpView, elements: Count) -> dict[str, Count]:
    """The ``activation`` attribute's count over ``elements`` (none without one)."""
    act = view.attr("activation")
    act = act.decode() if isinstance(act, bytes) else act
    if not act:
        return {}
    if act not in FUSABLE_ACTIVATIONS:
        raise view.fail(f"activation {act!r} is not one onnxruntime fuses; "
                        f"it takes {', '.join(FUSABLE_ACTIVATIONS)}")
    return {"activation_op": per_element(act) * elements}


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
    ``activation``'s per-element count (Relu 1, Sigmoid 3, LeakyRelu 2, ...: the standalone
    op's activation_op).
    """
    inner = OpView(view.name, "Conv", view.attrs, (view.input(0), view.input(1), view.optional(2)),
                   view.defaults, view.ledger)
    result = conv(inner)
    out = prod(result.outputs[0])
    terms = dict(result.terms)
    if view.optional(3) is not None:
        terms["elementwise_op"] = out
    terms.update(_fused_activation(view, out))
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
    return matmul(OpView(view.name, "MatMul", {}, (a, b), ledger=view.ledger))


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
    return _gelu_with_bias(view)


@register("QuickGelu", domain=MS, defaults={"alpha": 1.702})
def quick_gelu(view: OpView) -> OpResult:
    """QuickGelu x · sigmoid(α x): activation_op = 5 per element (multiply, Sigmoid's 3, multiply)."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"activation_op": 5 * prod(x.shape)})


# --- fused activations and bias adds ---------------------------------------------------------

def _gelu_with_bias(view: OpView) -> OpResult:
    """Gelu of ``X + bias`` over X's shape; the bias runs along X's last axis."""
    x, bias = view.input(0), view.optional(1)
    result = gelu(view)
    terms = dict(result.terms)
    if bias is not None:
        if not x.shape or not bias.shape:
            raise view.fail(f"input {list(x.shape)} and bias {list(bias.shape)} need a last axis")
        view.equal(bias.shape[-1], x.shape[-1], "the bias runs along the input's last axis")
        terms["bias_add"] = prod(x.shape)
    return OpResult(outputs=result.outputs, terms=terms)


@register("Gelu", domain=MS)
def ms_gelu(view: OpView) -> OpResult:
    """Gelu (com.microsoft) 0.5·x·(1 + erf(x/√2)): activation_op = 5 per element, as the
    default-domain Gelu.
    """
    return gelu(view)


@register("FastGelu", domain=MS, roles=("x", "bias"))
def fast_gelu(view: OpView) -> OpResult:
    """FastGelu(X, bias) = 0.5·x·(1 + tanh(0.797885·x + 0.035677·x³)), x = X + bias:
    activation_op = 5 per element (Gelu's count: archcost counts both Gelu approximations
    alike), bias_add = 1 per element with a bias ``[h]`` along X's last axis.
    """
    return _gelu_with_bias(view)


@register("BiasAdd", domain=MS, roles=("x", "bias", "x"))
def bias_add(view: OpView) -> OpResult:
    """BiasAdd(X ``[N, S, C]``, bias ``[C]``, skip ``[N, S, C]``) = X + bias + skip:
    bias_add = 1 per element and elementwise_op = 1 per element (the skip add).
    """
    x, bias, skip = view.input(0), view.input(1), view.input(2)
    if len(x.shape) != 3 or len(bias.shape) != 1:
        raise view.fail(f"input {list(x.shape)} must be [N, S, C] and bias {list(bias.shape)} [C]")
    view.equal(bias.shape[0], x.shape[2], "the bias has one entry per channel")
    if len(skip.shape) != 3:
        raise view.fail(f"skip {list(skip.shape)} must be [N, S, C] like the input")
    for axis in range(3):
        view.equal(skip.shape[axis], x.shape[axis], f"skip and input agree on axis {axis}")
    n = prod(x.shape)
    return OpResult(outputs=(x.shape,), terms={"bias_add": n, "elementwise_op": n})


@register("BiasSplitGelu", domain=MS, roles=("x", "bias"))
def bias_split_gelu(view: OpView) -> OpResult:
    """BiasSplitGelu(X ``[N, S, D]``, bias ``[D]``): X + bias split in halves along D, the
    left half times Gelu(right half). Output ``[N, S, D/2]``.

    * bias_add = N·S·D;
    * activation_op = 5 · N·S·D/2 (Gelu's count on the right half);
    * elementwise_op = N·S·D/2 (the product of the halves).
    """
    x, bias = view.input(0), view.input(1)
    if len(x.shape) != 3 or len(bias.shape) != 1:
        raise view.fail(f"input {list(x.shape)} must be [N, S, D] and bias {list(bias.shape)} [D]")
    n, s, width = x.shape
    view.equal(bias.shape[0], width, "the bias has one entry per hidden unit")
    half = (n, s, exact_div(width, 2))
    out = prod(half)
    return OpResult(outputs=(half,), terms={"bias_add": prod(x.shape), "activation_op": per_element("Gelu") * out,
                                            "elementwise_op": out})


@register("GemmFastGelu", domain=MS, roles=("x", "weight", "bias"))
def gemm_fast_gelu(view: OpView) -> OpResult:
    """GemmFastGelu(X, W, bias) = FastGelu(X @ W + bias), MatMul's shapes:

    * mac = (batch) · n · m · k, as MatMul;
    * bias_add = 1 per output element with a bias; activation_op = 5 per output element
      (FastGelu's count).
    """
    result = matmul(OpView(view.name, "MatMul", {}, (view.input(0), view.input(1)), ledger=view.ledger))
    out = prod(result.outputs[0])
    terms = dict(result.terms)
    if view.optional(2) is not None:
        terms["bias_add"] = out
    terms["activation_op"] = per_element("Gelu") * out
    return OpResult(outputs=result.outputs, terms=terms, category=result.category)


def _bias_dropout(view: OpView, mask: tuple[Count, ...], mask_dtype: str) -> OpResult:
    x, bias = view.input(0), view.input(1)
    if not x.shape or not bias.shape:
        raise view.fail(f"data {list(x.shape)} and bias {list(bias.shape)} need a last axis")
    view.equal(bias.shape[-1], x.shape[-1], "the bias runs along the data's last axis")
    n = prod(x.shape)
    terms = {"bias_add": n}
    if view.optional(2) is not None:
        terms["elementwise_op"] = n
    return OpResult(outputs=(x.shape, mask), terms=terms, dtypes=(x.dtype, mask_dtype))


@register("BiasDropout", domain=MS, roles=("x", "bias", "x", "const", "const"))
def bias_dropout(view: OpView) -> OpResult:
    """BiasDropout(data, bias, residual, ratio, training_mode) = Dropout(data + bias) + residual:
    bias_add = 1 per element, elementwise_op = 1 per element with a residual; the dropout
    costs nothing, as Dropout. The mask has the data's shape (bool).
    """
    return _bias_dropout(view, view.input(0).shape, "bool")


@register("BitmaskBiasDropout", domain=MS, roles=("x", "bias", "x", "const", "const"))
def bitmask_bias_dropout(view: OpView) -> OpResult:
    """BitmaskBiasDropout: BiasDropout's count (bias_add = 1 per element, elementwise_op = 1
    per element with a residual); the mask is one bit per element, ``[ceil(n / 32)]`` uint32.
    """
    return _bias_dropout(view, (ceil_div(prod(view.input(0).shape), _MASK_BITS),), "uint32")


@register("FusedGemm", domain=MS, roles=("x", "weight", "bias"),
          defaults={"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0})
def fused_gemm(view: OpView) -> OpResult:
    """FusedGemm: Gemm then ``activation``. Gemm's count (mac = M · N · K, bias_add = M · N
    with C), plus the activation's per-element count on the ``[M, N]`` output (Relu 1,
    Sigmoid 3, LeakyRelu 2, HardSigmoid 3, Tanh 1, Clip 1).
    """
    result = gemm(view)
    terms = {**result.terms, **_fused_activation(view, prod(result.outputs[0]))}
    return OpResult(outputs=result.outputs, terms=terms, category=result.category)


@register("NhwcConv", domain=MS, roles=("x", "weight", "bias"), defaults={"group": 1, "auto_pad": "NOTSET"})
def nhwc_conv(view: OpView) -> OpResult:
    """NhwcConv: Conv on a channels-last input ``[N, H, W, C]``, output ``[N, H_out, W_out, M]``;
    Conv's count, mac = N · M · H_out · W_out · (C/g) · K_h · K_w, bias_add with a bias.
    """
    x = view.input(0)
    if len(x.shape) < 3:
        raise view.fail(f"input must be [N, spatial..., C], got {list(x.shape)}")
    first = InputInfo((x.shape[0], x.shape[-1], *x.shape[1:-1]), x.dtype, x.is_initializer)
    inner = OpView(view.name, "Conv", view.attrs, (first, view.input(1), view.optional(2)), view.defaults,
                   view.ledger)
    result = conv(inner)
    y = result.outputs[0]
    return OpResult(outputs=((y[0], *y[2:], y[1]),), terms=result.terms, category=result.category)


# --- normalizations ------------------------------------------------------------------------

@register("EmbedLayerNormalization", domain=MS,
          roles=("x", "x", "weight", "weight", "weight", "norm", "norm", "x", "x"),
          defaults={"epsilon": 1e-12, "mask_index_type": 1})
def embed_layer_norm(view: OpView) -> OpResult:
    """EmbedLayerNormalization(input_ids ``[B, S]``, segment_ids, word ``[V, h]``, position
    ``[P, h]``, segment ``[G, h]`` embeddings, γ, β, mask, position_ids): the looked-up
    embeddings summed, then LayerNorm. The tables are ``weight`` parameters, γ and β ``norm``.

    * elementwise_op = (E − 1) per element of ``[B, S, h]``: the sum of E = 2 tables,
      or 3 with segments (the lookups cost nothing, as Gather);
    * norm_op = 7 per element and bias_add = 1 per element (β), as LayerNormalization;
    * pool_op = B·S with a mask (one add per mask entry: mask_index counts each row).

    Outputs: ``[B, S, h]``, mask_index ``[B]`` (int32) and the embedding sum ``[B, S, h]``.
    """
    ids, word, position = view.input(0), view.input(2), view.input(3)
    segment_ids, segment = view.optional(1), view.optional(4)
    gamma, beta = view.input(5), view.input(6)
    if len(ids.shape) != 2:
        raise view.fail(f"input_ids must be [B, S], got {list(ids.shape)}")
    for name, table in (("word", word), ("position", position), ("segment", segment)):
        if table is not None and len(table.shape) != 2:
            raise view.fail(f"the {name} embedding must be [rows, h], got {list(table.shape)}")
    if (segment_ids is None) != (segment is None):
        raise view.fail("segment_ids and segment_embedding come together")
    b, s = ids.shape
    h = view.equal(word.shape[1], position.shape[1], "word and position embeddings share the hidden size")
    tables = 2
    if segment_ids is not None and segment is not None:
        tables = 3
        h = view.equal(h, segment.shape[1], "the segment embedding shares the hidden size")
        if len(segment_ids.shape) != 2:
            raise view.fail(f"segment_ids must be [B, S], got {list(segment_ids.shape)}")
        for axis in range(2):
            view.equal(segment_ids.shape[axis], ids.shape[axis], f"segment_ids match input_ids on axis {axis}")
    for name, vector in (("gamma", gamma), ("beta", beta)):
        if len(vector.shape) != 1:
            raise view.fail(f"{name} must be [h], got {list(vector.shape)}")
        h = view.equal(h, vector.shape[0], f"{name} has one entry per hidden unit")
    out = (b, s, h)
    n = prod(out)
    terms: dict[str, Count] = {"elementwise_op": (tables - 1) * n, "norm_op": 7 * n, "bias_add": n}
    mask = view.optional(7)
    if mask is not None:
        terms["pool_op"] = prod(mask.shape)
    return OpResult(outputs=(out, (b,), out), terms=terms, dtypes=(word.dtype, "int32", word.dtype))


@register("SimplifiedLayerNormalization", roles=("x", "norm"),
          defaults={"axis": -1, "epsilon": 1e-5, "stash_type": 1})
def simplified_layer_norm(view: OpView) -> OpResult:
    """SimplifiedLayerNormalization (onnxruntime's RMSNorm, registered by onnxruntime in the
    default domain): x / √(mean(x²) + ε) · γ over the axes from ``axis`` on; norm_op = 4
    per element, as RMSNormalization.

    Outputs: Y (the scale's dtype) and inv_std_var, the leading dims and 1 on the rest.
    """
    x, scale = view.input(0), view.input(1)
    rank = len(x.shape)
    axis = view.attr("axis")
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise view.fail(f"axis {axis!r} is out of range for rank {rank}")
    axis = axis + rank if axis < 0 else axis
    result = rms_norm(view)
    stats = (*x.shape[:axis], *([1] * (rank - axis)))
    return OpResult(outputs=(x.shape, stats), terms=result.terms, dtypes=(scale.dtype, "float32"))


@register("SkipSimplifiedLayerNormalization", domain=MS, roles=("x", "x", "norm", "bias"),
          defaults={"epsilon": 1e-12})
def skip_simplified_layer_norm(view: OpView) -> OpResult:
    """SkipSimplifiedLayerNormalization(input, skip, γ, bias) = RMSNorm(input + skip + bias):

    * elementwise_op = 1 per element (the skip add); bias_add = 1 per element with a bias;
    * norm_op = 4 per element, as RMSNormalization.

    Outputs: the result, mean and inverse std ``[..., 1]`` and the sum input + skip + bias.
    """
    x, gamma = view.input(0), view.input(2)
    if len(x.shape) not in (2, 3) or len(gamma.shape) != 1:
        raise view.fail(f"input {list(x.shape)} must be rank 2 or 3 and gamma {list(gamma.shape)} [h]")
    view.equal(gamma.shape[0], x.shape[-1], "gamma has one entry per hidden unit")
    n = prod(x.shape)
    terms: dict[str, Count] = {"elementwise_op": n, **rms_norm(view).terms}
    if view.optional(3) is not None:
        terms["bias_add"] = n
    stats = (*x.shape[:-1], 1)
    return OpResult(outputs=(x.shape, stats, stats, x.shape), terms=terms,
                    dtypes=(x.dtype, "float32", "float32", x.dtype))


# --- rotary embedding and decoder attention ---------------------------------------------------

@register("RotaryEmbedding", domain=MS, roles=("x", "const", "const", "const"),
          defaults={"interleaved": 0, "is_packed_batching": 0, "num_heads": 0, "rotary_embedding_dim": 0,
                    "scale": 1.0})
def ms_rotary_embedding(view: OpView) -> OpResult:
    """RotaryEmbedding (com.microsoft; input, position_ids, cos_cache, sin_cache), input
    ``[B, S, h]`` or ``[B, N, S, d]``: the input's shape; elementwise_op = 3 per rotated
    element, as the default-domain RotaryEmbedding: elements · r / d, r = rotary_embedding_dim
    (or the head size d: every element).
    """
    x = view.input(0)
    if len(x.shape) == 3 and not view.attr("num_heads"):
        if view.attr("rotary_embedding_dim"):
            raise view.fail("num_heads is required with rotary_embedding_dim for a 3-D input")
        # Without num_heads onnxruntime reads the head size off the cache ([max_len, d/2]) and
        # rotates the whole head: every element.
        return OpResult(outputs=(x.shape,), terms={"elementwise_op": 3 * prod(x.shape)})
    return rotary_embedding(view)


def _past_length(view: OpView, index: int) -> Count:
    """The ``past_sequence_length`` input's contents (a symbol when only the run time knows)."""
    given = input_values(view, index, "past_sequence_length")
    if given is None or len(given) != 1:
        raise view.fail(f"past_present_share_buffer needs past_sequence_length (input {index}), one value")
    return given[0]


@register("DecoderMaskedSelfAttention", domain=MS,
          roles=("x", "weight", "bias", "const", "x", "x", "const", "const", "const"),
          defaults={"past_present_share_buffer": 0})
def decoder_masked_self_attention(view: OpView) -> OpResult:
    """DecoderMaskedSelfAttention(input ``[B, S, h_in]``, weights ``[h_in, 3h]``, bias, mask,
    past ``[2, B, N, P, d]``, ..., past_sequence_length): Attention with a one-token query.

    * mac = B · S · h_in · 3h (the packed QKV projection) + 2 · B · N · S · L · d,
      L = P + S, or past_sequence_length + S when past and present share a buffer;
    * bias_add = B · S · 3h; softmax_op = 3 · B · N · S · L.

    Output ``[B, S, h]``; present ``[2, B, N, L, d]`` (the past's shape with a shared buffer).
    """
    x, w, past = view.input(0), view.input(1), view.input(4)
    n = _heads(view)
    if len(x.shape) != 3 or len(w.shape) != 2 or len(past.shape) != 5:
        raise view.fail(f"input {list(x.shape)}, weights {list(w.shape)} and past {list(past.shape)} "
                        "must be rank 3, 2 and 5")
    b, s, h_in = x.shape
    view.equal(w.shape[0], h_in, "the weights take the input's hidden size")
    h = exact_div(w.shape[1], 3)
    d = exact_div(h, n)
    if view.attr("past_present_share_buffer"):
        total = _past_length(view, 6) + s
        present = past.shape
    else:
        total = past.shape[3] + s
        present = (2, b, n, total, d)
    terms = _attention_terms(b, n, s, total, d, d)
    terms["mac"] = terms["mac"] + b * s * h_in * w.shape[1]
    terms["bias_add"] = b * s * w.shape[1]
    return OpResult(outputs=((b, s, h), present), terms=terms, category=Category.ATTENTION_MATMUL)


@register("DecoderMaskedMultiHeadAttention", domain=MS,
          roles=("x", "x", "x", "const", "x", "x", "x", "const", "const", "const", "bias"),
          defaults={"output_qk": 0, "past_present_share_buffer": 0})
def decoder_masked_multi_head_attention(view: OpView) -> OpResult:
    """DecoderMaskedMultiHeadAttention(query ``[B, S, h]``, key, value, mask, attention_bias,
    past_key, past_value, past_sequence_length, beam_width, cache_indirection, bias): the
    projections are outside the op. Self attention: key ``[B, S_kv, h]``, value
    ``[B, S_kv, h_v]`` (or one packed query ``[B, S, 3h]``); cross attention: key and value
    ``[B, N, L, d]``, already projected.

    * mac = B · N · S · L · (d + d_v); softmax_op = 3 · B · N · S · L, where L = past_key's
      length + S_kv, or past_sequence_length + S_kv with a shared buffer, or the cross key's L;
    * bias_add = B · (S·h + S_kv·h + S_kv·h_v) with a bias; only the query's B · S · h in
      cross attention.

    Outputs: ``[B, S, N·d_v]``; present_key and present_value ``[B, N, L, d]`` (the past's
    shape with a shared buffer); qk ``[B, N, S, L]``.
    """
    q = view.input(0)
    key, value = view.optional(1), view.optional(2)
    n = _heads(view)
    if len(q.shape) != 3:
        raise view.fail(f"query must be [B, S, h], got {list(q.shape)}")
    b, s, width = q.shape
    cross = False
    if key is None and value is None:
        # Packed QKV: the schema's (B, S, 2h + h_v) cannot be split without h_v; read as h_v = h.
        h = h_v = exact_div(width, 3)
        kv_len = s
    elif key is not None and value is not None and len(key.shape) == 3 and len(value.shape) == 3:
        h, h_v, kv_len = width, value.shape[2], key.shape[1]
        view.equal(key.shape[2], h, "key and query share the hidden size")
    elif key is not None and value is not None and len(key.shape) == 4 and len(value.shape) == 4:
        cross = True
        h, kv_len = width, key.shape[2]
        for name, given in (("key", key), ("value", value)):
            view.equal(given.shape[1], n, f"the cross {name} has num_heads heads")
        view.equal(key.shape[3], exact_div(h, n), "the cross key's head size is h / num_heads")
        h_v = n * value.shape[3]
    else:
        raise view.fail("key and value must both be [B, S_kv, h] (self attention), both "
                        "[B, N, L, d] (cross attention), or both absent (packed QKV)")
    d, d_v = exact_div(h, n), exact_div(h_v, n)
    past_key, past_value = view.optional(5), view.optional(6)
    present_key: tuple[Count, ...]
    present_value: tuple[Count, ...]
    if cross:
        total = kv_len
        present_key, present_value = (b, n, total, d), (b, n, total, d_v)
    elif view.attr("past_present_share_buffer") and past_key is not None and past_value is not None:
        total = _past_length(view, 7) + kv_len
        present_key, present_value = past_key.shape, past_value.shape
    else:
        total = kv_len + (past_key.shape[2] if past_key is not None and len(past_key.shape) == 4 else 0)
        present_key, present_value = (b, n, total, d), (b, n, total, d_v)
    terms = _attention_terms(b, n, s, total, d, d_v)
    if view.optional(10) is not None:
        terms["bias_add"] = b * s * h if cross else b * (s * h + kv_len * h + kv_len * h_v)
    return OpResult(outputs=((b, s, n * d_v), present_key, present_value, (b, n, s, total)), terms=terms,
                    category=Category.ATTENTION_MATMUL)
