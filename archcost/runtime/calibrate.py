"""Fitting a device (peak MAC/s, bandwidth B/s) to a measured run, and the device file it makes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.cost.roofline import Device
from archcost.errors import UsageError
from archcost.runtime.kernel_map import Kernel


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
                      "(archcost.runtime.calibrate.calibrate)",
        },
    }
    header = ("# Written by `archcost profile --calibrate`: peak and bandwidth fitted to a measured\n"
              "# onnxruntime run. Load it with `--device-file PATH`.\n")
    return header + yaml.safe_dump({"devices": {d.name: entry}}, sort_keys=False, allow_unicode=True)
