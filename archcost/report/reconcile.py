"""The reconciliation view: one table per peer tool, from archcost's ``paper`` MACs to the
tool's total in signed terms (:func:`archcost.cost.reconcile.reconcile`).

Each table's first row is the ``paper`` total, each further row a term, and the totals row
the peer's figure: the rows sum to it exactly. Shares are of the ``paper`` total.
"""

from __future__ import annotations

from archcost.cost.conventions import PAPER, get_convention
from archcost.cost.reconcile import Reconciliation, reconcile
from archcost.cost.result import Report
from archcost.report.format import percent_of
from archcost.report.table import Column, Document, Kind, Table, make_table

COLUMNS = (Column("term", "term"), Column("count", "count", Kind.EXACT),
           Column("percent_of_paper", "% of paper", Kind.PERCENT))
PAPER_ROW = "paper (archcost): MACs of conv, conv-transpose, Gemm and MatMul"
BY_OP_TYPE = ("This graph carries no exporter module metadata (an ONNX file from another exporter, or a spec): "
              "each node is counted as the torch.nn module its op type exports, a Relu node as an nn.ReLU, a "
              "Gemm with a stored weight as an nn.Linear.")


def reconciliation_table(report: Report, found: Reconciliation) -> Table:
    """One peer's terms between the ``paper`` total and its own, summing to it."""
    paper = found.paper
    rows = [[PAPER_ROW, paper, percent_of(paper, paper)]]
    rows += [[term.label, term.count, percent_of(term.count, paper)] for term in found.terms]
    total = [f"{found.peer} total ({found.tool})", found.total, percent_of(found.total, paper)]
    notes = [f"{found.peer}: {get_convention(found.peer).description}."]
    if found.by_op_type:
        notes.append(BY_OP_TYPE)
    return make_table(f"reconcile_{found.peer}", f"{report.model}: paper → {found.tool}", COLUMNS, rows,
                      convention=f"{found.peer} ({found.tool}) reconciled with the {PAPER.name} MACs", total=total,
                      notes=notes, summed=("count",))


def reconciliation_document(report: Report) -> Document:
    """Every peer's reconciliation table for ``report``."""
    found = reconcile(report)
    tables = tuple(reconciliation_table(report, peer) for peer in found)
    intro = ("Each table takes archcost's paper count (MACs of conv, conv-transpose, Gemm and MatMul) to a peer "
             "tool's total, term by term, with each term's share of the paper count; the rows sum to the tool's "
             "total exactly, the figure archcost's convention of the same name gives.",)
    return Document(f"{report.model}: paper MACs reconciled with {', '.join(p.peer for p in found)}",
                    intro, tables)
