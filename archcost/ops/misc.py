"""The long tail: random generators, strings, sequences and optionals, and losses.

* Random generators and string ops do no arithmetic the conventions count:
  an explicit zero cost. String outputs whose size depends on the text
  (StringSplit) get a named symbolic dim (``<node>_count``).
* A **sequence** is represented as the stack of its elements: shape
  ``[length, *element]`` with the elements' dtype. Elements of different
  shapes give a named symbolic dim where they differ. Sequence ops move data
  and cost nothing.
* An **optional** is represented by its contained tensor.
* Losses (used in training graphs) count their arithmetic per element.
"""

from __future__ import annotations

from archcost.dtypes import dtype_name
from archcost.numeric import Count, prod, same
from archcost.ops.data import count_dim
from archcost.ops.registry import OpResult, OpView, register
from archcost.ops.tensor import MAX_SPLIT_PARTS, input_values, normalize_axis

Shape = tuple[Count, ...]

# --- random ---------------------------------------------------------------------------


def _random(view: OpView, shape: Shape, dtype: str) -> OpResult:
    return OpResult(outputs=(shape,), dtypes=(dtype,))


@register("RandomNormal", roles=(), defaults={"dtype": 1, "mean": 0.0, "scale": 1.0})
def random_normal(view: OpView) -> OpResult:
    """RandomNormal of the ``shape`` attribute: no cost (sampling is not counted)."""
    shape = tuple(view.attr("shape") or ())
    return _random(view, shape, dtype_name(view.attr("dtype")))


@register("RandomUniform", roles=(), defaults={"dtype": 1, "high": 1.0, "low": 0.0})
def random_uniform(view: OpView) -> OpResult:
    """RandomUniform of the ``shape`` attribute: no cost (sampling is not counted)."""
    shape = tuple(view.attr("shape") or ())
    return _random(view, shape, dtype_name(view.attr("dtype")))


def _like_dtype(view: OpView) -> str:
    dtype = view.attr("dtype")
    return dtype_name(dtype) if isinstance(dtype, int) else view.input(0).dtype


@register("RandomNormalLike", defaults={"mean": 0.0, "scale": 1.0})
def random_normal_like(view: OpView) -> OpResult:
    """RandomNormalLike: the input's shape; no cost (sampling is not counted)."""
    return _random(view, view.input(0).shape, _like_dtype(view))


@register("RandomUniformLike", defaults={"high": 1.0, "low": 0.0})
def random_uniform_like(view: OpView) -> OpResult:
    """RandomUniformLike: the input's shape; no cost (sampling is not counted)."""
    return _random(view, view.input(0).shape, _like_dtype(view))


@register("Bernoulli")
def bernoulli(view: OpView) -> OpResult:
    """Bernoulli draws with the input's probabilities: its shape; no cost."""
    return _random(view, view.input(0).shape, _like_dtype(view))


@register("Multinomial", defaults={"dtype": 6, "sample_size": 1})
def multinomial(view: OpView) -> OpResult:
    """Multinomial ``[B, classes]`` → ``[B, sample_size]`` samples; no cost."""
    x = view.input(0)
    return _random(view, (x.shape[0], view.attr("sample_size")), dtype_name(view.attr("dtype")))


# --- strings --------------------------------------------------------------------------


@register("StringConcat")
def string_concat(view: OpView) -> OpResult:
    """StringConcat: the broadcast shape; no cost (text is not arithmetic)."""
    from archcost.ops.elementwise import broadcast

    return OpResult(outputs=(broadcast(view, view.input(0).shape, view.input(1).shape),),
                    dtypes=("string",))


@register("StringNormalizer", defaults={"case_change_action": "NONE", "is_case_sensitive": 0})
def string_normalizer(view: OpView) -> OpResult:
    """StringNormalizer: the input's shape, or with ``stopwords`` the symbol ``<node>_count``
    for the entries the data keeps (on the last axis of ``[C]`` or ``[1, C]``); no cost.
    """
    x = view.input(0)
    if not view.attr("stopwords"):
        return OpResult(outputs=(x.shape,), dtypes=("string",))
    if not x.shape:
        raise view.fail("the input must be [C] or [1, C]")
    return OpResult(outputs=((*x.shape[:-1], count_dim(view)),), dtypes=("string",))


@register("StringSplit")
def string_split(view: OpView) -> OpResult:
    """StringSplit: ``[*X, <node>_count]`` substrings and ``X``-shaped counts; no cost."""
    x = view.input(0)
    return OpResult(outputs=((*x.shape, count_dim(view)), x.shape), dtypes=("string", "int64"))


@register("RegexFullMatch")
def regex_full_match(view: OpView) -> OpResult:
    """RegexFullMatch: a bool per string; no cost."""
    return OpResult(outputs=(view.input(0).shape,), dtypes=("bool",))


