"""Data movement, indexing, scatter and data-dependent ops.

None of these multiplies or accumulates. Pure moves (DepthToSpace, gathers,
scatters with no reduction, Trilu, OneHot, ...) have an explicit zero cost.
Ops that compare or accumulate along an axis count that work:

* ArgMax, ArgMin, TopK: ``pool_op`` = 1 compare per input element;
* CumSum, CumProd: ``elementwise_op`` = 1 per element;
* scatters with a ``reduction``: ``elementwise_op`` = 1 per update element.

Output sizes that depend on data values (NonZero, Compress without a known
condition, Unique, TopK with a run-time k, NonMaxSuppression) are named
symbolic dims ``<node>_count`` (see :func:`count_dim`), never a failure.
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.numeric import Count, prod, same
from archcost.ops import _contents
from archcost.ops.registry import InputInfo, OpResult, OpView, register
from archcost.ops.tensor import input_values, known_ints, normalize_axis

Shape = tuple[Count, ...]
Values = tuple[Count, ...]


def count_dim(view: OpView, what: str = "count") -> Count:
    """The symbol ``<node>_<what>`` (an integer ≥ 0) for a size only the data decides."""
    return view.symbol(what, f"{what}, decided by the data at run time")


def _blocks(view: OpView) -> tuple[Shape, int]:
    """The rank-4 input shape and the positive ``blocksize`` of DepthToSpace/SpaceToDepth."""
    x = view.input(0)
    b = view.attr("blocksize")
    if len(x.shape) != 4 or not isinstance(b, int) or b < 1:
        raise view.fail(f"needs a rank-4 input and a positive blocksize, got {list(x.shape)}, {b}")
    return x.shape, b


@register("DepthToSpace", defaults={"mode": "DCR"})
def depth_to_space(view: OpView) -> OpResult:
    """DepthToSpace ``[N, C, H, W]`` → ``[N, C/b², H·b, W·b]``: no cost (a permutation)."""
    (n, c, h, w), b = _blocks(view)
    if isinstance(c, int) and c % (b * b):
        raise view.fail(f"channels {c} are not divisible by blocksize² = {b * b}")
    return OpResult(outputs=((n, c // (b * b), h * b, w * b),))


@register("SpaceToDepth")
def space_to_depth(view: OpView) -> OpResult:
    """SpaceToDepth ``[N, C, H, W]`` → ``[N, C·b², H/b, W/b]``: no cost (a permutation)."""
    (n, c, h, w), b = _blocks(view)
    return OpResult(outputs=((n, c * b * b, h // b, w // b),))


@register("GatherElements", roles=("x", "const"), defaults={"axis": 0})
def gather_elements(view: OpView) -> OpResult:
    """GatherElements: output has the indices' shape; no cost (a lookup). Known contents are
    gathered too."""
    data, where = view.input(0), view.input(1)
    value = None
    sizes, where_sizes = known_ints(data.shape), known_ints(where.shape)
    if data.value is not None and where.value is not None and sizes is not None and where_sizes is not None:
        axis = normalize_axis(view, view.attr("axis"), len(sizes))
        picks = known_ints(where.value)
        if picks is not None and all(-sizes[axis] <= p < sizes[axis] for p in picks):
            st = _contents.strides(sizes)
            value = tuple(data.value[sum((p % sizes[axis] if k == axis else i) * s
                                         for k, (i, s) in enumerate(zip(index, st, strict=True)))]
                          for p, index in zip(picks, _contents.indices(where_sizes), strict=True))
    return OpResult(outputs=(where.shape,), dtypes=(data.dtype,), values=(value,))


@register("GatherND", roles=("x", "const"), defaults={"batch_dims": 0})
def gather_nd(view: OpView) -> OpResult:
    """GatherND: ``indices[:-1] + data[b + indices[-1]:]``; no cost (a lookup). Known contents
    are gathered too (``batch_dims`` = 0)."""
    data, indices = view.input(0), view.input(1)
    b = view.attr("batch_dims")
    last = indices.shape[-1] if indices.shape else None
    if not isinstance(last, int):
        raise view.fail(f"the last dim of indices {list(indices.shape)} must be concrete")
    out = (*indices.shape[:-1], *data.shape[b + last:])
    value = None
    sizes, picks = known_ints(data.shape), known_ints(indices.value) if indices.value is not None else None
    if data.value is not None and picks is not None and sizes is not None and b == 0 and last:
        st = _contents.strides(sizes)
        inner = prod(sizes[last:])
        gathered: list[Count] = []
        for n in range(len(picks) // last):
            index = picks[n * last:(n + 1) * last]
            if not all(-d <= i < d for i, d in zip(index, sizes, strict=False)):
                break
            base = sum((i % d) * s for i, d, s in zip(index, sizes, st, strict=False))
            gathered.extend(data.value[base:base + int(inner)])
        else:
            value = tuple(gathered)
    return OpResult(outputs=(out,), dtypes=(data.dtype,), values=(value,))


def _scatter(view: OpView, write: Callable[[InputInfo, list[int], InputInfo, InputInfo], Values | None]) -> OpResult:
    """A scatter's shape and cost; with no reduction and every content known, its contents."""
    data, where, updates = view.input(0), view.input(1), view.input(2)
    reduction = view.attr("reduction", "none")
    reduction = reduction.decode() if isinstance(reduction, bytes) else reduction
    terms = {} if reduction == "none" else {"elementwise_op": prod(updates.shape)}
    value = None
    sizes = known_ints(data.shape)
    if (reduction == "none" and sizes is not None and data.value is not None and where.value is not None
            and updates.value is not None and known_ints(where.shape) is not None):
        value = write(data, sizes, where, updates)
    return OpResult(outputs=(data.shape,), terms=terms, values=(value,))


