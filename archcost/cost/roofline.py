"""Memory traffic per node and a roofline latency estimate.

MACs are not latency: a depthwise layer does few MACs per byte it moves, so on
most hardware its time is set by memory bandwidth, not by arithmetic. This
module adds the second axis.

Traffic
-------
For one node, with ``size(t)`` the bytes of tensor ``t`` (elements × the width
of its dtype, sub-byte dtypes rounded up to whole bytes; :mod:`archcost.dtypes`):

* **bytes read** = Σ size(t) over the node's distinct inputs: activations, and
  initializers (weights, biases, normalization statistics, constant shapes);
* **bytes written** = Σ size(t) over its outputs;
* **arithmetic intensity** = MACs / (bytes read + bytes written), an exact
  :class:`~fractions.Fraction` (MACs per byte).

A tensor a node reads twice (``Add(x, x)``) is read once. Every node is costed as
if it ran alone: a runtime that fuses a batch norm or a ReLU into the preceding
convolution saves the traffic of the intermediate tensor, which this model does
not try to predict. Shape-only ops (Reshape, Flatten) are costed as a copy.
A tensor whose dtype has no fixed width (``string``) has no size: it is left out
of the bytes, as the memory analysis leaves it out, and listed in
:attr:`NodeTraffic.unsized`.

Roofline
--------
A :class:`Device` has a peak rate ``P`` (MACs per second) and a memory bandwidth
``W`` (bytes per second). A node's estimated time is

    t = max(MACs / P, bytes / W)

(Williams, Waterman and Patterson, "Roofline", CACM 52(4), 2009). It is
*compute-bound* when MACs / P ≥ bytes / W, i.e. when its intensity reaches the
ridge point P / W, and *memory-bound* otherwise. The model's estimated latency
is the sum over nodes (one node at a time, no overlap). MACs here are always the
``mac`` term, whatever counting convention the report uses.

Device presets live in ``archcost/data/devices.yaml``; a file in the same format
(for instance one written by ``archcost profile --calibrate``) can be loaded
with :func:`load_device_file`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.categories import Category
from archcost.cost.result import LayerRow, Report
from archcost.dtypes import tensor_bytes
from archcost.errors import ShapeError, SpecError, UsageError
from archcost.numeric import Count, is_concrete

#: Where the device presets are.
DEVICES_FILE = Path(__file__).resolve().parent.parent / "data" / "devices.yaml"


@dataclass(frozen=True)
class NodeTraffic:
    """Bytes one node moves, by dtype."""

    name: str
    #: Bytes read, by dtype (activations and initializers together).
    read_by_dtype: Mapping[str, Count]
    #: Bytes written, by dtype.
    written_by_dtype: Mapping[str, Count]
    #: The part of the bytes read that is stored data (initializers).
    initializer_bytes: Count
    #: Tensors read or written whose dtype has no fixed size (``string``), left out of the bytes.
    unsized: tuple[str, ...] = ()

    @property
    def read(self) -> Count:
        return _sum(self.read_by_dtype.values())

    @property
    def written(self) -> Count:
        return _sum(self.written_by_dtype.values())

    @property
    def total(self) -> Count:
        return self.read + self.written


def node_traffic(report: Report, row: LayerRow) -> NodeTraffic:
    """Bytes read and written by ``row``, from the report's tensor shapes and dtypes."""
    where = row.source or f"node {row.name!r}"
    read: dict[str, Count] = {}
    written: dict[str, Count] = {}
    stored: Count = 0
    unsized: list[str] = []
    for name in dict.fromkeys(t for t in row.input_names if t):
        dtype = report.tensor_dtypes.get(name, "float32")
        size = tensor_bytes(_shape(report, name, where), dtype, where=where)
        if size is None:
            unsized.append(name)
            continue
        read[dtype] = read.get(dtype, 0) + size
        if name in report.initializers:
            stored = stored + size
    for name in (t for t in row.output_names if t):
        dtype = report.tensor_dtypes.get(name, "float32")
        size = tensor_bytes(_shape(report, name, where), dtype, where=where)
        if size is None:
            unsized.append(name)
            continue
        written[dtype] = written.get(dtype, 0) + size
    return NodeTraffic(row.name, read, written, stored, tuple(dict.fromkeys(unsized)))


def _shape(report: Report, tensor: str, where: str) -> tuple[Count, ...]:
    shape = report.tensor_shapes.get(tensor)
    if shape is None:
        raise ShapeError(f"tensor {tensor!r} has no inferred shape, so its bytes are unknown",
                         where=where)
    return shape


def intensity(macs: Count, nbytes: Count) -> Fraction | Any | None:
    """MACs per byte: an exact Fraction (a SymPy expression when symbolic); ``None`` for 0 bytes."""
    if is_concrete(macs) and is_concrete(nbytes):
        return Fraction(macs) / Fraction(nbytes) if nbytes else None
    return macs / nbytes