@register("TfIdfVectorizer")
def tf_idf_vectorizer(view: OpView) -> OpResult:
    """TfIdfVectorizer: ``[*batch, max(ngram_indexes) + 1]`` float32 counts; elementwise_op = 1
    lookup per input element per n-gram length tried (max_gram_length − min_gram_length + 1).
    """
    x = view.input(0)
    indexes = view.attr("ngram_indexes") or []
    width = max(indexes) + 1 if indexes else 0
    lengths = int(view.attr("max_gram_length", 1)) - int(view.attr("min_gram_length", 1)) + 1
    batch = x.shape[:-1] if len(x.shape) == 2 else ()
    return OpResult(outputs=((*batch, width),), terms={"elementwise_op": lengths * prod(x.shape)},
                    dtypes=("float32",))


@register("ImageDecoder", defaults={"pixel_format": "RGB"})
def image_decoder(view: OpView) -> OpResult:
    """ImageDecoder: uint8 ``[H, W, C]`` with data-dependent H and W; no cost counted."""
    fmt = view.attr("pixel_format")
    channels = 1 if fmt in ("Grayscale", b"Grayscale") else 3
    return OpResult(outputs=((count_dim(view, "height"), count_dim(view, "width"), channels),),
                    dtypes=("uint8",))


# --- sequences and optionals -----------------------------------------------------------


def _merge(view: OpView, shapes: list[Shape]) -> Shape:
    """One element shape for a sequence: equal dims stay, differing ones become a symbol.

    Elements of different ranks (a sequence whose declared element rank the data does
    not keep) take the last one's rank, every dim a symbol.
    """
    first = shapes[0]
    if any(len(s) != len(first) for s in shapes):
        return tuple(count_dim(view, f"dim{axis}") for axis in range(len(shapes[-1])))
    out = []
    for axis, dim in enumerate(first):
        agree = all(same(s[axis], dim) is True for s in shapes)
        out.append(dim if agree else count_dim(view, f"dim{axis}"))
    return tuple(out)


@register("SequenceConstruct")
def sequence_construct(view: OpView) -> OpResult:
    """SequenceConstruct of n tensors: the stack ``[n, *element]``; no cost."""
    shapes = [view.input(i).shape for i in range(len(view.inputs))]
    if not shapes:
        raise view.fail("needs at least one input")
    return OpResult(outputs=((len(shapes), *_merge(view, shapes)),))


@register("SequenceEmpty")
def sequence_empty(view: OpView) -> OpResult:
    """SequenceEmpty: a stack of 0 elements (``dtype``, default float32); no cost."""
    dtype = view.attr("dtype")
    return OpResult(outputs=((0,),), dtypes=(dtype_name(dtype) if isinstance(dtype, int) else "float32",))


@register("SequenceLength")
def sequence_length(view: OpView) -> OpResult:
    """SequenceLength: the int64 scalar length; no cost."""
    seq = view.input(0)
    return OpResult(outputs=((),), values=((seq.shape[0],),), dtypes=("int64",))


@register("SequenceAt", roles=("x", "const"))
def sequence_at(view: OpView) -> OpResult:
    """SequenceAt: one element, ``shape[1:]`` of the stack; no cost."""
    seq = view.input(0)
    if not seq.shape:
        raise view.fail("the input is not a sequence")
    return OpResult(outputs=(tuple(seq.shape[1:]),))


@register("SequenceInsert", roles=("x", "x", "const"))
def sequence_insert(view: OpView) -> OpResult:
    """SequenceInsert: the stack grows by one; no cost."""
    seq, tensor = view.input(0), view.input(1)
    if not seq.shape:
        raise view.fail("the input is not a sequence")
    length = seq.shape[0]
    if isinstance(length, int) and length == 0:
        return OpResult(outputs=((1, *tensor.shape),), dtypes=(tensor.dtype,))
    element = _merge(view, [tuple(seq.shape[1:]), tensor.shape])
    return OpResult(outputs=((length + 1, *element),))


@register("SequenceErase", roles=("x", "const"))
def sequence_erase(view: OpView) -> OpResult:
    """SequenceErase: the stack shrinks by one; no cost."""
    seq = view.input(0)
    if not seq.shape:
        raise view.fail("the input is not a sequence")
    return OpResult(outputs=((seq.shape[0] - 1, *seq.shape[1:]),))


