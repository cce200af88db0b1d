"""The PyTorch entry point: ``archcost.analyze(module, example_inputs, dynamic_shapes=...)`` and
``package.module:callable`` references, against torch's own counter.

Expected figures come from ``torch.utils.flop_counter.FlopCounterMode`` run on the same
module with the same inputs (grad enabled and SDPA on its math backend, which it counts;
ENVIRONMENT.md), total FLOPs / 2, and its per-module counts, keyed ``Root.child.grandchild``.
Every conv, linear and matmul FLOP it counts is 2 per MAC, so the FLOPs are even.

Needs torch (``pip install 'archcost[torch]'``; CI installs it after the README's test
command and runs this file again); skipped where torch is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import sympy

import archcost
from archcost.errors import ModelFormatError, UsageError
from tests.conftest import run_cli, summary_figure

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'archcost[torch]'")
pytest.importorskip("onnxscript", reason="torch's dynamo ONNX exporter needs onnxscript: pip install onnxscript")

from tests import torch_zoo  # noqa: E402  (imports torch)


def torch_macs(module: Any, args: tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None) -> dict[str, int]:
    """MACs per module by FlopCounterMode: ``""`` is the whole model, ``layer1.0`` a submodule."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    module.eval()
    counter = FlopCounterMode(display=False, depth=None)
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        module(*args, **(kwargs or {}))
    root = type(module).__name__
    macs: dict[str, int] = {}
    for name, by_op in counter.get_flop_counts().items():
        if name == "Global":
            continue
        flops = sum(by_op.values())
        assert flops % 2 == 0, (name, by_op)
        macs["" if name == root else name.removeprefix(root + ".")] = flops // 2
    return macs


def assert_modules_match(report: archcost.Report, expected: Mapping[str, int], max_depth: int) -> int:
    """Every module down to ``max_depth`` has torch's count, and torch counts no module there
    that archcost lacks; returns how many modules were compared."""
    tree = {m.name: m for m in report.by_module(max_depth)}
    assert report.totals.macs == expected[""] == tree[""].macs
    compared = 0
    for name, module in tree.items():
        if module.macs or name in expected:
            assert module.macs == expected.get(name, 0), name
            compared += 1
    deeper = {m.name for m in report.by_module() if m.depth > max_depth}
    missing = [n for n in expected if n not in tree and n not in deeper]
    assert not missing, missing
    return compared


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "vit_b_16"])
def test_torchvision_models_match_torch_flop_counter_in_total_and_per_module(name: str) -> None:
    torch.manual_seed(0)
    module = getattr(torch_zoo.torchvision_models_or_skip(), name)().eval()
    x = torch.randn(1, 3, 224, 224)
    report = archcost.analyze(module, (x,))
    expected = torch_macs(module, (x,))
    assert report.has_module_scopes
    compared = assert_modules_match(report, expected, max_depth=2)
    assert compared >= 5
    # The classes come from the module tree: torchvision's own, and torch.nn's.
    kinds = {m.kind for m in report.by_module(2)}
    assert {"Sequential"} <= kinds or {"Encoder"} <= kinds


def _tiny_llama() -> Any:
    torch_zoo.torchvision_models_or_skip(needed=False)  # transformers imports torchvision when installed
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=500, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                      use_cache=False)
    return transformers.LlamaForCausalLM(config).eval()


def test_hugging_face_llama_from_a_config_matches_torch_per_module() -> None:
    model = _tiny_llama()
    ids = torch.randint(0, 500, (2, 16))
    report = archcost.analyze(model, example_kwargs={"input_ids": ids})
    assert_modules_match(report, torch_macs(model, kwargs={"input_ids": ids}), max_depth=3)
    assert report.by_module(2)[1].kind == "LlamaModel"


def test_symbolic_sequence_llama_gives_each_block_as_a_formula() -> None:
    model = _tiny_llama()
    ids = torch.randint(0, 500, (2, 16))
    report = archcost.analyze(model, example_kwargs={"input_ids": ids},
                              dynamic_shapes={"input_ids": {0: "batch", 1: "sequence"}})
    symbols = {s.name: s for s in report.totals.macs.free_symbols}
    assert set(symbols) == {"batch", "sequence"}
    b, n = symbols["batch"], symbols["sequence"]
    # Closed form (hidden 64, 4 heads of 16, 2 KV heads, MLP 128): q, k, v, o projections, the
    # gated MLP's three, and q·kᵀ plus the weighted sum of v.
    hidden, heads, head_dim, kv_heads, mlp = 64, 4, 16, 2, 128
    projections = b * n * hidden * (2 * heads * head_dim + 2 * kv_heads * head_dim)
    attention = 2 * b * heads * n * n * head_dim
    block = projections + attention + 3 * b * n * hidden * mlp
    tree = {m.name: m.macs for m in report.by_module()}
    for layer in ("model.layers.0", "model.layers.1"):
        assert sympy.expand(tree[layer] - block) == 0
        assert sympy.expand(tree[f"{layer}.self_attn"] - projections - attention) == 0
    # The formulas evaluated at other sizes are what torch counts there.
    for batch, sequence in ((1, 5), (3, 11)):
        at = torch_macs(model, kwargs={"input_ids": torch.randint(0, 500, (batch, sequence))})
        for name in ("", "model", "model.layers.0", "model.layers.1.mlp", "lm_head"):
            assert tree[name].subs({b: batch, n: sequence}) == at[name], (name, batch, sequence)


