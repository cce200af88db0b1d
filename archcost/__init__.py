"""archcost: static architecture analysis and exact cost calculation.

>>> import archcost
>>> report = archcost.analyze("mobilenet_v1")
>>> report.totals.macs, report.totals.weights
(568740352, 4209088)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from archcost.api import analyze as analyze
    from archcost.api import compare as compare
    from archcost.api import sweep as sweep
    from archcost.cost.result import Report as Report

__all__ = ["Report", "__version__", "analyze", "compare", "sweep"]


def __getattr__(name: str) -> Any:
    # Lazy, so `archcost --help` and `import archcost` stay fast.
    if name in ("analyze", "compare", "sweep"):
        from archcost import api

        return getattr(api, name)
    if name == "Report":
        from archcost.cost.result import Report

        return Report
    raise AttributeError(f"module 'archcost' has no attribute {name!r}")