def _write_elements(view: OpView) -> Callable[[InputInfo, list[int], InputInfo, InputInfo], Values | None]:
    def write(data: InputInfo, sizes: list[int], where: InputInfo, updates: InputInfo) -> Values | None:
        axis = normalize_axis(view, view.attr("axis", 0), len(sizes))
        picks = known_ints(where.value or ())
        if picks is None:
            return None
        return _contents.scatter_elements(data.value or (), sizes, axis, tuple(picks),
                                          known_ints(where.shape) or [], updates.value or ())
    return write


def _write_nd(data: InputInfo, sizes: list[int], where: InputInfo, updates: InputInfo) -> Values | None:
    return _contents.scatter_nd(data.value or (), sizes, where.value or (), known_ints(where.shape) or [],
                                updates.value or ())


@register("ScatterElements", roles=("x", "const", "x"), defaults={"axis": 0, "reduction": "none"})
def scatter_elements(view: OpView) -> OpResult:
    """ScatterElements: output has data's shape; no cost, or elementwise_op = 1 per update
    element with a ``reduction``.
    """
    return _scatter(view, _write_elements(view))


@register("Scatter", roles=("x", "const", "x"), defaults={"axis": 0})
def scatter(view: OpView) -> OpResult:
    """Scatter (deprecated ScatterElements): output has data's shape; no cost."""
    return _scatter(view, _write_elements(view))


@register("ScatterND", roles=("x", "const", "x"), defaults={"reduction": "none"})
def scatter_nd(view: OpView) -> OpResult:
    """ScatterND: output has data's shape; no cost, or elementwise_op = 1 per update
    element with a ``reduction``.
    """
    return _scatter(view, _write_nd)


@register("Compress", roles=("x", "const"))
def compress(view: OpView) -> OpResult:
    """Compress along ``axis`` (or the flattened input) where the condition holds; no cost.

    The kept length is the count of true entries when the condition is a known
    constant, else the symbol ``<node>_count``.
    """
    x, cond = view.input(0), view.input(1)
    kept: Count = count_dim(view)
    if cond.value is not None:
        kept = sum(1 for v in cond.value if v)
    axis = view.attr("axis")
    if axis is None:
        return OpResult(outputs=((kept,),))
    axis = normalize_axis(view, axis, len(x.shape))
    return OpResult(outputs=(tuple(kept if i == axis else d for i, d in enumerate(x.shape)),))


