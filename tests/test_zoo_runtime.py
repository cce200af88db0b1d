"""Every zoo spec exports to runnable ONNX and verifies in onnxruntime (issue 5's acceptance).

Registry-driven: a spec added to specs/ is exported, analyzed from the exported file and run
automatically. Verification compares every tensor shape onnxruntime observed with the
inferred one, and MACs and params recomputed from what ran with the static counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import archcost
from archcost.runtime.export import export_model
from archcost.runtime.verify import verify
from archcost.zoo import specs_dir

SPECS = sorted(specs_dir().glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_exports_and_verifies(path: Path, tmp_path: Path) -> None:
    name = path.stem
    static = archcost.analyze(name)
    exported = export_model(name, tmp_path / f"{name}.onnx")
    from_file = archcost.analyze(str(exported))
    assert from_file.totals.macs == static.totals.macs
    assert from_file.totals.params_by_kind == static.totals.params_by_kind
    result = verify(str(exported))
    assert result.ok, [str(m) for m in result.mismatched][:5]
    assert result.backend == "onnxruntime"
