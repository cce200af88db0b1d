"""onnxruntime's profile file: a JSON list of Chrome-trace events, split into runs of kernels.

Every ``model_run`` session event brackets one run, and every ``<node>_kernel_time``
node event inside it is one kernel's time (``dur``, µs).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archcost.errors import ModelFormatError
from archcost.fileio import load_json, read_text_capped

#: Size of a ``--from-profile`` file: an onnxruntime trace of a few hundred runs of a large
#: model is tens of MB; a 127 MiB trace (720,000 events) reads in 5.5 s and 0.7 GB here.
MAX_PROFILE_BYTES = 128 << 20


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
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as err:
        # AttributeError: "args" that is not an object; OverflowError: a time of Infinity.
        raise ModelFormatError(f"malformed onnxruntime profile event ({err})", where=where) from None
    if not windows:
        raise ModelFormatError("the profile records no model_run: was the model run with "
                               "profiling enabled?", where=where)
    windows.sort()
    runs: list[list[KernelEvent]] = [[] for _ in windows]
    starts = [w[0] for w in windows]
    for kernel in sorted(kernels, key=lambda k: k.start_us):
        index = bisect.bisect_right(starts, kernel.start_us) - 1
        if index >= 0 and kernel.start_us <= windows[index][0] + windows[index][1]:
            runs[index].append(kernel)
    return ProfileRuns(tuple(tuple(r) for r in runs), tuple(w[1] for w in windows))


def load_profile(path: Path, display: str | None = None) -> ProfileRuns:
    """Read and parse an onnxruntime profile JSON file."""
    display = display or str(path)
    text = read_text_capped(path, MAX_PROFILE_BYTES, what="profile", display=display, error=ModelFormatError)
    data = load_json(text, display, error=ModelFormatError, problem="not an onnxruntime profile (malformed JSON)")
    return parse_profile(data, display)