@register("NonZero")
def non_zero(view: OpView) -> OpResult:
    """NonZero: int64 ``[rank, <node>_count]`` (the count is data-dependent); no cost."""
    x = view.input(0)
    count: Count = count_dim(view)
    if x.value is not None:
        count = sum(1 for v in x.value if v)
    return OpResult(outputs=((len(x.shape), count),), dtypes=("int64",))


@register("Unique", defaults={"sorted": 1})
def unique(view: OpView) -> OpResult:
    """Unique: ``<node>_count`` unique entries (data-dependent); pool_op = 1 compare per
    input element (a hash or sort pass).

    Outputs Y, indices, inverse_indices, counts; with ``axis`` Y keeps the other dims.
    """
    x = view.input(0)
    count = count_dim(view)
    axis = view.attr("axis")
    if axis is None:
        y: tuple[Count, ...] = (count,)
        inverse: tuple[Count, ...] = (prod(x.shape),)
    else:
        axis = normalize_axis(view, axis, len(x.shape))
        y = tuple(count if i == axis else d for i, d in enumerate(x.shape))
        inverse = (x.shape[axis],)
    return OpResult(outputs=(y, (count,), inverse, (count,)),
                    terms={"pool_op": prod(x.shape)},
                    dtypes=(x.dtype, "int64", "int64", "int64"))


@register("TopK", roles=("x", "const"), defaults={"axis": -1, "largest": 1, "sorted": 1})
def top_k(view: OpView) -> OpResult:
    """TopK: the k largest (or smallest) along ``axis``; pool_op = 1 compare per input element.

    k comes from input 1 (or the ``k`` attribute before opset 10); a k known
    only at run time is the symbol ``<node>_k``.
    """
    x = view.input(0)
    axis = normalize_axis(view, view.attr("axis"), len(x.shape))
    k: Count
    if view.attr("k") is not None:
        k = view.attr("k")
    else:
        given = view.input(1).value
        k = given[0] if given is not None and len(given) == 1 else count_dim(view, "k")
    out = tuple(k if i == axis else d for i, d in enumerate(x.shape))
    return OpResult(outputs=(out, out), terms={"pool_op": prod(x.shape)}, dtypes=(x.dtype, "int64"))


def _arg(view: OpView) -> OpResult:
    x = view.input(0)
    axis = normalize_axis(view, view.attr("axis"), len(x.shape))
    keep = bool(view.attr("keepdims"))
    out = tuple(1 if i == axis else d for i, d in enumerate(x.shape) if keep or i != axis)
    return OpResult(outputs=(out,), terms={"pool_op": prod(x.shape)}, dtypes=("int64",))


@register("ArgMax", defaults={"axis": 0, "keepdims": 1, "select_last_index": 0})
def arg_max(view: OpView) -> OpResult:
    """ArgMax: pool_op = 1 compare per input element; int64 indices."""
    return _arg(view)


@register("ArgMin", defaults={"axis": 0, "keepdims": 1, "select_last_index": 0})
def arg_min(view: OpView) -> OpResult:
    """ArgMin: pool_op = 1 compare per input element; int64 indices."""
    return _arg(view)


@register("CumSum", roles=("x", "const"), defaults={"exclusive": 0, "reverse": 0})
def cum_sum(view: OpView) -> OpResult:
    """CumSum: elementwise_op = 1 add per element."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": prod(x.shape)})


@register("CumProd", roles=("x", "const"), defaults={"exclusive": 0, "reverse": 0})
def cum_prod(view: OpView) -> OpResult:
    """CumProd: elementwise_op = 1 multiply per element."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": prod(x.shape)})


@register("Trilu", roles=("x", "const"), defaults={"upper": 1})
def trilu(view: OpView) -> OpResult:
    """Trilu: keep the upper or lower triangle; no cost (a masked copy)."""
    return OpResult(outputs=(view.input(0).shape,))


