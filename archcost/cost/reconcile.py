"""From archcost's ``paper`` MACs to each peer tool's total, term by term.

Users meet four numbers for one model ("why does thop say 589M for MobileNetV1 and the paper
569M?"). Each peer's rule for a row is the row's MACs plus signed adjustments
(:mod:`archcost.cost.peers`); summed over the rows and grouped by what they count, those
adjustments are the terms that take the ``paper`` total to the peer's, exactly:
``paper + sum(terms) == total``, the figure the peer's convention gives.

Examples
--------
>>> import archcost
>>> from archcost.cost.reconcile import reconcile
>>> fvcore = reconcile(archcost.analyze("mobilenet_v1"))[0]
>>> fvcore.paper, fvcore.total
(568740352, 578875904)
>>> [(t.label, t.count) for t in fvcore.terms]
[('batch_norm: 2 per element', 10085376), ('adaptive_avg_pool2d: 1 per input element', 50176)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archcost.cost.peers import PEERS
from archcost.cost.result import Report
from archcost.numeric import Count, is_concrete


@dataclass(frozen=True)
class Term:
    """One signed difference between ``paper`` and a peer: what it counts, and how much."""

    label: str
    count: Count


@dataclass(frozen=True)
class Reconciliation:
    """How one peer's total follows from the ``paper`` total."""

    #: The peer's convention name (``fvcore``).
    peer: str
    #: The tool and version the peer's rules reproduce.
    tool: str
    #: The ``paper`` total: MACs of conv, conv-transpose, Gemm and MatMul.
    paper: Count
    #: The largest first (in graph order when symbolic); they sum to ``total - paper``.
    terms: tuple[Term, ...]
    #: The peer's total, as its convention gives it.
    total: Count
    #: Whether any row carries the exporter's module metadata; without it the rules go by op type.
    by_op_type: bool


def reconcile(report: Report, peers: Iterable[str] | None = None) -> tuple[Reconciliation, ...]:
    """The terms between ``report``'s ``paper`` total and each peer's (every peer by default).

    Works on a report under any convention: it reads the rows' terms, not their cost.
    """
    names = tuple(PEERS) if peers is None else tuple(peers)
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        from archcost.errors import UsageError

        raise UsageError(f"unknown peer {unknown[0]!r}; choose one of {', '.join(PEERS)}")
    by_op_type = not any(row.origin for row in report.layers)
    found = []
    for name in names:
        peer = PEERS[name]
        sums: dict[str, Count] = {}
        for row in report.layers:
            for label, count in peer.adjustments(row):
                sums[label] = sums.get(label, 0) + count
        terms = [Term(label, count) for label, count in sums.items() if count != 0]
        if all(is_concrete(t.count) for t in terms):
            terms.sort(key=lambda t: -abs(t.count))
        total = report.totals.macs
        for term in terms:
            total = total + term.count
        found.append(Reconciliation(name, peer.tool, report.totals.macs, tuple(terms), total, by_op_type))
    return tuple(found)
