"""Counting conventions: which cost terms count, and how much.

Operator rules return *named* terms (``mac``, ``bias_add``, ...). A convention
is a weighting of those names, defined here and nowhere else, so a report row
can always say which convention produced it. The peer conventions (``fvcore``,
``thop``, ``ptflops``) reproduce those tools, whose rules need more than the
terms (the row's op, shapes, module and framework op): each has a per-row rule
(:mod:`archcost.cost.peers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from archcost.cost.peers import PEERS, Peer
from archcost.cost.peers.calls import Row
from archcost.errors import UsageError
from archcost.numeric import Count

#: Every cost term a rule may return, with what it counts.
TERMS: Mapping[str, str] = MappingProxyType(
    {
        "mac": "multiply-accumulates of conv, conv-transpose, Gemm and MatMul",
        "bias_add": "one add per output element that receives a bias",
        "norm_op": "normalization arithmetic (see each rule's per-element count)",
        "activation_op": "activation arithmetic (see each rule's per-element count)",
        "softmax_op": "softmax arithmetic, 3 per element",
        "pool_op": "one add or compare per pooling-window element per output",
        "elementwise_op": "one op per output element of Add, Sub, Mul, Div",
    }
)


@dataclass(frozen=True)
class Convention:
    """A named weighting of cost terms."""

    name: str
    unit: str
    description: str
    weights: Mapping[str, int]
    #: A per-row rule, for a convention that needs more than term weights (a peer's); the
    #: ``weights`` then cost what has no row of its own (the nodes inside If and Loop bodies).
    row_rule: Callable[[Row], Count] | None = None

    def cost_of(self, row: Row) -> Count:
        """The convention's figure for one report row."""
        if self.row_rule is None:
            return self.count(row.terms)
        return self.row_rule(row)

    def count(self, terms: Mapping[str, Count]) -> Count:
        """The convention's figure for one node's terms."""
        total: Count = 0
        for term, value in terms.items():
            weight = self.weights.get(term, 0)
            if weight:
                total = total + weight * value
        return total


PAPER = Convention(
    name="paper",
    unit="MACs",
    description="multiply-accumulates of conv, conv-transpose and Gemm/MatMul only "
    "(Howard et al. 2017's Mult-Adds)",
    weights=MappingProxyType({"mac": 1}),
)
FLOPS = Convention(
    name="flops",
    unit="FLOPs",
    description="2·MACs, plus bias adds, normalization, activations, softmax, pooling "
    "and elementwise ops at their documented per-element counts",
    weights=MappingProxyType({term: 2 if term == "mac" else 1 for term in TERMS}),
)


def peer_convention(peer: Peer) -> Convention:
    """The convention that reproduces ``peer``'s totals; inside If and Loop bodies, which have
    no rows, it counts MACs."""
    return Convention(name=peer.name, unit=f"MACs ({peer.name})", description=peer.description,
                      weights=MappingProxyType({"mac": 1}), row_rule=peer.cost_of)


CONVENTIONS: Mapping[str, Convention] = MappingProxyType(
    {c.name: c for c in (PAPER, FLOPS, *(peer_convention(p) for p in PEERS.values()))})


def get_convention(name: str) -> Convention:
    """The convention called ``name``."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise UsageError(
            f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}"
        ) from None