@register("OneHot", roles=("const", "const", "const"), defaults={"axis": -1})
def one_hot(view: OpView) -> OpResult:
    """OneHot: insert a ``depth`` axis at ``axis``; no cost (a fill).

    A depth known only at run time is the symbol ``<node>_depth``.
    """
    indices, depth_in, values = view.input(0), view.input(1), view.input(2)
    depth: Count = count_dim(view, "depth")
    if depth_in.value is not None and len(depth_in.value) == 1:
        depth = int(depth_in.value[0])
    rank = len(indices.shape) + 1
    axis = normalize_axis(view, view.attr("axis"), rank)
    out = (*indices.shape[:axis], depth, *indices.shape[axis:])
    return OpResult(outputs=(out,), dtypes=(values.dtype,))


@register("EyeLike", defaults={"k": 0})
def eye_like(view: OpView) -> OpResult:
    """EyeLike: an identity-like matrix of the input's shape (``dtype`` or the input's); no cost."""
    from archcost.dtypes import dtype_name

    x = view.input(0)
    dtype = view.attr("dtype")
    return OpResult(outputs=(x.shape,), dtypes=(dtype_name(dtype) if isinstance(dtype, int) else x.dtype,))


@register("ReverseSequence", roles=("x", "const"), defaults={"batch_axis": 1, "time_axis": 0})
def reverse_sequence(view: OpView) -> OpResult:
    """ReverseSequence: the input's shape; no cost (a reordering copy)."""
    return OpResult(outputs=(view.input(0).shape,))


@register("CenterCropPad", roles=("x", "const"))
def center_crop_pad(view: OpView) -> OpResult:
    """CenterCropPad to ``shape`` on ``axes`` (default all); no cost (a copy)."""
    x = view.input(0)
    target = input_values(view, 1, "shape")
    if target is None:
        raise view.fail("the shape input is required")
    rank = len(x.shape)
    axes = [normalize_axis(view, a, rank) for a in (view.attr("axes") or range(rank))]
    if len(axes) != len(target):
        raise view.fail(f"shape {list(target)} needs {len(axes)} entries")
    out = list(x.shape)
    for axis, size in zip(axes, target, strict=True):
        out[axis] = size
    return OpResult(outputs=(tuple(out),))


@register("Col2Im", roles=("x", "const", "const"))
def col2im(view: OpView) -> OpResult:
    """Col2Im ``[N, C·∏block, L]`` → ``[N, C, *image_shape]``: elementwise_op = 1 add per
    input element (overlapping blocks are summed).
    """
    x = view.input(0)
    image = input_values(view, 1, "image_shape")
    block = input_values(view, 2, "block_shape")
    if image is None or block is None or len(x.shape) != 3:
        raise view.fail("needs a rank-3 input and constant image_shape and block_shape")
    channels = x.shape[1] // prod(block)
    return OpResult(outputs=((x.shape[0], channels, *image),), terms={"elementwise_op": prod(x.shape)})


@register("Upsample", roles=("x", "const"), defaults={"mode": "nearest"})
def upsample(view: OpView) -> OpResult:
    """Upsample (deprecated Resize): floor(D · scale) per axis; elementwise_op = 1 per output
    element, as Resize counts. Scales from input 1, or the ``scales`` attribute (opset 7).
    """
    from archcost.numeric import floor_value

    x = view.input(0)
    scales = view.attr("scales")
    if scales is None:
        scales = input_values(view, 1, "scales")
    if scales is None or len(scales) != len(x.shape):
        raise view.fail(f"scales need {len(x.shape)} entries")
    from fractions import Fraction

    out = tuple(floor_value(d * (Fraction(s) if isinstance(s, float) else s))
                for d, s in zip(x.shape, scales, strict=True))
    return OpResult(outputs=(out,), terms={"elementwise_op": prod(out)})


@register("NonMaxSuppression", roles=("x", "x", "const", "const", "const"),
          defaults={"center_point_box": 0})
