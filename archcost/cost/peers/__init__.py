"""The peers' counting rules: fvcore, thop and ptflops, reproduced row by row.

Each peer is a function from a report row to its *adjustments*: the signed terms that take
the row's ``paper`` MACs to the peer's figure for it (``+ BatchNorm: 2 per element``,
``− attention matmuls``). A peer's figure for a row is its MACs plus its adjustments, so
the terms that reconcile the ``paper`` total with a peer's total
(:func:`archcost.cost.reconcile.reconcile`) are the rules themselves, summed.

Each rule module states its tool's rules and cites the file they are read from;
:mod:`archcost.cost.peers.calls` says how a row is read as the PyTorch call a peer sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from archcost.cost.peers import fvcore_rules, ptflops_rules, thop_rules
from archcost.cost.peers.calls import Adjustment, Row, macs
from archcost.numeric import Count

#: What every peer convention says about graphs without the dynamo exporter's metadata.
BY_OP_TYPE = ("; a node without the exporter's module metadata (ONNX files, specs) is counted as the "
              "torch.nn module its op type exports (Relu as nn.ReLU, Gemm as nn.Linear)")


@dataclass(frozen=True)
class Peer:
    """One peer tool's counting rules."""

    name: str
    #: The tool and the version whose figures the rules reproduce.
    tool: str
    description: str
    adjustments: Callable[[Row], list[Adjustment]]

    def cost_of(self, row: Row) -> Count:
        """The peer's figure for ``row``: its MACs plus the adjustments."""
        total = macs(row)
        for _, count in self.adjustments(row):
            total = total + count
        return total


PEERS: Mapping[str, Peer] = MappingProxyType({
    peer.name: peer for peer in (
        Peer("fvcore", fvcore_rules.TOOL, fvcore_rules.DESCRIPTION + BY_OP_TYPE, fvcore_rules.adjustments),
        Peer("thop", thop_rules.TOOL, thop_rules.DESCRIPTION + BY_OP_TYPE, thop_rules.adjustments),
        Peer("ptflops", ptflops_rules.TOOL, ptflops_rules.DESCRIPTION + BY_OP_TYPE, ptflops_rules.adjustments),
    )
})
