"""Registry-driven checks: every operator is documented, uses named terms, and is tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archcost.cost.conventions import CONVENTIONS, TERMS
from archcost.errors import UnknownOpError
from archcost.ops import REGISTRY, lookup, register

ENTRIES = sorted(REGISTRY.values(), key=lambda e: (e.domain, e.op_type))
TESTS = Path(__file__).parent


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.domain or 'ai.onnx'}::{e.op_type}" for e in ENTRIES])
def test_entry_is_documented(entry) -> None:  # type: ignore[no-untyped-def]
    doc = entry.doc.strip()
    assert doc, f"{entry.op_type} has no docstring stating its formula"
    # It states a cost: a named term, a per-element count, the body's terms (control flow),
    # or an explicit zero (shape, data-movement and comparison ops).
    states_cost = any(term in doc for term in TERMS) or re.search(
        r"per element|\bterms\b|\bmac\b|no cost|zero cost|costs? nothing", doc, re.IGNORECASE)
    assert states_cost, f"{entry.op_type}'s docstring does not state its cost: {doc[:80]!r}"


def test_every_operator_is_exercised_by_a_test() -> None:
    # A new op without a test fails here: some test file must name it as a quoted op type.
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py"))
    text += "\n".join(p.read_text(encoding="utf-8") for p in TESTS.glob("*builders*.py"))
    quoted = set(re.findall(r"[\"']([A-Za-z][A-Za-z0-9_]*)[\"']", text))
    missing = sorted(e.op_type for e in ENTRIES if e.op_type not in quoted)
    assert not missing, f"operators with no test naming them: {missing}"


def test_conventions_only_weigh_known_terms() -> None:
    for convention in CONVENTIONS.values():
        assert set(convention.weights) <= set(TERMS)
    assert CONVENTIONS["paper"].weights == {"mac": 1}


def test_lookup_miss_names_the_alternatives() -> None:
    with pytest.raises(UnknownOpError) as info:
        lookup("NoSuchOp")
    assert "Conv" in str(info.value) and "NoSuchOp" in str(info.value)


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register("Conv")(lambda view: None)  # type: ignore[arg-type,return-value]


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REGISTRY[("", "Conv")] = REGISTRY[("", "Conv")]  # type: ignore[index]