def non_max_suppression(view: OpView) -> OpResult:
    """NonMaxSuppression: int64 ``[<node>_count, 3]`` selected boxes (data-dependent).

    elementwise_op = B · C · N² (one IoU test per pair of boxes, per class; an
    upper bound, since suppressed boxes are skipped).
    """
    boxes, scores = view.input(0), view.input(1)
    if len(boxes.shape) != 3 or len(scores.shape) != 3:
        raise view.fail(f"boxes {list(boxes.shape)} and scores {list(scores.shape)} must be rank 3")
    batch, classes, n = scores.shape
    return OpResult(outputs=((count_dim(view), 3),), terms={"elementwise_op": batch * classes * n * n},
                    dtypes=("int64",))


@register("MaxUnpool", roles=("x", "const", "const"))
def max_unpool(view: OpView) -> OpResult:
    """MaxUnpool: scatter back to ``output_shape``, or (D − 1)·s − p_b − p_e + k; no cost."""
    x = view.input(0)
    given = input_values(view, 2, "output_shape")
    if given is not None:
        return OpResult(outputs=(tuple(given),))
    kernel = list(view.attr("kernel_shape") or [])
    rank = len(x.shape) - 2
    if len(kernel) != rank:
        raise view.fail(f"kernel_shape {kernel} needs {rank} entries")
    strides = list(view.attr("strides") or [1] * rank)
    pads = list(view.attr("pads") or [0] * (2 * rank))
    out = [(x.shape[2 + i] - 1) * strides[i] - pads[i] - pads[rank + i] + kernel[i] for i in range(rank)]
    return OpResult(outputs=((x.shape[0], x.shape[1], *out),))


@register("Det")
def det(view: OpView) -> OpResult:
    """Det of ``[..., n, n]``: elementwise_op = 2 · (n − 1)·n·(2n − 1)/6 per matrix (the
    multiply-subtract pairs of an LU factorization, Σ_{k<n} k²).
    """
    x = view.input(0)
    if len(x.shape) < 2 or same(x.shape[-1], x.shape[-2]) is False:
        raise view.fail(f"needs square matrices, got {list(x.shape)}")
    n = x.shape[-1]
    batch = prod(x.shape[:-2])
    per_matrix = (n - 1) * n * (2 * n - 1) // 3  # 2·Σk² = (n−1)n(2n−1)/3, an integer
    return OpResult(outputs=(tuple(x.shape[:-2]),), terms={"elementwise_op": batch * per_matrix})


def _window_size(view: OpView) -> Count:
    given = view.input(0).value
    if given is not None and len(given) == 1:
        return given[0]
    return count_dim(view, "size")


def _window(view: OpView) -> OpResult:
    from archcost.dtypes import dtype_name

    size = _window_size(view)
    return OpResult(outputs=((size,),), terms={"activation_op": size},
                    dtypes=(dtype_name(view.attr("output_datatype")),))


@register("HannWindow", roles=("const",), defaults={"output_datatype": 1, "periodic": 1})
def hann_window(view: OpView) -> OpResult:
    """HannWindow of ``size`` samples: activation_op = 1 per sample (one cosine)."""
    return _window(view)


@register("HammingWindow", roles=("const",), defaults={"output_datatype": 1, "periodic": 1})
def hamming_window(view: OpView) -> OpResult:
    """HammingWindow of ``size`` samples: activation_op = 1 per sample (one cosine)."""
    return _window(view)


@register("BlackmanWindow", roles=("const",), defaults={"output_datatype": 1, "periodic": 1})
def blackman_window(view: OpView) -> OpResult:
    """BlackmanWindow of ``size`` samples: activation_op = 1 per sample (two cosines, one
    lookup-like term each; counted once as for the other windows).
    """
    return _window(view)


def _scalar_input(view: OpView, index: int, what: str) -> Count:
    info = view.optional(index)
    if info is not None and info.value is not None and len(info.value) == 1:
        return info.value[0]
    return count_dim(view, what)


