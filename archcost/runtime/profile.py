"""Static cost next to measured time: run a model in onnxruntime with profiling on.

Pipeline
--------
1. The model is exported to ONNX (a spec first goes through
   :func:`archcost.runtime.export.graph_to_onnx`), so the nodes that run carry
   archcost's node names.
2. onnxruntime runs it ``warmup + runs`` times with profiling enabled. The
   profile is a JSON list of Chrome-trace events; every ``model_run`` session
   event brackets one run, and every ``<node>_kernel_time`` node event inside it
   is one kernel's time (``dur``, µs). The first ``warmup`` runs are dropped.
3. **Kernels are mapped to archcost nodes.** onnxruntime fuses nodes (Conv + BN
   + ReLU become one kernel) and renames them: the fused kernel takes the name of
   the *last* node of the chain, and the NCHWc layout pass appends ``_nchwc``
   (``sep1.dw_relu_nchwc`` runs ``sep1.dw``, ``sep1.dw_bn`` and ``sep1.dw_relu``).
   A kernel name is stripped of such decorations down to an archcost node; when
   that node's op type is not the kernel's (``Relu`` vs ``Conv``), the producers are
   searched back, nearest first, for a node of the kernel's op type, and every
   node on the way is a member of the kernel. An archcost node that no kernel
   claims did not run on its own: it joins the kernel of the node that produced
   its last-computed input (a residual Add joins the conv fused with it). Kernels
   the runtime inserted (``ReorderInput``) map to nothing and are reported apart.
4. Each kernel gets the median of its per-run times; its category is its anchor
   node's (the node whose op type it runs), its MACs, bytes and estimated time
   are its members' sums. Categories aggregate kernels; the Spearman rank
   correlation compares estimated and measured time per kernel.

Nothing here is timed by the tests: they feed :func:`aggregate` a fixture in the
exact format onnxruntime writes and check the arithmetic.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.categories import Category
from archcost.cost.report import Report
from archcost.cost.roofline import Device, Roofline, device_dict, roofline
from archcost.errors import ModelFormatError, UsageError

#: ``--optimization`` choices → onnxruntime ``GraphOptimizationLevel`` member names.
OPTIMIZATION_LEVELS: Mapping[str, str] = {
    "all": "ORT_ENABLE_ALL",
    "extended": "ORT_ENABLE_EXTENDED",
    "basic": "ORT_ENABLE_BASIC",
    "none": "ORT_DISABLE_ALL",
}

#: Kernel op names onnxruntime uses for a fused or rewritten archcost op type.
_KERNEL_OPS: Mapping[str, frozenset[str]] = {
    "Conv": frozenset({"Conv", "FusedConv", "NhwcFusedConv", "NhwcConv", "QLinearConv"}),
    "Gemm": frozenset({"Gemm", "FusedGemm", "MatMul", "FusedMatMul"}),
    "MatMul": frozenset({"Gemm", "FusedGemm", "MatMul", "FusedMatMul"}),
}
#: Name decorations onnxruntime's graph transformers append to a node they rewrite.
_DECORATION = re.compile(r"(_nchwc|_token_\d+|/[A-Za-z0-9_]+Fusion[A-Za-z0-9_]*)$")
#: How far back a fused kernel is searched for its anchor node.
MAX_FUSION_DEPTH = 4
#: Label of the row for kernels that map to no archcost node.
RUNTIME_ROW = "runtime-inserted"


# --- the profile file --------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelEvent:
    """One ``<name>_kernel_time`` event: one kernel, one run."""

    name: str
    op_name: str
    start_us: int
    duration_us: int


@dataclass(frozen=True)
class ProfileRuns:
    """The kernel events of each run, in run order, and each run's wall time (µs)."""

    runs: tuple[tuple[KernelEvent, ...], ...]
    run_us: tuple[int, ...]