@dataclass(frozen=True)
class Device:
    """A device for the roofline: peak MACs per second and memory bandwidth in bytes per second."""

    name: str
    peak_macs_per_s: Fraction
    bandwidth_bytes_per_s: Fraction
    #: Where the figures come from (a datasheet, a derivation, a calibration run).
    source: str = ""
    #: Anything else the device file says (calibration details), kept for display.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.peak_macs_per_s <= 0 or self.bandwidth_bytes_per_s <= 0:
            raise UsageError(f"device {self.name!r}: peak and bandwidth must be positive")

    @property
    def ridge(self) -> Fraction:
        """The intensity (MACs per byte) at which a node turns compute-bound: P / W."""
        return self.peak_macs_per_s / self.bandwidth_bytes_per_s


@dataclass(frozen=True)
class NodeEstimate:
    """One node on the roofline."""

    name: str
    op_type: str
    category: Category
    macs: int
    traffic: NodeTraffic
    #: MACs / P and bytes / W, in seconds (exact).
    compute_time: Fraction
    memory_time: Fraction

    @property
    def time(self) -> Fraction:
        """Estimated time in seconds: max(MACs / P, bytes / W)."""
        return max(self.compute_time, self.memory_time)

    @property
    def bound(self) -> str:
        """``compute`` or ``memory``: which roof sets the time (ties count as compute)."""
        return "compute" if self.macs and self.compute_time >= self.memory_time else "memory"

    @property
    def intensity(self) -> Fraction | None:
        value = intensity(self.macs, self.traffic.total)
        return value if value is None or isinstance(value, Fraction) else None