@register("DFT", roles=("x", "const", "const"), defaults={"inverse": 0, "onesided": 0})
def dft(view: OpView) -> OpResult:
    """DFT along ``axis`` (input 2 from opset 20, else the attribute; default 1).

    Input ``[..., N, 1 or 2]`` (real or complex), output ``[..., N_out, 2]`` with
    N_out = n (or n//2 + 1 when onesided), n = dft_length (input 1) or N. The
    inverse of a one-sided spectrum (an inverse real FFT) is real: ``[..., n, 1]``
    with n = dft_length or 2·(N − 1).
    mac = 4 · (other elements) · N_out · n (inverse one-sided: 4 · others · n · N):
    the transform as a dense complex matrix product, 4 real multiply-accumulates per
    complex one (an FFT does less; this is the direct form's count).
    """
    x = view.input(0)
    rank = len(x.shape)
    axis_in = view.optional(2)
    axis = view.attr("axis", 1)
    if axis_in is not None and axis_in.value is not None:
        axis = int(axis_in.value[0])
    axis = normalize_axis(view, axis, rank - 1)
    n = view.optional(1)
    others = prod(d for i, d in enumerate(x.shape[:-1]) if i != axis)
    if view.attr("inverse") and view.attr("onesided"):
        length = 2 * (x.shape[axis] - 1) if n is None else _scalar_input(view, 1, "dft_length")
        out = (*(length if i == axis else d for i, d in enumerate(x.shape[:-1])), 1)
        return OpResult(outputs=(out,), terms={"mac": 4 * others * length * x.shape[axis]})
    length = x.shape[axis] if n is None else _scalar_input(view, 1, "dft_length")
    n_out = length // 2 + 1 if view.attr("onesided") else length
    out = (*(n_out if i == axis else d for i, d in enumerate(x.shape[:-1])), 2)
    return OpResult(outputs=(out,), terms={"mac": 4 * others * n_out * length})


@register("STFT", roles=("x", "const", "const", "const"), defaults={"onesided": 1})
def stft(view: OpView) -> OpResult:
    """STFT of ``[B, L, 1 or 2]`` with frames of length n every ``frame_step``.

    Frames F = (L − n) // step + 1; output ``[B, F, n_out, 2]``, n_out = n//2 + 1
    when onesided. mac = 4 · B · F · n_out · n (each frame's DFT in direct
    form, as :func:`dft`); the window multiply is elementwise_op = B · F · n.
    """
    x = view.input(0)
    step = _scalar_input(view, 1, "frame_step")
    window = view.optional(2)
    if view.optional(3) is not None:
        n = _scalar_input(view, 3, "frame_length")
    elif window is not None:
        n = window.shape[0]
    else:
        raise view.fail("give a window or a frame_length")
    batch, length = x.shape[0], x.shape[1]
    frames = (length - n) // step + 1
    n_out = n // 2 + 1 if view.attr("onesided") else n
    terms = {"mac": 4 * batch * frames * n_out * n}
    if window is not None:
        terms["elementwise_op"] = batch * frames * n
    return OpResult(outputs=((batch, frames, n_out, 2),), terms=terms)


@register("MelWeightMatrix", roles=("const", "const", "const", "const", "const"),
          defaults={"output_datatype": 1})