def parse_profile(data: Any, where: str) -> ProfileRuns:
    """Split an onnxruntime profile (the decoded JSON list) into runs of kernel events."""
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ModelFormatError("not an onnxruntime profile: expected a JSON list of trace events",
                               where=where)
    windows: list[tuple[int, int]] = []
    kernels: list[KernelEvent] = []
    try:
        for event in data:
            category, name = event.get("cat"), event.get("name")
            if category == "Session" and name == "model_run":
                windows.append((int(event["ts"]), int(event["dur"])))
            elif category == "Node" and isinstance(name, str) and name.endswith("_kernel_time"):
                args = event.get("args") or {}
                kernels.append(KernelEvent(
                    name=name[: -len("_kernel_time")],
                    op_name=str(args.get("op_name", "")),
                    start_us=int(event["ts"]),
                    duration_us=int(event["dur"]),
                ))
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFormatError(f"malformed onnxruntime profile event ({err})", where=where) from None
    if not windows:
        raise ModelFormatError("the profile records no model_run: was the model run with "
                               "profiling enabled?", where=where)
    windows.sort()
    runs: list[list[KernelEvent]] = [[] for _ in windows]
    starts = [w[0] for w in windows]
    import bisect

    for kernel in sorted(kernels, key=lambda k: k.start_us):
        index = bisect.bisect_right(starts, kernel.start_us) - 1
        if index >= 0 and kernel.start_us <= windows[index][0] + windows[index][1]:
            runs[index].append(kernel)
    return ProfileRuns(tuple(tuple(r) for r in runs), tuple(w[1] for w in windows))


def load_profile(path: Path, display: str | None = None) -> ProfileRuns:
    """Read and parse an onnxruntime profile JSON file."""
    display = display or str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ModelFormatError(f"cannot read the profile: {err.strerror}", where=display) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFormatError(f"not an onnxruntime profile: {err}", where=display) from None
    return parse_profile(data, display)


# --- mapping kernels to archcost nodes -----------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """One kernel that ran, with the archcost nodes whose work it did."""

    name: str
    op_name: str
    #: The archcost node whose op the kernel runs; ``None`` for runtime-inserted kernels.
    anchor: str | None
    members: tuple[str, ...]
    category: Category | None
    macs: int
    bytes: int
    #: Estimated seconds: the members' roofline times, summed.
    est_time: Fraction
    #: Median over the measured runs of this kernel's time per run, in µs.
    measured_us: Fraction
    #: ``compute`` or ``memory``: which roof sets the anchor node's estimate; ``—`` for
    #: runtime-inserted kernels.
    bound: str = "—"
    #: (MACs, bytes) of each member node, which the roofline costs one by one.
    parts: tuple[tuple[int, int], ...] = ()


def kernel_ops(op_type: str) -> frozenset[str]:
    """Kernel op names that can run an archcost node of ``op_type``."""
    return _KERNEL_OPS.get(op_type, frozenset({op_type}))


def strip_decorations(name: str, known: Iterable[str]) -> str | None:
    """The archcost node a kernel name refers to, or ``None``."""
    names = set(known)
    candidate = name
    while True:
        if candidate in names:
            return candidate
        stripped = _DECORATION.sub("", candidate)
        if stripped == candidate or not stripped:
            return None
        candidate = stripped


def map_kernels(report: Report, kernels: Mapping[str, str]) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """For each kernel (name → op name): its anchor node and member nodes.

    Every archcost node ends up in exactly one kernel's members, except nodes no
    kernel claims and that have no producer (returned under the key ``""``).
    """
    rows = {r.name: r for r in report.layers}
    position = {r.name: i for i, r in enumerate(report.layers)}
    producer: dict[str, str] = {}
    for r in report.layers:
        for t in r.output_names:
            if t:
                producer[t] = r.name
    parents: dict[str, list[str]] = {
        r.name: [producer[t] for t in r.input_names if t and t in producer] for r in report.layers
    }
    direct = {k: strip_decorations(k, rows) for k in kernels}
    named = {node for node in direct.values() if node is not None}
    result: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    owner: dict[str, str] = {}
    for kernel, op_name in kernels.items():
        node = direct[kernel]
        if node is None:
            result[kernel] = (None, ())
            continue
        chain = _anchor_chain(node, op_name, rows, parents, named)
        members = tuple(m for m in chain if m not in owner)
        for m in members:
            owner[m] = kernel
        result[kernel] = (chain[0], members)
    extra: dict[str, list[str]] = {}
    orphans: list[str] = []
    for r in report.layers:
        if r.name in owner:
            continue
        # A fused elementwise op runs in the kernel that produces its last-computed input.
        claimed = [p for p in parents[r.name] if p in owner]
        host = owner[max(claimed, key=position.__getitem__)] if claimed else None
        if host is None:
            orphans.append(r.name)
        else:
            owner[r.name] = host
            extra.setdefault(host, []).append(r.name)
    for kernel, added in extra.items():
        anchor, members = result[kernel]
        result[kernel] = (anchor, (*members, *added))
    if orphans:
        result[""] = (None, tuple(orphans))
    return result