@dataclass(frozen=True)
class Roofline:
    """Roofline estimates for every node of a report on one device."""

    model: str
    device: Device
    nodes: tuple[NodeEstimate, ...]

    @property
    def latency(self) -> Fraction:
        """Estimated model latency in seconds: the sum of the node times."""
        return sum((n.time for n in self.nodes), Fraction(0))

    @property
    def bytes_total(self) -> int:
        return sum(int(n.traffic.total) for n in self.nodes)

    @property
    def unsized(self) -> tuple[str, ...]:
        """Tensors left out of the bytes because their dtype has no fixed size (``string``)."""
        return tuple(dict.fromkeys(t for n in self.nodes for t in n.traffic.unsized))

    def by_name(self) -> dict[str, NodeEstimate]:
        return {n.name: n for n in self.nodes}

    def by_category(self) -> dict[Category, Fraction]:
        """Estimated seconds per category, in :class:`Category` order, absent ones dropped."""
        times: dict[Category, Fraction] = {}
        for n in self.nodes:
            times[n.category] = times.get(n.category, Fraction(0)) + n.time
        return {c: times[c] for c in Category if c in times}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: bytes as ints, intensity as an exact ``"p/q"`` string, times as float seconds."""
        return {
            "device": device_dict(self.device),
            "latency_s": float(self.latency),
            "bytes": self.bytes_total,
            "layers": [
                {
                    "name": n.name,
                    "bytes_read": n.traffic.read,
                    "bytes_written": n.traffic.written,
                    "bytes_read_by_dtype": dict(n.traffic.read_by_dtype),
                    "bytes_written_by_dtype": dict(n.traffic.written_by_dtype),
                    "initializer_bytes": n.traffic.initializer_bytes,
                    "intensity": None if n.intensity is None else str(n.intensity),
                    "est_time_s": float(n.time),
                    "bound": n.bound,
                    **({"unsized": list(n.traffic.unsized)} if n.traffic.unsized else {}),
                }
                for n in self.nodes
            ],
        }


def roofline(report: Report, device: Device) -> Roofline:
    """Estimate every node of a concrete report on ``device``."""
    if report.is_symbolic:
        raise UsageError("the roofline needs concrete shapes; bind every parameter (drop --symbolic)")
    nodes = []
    for row in report.layers:
        traffic = node_traffic(report, row)
        macs = int(row.macs)
        nodes.append(
            NodeEstimate(
                name=row.name,
                op_type=row.op_type,
                category=row.category,
                macs=macs,
                traffic=traffic,
                compute_time=Fraction(macs) / device.peak_macs_per_s,
                memory_time=Fraction(int(traffic.total)) / device.bandwidth_bytes_per_s,
            )
        )
    return Roofline(report.model, device, tuple(nodes))


# --- device profiles ---------------------------------------------------------------------------

_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*([kKMGT]?)\s*$")
_SCALE = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_rate(text: str, what: str, *, where: str | None = None) -> Fraction:
    """A positive rate such as ``48e9``, ``51.2G`` or ``4050000000000``, exactly."""
    match = _RATE.match(text)
    if match is None:
        raise UsageError(
            f"{what} must be a positive number, optionally with a k/M/G/T suffix "
            f"(e.g. 48G or 4.8e10), got {text!r}",
            where=where,
        )
    value = Fraction(match.group(1)) * _SCALE[match.group(2)]
    if value <= 0:
        raise UsageError(f"{what} must be positive, got {text!r}", where=where)
    return value


def _rate_field(entry: Mapping[str, Any], key: str, display: str, device: str) -> Fraction:
    line = entry.line_of(key) if hasattr(entry, "line_of") else 0
    where = f"{display}:{line}" if line else display
    if key not in entry:
        raise SpecError(f"device {device!r} needs {key!r}", where=where)
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, Fraction, str)):
        raise SpecError(f"device {device!r}: {key} must be a number, got {value!r}", where=where)
    if isinstance(value, str):
        try:
            return parse_rate(value, key)
        except UsageError as err:
            raise SpecError(err.message, where=where) from None
    if value <= 0:
        raise SpecError(f"device {device!r}: {key} must be positive, got {value}", where=where)
    return Fraction(value)


_DEVICE_KEYS = ("peak_macs_per_s", "bandwidth_bytes_per_s", "source", "calibration")


def load_device_file(path: Path, display: str | None = None) -> dict[str, Device]:
    """Every device in a device file: ``devices: {name: {peak_macs_per_s, bandwidth_bytes_per_s}}``."""
    from archcost.frontends.yaml_loader import load_yaml

    display = display or str(path)
    data = load_yaml(path, display, what="device file")
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
        raise SpecError("a device file needs a top-level 'devices:' mapping of name → profile",
                        where=display)
    devices: dict[str, Device] = {}
    for name, entry in data["devices"].items():
        line = data["devices"].line_of(name) if hasattr(data["devices"], "line_of") else 0
        where = f"{display}:{line}" if line else display
        if not isinstance(entry, dict):
            raise SpecError(f"device {name!r} must be a mapping", where=where)
        for key in entry:
            if key not in _DEVICE_KEYS:
                raise SpecError(
                    f"device {name!r}: unknown key {key!r}; expected one of {', '.join(_DEVICE_KEYS)}",
                    where=f"{display}:{entry.line_of(key)}" if hasattr(entry, "line_of") else where,
                )
        devices[name] = Device(
            name=name,
            peak_macs_per_s=_rate_field(entry, "peak_macs_per_s", display, name),
            bandwidth_bytes_per_s=_rate_field(entry, "bandwidth_bytes_per_s", display, name),
            source=str(entry.get("source", "")),
            extra=dict(entry.get("calibration") or {}),
        )
    if not devices:
        raise SpecError("the device file lists no devices", where=display)
    return devices


def presets() -> dict[str, Device]:
    """The built-in device presets (``archcost/data/devices.yaml``)."""
    if not DEVICES_FILE.is_file():
        raise FileNotFoundError(f"archcost's device presets are missing: {DEVICES_FILE}")
    return load_device_file(DEVICES_FILE, "archcost/data/devices.yaml")


#: The preset used when a command needs a device and none is named.
DEFAULT_DEVICE = "avx2-core"


def resolve_device(
    name: str | None = None,
    *,
    device_file: str | None = None,
    peak: str | None = None,
    bandwidth: str | None = None,
    default: str | None = None,
) -> Device | None:
    """The device the flags describe, or ``None`` when they name none and there is no default.

    ``name`` is looked up in ``device_file`` first, then in the presets. A device
    file with a single device needs no name. ``peak`` and ``bandwidth`` override
    the named device's figures; given both, they define a device on their own.
    """
    available: dict[str, Device] = {}
    from_file: dict[str, Device] = {}
    if device_file is not None:
        path = Path(device_file)
        if not path.exists():
            raise UsageError(f"{device_file}: no such device file")
        from_file = load_device_file(path, device_file)
    base: Device | None = None
    if name is not None:
        available = {**presets(), **from_file}
        if name not in available:
            raise UsageError(f"unknown device {name!r}; known: {', '.join(sorted(available))}")
        base = available[name]
    elif len(from_file) == 1:
        base = next(iter(from_file.values()))
    elif from_file:
        raise UsageError(f"{device_file} holds several devices; pick one with --device "
                         f"({', '.join(sorted(from_file))})")
    peak_value = parse_rate(peak, "--peak") if peak is not None else None
    bandwidth_value = parse_rate(bandwidth, "--bandwidth") if bandwidth is not None else None
    if base is None:
        if peak_value is not None and bandwidth_value is not None:
            return Device("custom", peak_value, bandwidth_value, "--peak and --bandwidth")
        if peak_value is not None or bandwidth_value is not None:
            if default is None:
                raise UsageError("give both --peak and --bandwidth, or name a --device to adjust")
        if default is None:
            return None
        base = presets()[default]
    if peak_value is None and bandwidth_value is None:
        return base
    return Device(
        f"{base.name} (adjusted)",
        peak_value if peak_value is not None else base.peak_macs_per_s,
        bandwidth_value if bandwidth_value is not None else base.bandwidth_bytes_per_s,
        f"{base.source}; overridden by --peak/--bandwidth",
    )


def device_dict(device: Device) -> dict[str, Any]:
    """A device as plain data (rates as floats per second, ridge in MACs per byte)."""
    return {
        "name": device.name,
        "peak_macs_per_s": float(device.peak_macs_per_s),
        "bandwidth_bytes_per_s": float(device.bandwidth_bytes_per_s),
        "ridge_macs_per_byte": float(device.ridge),
        "source": device.source,
    }


def _sum(values: Any) -> Count:
    total: Count = 0
    for v in values:
        total = total + v
    return total