def mel_weight_matrix(view: OpView) -> OpResult:
    """MelWeightMatrix ``[dft_length // 2 + 1, num_mel_bins]``: no cost (a table built once)."""
    from archcost.dtypes import dtype_name

    bins = _scalar_input(view, 0, "num_mel_bins")
    dft_length = _scalar_input(view, 1, "dft_length")
    return OpResult(outputs=((dft_length // 2 + 1, bins),),
                    dtypes=(dtype_name(view.attr("output_datatype")),))


@register("AffineGrid", roles=("x", "const"), defaults={"align_corners": 0})
def affine_grid(view: OpView) -> OpResult:
    """AffineGrid: ``[N, *spatial, r]`` sample points for ``size`` = [N, C, *spatial].

    mac = N · ∏spatial · r · (r + 1): each point is θ (r × (r+1)) times [x, 1].
    """
    size = input_values(view, 1, "size")
    if size is None or len(size) not in (4, 5):
        raise view.fail("size must be a constant [N, C, H, W] or [N, C, D, H, W]")
    n, spatial = size[0], tuple(size[2:])
    r = len(spatial)
    return OpResult(outputs=((n, *spatial, r),), terms={"mac": n * prod(spatial) * r * (r + 1)})


@register("GridSample", roles=("x", "x"),
          defaults={"align_corners": 0, "mode": "linear", "padding_mode": "zeros"})
def grid_sample(view: OpView) -> OpResult:
    """GridSample ``[N, C, *in]`` at grid ``[N, *out, r]`` → ``[N, C, *out]``.

    elementwise_op = 2^r per output element for linear interpolation (one
    weighted tap per corner), 1 for nearest, 4^r for cubic.
    """
    x, grid = view.input(0), view.input(1)
    out_spatial = tuple(grid.shape[1:-1])
    out = (x.shape[0], x.shape[1], *out_spatial)
    mode = view.attr("mode")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    r = len(out_spatial)
    taps = {"nearest": 1, "cubic": 4**r, "bicubic": 4**r}.get(mode, 2**r)
    return OpResult(outputs=(out,), terms={"elementwise_op": taps * prod(out)})


@register("RoiAlign", roles=("x", "x", "const"),
          defaults={"coordinate_transformation_mode": "half_pixel", "mode": "avg", "output_height": 1,
                    "output_width": 1, "sampling_ratio": 0, "spatial_scale": 1.0})
def roi_align(view: OpView) -> OpResult:
    """RoiAlign → ``[R, C, out_h, out_w]``: pool_op = 4 · s² per output element (bilinear taps
    over s × s samples per bin, s = sampling_ratio, or 2 when adaptive (0)).
    """
    x, rois = view.input(0), view.input(1)
    h, w = view.attr("output_height"), view.attr("output_width")
    s = view.attr("sampling_ratio") or 2
    out = (rois.shape[0], x.shape[1], h, w)
    return OpResult(outputs=(out,), terms={"pool_op": 4 * s * s * prod(out)})


@register("MaxRoiPool", roles=("x", "x"), defaults={"spatial_scale": 1.0})
def max_roi_pool(view: OpView) -> OpResult:
    """MaxRoiPool → ``[R, C, p_h, p_w]``: pool_op = data-dependent window compares, bounded by
    the input's H·W per output bin (counted as C · H · W · R, each RoI read once).
    """
    x, rois = view.input(0), view.input(1)
    pooled = list(view.attr("pooled_shape") or [])
    if len(pooled) != 2:
        raise view.fail("pooled_shape [h, w] is required")
    out = (rois.shape[0], x.shape[1], *pooled)
    return OpResult(outputs=(out,), terms={"pool_op": rois.shape[0] * prod(x.shape[1:])})


@register("DeformConv", roles=("x", "weight", "x", "bias", "x"),
          defaults={"group": 1, "offset_group": 1})
def deform_conv(view: OpView) -> OpResult:
    """DeformConv: Conv's MACs (B · N · H_out · W_out · (M/g) · K_h · K_w) plus bilinear
    sampling, elementwise_op = 4 per sampled input (B · H_out · W_out · M · K_h · K_w), and
    the mask multiply (1 per sample) when a mask is given.
    """
    from archcost.ops.conv import conv

    x, w = view.input(0), view.input(1)
    inner = OpView(view.name, "Conv", view.attrs, (x, w, view.optional(3)),
                   {"group": 1, "auto_pad": "NOTSET"})
    result = conv(inner)
    out = result.outputs[0]
    kernel = prod(w.shape[2:])
    samples = out[0] * prod(out[2:]) * x.shape[1] * kernel
    taps = 4 + (1 if view.optional(4) is not None else 0)
    terms = {**result.terms, "elementwise_op": taps * samples}
    return OpResult(outputs=result.outputs, terms=terms, category=result.category)

