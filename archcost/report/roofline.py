"""The roofline in words and columns: what ``analyze --device`` and ``profile`` print about it.

:mod:`archcost.cost.roofline` computes (exact bytes, Fraction seconds); this module
only chooses units and words.
"""

from __future__ import annotations

from typing import Any

from archcost.cost.roofline import Device, NodeEstimate, Roofline
from archcost.report.format import giga, milliseconds
from archcost.report.table import Column, Kind

#: The columns the roofline adds to a per-layer table.
ROOFLINE_COLUMNS = (
    Column("bytes_read", "bytes read", Kind.EXACT),
    Column("bytes_written", "bytes written", Kind.EXACT),
    Column("intensity", "MAC/B", Kind.SIGNIFICANT, digits=4),
    Column("est_us", "est. µs", Kind.DECIMAL, digits=3),
    Column("bound", "bound"),
)


def roofline_cells(estimate: NodeEstimate) -> list[Any]:
    """One row's roofline cells: bytes read and written, intensity (MACs per byte), µs, the roof."""
    return [estimate.traffic.read, estimate.traffic.written, estimate.intensity,
            float(estimate.time) * 1e6, estimate.bound]


def roofline_total_cells(result: Roofline) -> list[Any]:
    """The totals row's roofline cells: bytes read and written, and the summed latency (µs)."""
    return [sum(int(n.traffic.read) for n in result.nodes), sum(int(n.traffic.written) for n in result.nodes),
            "", float(result.latency) * 1e6, ""]


def device_rates(device: Device) -> str:
    """``peak 48 GMAC/s, bandwidth 51.2 GB/s, ridge 0.938 MAC/B``."""
    return (f"peak {giga(device.peak_macs_per_s)} GMAC/s, bandwidth {giga(device.bandwidth_bytes_per_s)} GB/s, "
            f"ridge {float(device.ridge):.3g} MAC/B")


def roofline_summary(result: Roofline) -> str:
    """One line: the estimated latency, the device and how many nodes each roof bounds."""
    compute = sum(1 for n in result.nodes if n.bound == "compute")
    text = (f"roofline estimate on {result.device.name} ({device_rates(result.device)}): "
            f"{milliseconds(result.latency)} ms; {compute} compute-bound node(s), "
            f"{len(result.nodes) - compute} memory-bound")
    if result.unsized:
        text += (f"; {len(result.unsized)} tensor(s) of a dtype with no fixed size (string) "
                 "left out of the bytes")
    return text