def _anchor_chain(
    node: str,
    op_name: str,
    rows: Mapping[str, Any],
    parents: Mapping[str, list[str]],
    named: set[str],
) -> tuple[str, ...]:
    """The path from the nearest producer whose op the kernel runs, down to ``node``."""
    if op_name == "" or op_name in kernel_ops(rows[node].op_type):
        return (node,)
    # Breadth-first, nearest first; a node another kernel is named after ran on its own.
    frontier: list[tuple[str, ...]] = [(node,)]
    for _ in range(MAX_FUSION_DEPTH):
        following: list[tuple[str, ...]] = []
        for path in frontier:
            for parent in parents[path[0]]:
                if parent in named or parent in path:
                    continue
                candidate = (parent, *path)
                if op_name in kernel_ops(rows[parent].op_type):
                    return candidate
                following.append(candidate)
        frontier = following
    return (node,)


# --- aggregation ---------------------------------------------------------------------------------


def median(values: Sequence[int | Fraction]) -> Fraction:
    """The exact median (the mean of the two middle values for an even count)."""
    if not values:
        return Fraction(0)
    ordered = sorted(Fraction(v) for v in values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def spearman(xs: Sequence[float | Fraction], ys: Sequence[float | Fraction]) -> float | None:
    """Spearman's rank correlation: Pearson's r of the ranks, ties given their mean rank.

    ``None`` when there are fewer than two points or either side has no spread.
    """
    if len(xs) != len(ys):
        raise ValueError("spearman needs two sequences of the same length")
    if len(xs) < 2:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    n = len(rx)
    mean = Fraction(n + 1, 2)
    cov = sum(((a - mean) * (b - mean) for a, b in zip(rx, ry, strict=True)), Fraction(0))
    vx = sum(((a - mean) ** 2 for a in rx), Fraction(0))
    vy = sum(((b - mean) ** 2 for b in ry), Fraction(0))
    if vx == 0 or vy == 0:
        return None
    return float(cov) / math.sqrt(float(vx) * float(vy))


def _ranks(values: Sequence[float | Fraction]) -> list[Fraction]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [Fraction(0)] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        # Positions i..j (0-based) share ranks i+1..j+1: each gets their mean.
        for k in range(i, j + 1):
            ranks[order[k]] = Fraction(i + j + 2, 2)
        i = j + 1
    return ranks


@dataclass(frozen=True)
class CategoryTime:
    """One row of the category table."""

    label: str
    category: Category | None
    macs: int
    est_time: Fraction
    measured_us: Fraction
    kernels: int


@dataclass(frozen=True)
class ProfileResult:
    """Static cost, roofline estimate and measured time of one model run in onnxruntime."""

    model: str
    roofline: Roofline
    kernels: tuple[Kernel, ...]
    warmup: int
    runs: int
    #: Median wall time of one measured ``model_run``, in µs.
    run_us: Fraction
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The calibrated device and the fit's statistics, when ``--calibrate`` was given.
    calibration: Calibration | None = None

    @property
    def device(self) -> Device:
        return self.roofline.device

    @property
    def macs(self) -> int:
        return sum(k.macs for k in self.kernels)

    @property
    def est_time(self) -> Fraction:
        return sum((k.est_time for k in self.kernels), Fraction(0))

    @property
    def measured_us(self) -> Fraction:
        """The sum of the kernels' median times (µs)."""
        return sum((k.measured_us for k in self.kernels), Fraction(0))

    @property
    def mapped(self) -> tuple[Kernel, ...]:
        """Kernels that run archcost nodes and were measured."""
        return tuple(k for k in self.kernels if k.anchor is not None and k.name)

    @property
    def rank_correlation(self) -> float | None:
        """Spearman's ρ between per-kernel estimated and measured time."""
        kernels = self.mapped
        return spearman([k.est_time for k in kernels], [k.measured_us for k in kernels])

    def categories(self) -> list[CategoryTime]:
        """Per category (in :class:`Category` order), then one row for runtime-inserted kernels."""
        rows: dict[Category | None, list[Kernel]] = {}
        for k in self.kernels:
            rows.setdefault(k.category, []).append(k)
        ordered: list[Category | None] = [c for c in Category if c in rows]
        if None in rows:
            ordered.append(None)
        return [
            CategoryTime(
                label=RUNTIME_ROW if c is None else c.label,
                category=c,
                macs=sum(k.macs for k in rows[c]),
                est_time=sum((k.est_time for k in rows[c]), Fraction(0)),
                measured_us=sum((k.measured_us for k in rows[c]), Fraction(0)),
                kernels=sum(1 for k in rows[c] if k.name),
            )
            for c in ordered
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: MACs and bytes exact ints, times in float µs, shares as fractions of 1."""
        return {
            "model": self.model,
            "device": device_dict(self.device),
            "settings": dict(self.settings),
            "warmup": self.warmup,
            "runs": self.runs,
            "run_us": float(self.run_us),
            "macs": self.macs,
            "est_us": float(self.est_time * 10**6),
            "measured_us": float(self.measured_us),
            "rank_correlation": self.rank_correlation,
            "categories": category_records(self),
            "kernels": kernel_records(self),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }


def _share(part: int | Fraction, whole: int | Fraction) -> float | None:
    return float(Fraction(part) / Fraction(whole)) if whole else None


def aggregate(
    report: Report,
    device: Device,
    profile: ProfileRuns,
    *,
    warmup: int,
    settings: Mapping[str, Any] | None = None,
) -> ProfileResult:
    """Map a parsed profile onto ``report`` and compare it with the roofline on ``device``."""
    if warmup < 0:
        raise UsageError(f"--warmup must be ≥ 0, got {warmup}")
    measured_runs = profile.runs[warmup:]
    if not measured_runs:
        raise UsageError(
            f"the profile has {len(profile.runs)} run(s), all of them warm-up (--warmup {warmup})"
        )
    ops: dict[str, str] = {}
    per_run: list[dict[str, int]] = []
    for run in measured_runs:
        times: dict[str, int] = {}
        for event in run:
            ops.setdefault(event.name, event.op_name)
            times[event.name] = times.get(event.name, 0) + event.duration_us
        per_run.append(times)
    mapping = map_kernels(report, ops)
    estimate = roofline(report, device)
    estimates = estimate.by_name()
    kernels = []
    for name, (anchor, members) in mapping.items():
        nodes = [estimates[m] for m in members]
        anchor_est = estimates.get(anchor) if anchor else None
        kernels.append(Kernel(
            name=name,
            op_name=ops.get(name, ""),
            anchor=anchor,
            members=members,
            category=anchor_est.category if anchor_est else (None if name else Category.OTHER),
            macs=sum(n.macs for n in nodes),
            bytes=sum(int(n.traffic.total) for n in nodes),
            est_time=sum((n.time for n in nodes), Fraction(0)),
            measured_us=median([times.get(name, 0) for times in per_run]) if name else Fraction(0),
            bound=anchor_est.bound if anchor_est else "—",
            parts=tuple((n.macs, int(n.traffic.total)) for n in nodes),
        ))
    return ProfileResult(
        model=report.model,
        roofline=estimate,
        kernels=tuple(kernels),
        warmup=warmup,
        runs=len(measured_runs),
        run_us=median(profile.run_us[warmup:]),
        settings=dict(settings or {}),
    )


# --- calibration ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """A device fitted to a measured run, and how well it fits."""

    device: Device
    #: Kernels the fit used.
    points: int
    #: Root-mean-square of log(estimated / measured) over those kernels, weighted by time.
    rms_log_error: float
    est_us: float
    measured_us: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": device_dict(self.device),
            "points": self.points,
            "rms_log_error": self.rms_log_error,
            "est_us": self.est_us,
            "measured_us": self.measured_us,
        }


#: Grid points per axis, refinement rounds and shrink factor of the calibration search.
_GRID = 17
_ROUNDS = 14
_SHRINK = 4


def calibrate(kernels: Sequence[Kernel], name: str = "calibrated", source: str = "") -> Calibration:
    """Fit peak P (MAC/s) and bandwidth W (B/s) to the measured kernel times.

    Method: over the mapped kernels k with a measured time t_k > 0, minimize the
    time-weighted squared log error

        Σ_k t_k · (log t_k − log e_k(P, W))²,   e_k = Σ_{i ∈ k} max(M_i / P, B_i / W),

    where e_k is exactly what the roofline estimates for the kernel: the sum over
    its member nodes i (MACs M_i, bytes B_i), so the fitted device reproduces the
    fit's estimate when loaded with ``--device-file``.

    Log errors make the fit relative (a kernel off by 2× counts the same at any
    size); the weight t_k makes the kernels that dominate the latency dominate the
    fit, so tiny kernels whose time is mostly fixed overhead, which the roofline
    does not model, do not drag the bandwidth down. The objective is not smooth
    (the max), so it is minimized by a grid search over (log P, log W): a 17 × 17
    grid spanning each rate's observed per-kernel range (Σ M_i / t_k, Σ B_i / t_k) widened 10×
    on both sides, re-centred on the best point and shrunk 4× per round, 14 rounds.
    When every kernel fits as memory-bound, the run does not constrain P, which
    then lands anywhere the fit is flat (and likewise for W).
    """
    used = [k for k in kernels
            if k.anchor is not None and k.measured_us > 0 and (k.macs > 0 or k.bytes > 0)]
    points = [(k.macs, k.bytes, float(k.measured_us) * 1e-6) for k in used]
    if not any(m for m, _, _ in points) or not any(b for _, b, _ in points):
        raise UsageError("calibration needs measured kernels with MACs and kernels with bytes")
    parts = [[(float(m), float(b)) for m, b in (k.parts or ((k.macs, k.bytes),))] for k in used]

    def estimate(kernel: list[tuple[float, float]], peak: float, bandwidth: float) -> float:
        return sum(max(m / peak, b / bandwidth) for m, b in kernel)

    def loss(log_p: float, log_w: float) -> float:
        peak, bandwidth = math.exp(log_p), math.exp(log_w)
        return sum(t * (math.log(t) - math.log(estimate(kernel, peak, bandwidth))) ** 2
                   for kernel, (_, _, t) in zip(parts, points, strict=True))

    def bounds(values: list[float]) -> tuple[float, float]:
        return math.log(min(values)) - math.log(10), math.log(max(values)) + math.log(10)

    p_lo, p_hi = bounds([m / t for m, _, t in points if m])
    w_lo, w_hi = bounds([b / t for _, b, t in points if b])
    center_p, center_w = (p_lo + p_hi) / 2, (w_lo + w_hi) / 2
    best = (loss(center_p, center_w), center_p, center_w)
    span_p, span_w = (p_hi - p_lo) / 2, (w_hi - w_lo) / 2
    for _ in range(_ROUNDS):
        for i in range(_GRID):
            lp = min(max(center_p - span_p + 2 * span_p * i / (_GRID - 1), p_lo), p_hi)
            for j in range(_GRID):
                lw = min(max(center_w - span_w + 2 * span_w * j / (_GRID - 1), w_lo), w_hi)
                value = loss(lp, lw)
                if value < best[0]:
                    best = (value, lp, lw)
        center_p, center_w = best[1], best[2]
        span_p, span_w = span_p / _SHRINK, span_w / _SHRINK
    peak, bandwidth = round(math.exp(best[1])), round(math.exp(best[2]))
    device = Device(name, Fraction(peak), Fraction(bandwidth), source)
    est = sum(estimate(kernel, peak, bandwidth) for kernel in parts)
    total = sum(t for _, _, t in points)
    return Calibration(
        device=device,
        points=len(points),
        rms_log_error=math.sqrt(best[0] / total),
        est_us=est * 1e6,
        measured_us=total * 1e6,
    )


def device_file_text(calibration: Calibration, details: Mapping[str, Any]) -> str:
    """A device file (``archcost/data/devices.yaml`` format) holding the calibrated device."""
    import yaml

    d = calibration.device
    entry = {
        "peak_macs_per_s": int(d.peak_macs_per_s),
        "bandwidth_bytes_per_s": int(d.bandwidth_bytes_per_s),
        "source": d.source,
        "calibration": {
            **{k: v for k, v in details.items()},
            "kernels_fitted": calibration.points,
            "rms_log_error": round(calibration.rms_log_error, 6),
            "method": "time-weighted least squares on log(time) per kernel, grid search "
                      "(archcost.runtime.profile.calibrate)",
        },
    }
    header = ("# Written by `archcost profile --calibrate`: peak and bandwidth fitted to a measured\n"
              "# onnxruntime run. Load it with `--device-file PATH`.\n")
    return header + yaml.safe_dump({"devices": {d.name: entry}}, sort_keys=False, allow_unicode=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so nothing is left half-written."""
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".archcost-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None


# --- running onnxruntime ----------------------------------------------------------------------------


def run_onnxruntime(
    model: bytes,
    report: Report,
    *,
    runs: int,
    warmup: int,
    threads: int,
    optimization: str,
    seed: int,
    workdir: Path,
) -> tuple[ProfileRuns, Path, dict[str, Any]]:
    """Run ``model`` ``warmup + runs`` times with profiling on; the parsed profile and its file."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        raise UsageError("archcost profile needs onnxruntime: pip install 'archcost[runtime]'") from None
    if runs < 1:
        raise UsageError(f"--runs must be ≥ 1, got {runs}")
    if warmup < 0:
        raise UsageError(f"--warmup must be ≥ 0, got {warmup}")
    if threads < 0:
        raise UsageError(f"--threads must be ≥ 0 (0: onnxruntime's default), got {threads}")
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(workdir / "archcost_profile")
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[optimization])
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types, not exported stably
        raise ModelFormatError(f"onnxruntime cannot load the model: {err}") from None
    rng = np.random.default_rng(seed)
    feeds = {}
    for info in session.get_inputs():
        shape: list[int] = [d for d in info.shape if isinstance(d, int)]
        if len(shape) != len(info.shape):
            inferred = report.tensor_shapes.get(info.name)
            if inferred is None or not all(isinstance(d, int) for d in inferred):
                raise UsageError(f"input {info.name!r} has a free dimension; bind it with --set")
            shape = [int(d) for d in inferred]
        dtype = _numpy_dtype(info.type)
        if np.issubdtype(dtype, np.floating):
            feeds[info.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[info.name] = rng.integers(0, 2, size=shape).astype(dtype)
    for _ in range(warmup + runs):
        session.run(None, feeds)
    path = Path(session.end_profiling())
    details = {
        "onnxruntime": ort.__version__,
        "threads": threads,
        "optimization": optimization,
        "provider": "CPUExecutionProvider",
    }
    return load_profile(path), path, details


def _numpy_dtype(ort_type: str) -> Any:
    import numpy as np

    names = {
        "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
        "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
        "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
    }
    if ort_type not in names:
        raise UsageError(f"cannot make a random input of type {ort_type}")
    return np.dtype(names[ort_type])


def export_for_profile(model: str, params: Mapping[str, Any], seed: int,
                       input_shapes: Mapping[str, Any] | None = None,
                       input_values: Mapping[str, Any] | None = None) -> tuple[bytes, Report]:
    """The runnable ONNX bytes and the static report of the same graph.

    Every model (an ONNX file too) goes through the exporter, with seeded random
    weights, so the nodes that run carry the names archcost's report uses.
    """
    from archcost.cost.analyze import analyze_graph
    from archcost.cost.conventions import PAPER
    from archcost.frontends.loader import load_model
    from archcost.runtime.export import graph_to_onnx

    loaded = load_model(model, params=params, input_shapes=input_shapes, input_values=input_values)
    graph, bindings = loaded.graph, loaded.bindings
    report = analyze_graph(graph, PAPER, bindings=bindings, source=model)
    data: bytes = graph_to_onnx(graph, seed=seed).SerializeToString()
    return data, report


# --- rendering ----------------------------------------------------------------------------------------


def category_records(result: ProfileResult) -> list[dict[str, Any]]:
    """The category table as plain data: MACs exact, times in µs, shares as fractions of 1."""
    macs, est, measured = result.macs, result.est_time, result.measured_us
    return [
        {
            "category": c.category.value if c.category else RUNTIME_ROW,
            "label": c.label,
            "macs": c.macs,
            "macs_share": _share(c.macs, macs),
            "est_us": float(c.est_time * 10**6),
            "est_share": _share(c.est_time, est),
            "measured_us": float(c.measured_us),
            "measured_share": _share(c.measured_us, measured),
            "kernels": c.kernels,
        }
        for c in result.categories()
    ]


def kernel_records(result: ProfileResult) -> list[dict[str, Any]]:
    """One record per kernel: what ran, which archcost nodes it covers, estimate and measurement."""
    return [
        {
            "kernel": k.name,
            "op": k.op_name,
            "anchor": k.anchor,
            "members": list(k.members),
            "category": k.category.value if k.category else RUNTIME_ROW,
            "macs": k.macs,
            "bytes": k.bytes,
            "intensity": str(Fraction(k.macs, k.bytes)) if k.bytes else None,
            "bound": k.bound,
            "est_us": float(k.est_time * 10**6),
            "measured_us": float(k.measured_us),
        }
        for k in result.kernels
    ]


def render(result: ProfileResult, fmt: str, *, table: str = "categories") -> str:
    """``table``/``markdown``: everything; ``csv``: the ``categories`` or ``kernels`` table; ``json``."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        import csv
        import io

        from archcost.report.format import csv_cell

        records = category_records(result) if table == "categories" else kernel_records(result)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        headers = list(records[0]) if records else []
        writer.writerow(headers)
        for record in records:
            writer.writerow([
                csv_cell(" ".join(v) if isinstance(v, list) else ("" if v is None else v))
                for v in record.values()
            ])
        return out.getvalue()
    return _text(result, "github" if fmt == "markdown" else "simple")


CATEGORY_HEADERS = ["category", "MACs", "% MACs", "est. ms", "% est.", "measured ms", "% measured",
                    "kernels"]
KERNEL_HEADERS = ["kernel", "op", "category", "MACs", "bytes", "MAC/B", "bound", "est. µs",
                  "measured µs", "nodes"]


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.2f}"


def _ms(seconds: Fraction) -> str:
    return f"{float(seconds) * 1e3:.3f}"


def _text(result: ProfileResult, style: str) -> str:
    from tabulate import tabulate

    from archcost.report.format import exact, markdown_cell

    def cells(rows: list[list[Any]]) -> list[list[Any]]:
        return [[exact(c) if isinstance(c, int) else (markdown_cell(c) if style == "github" else c)
                 for c in row] for row in rows]

    d, s = result.device, result.settings
    est_s, measured_s = result.est_time, result.measured_us / 10**6
    rows: list[list[Any]] = [
        [r["label"], r["macs"], _pct(r["macs_share"]), f"{r['est_us'] / 1e3:.3f}", _pct(r["est_share"]),
         f"{r['measured_us'] / 1e3:.3f}", _pct(r["measured_share"]), r["kernels"]]
        for r in category_records(result)
    ]
    rows.append(["total", result.macs, "100.00", _ms(est_s), "100.00", _ms(measured_s), "100.00",
                 sum(c.kernels for c in result.categories())])
    kernels: list[list[Any]] = [
        [r["kernel"] or "(did not run)", r["op"], r["category"], r["macs"], r["bytes"],
         "—" if r["intensity"] is None else f"{float(Fraction(r['intensity'])):.2f}", r["bound"],
         f"{r['est_us']:.1f}", f"{r['measured_us']:.1f}", " ".join(r["members"])]
        for r in kernel_records(result)
    ]
    rho = result.rank_correlation
    lines = [
        f"# {result.model}: static cost vs measured time" if style == "github"
        else f"model: {result.model}",
        "",
        f"runtime: onnxruntime {s.get('onnxruntime', '?')}, {s.get('provider', 'CPUExecutionProvider')}, "
        f"threads={s.get('threads', '?')}, optimization={s.get('optimization', '?')}; "
        f"{result.warmup} warm-up run(s), {result.runs} measured (median per kernel)",
        f"device for the estimate: {d.name} — peak {float(d.peak_macs_per_s) / 1e9:.4g} GMAC/s, "
        f"bandwidth {float(d.bandwidth_bytes_per_s) / 1e9:.4g} GB/s, ridge {float(d.ridge):.3g} MAC/B"
        + (f" ({d.source})" if d.source else ""),
        "",
        tabulate(cells(rows), headers=CATEGORY_HEADERS, tablefmt=style, disable_numparse=True),
        "",
        f"measured: {_ms(measured_s)} ms (sum of kernel medians); "
        f"{float(result.run_us) / 1e3:.3f} ms per run (median wall time)",
        f"estimated: {_ms(est_s)} ms on {d.name}",
        "rank correlation (Spearman ρ, estimated vs measured time per kernel, "
        f"n={len(result.mapped)}): " + ("—" if rho is None else f"{rho:.3f}"),
        "",
        tabulate(cells(kernels), headers=KERNEL_HEADERS, tablefmt=style,
                 disable_numparse=True),
        "",
    ]
    if result.calibration is not None:
        c = result.calibration
        lines += [
            f"calibrated device {c.device.name!r}: peak {float(c.device.peak_macs_per_s) / 1e9:.4g} GMAC/s, "
            f"bandwidth {float(c.device.bandwidth_bytes_per_s) / 1e9:.4g} GB/s "
            f"(fit over {c.points} kernels, rms log error {c.rms_log_error:.3f}; "
            f"estimate {c.est_us / 1e3:.3f} ms vs measured {c.measured_us / 1e3:.3f} ms)",
            "",
        ]
    return "\n".join(lines)


def plot(result: ProfileResult, path: Path) -> None:
    """A bar chart per category: share of MACs, of estimated time and of measured time."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'archcost[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = result.categories()
    macs, est, measured = result.macs, result.est_time, result.measured_us
    series = [
        ("MACs", [float(Fraction(c.macs, macs)) * 100 if macs else 0.0 for c in categories]),
        (f"estimated time ({result.device.name})",
         [float(c.est_time / est) * 100 if est else 0.0 for c in categories]),
        ("measured time", [float(c.measured_us / measured) * 100 if measured else 0.0
                           for c in categories]),
    ]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(categories)), 4.0))
    width = 0.8 / len(series)
    for index, (label, values) in enumerate(series):
        xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(categories))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels([c.label for c in categories], rotation=20, ha="right")
    ax.set_ylabel("% of total")
    ax.set_title(f"{result.model}: where the MACs go vs where the time goes")
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as err:
        raise UsageError(f"cannot write the plot {path}: {err.strerror}") from None
    finally:
        plt.close(fig)
