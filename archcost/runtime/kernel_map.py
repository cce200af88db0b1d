"""Which archcost nodes each kernel onnxruntime ran did the work of.

onnxruntime fuses nodes (Conv + BN + ReLU become one kernel) and renames them: the
fused kernel takes the name of the *last* node of the chain, and the NCHWc layout
pass appends ``_nchwc`` (``sep1.dw_relu_nchwc`` runs ``sep1.dw``, ``sep1.dw_bn`` and
``sep1.dw_relu``). A kernel name is stripped of such decorations down to an archcost
node; when that node's op type is not the kernel's (``Relu`` vs ``Conv``), the
producers are searched back, nearest first, for a node of the kernel's op type, and
every node on the way is a member of the kernel. An archcost node that no kernel
claims did not run on its own: it joins the kernel of the node that produced its
last-computed input (a residual Add joins the conv fused with it). Kernels the
runtime inserted (``ReorderInput``) map to nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.categories import Category
from archcost.cost.result import Report

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