@register("SplitToSequence", roles=("x", "const"), defaults={"axis": 0, "keepdims": 1})
def split_to_sequence(view: OpView) -> OpResult:
    """SplitToSequence along ``axis``: a stack of chunks; no cost.

    A scalar ``split`` s gives ceil(D / s) chunks of s (the last one shorter, so
    its length becomes a symbol unless s divides D); a vector gives its entries;
    no split gives D slices of size 1 (the axis dropped unless ``keepdims``).
    """
    x = view.input(0)
    axis = normalize_axis(view, view.attr("axis"), len(x.shape))
    dim = x.shape[axis]
    split = input_values(view, 1, "split")
    info = view.optional(1)
    if split is None:
        element = tuple(d for i, d in enumerate(x.shape) if i != axis or view.attr("keepdims"))
        if view.attr("keepdims"):
            element = tuple(1 if i == axis else d for i, d in enumerate(x.shape))
        return OpResult(outputs=((dim, *element),))
    sizes: list[Count]
    if info is not None and len(info.shape) == 0:
        size = split[0]
        if isinstance(dim, int) and isinstance(size, int):
            count = -(-dim // size)
            if count > MAX_SPLIT_PARTS:
                raise view.fail(f"splits into {count:,} parts, more than the {MAX_SPLIT_PARTS:,} archcost follows")
            sizes = [size] * (count - 1) + [dim - size * (count - 1)]
        else:
            return OpResult(outputs=((count_dim(view), *(size if i == axis else d
                                                         for i, d in enumerate(x.shape))),))
    else:
        sizes = list(split)
    shapes = [tuple(s if i == axis else d for i, d in enumerate(x.shape)) for s in sizes]
    return OpResult(outputs=((len(sizes), *_merge(view, shapes)),))


@register("ConcatFromSequence", defaults={"new_axis": 0})
def concat_from_sequence(view: OpView) -> OpResult:
    """ConcatFromSequence along ``axis`` (stacking when ``new_axis`` = 1); no cost (a copy)."""
    seq = view.input(0)
    length, element = seq.shape[0], tuple(seq.shape[1:])
    axis = view.attr("axis")
    if axis is None:
        raise view.fail("the 'axis' attribute is required")
    if view.attr("new_axis"):
        axis = normalize_axis(view, axis, len(element) + 1)
        return OpResult(outputs=((*element[:axis], length, *element[axis:]),))
    axis = normalize_axis(view, axis, len(element))
    return OpResult(outputs=(tuple(d * length if i == axis else d for i, d in enumerate(element)),))


@register("Optional", roles=("x",))
def optional(view: OpView) -> OpResult:
    """Optional: wraps its input (represented by it); no cost. An empty optional (a ``type``
    attribute only) holds nothing: it is represented as an empty stack, ``[0]``."""
    x = view.optional(0)
    if x is None:
        return OpResult(outputs=((0,),))
    return OpResult(outputs=(x.shape,), values=(x.value,))


@register("OptionalGetElement")
def optional_get_element(view: OpView) -> OpResult:
    """OptionalGetElement: the contained tensor; no cost."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), values=(x.value,))


@register("OptionalHasElement", roles=("x",))
def optional_has_element(view: OpView) -> OpResult:
    """OptionalHasElement: a bool scalar (true when the input is present); no cost."""
    present = view.optional(0) is not None
    return OpResult(outputs=((),), values=((int(present),),), dtypes=("bool",))


# --- losses ---------------------------------------------------------------------------


def _reduction(view: OpView) -> str:
    value = view.attr("reduction")
    return value.decode() if isinstance(value, bytes) else str(value)


@register("NegativeLogLikelihoodLoss", roles=("x", "const", "const"), defaults={"reduction": "mean"})
def nll_loss(view: OpView) -> OpResult:
    """NegativeLogLikelihoodLoss of ``[N, C, ...]`` scores at targets ``[N, ...]``:
    elementwise_op = 2 per target element (pick and negate; ×weight adds 1), plus the
    reduction's 1 add per target element. Output: the targets' shape, or a scalar.
    """
    target = view.input(1)
    per = 2 + (1 if view.optional(2) is not None else 0)
    reduced = _reduction(view) != "none"
    out: Shape = () if reduced else target.shape
    return OpResult(outputs=(out,), terms={"elementwise_op": (per + int(reduced)) * prod(target.shape)},
                    dtypes=(view.input(0).dtype,))


@register("SoftmaxCrossEntropyLoss", roles=("x", "const", "const"), defaults={"reduction": "mean"})
def softmax_cross_entropy(view: OpView) -> OpResult:
    """SoftmaxCrossEntropyLoss: softmax_op = 3 per score element plus 1 (the log), then
    NegativeLogLikelihoodLoss on the log-probabilities (see :func:`nll_loss`).
    Outputs: the loss and the ``[N, C, ...]`` log-probabilities.
    """
    scores, labels = view.input(0), view.input(1)
    per = 2 + (1 if view.optional(2) is not None else 0)
    reduced = _reduction(view) != "none"
    out: Shape = () if reduced else labels.shape
    terms = {"softmax_op": 4 * prod(scores.shape),
             "elementwise_op": (per + int(reduced)) * prod(labels.shape)}
    return OpResult(outputs=(out, scores.shape), terms=terms, dtypes=(scores.dtype, scores.dtype))