def test_a_positional_tensor_and_the_module_mode_is_restored() -> None:
    module = torch_zoo.TinyConvNet()
    assert module.training
    x = torch.randn(2, 3, 16, 16)
    report = archcost.analyze(module, x)
    assert module.training  # exported in eval mode, then put back
    assert report.totals.macs == torch_macs(module, (x,))[""]
    # optimize=False keeps BatchNorm (the peers' conventions count it).
    assert "BatchNormalization" in {r.op_type for r in report.layers}
    assert {m.name for m in report.by_module(1)} == {"", "stem", "body", "head"}


def test_named_dims_given_as_strings_or_dims_become_the_symbols() -> None:
    module = torch_zoo.TinyTokenModel()
    ids = torch.zeros(2, 7, dtype=torch.int64)
    by_string = archcost.analyze(module, (ids,), dynamic_shapes=({0: "batch", 1: "tokens"},))
    dim = torch.export.Dim("tokens")
    by_dim = archcost.analyze(module, (ids,), dynamic_shapes={"input_ids": {1: dim}})
    b, t = sympy.symbols("batch tokens", integer=True, positive=True)
    assert str(by_string.totals.macs) == str(b * t * 64)
    assert {s.name for s in by_dim.totals.macs.free_symbols} == {"tokens"}
    assert by_dim.totals.macs.subs({s: 7 for s in by_dim.totals.macs.free_symbols}) == 2 * 7 * 64


def test_a_named_dim_the_export_made_static_is_noted() -> None:
    model = _tiny_llama()
    ids = torch.zeros(1, 7, dtype=torch.int64)  # batch 1: torch.export specializes Llama's batch axis
    report = archcost.analyze(model, example_kwargs={"input_ids": ids},
                              dynamic_shapes={"input_ids": {0: "batch", 1: "sequence"}})
    assert {s.name for s in report.totals.macs.free_symbols} == {"sequence"}
    assert any("dynamic dim 'batch'" in n and "made static" in n and "size 1" in n for n in report.notes)


def test_an_export_failure_is_one_error() -> None:
    class Fails(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            raise ValueError("no forward for you")

    with pytest.raises(ModelFormatError, match="could not export it: ValueError: no forward for you"):
        archcost.analyze(Fails(), torch.zeros(1))
    with pytest.raises(UsageError, match=r"for a torch\.nn\.Module"):
        archcost.analyze("mobilenet_v1", torch.zeros(1))


# -- the command line ----------------------------------------------------------------------------


def test_cli_module_references_build_and_analyze() -> None:
    out = run_cli("analyze", "tests.torch_zoo:TinyConvNet", "--input", "1x3x16x16", "--by", "module",
                  "--format", "json", timeout=300)
    assert out.returncode == 0, out.stderr
    import json

    data = json.loads(out.stdout)
    x = torch.randn(1, 3, 16, 16)
    assert data["totals"]["macs"] == torch_macs(torch_zoo.TinyConvNet(), (x,))[""]
    assert [m["name"] for m in data["modules"] if m["depth"] == 1] == ["stem", "body", "head"]
    tokens = run_cli("analyze", "tests.torch_zoo:TinyTokenModel", "--input", "input_ids=2x5:int64", timeout=300)
    assert tokens.returncode == 0, tokens.stderr
    assert summary_figure(tokens.stdout, "total MACs") == f"{2 * 5 * 16 * 4:,}"
    instance = run_cli("analyze", "tests.torch_zoo:INSTANCE", "--input", "x=1x3x8x8", timeout=300)
    assert instance.returncode == 0, instance.stderr


@pytest.mark.parametrize(("reference", "inputs", "message"), [
    ("tests.torch_zoo:nothing_here", ["1x3"], "has no attribute 'nothing_here'"),
    ("tests.torch_zoo:not_a_module", ["1x3"], "returned a int, not an nn.Module"),
    ("no_such_package_here:build", ["1x3"], "cannot import 'no_such_package_here'"),
    ("tests.torch_zoo:TinyConvNet", [], "needs example inputs"),
    ("tests.torch_zoo:TinyConvNet", ["y=1x3x8x8"], "has no parameter 'y'"),
    ("tests.torch_zoo:TinyTokenModel", ["input_ids=1x4:int65"], "unknown dtype 'int65'"),
])
def test_cli_reference_mistakes_are_one_line(reference: str, inputs: list[str], message: str) -> None:
    args = [a for i in inputs for a in ("--input", i)]
    out = run_cli("analyze", reference, *args, timeout=300)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_verify_runs_the_exported_module_and_compare_takes_its_inputs() -> None:
    pytest.importorskip("onnxruntime", reason="verify runs the export in onnxruntime")
    out = run_cli("verify", "tests.torch_zoo:TinyConvNet", "--input", "1x3x16x16", timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verified: what ran is what was inferred" in out.stdout
    table = run_cli("compare", "tests.torch_zoo:TinyConvNet", "--input", "1x3x16x16", "--format", "csv",
                    timeout=300)
    assert table.returncode == 0, table.stderr
    x = torch.randn(1, 3, 16, 16)
    assert f"tests.torch_zoo:TinyConvNet,{torch_macs(torch_zoo.TinyConvNet(), (x,))['']}," in table.stdout


def test_weights_sit_on_the_layers_that_use_them() -> None:
    # The exporter builds a bias-free conv's zero bias from Shape(weight) and Expand: the weight
    # is the conv's, never the Expand's.
    module = torch_zoo.TinyConvNet()
    report = archcost.analyze(module, torch.randn(1, 3, 8, 8))
    weights = {r.op_type: 0 for r in report.layers}
    for r in report.layers:
        weights[r.op_type] += r.weights
    expected_conv = sum(p.numel() for n, p in module.named_parameters() if n.endswith("weight") and p.dim() == 4)
    assert weights["Conv"] == expected_conv and weights.get("Expand", 0) == 0
    assert report.totals.params == sum(p.numel() for p in module.parameters())
