"""Static cost next to measured time: run a model in onnxruntime with profiling on.

Pipeline
--------
1. The model is exported to ONNX (a spec first goes through
   :func:`archcost.runtime.export.graph_to_onnx`), so the nodes that run carry
   archcost's node names (:func:`prepare`).
2. onnxruntime runs it ``warmup + runs`` times with profiling enabled
   (:func:`run_onnxruntime`); the profile is parsed into runs of kernel events
   (:mod:`archcost.runtime.trace`). The first ``warmup`` runs are dropped.
3. Kernels are mapped to archcost nodes (:mod:`archcost.runtime.kernel_map`).
4. Each kernel gets the median of its per-run times; its category is its anchor
   node's (the node whose op type it runs), its MACs, bytes and estimated time
   are its members' sums. Categories aggregate kernels; the Spearman rank
   correlation compares estimated and measured time per kernel (:func:`aggregate`).
5. ``--calibrate`` fits a device to the run (:mod:`archcost.runtime.calibrate`);
   :mod:`archcost.report.profile` words the result.

Nothing here is timed by the tests: they feed :func:`aggregate` a fixture in the
exact format onnxruntime writes and check the arithmetic.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcost.categories import Category
from archcost.cost.result import Report
from archcost.cost.roofline import Device, Roofline, roofline
from archcost.errors import LimitError, ModelFormatError, UsageError, about
from archcost.runtime.kernel_map import Kernel, map_kernels
from archcost.runtime.trace import ProfileRuns, load_profile

if TYPE_CHECKING:
    from archcost.runtime.calibrate import Calibration

#: Label of the row for kernels that map to no archcost node.
RUNTIME_ROW = "runtime-inserted"


def median(values: Sequence[int | Fraction]) -> Fraction:
    """The exact median (the mean of the two middle values for an even count); 0 for no values."""
    return statistics.median(Fraction(v) for v in values) if values else Fraction(0)


def spearman(xs: Sequence[float | Fraction], ys: Sequence[float | Fraction]) -> float | None:
    """Spearman's rank correlation: Pearson's r (:func:`statistics.correlation`) of the ranks,
    ties given their mean rank.

    ``None`` when there are fewer than two points or either side has no spread.
    """
    if len(xs) != len(ys):
        raise ValueError("spearman needs two sequences of the same length")
    if len(xs) < 2:
        return None
    try:
        return statistics.correlation(_ranks(xs), _ranks(ys))
    except statistics.StatisticsError:  # a side without spread
        return None


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


@dataclass(frozen=True)
class Prepared:
    """A model ready to profile: runnable ONNX bytes, the static report of the same graph, inputs."""

    model: bytes
    report: Report
    feeds: Mapping[str, Any]


def prepare(model: str, params: Mapping[str, Any] | None = None, seed: int = 0,
            input_shapes: Mapping[str, Any] | None = None,
            input_values: Mapping[str, Any] | None = None) -> Prepared:
    """Export ``model`` with seeded random weights, analyze the same graph, and make its inputs.

    Every model (an ONNX file too) goes through the exporter, so the nodes that run carry
    the names archcost's report uses.
    """
    from archcost.cost.analyze import analyze_graph
    from archcost.cost.conventions import PAPER
    from archcost.frontends.loader import load_model
    from archcost.runtime.checks import require_bounded_loops
    from archcost.runtime.export import graph_to_onnx, refuse_tflite
    from archcost.runtime.session import random_inputs

    with about(model):
        loaded = load_model(model, params=params, input_shapes=input_shapes, input_values=input_values)
        refuse_tflite(loaded.source, "profile")
        graph = loaded.graph
        report = analyze_graph(graph, PAPER, bindings=loaded.bindings, source=model)
        require_bounded_loops(report.loop_trips, "profile", model)
        data: bytes = graph_to_onnx(graph, seed=seed).SerializeToString()
        return Prepared(data, report, random_inputs(graph, seed))


#: Largest ``--runs`` and ``--warmup``.
MAX_RUNS = 10_000
MAX_WARMUP = 1_000
#: Wall-clock limit of a whole profile (warm-up and measured runs).
MAX_PROFILE_SECONDS = 600


def check_counts(runs: int, warmup: int) -> None:
    """Refuse ``--runs`` outside 1..:data:`MAX_RUNS` and ``--warmup`` outside 0..:data:`MAX_WARMUP`."""
    if not 1 <= runs <= MAX_RUNS:
        raise UsageError(f"--runs must be from 1 to {MAX_RUNS:,}, got {runs:,}")
    if not 0 <= warmup <= MAX_WARMUP:
        raise UsageError(f"--warmup must be from 0 to {MAX_WARMUP:,}, got {warmup:,}")


def run_onnxruntime(
    prepared: Prepared,
    *,
    runs: int,
    warmup: int,
    threads: int,
    optimization: str,
    workdir: Path,
    where: str = "the model",
) -> tuple[ProfileRuns, Path, dict[str, Any]]:
    """Run the model ``warmup + runs`` times with profiling on; the parsed profile, its file, the settings."""
    from archcost.runtime.session import (
        MAX_RUN_SECONDS,
        MAX_THREADS,
        PROVIDER,
        onnxruntime_module,
        onnxruntime_session,
        run_bounded,
    )

    ort = onnxruntime_module("archcost profile")
    check_counts(runs, warmup)
    if not 0 <= threads <= MAX_THREADS:
        raise UsageError(f"--threads must be from 0 (onnxruntime's default) to {MAX_THREADS}, got {threads}")
    try:
        session = onnxruntime_session(prepared.model, optimization=optimization, threads=threads,
                                      profile_prefix=workdir / "archcost_profile")
    except Exception as err:  # onnxruntime raises its own exception types, not exported stably
        raise ModelFormatError(f"onnxruntime cannot load the model: {err}", where=where) from None
    deadline = time.monotonic() + MAX_PROFILE_SECONDS
    for done in range(warmup + runs):
        left = deadline - time.monotonic()
        if left <= 0:
            session.end_profiling()
            raise LimitError(f"{done} of {warmup + runs} runs took {MAX_PROFILE_SECONDS} s, the limit of a "
                             "profile; give fewer --runs", where=where)
        try:
            run_bounded(session, None, prepared.feeds, where=where, seconds=min(MAX_RUN_SECONDS, left))
        except LimitError:
            session.end_profiling()
            raise
        except Exception as err:
            session.end_profiling()
            raise ModelFormatError(f"onnxruntime failed to run the model: {err}", where=where) from None
    path = Path(session.end_profiling())
    details = {"onnxruntime": ort.__version__, "threads": threads, "optimization": optimization,
               "provider": PROVIDER}
    return load_profile(path), path, details
