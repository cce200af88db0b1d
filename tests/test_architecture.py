"""The shape of the package: imports flow one way, one renderer, one loader, short modules.

Imports are read from the source with ``ast``, lazy ones inside functions included, so a
circle hidden behind a function-level import is found too. A module's parent packages are
not counted as its dependencies (Python imports them first in any case).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archcost"
MODULES = {
    ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
    for path in PACKAGE.rglob("*.py")
}

#: The layers, lowest first (DESIGN.md): a module may import its own layer and those below.
LAYERS = (
    ("archcost.errors", "archcost.numeric", "archcost.symbols", "archcost.categories", "archcost.ledger",
     "archcost.zoo", "archcost.dtypes", "archcost.fileio"),
    ("archcost.expr", "archcost.graph"),
    ("archcost.ops",),
    ("archcost.frontends",),
    ("archcost.cost",),
    ("archcost.gate", "archcost.budgets", "archcost.runtime"),
    ("archcost.report",),
    ("archcost.api",),
    ("archcost.cli", "archcost.__main__"),
)


def _imports(module: str, path: Path) -> set[str]:
    """Every archcost module ``module`` imports, at the top or inside a function."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return {name for name in found if name in MODULES and name != module}


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        graph.add_edges_from((module, target) for target in _imports(module, path))
    return graph


def _layer(module: str) -> int | None:
    """The layer of ``module``; ``None`` for the root package, a lazy facade (``archcost.analyze``,
    ``__version__``) that any layer may import and that imports its targets only when asked."""
    if module == "archcost":
        return None
    for index, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_the_import_graph_has_no_circle() -> None:
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, cycles[:5]


def test_imports_flow_down_the_layers() -> None:
    def upward(a: str, b: str) -> bool:
        low, high = _layer(a), _layer(b)
        return low is not None and high is not None and high > low

    edges = sorted((a, b) for a, b in _graph().edges if upward(a, b))
    assert not edges, edges


def test_one_module_calls_tabulate() -> None:
    callers = sorted(m for m, p in MODULES.items() if "tabulate" in _imports_any(p))
    assert callers == ["archcost.report.render"], callers


def _imports_any(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("archcost.cli.")))
def test_cli_modules_stay_short(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= 150, f"{module} has {lines} lines: the command should parse, call the library, render"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_readable(module: str) -> None:
    if module == "archcost.frontends.onnx_wire":
        pytest.skip("the structure-only protobuf reader is long by measurement (README, Performance)")
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= 600, f"{module} has {lines} lines"
