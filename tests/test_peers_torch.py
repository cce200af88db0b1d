"""The peer conventions against the real tools, on the same PyTorch modules.

``archcost.analyze(module, (x,), convention=NAME).totals.cost`` must equal, exactly, what a
user of each tool gets (each rule module cites the tool's files and version):

* fvcore 0.1.5.post20221221: ``FlopCountAnalysis(model, (x,)).total()``;
* thop 0.1.1.post2209072238: ``profile(model, inputs=(x,), verbose=False)[0]``;
* ptflops 0.7.5: ``get_model_complexity_info(model, (3, 224, 224), as_strings=False,
  print_per_layer_stat=False, backend='pytorch')[0]``.

archcost exports a module in eval mode; thop and ptflops put it in eval mode themselves, and
fvcore traces it as it is, so every tool gets the model in eval mode (fvcore on a model in
training mode counts BatchNorm as 5 per element, not 2). ptflops builds its own input of
batch 1 from the resolution, so every input here has batch 1 (ptflops divides its module
counts by the batch, not its function counts). Each tool gets its own deep copy: thop adds
buffers, ptflops adds attributes and patches ``torch.nn.functional``.

Needs torch and onnxscript (skipped otherwise, as tests/test_pytorch.py), and each tool
(its tests skip, saying which ``pip install`` they need, where it is missing):

    pip install --no-deps fvcore==0.1.5.post20221221 iopath==0.1.10 yacs==0.1.8 portalocker termcolor \
        thop==0.1.1.post2209072238 ptflops==0.7.5
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import archcost
from archcost.cost.peers import PEERS
from archcost.cost.reconcile import reconcile

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'archcost[torch]'")
pytest.importorskip("onnxscript", reason="torch's dynamo ONNX exporter needs onnxscript: pip install onnxscript")

from tests import torch_zoo  # noqa: E402  (imports torch)

nn = torch.nn
F = torch.nn.functional
INSTALL = {
    "fvcore": "pip install --no-deps fvcore==0.1.5.post20221221 iopath==0.1.10 yacs==0.1.8 portalocker termcolor",
    "thop": "pip install --no-deps thop==0.1.1.post2209072238",
    "ptflops": "pip install --no-deps ptflops==0.7.5",
}
VERSIONS = {"fvcore": "0.1.5.post20221221", "thop": "0.1.1.post2209072238", "ptflops": "0.7.5"}


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The tools print and warn (thop imports distutils; fvcore's tracer warns): keep it out of
    the test output, and out of pytest's warnings-as-errors."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def tool(name: str) -> Callable[[Any, Any], int]:
    """The counter of tool ``name``: module and input in, the tool's total out (skips where the
    tool or its version is missing)."""
    from importlib import metadata

    if name == "ptflops":
        # ptflops imports torchvision.ops when torchvision is installed, which needs the workaround
        torch_zoo.torchvision_models_or_skip(needed=False)
    with quiet():
        module = pytest.importorskip(name, reason=f"{name} is not installed: {INSTALL[name]}")
    installed = metadata.version(name)
    if _normalized(installed) != _normalized(VERSIONS[name]):
        pytest.skip(f"{name} {installed} is installed; the {name} convention reproduces {VERSIONS[name]}")
    if name == "fvcore":
        with quiet():
            from fvcore.nn import FlopCountAnalysis

        def count(model: Any, x: Any) -> int:
            total = FlopCountAnalysis(model, (x,)).total()
            assert total == int(total)  # a float when the model has an einsum
            return int(total)
    elif name == "thop":
        def count(model: Any, x: Any) -> int:
            total = module.profile(model, inputs=(x,), verbose=False)[0]
            assert total == int(total)  # a float64 sum of whole numbers
            return int(total)
    else:
        def count(model: Any, x: Any) -> int:
            total, _ = module.get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                        print_per_layer_stat=False, backend="pytorch")
            assert total is not None, "ptflops failed on the model"
            return int(total)

    def run(model: Any, x: Any) -> int:
        with quiet():
            return count(copy.deepcopy(model).eval(), x)
    return run


def _normalized(version: str) -> str:
    """``0.1.1-2209072238`` (what thop's metadata says) and ``0.1.1.post2209072238`` alike."""
    return "".join(c for c in version.lower().replace("post", "") if c.isalnum())


def assert_reproduces(model: Any, x: Any, name: str, counter: Callable[[Any, Any], int]) -> None:
    expected = counter(model, x)
    report = archcost.analyze(model, (x,), convention=name)
    assert report.totals.cost == expected
    # The reconciliation of the paper count gives the same total, term by term.
    found = next(r for r in reconcile(report) if r.peer == name)
    assert found.total == found.paper + sum(t.count for t in found.terms) == expected


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    torch.manual_seed(0)
    vision = torch_zoo.torchvision_models_or_skip()
    built = {name: getattr(vision, name)().eval() for name in ("resnet50", "mobilenet_v2", "vit_b_16")}
    built["mobilenet_v1"] = torch_zoo.MobileNetV1().eval()
    return built


@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("model", ["resnet50", "mobilenet_v2", "vit_b_16", "mobilenet_v1"])
def test_the_convention_gives_the_tools_total(models: dict[str, Any], model: str, peer: str) -> None:
    assert_reproduces(models[model], torch.randn(1, 3, 224, 224), peer, tool(peer))


def test_the_issues_mobilenet_v1_figures_are_the_tools() -> None:
    """Issue 16: fvcore 578,875,904, thop 588,962,304, ptflops 589,012,456 against 568,740,352."""
    module = torch_zoo.MobileNetV1().eval()
    x = torch.randn(1, 3, 224, 224)
    assert archcost.analyze(module, (x,)).totals.macs == 568_740_352
    issue = {"fvcore": 578_875_904, "thop": 588_962_304, "ptflops": 589_012_456}
    for peer, figure in issue.items():
        assert tool(peer)(module, x) == figure


class Apply(nn.Module):
    """``fn(self, x)`` as the forward: functional code beside the modules in ``mods``."""

    def __init__(self, fn: Callable[[Any, Any], Any], *mods: Any) -> None:
        super().__init__()
        self.mods = nn.ModuleList(mods)
        self.fn = fn

    def forward(self, x: Any) -> Any:
        return self.fn(self, x)


def mha(**kwargs: Any) -> Any:
    return Apply(lambda s, x: s.mods[0](x, x, x, **kwargs)[0], nn.MultiheadAttention(8, 2, batch_first=True))


IMAGE, TOKENS = (1, 4, 8, 8), (1, 5, 8)
#: Small modules, one rule each, with the input shape they take.
MODULES: dict[str, tuple[Callable[[], Any], tuple[int, ...]]] = {
    "conv_bias": (lambda: nn.Conv2d(4, 6, 3, padding=1), IMAGE),
    "conv_grouped": (lambda: nn.Conv2d(4, 8, 3, groups=2, stride=2, bias=False), IMAGE),
    "conv_transpose": (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2), IMAGE),
    "batch_norm_no_affine": (lambda: nn.BatchNorm2d(4, affine=False), IMAGE),
    "batch_norm1d": (lambda: nn.BatchNorm1d(5), TOKENS),
    "layer_norm": (lambda: nn.LayerNorm(8), TOKENS),
    "layer_norm_no_affine": (lambda: nn.LayerNorm(8, elementwise_affine=False), TOKENS),
    "group_norm": (lambda: nn.GroupNorm(2, 4), IMAGE),
    "instance_norm": (lambda: nn.InstanceNorm2d(4), IMAGE),
    "instance_norm_affine": (lambda: nn.InstanceNorm2d(4, affine=True), IMAGE),
    "activation_modules": (lambda: nn.Sequential(nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(), nn.ELU(), nn.PReLU(),
                                                 nn.GELU(), nn.SiLU(), nn.Sigmoid(), nn.Hardswish(), nn.Tanh()),
                           IMAGE),
    "activation_functions": (lambda: Apply(lambda s, x: F.gelu(F.silu(F.elu(F.relu6(F.relu(x)))))), IMAGE),
    "pool_modules": (lambda: nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1)), IMAGE),
    "pool_functions": (lambda: Apply(lambda s, x: F.adaptive_avg_pool2d(F.avg_pool2d(F.max_pool2d(x, 2), 2), 1)),
                       IMAGE),
    "adaptive_max_pool": (lambda: nn.AdaptiveMaxPool2d(1), IMAGE),
    "adaptive_avg_pool_2x2": (lambda: nn.AdaptiveAvgPool2d(2), IMAGE),
    "softmax_module": (lambda: nn.Softmax(dim=1), TOKENS),
    "softmax_function": (lambda: Apply(lambda s, x: F.softmax(x, -1)), TOKENS),
    "linear": (lambda: nn.Linear(8, 6), TOKENS),
    "linear_function": (lambda: Apply(lambda s, x: F.linear(x, s.mods[0].weight, s.mods[0].bias), nn.Linear(8, 6)),
                        TOKENS),
    "matmul": (lambda: Apply(lambda s, x: torch.matmul(x, x.transpose(1, 2))), TOKENS),
    "bmm": (lambda: Apply(lambda s, x: torch.bmm(x, x.transpose(1, 2))), TOKENS),
    "einsum": (lambda: Apply(lambda s, x: torch.einsum("bij,bkj->bik", x, x)), TOKENS),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), IMAGE),
    "interpolate": (lambda: Apply(lambda s, x: F.interpolate(x, size=(16, 16), mode="bilinear")), IMAGE),
    "attention": (lambda: mha(need_weights=False), TOKENS),
    "attention_with_weights": (lambda: mha(), TOKENS),
    "cross_attention": (lambda: Apply(lambda s, x: s.mods[0](x, x[:, :3], x[:, :3], need_weights=False)[0],
                                      nn.MultiheadAttention(8, 2, batch_first=True)), TOKENS),
    "attention_without_bias": (lambda: Apply(lambda s, x: s.mods[0](x, x, x, need_weights=False)[0],
                                             nn.MultiheadAttention(8, 2, bias=False, batch_first=True)), TOKENS),
}


@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("name", list(MODULES))
def test_each_rule_gives_the_tools_figure(name: str, peer: str) -> None:
    build, shape = MODULES[name]
    torch.manual_seed(0)
    # Inside a model: the exporter records no scope for the root module (calls.py says so).
    model = nn.Sequential(build()).eval()
    assert_reproduces(model, torch.randn(*shape), peer, tool(peer))


@pytest.mark.slow
@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("model", ["efficientnet_b0", "mobilenet_v3_small", "convnext_tiny", "swin_t", "maxvit_t"])
def test_more_torchvision_models(model: str, peer: str) -> None:
    """SiLU and squeeze-excitation, Hardswish, LayerNorm2d and layer scale, windowed attention with
    functional matmuls, and MaxViT's einsums (fvcore rounds them through numpy's printout)."""
    torch.manual_seed(0)
    module = getattr(torch_zoo.torchvision_models_or_skip(), model)().eval()
    assert_reproduces(module, torch.randn(1, 3, 224, 224), peer, tool(peer))
