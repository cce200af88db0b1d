"""Regenerate the PyTorch-exported ONNX corpus in tests/fixtures/corpus/.

Run from the repository root, in a fixture environment (never in CI):

    /work/fixenv-torch/bin/python -m tools.corpus.torch_models            # every model
    /work/fixenv-torch/bin/python -m tools.corpus.torch_models gpt2 yolo  # some of them

The environment needs torch==2.13.0 (CPU), transformers (installed --no-deps), onnx,
onnxscript, onnxruntime and torchvision==0.28.0 (--no-deps); tools/corpus/README.md says how.

Every model is a tiny configuration built with ``torch.manual_seed(0)`` (no hub download),
exported twice: by the TorchScript exporter (``dynamo=False``, ``dynamic_axes``) and by the
dynamo exporter (``dynamo=True``, ``dynamic_shapes`` with named ``torch.export.Dim``). The
TorchScript GPT-2 and BERT exports are then fused by ``onnxruntime.transformers.optimizer``.

Beside each ``<name>.onnx`` the script writes ``<name>.json``: the dim names and input dims
read back from the file, and points (one value per dynamic dim) with the MACs counted
independently by ``torch.utils.flop_counter.FlopCounterMode`` on the same torch module with
the same weights (grad enabled, SDPA forced to the math backend), total flops // 2, plus the
per-op breakdown. Every file is run by onnxruntime at every point and its outputs compared
with torch's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "corpus"
GENERATOR = "tools/corpus/torch_models.py"
COUNTER = "torch.utils.flop_counter.FlopCounterMode: total flops / 2"
TS_OPSET = 17  # the TorchScript exporter's default is 20; 17 is what most published exports use
SEED = 0

_TV_LIB = None  # keeps the torchvision schema library alive


def _import_torchvision():
    """torchvision 0.28.0 beside the CPU torch 2.13.0: define the two compiled-op schemas
    it registers fake kernels for, so that the pure-Python model zoo imports (see
    shared/ENVIRONMENT.md). Must run before transformers is imported."""
    global _TV_LIB
    import torch

    if _TV_LIB is None:
        _TV_LIB = torch.library.Library("torchvision", "DEF")
        _TV_LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TV_LIB.define("qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor")
    import torchvision
    import torchvision.models

    return torchvision


# ---------------------------------------------------------------------------------------
# Model specifications


@dataclass
class Spec:
    """One model: how to build it, its inputs as functions of the dynamic dims, and the
    points (dim values) the manifest records."""

    name: str
    build: Callable[[], tuple[Any, str]]  # -> (torch module in eval mode, source text)
    input_names: list[str]
    output_names: list[str]
    # input name -> {axis: dim name}; the same names label dynamic_axes and torch.export.Dim
    input_axes: dict[str, dict[int, str]]
    output_axes: dict[str, dict[int, str]]
    make_inputs: Callable[[dict[str, int], Any], list[Any]]  # (dims, torch.Generator) -> tensors
    export_dims: dict[str, int]  # the dims of the example the exporters trace
    points: list[dict[str, int]]
    dim_max: dict[str, int] = field(default_factory=dict)  # upper bounds given to torch.export.Dim
    notes: str = ""
    ts_notes: str = ""
    dynamo_notes: str = ""
    tolerance: float = 1e-4


def _seeded():
    import torch

    torch.manual_seed(SEED)


def _hf_source(cls: str, cfg_text: str) -> str:
    import transformers

    return f"transformers {transformers.__version__} {cls}({cfg_text}), seed {SEED}"


# -- 1. GPT-2 -----------------------------------------------------------------------------

GPT2_CFG = dict(n_layer=2, n_embd=32, n_head=4, vocab_size=500, n_positions=128,
                bos_token_id=0, eos_token_id=0)


def _cfg_text(cfg: dict, cls: str) -> str:
    return f"{cls}(" + ", ".join(f"{k}={v!r}" for k, v in cfg.items()) + ")"


def build_gpt2():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    class GPT2Logits(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             use_cache=False, return_dict=True)
            return out.logits

    _seeded()
    model = GPT2LMHeadModel(GPT2Config(**GPT2_CFG)).eval()
    src = _hf_source("GPT2LMHeadModel", _cfg_text(GPT2_CFG, "GPT2Config"))
    return GPT2Logits(model).eval(), src + " (wrapped: forward(input_ids, attention_mask) -> logits, use_cache=False)"


def _ids_and_mask(dims, gen, vocab=500):
    import torch

    b, s = dims["batch"], dims["sequence"]
    ids = torch.randint(0, vocab, (b, s), generator=gen)
    mask = torch.ones(b, s, dtype=torch.int64)
    return ids, mask


GPT2 = Spec(
    name="gpt2",
    build=build_gpt2,
    input_names=["input_ids", "attention_mask"],
    output_names=["logits"],
    input_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}},
    output_axes={"logits": {0: "batch", 1: "sequence"}},
    make_inputs=lambda d, g: list(_ids_and_mask(d, g)),
    export_dims={"batch": 2, "sequence": 7},
    points=[{"batch": 1, "sequence": 7}, {"batch": 2, "sequence": 16}, {"batch": 3, "sequence": 45}],
    dim_max={"sequence": 128},
    notes="GPT-2's lm_head is tied to wte. attention_mask is all ones at every point.",
    ts_notes=("The TorchScript exporter stores the tied lm_head weight a second time, transposed, "
              "as a MatMul initializer."),
)


# -- 2. Llama with GQA and a KV cache ---------------------------------------------------------

LLAMA_CFG = dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=64, vocab_size=500, max_position_embeddings=128, use_cache=True,
                 bos_token_id=0, eos_token_id=0)
LLAMA_LAYERS = LLAMA_CFG["num_hidden_layers"]
LLAMA_KV_HEADS = LLAMA_CFG["num_key_value_heads"]
LLAMA_HEAD_DIM = LLAMA_CFG["hidden_size"] // LLAMA_CFG["num_attention_heads"]


def build_llama():
    import torch
    from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

    class LlamaWithFlatCache(torch.nn.Module):
        """forward(input_ids, attention_mask, position_ids, past key/value per layer...)
        -> (logits, present key/value per layer...). The flat past tensors fill a
        DynamicCache inside forward; the model appends this step's keys and values."""

        def __init__(self, model):
            super().__init__()
            self.model = model
            self.num_layers = model.config.num_hidden_layers

        def forward(self, input_ids, attention_mask, position_ids, *past):
            cache = DynamicCache(
                ddp_cache_data=[(past[2 * i], past[2 * i + 1]) for i in range(self.num_layers)],
                config=self.model.config,
            )
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             cache=cache, use_cache=True, return_dict=True)
            present = []
            for layer in out.cache.layers:
                present += [layer.keys, layer.values]
            return (out.logits, *present)

    _seeded()
    model = LlamaForCausalLM(LlamaConfig(**LLAMA_CFG)).eval()
    src = _hf_source("LlamaForCausalLM", _cfg_text(LLAMA_CFG, "LlamaConfig"))
    return LlamaWithFlatCache(model).eval(), src + (
        " (wrapped: forward(input_ids, attention_mask, position_ids, *past) builds a DynamicCache from the"
        " flat past tensors and returns (logits, *present))")


def _llama_names():
    past, present = [], []
    for i in range(LLAMA_LAYERS):
        past += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        present += [f"present.{i}.key", f"present.{i}.value"]
    return past, present


def _llama_inputs(dims, gen):
    import torch

    b, s, p = dims["batch"], dims["sequence"], dims["past_sequence"]
    assert dims["total_sequence"] == p + s
    ids = torch.randint(0, LLAMA_CFG["vocab_size"], (b, s), generator=gen)
    mask = torch.ones(b, p + s, dtype=torch.int64)
    pos = torch.arange(p, p + s, dtype=torch.int64).unsqueeze(0).expand(b, s).contiguous()
    past = [torch.randn(b, LLAMA_KV_HEADS, p, LLAMA_HEAD_DIM, generator=gen) for _ in range(2 * LLAMA_LAYERS)]
    return [ids, mask, pos, *past]


_LLAMA_PAST, _LLAMA_PRESENT = _llama_names()

LLAMA = Spec(
    name="llama_gqa_kv",
    build=build_llama,
    input_names=["input_ids", "attention_mask", "position_ids", *_LLAMA_PAST],
    output_names=["logits", *_LLAMA_PRESENT],
    input_axes={
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "total_sequence"},
        "position_ids": {0: "batch", 1: "sequence"},
        **{n: {0: "batch", 2: "past_sequence"} for n in _LLAMA_PAST},
    },
    output_axes={"logits": {0: "batch", 1: "sequence"},
                 **{n: {0: "batch", 2: "total_sequence"} for n in _LLAMA_PRESENT}},
    make_inputs=_llama_inputs,
    export_dims={"batch": 2, "sequence": 4, "past_sequence": 3, "total_sequence": 7},
    points=[
        {"batch": 1, "sequence": 7, "past_sequence": 0, "total_sequence": 7},
        {"batch": 2, "sequence": 1, "past_sequence": 5, "total_sequence": 6},
        {"batch": 3, "sequence": 4, "past_sequence": 9, "total_sequence": 13},
        {"batch": 2, "sequence": 6, "past_sequence": 5, "total_sequence": 11},
    ],
    dim_max={"sequence": 64, "past_sequence": 64, "total_sequence": 128},
    notes=(f"Grouped-query attention: {LLAMA_CFG['num_attention_heads']} query heads share "
           f"{LLAMA_KV_HEADS} key/value heads "
           f"(head_dim {LLAMA_HEAD_DIM}). total_sequence "
           "(attention_mask's length) must equal past_sequence + sequence: every point keeps that, the "
           "graph does not check it. The attention MACs grow with total_sequence (q·kᵀ and attn·v over the "
           "concatenated cache). attention_mask is all ones at every point; position_ids run from "
           "past_sequence. transformers' attention is its default 'sdpa' implementation."),
    ts_notes="Traced at batch 2, sequence 4, past 3; onnxruntime matches torch at past 0 and at sequence 1.",
    dynamo_notes=("The present outputs' length is the expression 'past_sequence + sequence' in the file "
                  "(torch.export's symbol), not total_sequence."),
)


# -- 3. BERT ---------------------------------------------------------------------------------

BERT_CFG = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                vocab_size=500, max_position_embeddings=128, attn_implementation="eager")


def build_bert():
    import torch
    from transformers import BertConfig, BertModel

    class BertOutputs(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                             return_dict=True)
            return out.last_hidden_state, out.pooler_output

    _seeded()
    model = BertModel(BertConfig(**BERT_CFG)).eval()
    src = _hf_source("BertModel", _cfg_text(BERT_CFG, "BertConfig"))
    return BertOutputs(model).eval(), src + (
        " (wrapped: forward(input_ids, attention_mask, token_type_ids) -> (last_hidden_state, pooler_output))")


def _bert_inputs(dims, gen):
    import torch

    ids, mask = _ids_and_mask(dims, gen)
    b, s = dims["batch"], dims["sequence"]
    types = torch.zeros(b, s, dtype=torch.int64)
    types[:, s // 2:] = 1
    return [ids, mask, types]


BERT = Spec(
    name="bert",
    build=build_bert,
    input_names=["input_ids", "attention_mask", "token_type_ids"],
    output_names=["last_hidden_state", "pooler_output"],
    input_axes={n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids")},
    output_axes={"last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}},
    make_inputs=_bert_inputs,
    export_dims={"batch": 2, "sequence": 7},
    points=[{"batch": 1, "sequence": 7}, {"batch": 2, "sequence": 16}, {"batch": 3, "sequence": 45}],
    dim_max={"sequence": 128},
    notes=("BertModel with its pooler (dense + tanh on the first token), eager attention (explicit "
           "matmul/softmax/matmul: the pattern onnxruntime's BERT optimizer fuses into Attention; with "
           "transformers' default 'sdpa' it fuses no Attention). attention_mask is all ones; "
           "token_type_ids are 0 for the first half of the sequence and 1 for the rest."),
)


# -- 4. Hugging Face ViT ---------------------------------------------------------------------

HFVIT_CFG = dict(image_size=32, patch_size=8, num_channels=3, num_hidden_layers=2, hidden_size=64,
                 num_attention_heads=4, intermediate_size=128, num_labels=10)


def build_hf_vit():
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    class ViTLogits(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, pixel_values):
            return self.model(pixel_values=pixel_values, return_dict=True).logits

    _seeded()
    model = ViTForImageClassification(ViTConfig(**HFVIT_CFG)).eval()
    src = _hf_source("ViTForImageClassification", _cfg_text(HFVIT_CFG, "ViTConfig"))
    return ViTLogits(model).eval(), src + " (wrapped: forward(pixel_values) -> logits)"


def _image_inputs(dims, gen, size=32):
    import torch

    return [torch.randn(dims["batch"], 3, dims.get("height", size), dims.get("width", size), generator=gen)]


HF_VIT = Spec(
    name="hf_vit",
    build=build_hf_vit,
    input_names=["pixel_values"],
    output_names=["logits"],
    input_axes={"pixel_values": {0: "batch"}},
    output_axes={"logits": {0: "batch"}},
    make_inputs=_image_inputs,
    export_dims={"batch": 2},
    points=[{"batch": 1}, {"batch": 2}, {"batch": 5}],
    notes="16 patches + the class token: 17 tokens. The image size is fixed (32x32).",
)


# -- 5. torchvision ViT ----------------------------------------------------------------------

TVVIT_ARGS = dict(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128,
                  num_classes=10)


def build_tv_vit():
    torchvision = _import_torchvision()
    from torchvision.models.vision_transformer import VisionTransformer

    _seeded()
    model = VisionTransformer(**TVVIT_ARGS).eval()
    args = ", ".join(f"{k}={v}" for k, v in TVVIT_ARGS.items())
    return model, f"torchvision {torchvision.__version__} VisionTransformer({args}), seed {SEED}"


TV_VIT = Spec(
    name="torchvision_vit",
    build=build_tv_vit,
    input_names=["x"],
    output_names=["logits"],
    input_axes={"x": {0: "batch"}},
    output_axes={"logits": {0: "batch"}},
    make_inputs=_image_inputs,
    export_dims={"batch": 2},
    points=[{"batch": 1}, {"batch": 2}, {"batch": 5}],
    notes=("Same graph pattern as torchvision's vit_b_16 (conv_proj patchify, class token expanded to the "
           "batch, nn.MultiheadAttention encoder, x[:, 0] head). FlopCounterMode counts "
           "nn.MultiheadAttention's unfused path (grad enabled): in-projection addmm/mm, SDPA math, "
           "out-projection."),
    ts_notes=("The TorchScript export of nn.MultiheadAttention with a dynamic batch has Slice nodes whose "
              "starts/ends are computed at run time (the pattern archcost refused for vit_b_16 with "
              "'Slice ... ends must be a constant')."),
)


# -- 6. YOLO-style FPN/PAN detector ------------------------------------------------------------


def build_yolo():
    import torch
    import torch.nn.functional as F
    from torch import nn

    def cbs(cin, cout, k=3, s=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())

    class TinyYolo(nn.Module):
        """Backbone to stride 32, FPN top-down (Upsample x2 + concat, twice), PAN bottom-up
        (stride-2 conv + concat, twice), 1x1 heads at strides 8/16/32 predicting
        4 box + 4 class channels per cell; the three maps are flattened and concatenated."""

        def __init__(self, num_outputs=8):
            super().__init__()
            self.stem = cbs(3, 8, 3, 2)  # /2
            self.down2 = nn.Sequential(cbs(8, 16, 3, 2), cbs(16, 16, 1, 1))  # /4
            self.down3 = nn.Sequential(cbs(16, 16, 3, 2), cbs(16, 16, 1, 1))  # /8  -> c3
            self.down4 = nn.Sequential(cbs(16, 24, 3, 2), cbs(24, 24, 1, 1))  # /16 -> c4
            self.down5 = nn.Sequential(cbs(24, 32, 3, 2), cbs(32, 32, 1, 1))  # /32 -> c5
            self.lat5 = cbs(32, 24, 1, 1)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.fpn4 = cbs(24 + 24, 24, 3, 1)
            self.lat4 = cbs(24, 16, 1, 1)
            self.fpn3 = cbs(16 + 16, 16, 3, 1)  # p3 (stride 8)
            self.pan_down3 = cbs(16, 16, 3, 2)
            self.pan4 = cbs(16 + 16, 24, 3, 1)  # n4 (stride 16)
            self.pan_down4 = cbs(24, 24, 3, 2)
            self.pan5 = cbs(24 + 24, 32, 3, 1)  # n5 (stride 32)
            self.head3 = nn.Conv2d(16, num_outputs, 1)
            self.head4 = nn.Conv2d(24, num_outputs, 1)
            self.head5 = nn.Conv2d(32, num_outputs, 1)

        def forward(self, images):
            c3 = self.down3(self.down2(self.stem(images)))
            c4 = self.down4(c3)
            c5 = self.down5(c4)
            p5 = self.lat5(c5)
            p4 = self.fpn4(torch.cat([self.up(p5), c4], dim=1))
            p4l = self.lat4(p4)
            p3 = self.fpn3(torch.cat([F.interpolate(p4l, scale_factor=2.0, mode="nearest"), c3], dim=1))
            n4 = self.pan4(torch.cat([self.pan_down3(p3), p4l], dim=1))
            n5 = self.pan5(torch.cat([self.pan_down4(n4), p5], dim=1))
            outs = [self.head3(p3), self.head4(n4), self.head5(n5)]
            return torch.cat([o.flatten(2) for o in outs], dim=2)  # (batch, 8, cells)

    _seeded()
    model = TinyYolo()
    # Non-trivial BatchNorm statistics, so that folding them is visible in the outputs.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    return model, (f"TinyYolo (defined in {GENERATOR}: conv+BN+SiLU backbone to stride 32, FPN with "
                   "nn.Upsample and F.interpolate x2 nearest + Concat, PAN with stride-2 convs + Concat, "
                   f"1x1 heads at strides 8/16/32), seed {SEED}")


YOLO = Spec(
    name="yolo_fpn",
    build=build_yolo,
    input_names=["images"],
    output_names=["predictions"],
    input_axes={"images": {0: "batch", 2: "height", 3: "width"}},
    output_axes={"predictions": {0: "batch", 2: "cells"}},
    make_inputs=lambda d, g: _image_inputs(d, g),
    export_dims={"batch": 2, "height": 64, "width": 96},
    points=[{"batch": 1, "height": 64, "width": 64}, {"batch": 2, "height": 96, "width": 128},
            {"batch": 3, "height": 160, "width": 96}],
    notes=("Used with height and width multiples of 32. The output has 8 channels (4 box, 4 class) over "
           "H/8*W/8 + H/16*W/16 + H/32*W/32 cells. FlopCounterMode counts only the convolutions (BatchNorm, "
           "SiLU, resize and concat are not MACs). BatchNorm (eval, non-trivial running statistics) is folded "
           "into the convolutions in both files, so the MACs are the same with or without it."),
    ts_notes="The TorchScript exporter folds each BatchNorm into its Conv (which gains a bias).",
    dynamo_notes=("onnxscript's rewriter folds each BatchNorm into its Conv (rule FuseBatchNormIntoConv, "
                  "recorded in the node's metadata_props); the flatten sizes are computed from Shape with "
                  "floor-division arithmetic on height and width."),
)

SPECS = [GPT2, LLAMA, BERT, HF_VIT, TV_VIT, YOLO]

# ORT transformer-optimizer runs: (fixture name, source spec, model_type)
ORT_OPTIMIZED = [("gpt2_ort_optimized", GPT2, "gpt2"), ("bert_ort_optimized", BERT, "bert")]
ORT_NOTES = {
    "gpt2": ("The GPT-2 fusions find no Attention in transformers 5's attention graph: the MACs stay in MatMul "
             "and Gemm nodes (Conv1D's addmm became MatMul with its bias moved into FastGelu or "
             "SkipLayerNormalization, which carry no MACs)."),
    "bert": ("com.microsoft Attention (QKV weight [64, 192], bias [192], mask_index from the attention mask) "
             "holds the Q/K/V projections and both attention matmuls (q·kᵀ, softmax·v) of each layer; the "
             "output projection and the FFN stay MatMul (their biases moved into SkipLayerNormalization and "
             "BiasGelu); EmbedLayerNormalization (word + position + token-type embeddings, LayerNorm) and "
             "SkipLayerNormalization carry no MACs."),
}
ORT_HEADS = {"gpt2": (GPT2_CFG["n_head"], GPT2_CFG["n_embd"]), "bert": (BERT_CFG["num_attention_heads"],
                                                                          BERT_CFG["hidden_size"])}


# ---------------------------------------------------------------------------------------
# Counting, exporting, checking


def count_macs(module, inputs) -> tuple[int, dict[str, int]]:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        module(*inputs)
    total = counter.get_total_flops()
    if total % 2:
        raise AssertionError(f"odd flop total {total}")
    by_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    by_op = dict(sorted(by_op.items()))
    if sum(by_op.values()) != total:
        raise AssertionError(f"by_op sums to {sum(by_op.values())}, total is {total}")
    return total // 2, by_op


def _flat_outputs(out):
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    return [o for o in out]


def export_torchscript(spec: Spec, module, path: Path) -> None:
    import torch

    gen = torch.Generator().manual_seed(1234)
    args = tuple(spec.make_inputs(spec.export_dims, gen))
    axes = {**spec.input_axes, **spec.output_axes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, input_names=spec.input_names,
                          output_names=spec.output_names, dynamic_axes=axes, opset_version=TS_OPSET)


def export_dynamo(spec: Spec, module, path: Path) -> None:
    import inspect

    import torch

    gen = torch.Generator().manual_seed(1234)
    args = tuple(spec.make_inputs(spec.export_dims, gen))
    dims = {}
    for axes in spec.input_axes.values():
        for name in axes.values():
            if name not in dims:
                bound = {"max": spec.dim_max[name]} if name in spec.dim_max else {}
                dims[name] = torch.export.Dim(name, **bound)
    params = list(inspect.signature(module.forward).parameters.values())
    shapes: dict[str, Any] = {}
    inputs_left = list(spec.input_names)
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            shapes[p.name] = tuple({ax: dims[d] for ax, d in spec.input_axes.get(n, {}).items()} or None
                                   for n in inputs_left)
            inputs_left = []
        else:
            n = inputs_left.pop(0)
            shapes[p.name] = {ax: dims[d] for ax, d in spec.input_axes.get(n, {}).items()} or None
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, args, None, dynamo=True, input_names=spec.input_names,
                                    output_names=spec.output_names, dynamic_shapes=shapes, verbose=False)
    program.save(str(path), external_data=False)
    _drop_stack_traces(path)


def _drop_stack_traces(path: Path) -> None:
    """Remove the exporter's per-node Python stack traces: they hold this machine's file paths
    and line numbers (so the file would change with any edit here) and a fifth of the file. The
    module scopes (``pkg.torch.onnx.name_scopes``, ``class_hierarchy``) stay."""
    import onnx

    model = onnx.load(str(path))
    pending = [model.graph]
    while pending:
        graph = pending.pop()
        for node in graph.node:
            kept = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
            del node.metadata_props[:]
            node.metadata_props.extend(kept)
            pending.extend(a.g for a in node.attribute if a.HasField("g"))
    onnx.save(model, str(path))


def _dims_of(value_info) -> list:
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        else:
            out.append(d.dim_param)  # "" when the dim is unnamed
    return out


def describe(path: Path) -> dict[str, Any]:
    import onnx

    model = onnx.load(str(path))
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = {i.name: _dims_of(i) for i in g.input if i.name not in inits}
    outputs = {o.name: _dims_of(o) for o in g.output}
    names: list[str] = []
    for dims in inputs.values():
        for d in dims:
            if isinstance(d, str) and d not in names:
                names.append(d)
    ops: Counter = Counter()

    def walk(graph):
        for node in graph.node:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"
            ops[key] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                for sub in attr.graphs:
                    walk(sub)

    walk(g)
    function_ops: Counter = Counter()
    for fn in model.functions:
        for node in fn.node:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"
            function_ops[key] += 1
    return {
        "model": model,
        "inputs": inputs,
        "outputs": outputs,
        "dynamic_dims": names,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "op_types": dict(sorted(ops.items())),
        "functions": [f"{f.domain}:{f.name}" for f in model.functions],
        "function_op_types": dict(sorted(function_ops.items())),
        "initializer_params": sum(_numel(t.dims) for t in g.initializer),
    }


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def check_model(model) -> str:
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
        return "onnx.checker.check_model(full_check=True) passed"
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300]
        try:
            onnx.checker.check_model(model)
        except Exception as exc2:
            return f"onnx.checker.check_model failed: {str(exc2).strip().splitlines()[0][:300]}"
        return f"onnx.checker.check_model passed; with full_check=True (shape inference) it failed: {first}"


def run_ort(path: Path, spec: Spec, module, points) -> None:
    """Run the file at every point and compare its outputs with torch's."""
    import numpy as np
    import onnxruntime as ort
    import torch

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    input_names = [i.name for i in sess.get_inputs()]
    for k, dims in enumerate(points):
        gen = torch.Generator().manual_seed(100 + k)
        inputs = spec.make_inputs(dims, gen)
        feeds = {n: t.numpy() for n, t in zip(spec.input_names, inputs, strict=False) if n in input_names}
        got = sess.run(None, feeds)
        with torch.no_grad():
            want = _flat_outputs(module(*inputs))
        if len(got) != len(want):
            raise AssertionError(f"{path.name}: {len(got)} outputs, torch gives {len(want)}")
        for o, (g, w) in enumerate(zip(got, want, strict=False)):
            w = w.numpy()
            if g.shape != w.shape:
                raise AssertionError(f"{path.name} at {dims}: output {o} shape {g.shape}, torch {w.shape}")
            err = float(np.max(np.abs(g - w))) if g.size else 0.0
            if err > spec.tolerance:
                raise AssertionError(f"{path.name} at {dims}: output {o} differs from torch by {err}")


def make_points(spec: Spec, module) -> list[dict[str, Any]]:
    import torch

    points = []
    for k, dims in enumerate(spec.points):
        gen = torch.Generator().manual_seed(100 + k)
        inputs = spec.make_inputs(dims, gen)
        macs, by_op = count_macs(module, inputs)
        shapes = {n: list(t.shape) for n, t in zip(spec.input_names, inputs, strict=False)}
        points.append({"dims": dict(dims), "input_shapes": shapes, "macs": macs, "counter": COUNTER,
                       "by_op": by_op})
    return points


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "transformers", "torchvision", "onnxscript", "onnx", "onnxruntime", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def write_manifest(path: Path, info: dict[str, Any], spec: Spec, source: str, points, notes: str,
                   extra: dict[str, Any] | None = None) -> None:
    # The manifest's dims name exactly the file's input dim_params.
    for p in points:
        missing = [d for d in info["dynamic_dims"] if d not in p["dims"]]
        unknown = [d for d in p["dims"] if d not in info["dynamic_dims"]]
        if missing or unknown:
            raise AssertionError(f"{path.name}: point dims {p['dims']} vs file dims {info['dynamic_dims']}")
        for name, shape in p["input_shapes"].items():
            declared = info["inputs"][name]
            bound = [p["dims"][d] if isinstance(d, str) else d for d in declared]
            if bound != shape:
                raise AssertionError(f"{path.name}: input {name} {declared} at {p['dims']} != {shape}")
    for name in info["dynamic_dims"]:
        if len({p["dims"][name] for p in points}) < 3:
            raise AssertionError(f"{path.name}: dim {name} takes fewer than 3 values over the points")
    manifest = {
        "model": path.with_suffix(".onnx").name,
        "generator": GENERATOR,
        "source": source,
        "dynamic_dims": info["dynamic_dims"],
        "inputs": info["inputs"],
        "outputs": info["outputs"],
        "points": points,
        "ort_ran": True,
        "notes": notes,
        "opsets": info["opsets"],
        "ir_version": info["ir_version"],
        "op_types": info["op_types"],
        "functions": info["functions"],
        "initializer_params": info["initializer_params"],
        "checker": check_model(info["model"]),
        "versions": _versions(),
    }
    if info["functions"]:
        manifest["function_op_types"] = info["function_op_types"]
    if extra:
        manifest.update(extra)
    path.with_suffix(".json").write_text(dump_json(manifest) + "\n")


def dump_json(value: Any, indent: int = 0) -> str:
    """JSON with one key per line down to the points; lists of scalars and dicts of scalars
    (dims, shapes, by_op, op_types) each on one line."""

    def flat(v: Any) -> bool:
        if isinstance(v, list):
            return all(not isinstance(x, (list, dict)) for x in v)
        if isinstance(v, dict):
            return all(not isinstance(x, (list, dict)) or (isinstance(x, list) and flat(x)) for x in v.values())
        return True

    if flat(value):
        return json.dumps(value, ensure_ascii=False)
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, list):
        return "[\n" + ",\n".join(inner + dump_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    items = [f"{inner}{json.dumps(k)}: {dump_json(v, indent + 1)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + pad + "}"


def _assert_inline(path: Path) -> None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise AssertionError(f"{path.name}: initializer {t.name} is external")
    stray = path.with_name(path.name + ".data")
    if stray.exists():
        stray.unlink()


PERTURB_TEXT = "; every parameter then + 0.02 * randn (torch.Generator seed 1), so that no two weights are equal"


def _perturb(module) -> None:
    """Freshly initialized models have all-zero biases and all-one norm weights, which the
    exporters and onnxruntime's optimizer deduplicate into shared initializers; a trained model
    has none of that. Adding small noise to every parameter (tied ones once) avoids it."""
    import torch

    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def torch_param_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


DYNAMO_COMMON_NOTE = (
    "As the dynamo exporter writes them, nodes carry metadata_props (namespace, pkg.torch.onnx.class_hierarchy, "
    "pkg.torch.onnx.fx_node, pkg.torch.onnx.name_scopes; the per-node pkg.torch.onnx.stack_trace, which holds "
    "the generating machine's file paths, is removed) and graph inputs, outputs and initializers carry "
    "pkg.torch.export.* / pkg.torch.onnx.original_node_name entries; the graph was optimized by onnxscript "
    "(the exporter's default optimize=True).")


def generate(spec: Spec, failures: list[str]) -> dict[str, Any]:
    print(f"== {spec.name}", flush=True)
    module, source = spec.build()
    source += PERTURB_TEXT
    _perturb(module)
    versions = _versions()
    points = make_points(spec, module)
    results: dict[str, tuple[Path, dict[str, Any]]] = {}
    failed: dict[str, str] = {}
    how = {
        "torchscript": f"torch.onnx.export(dynamo=False, dynamic_axes=..., opset_version={TS_OPSET})",
        "dynamo": "torch.onnx.export(dynamo=True, dynamic_shapes=<named torch.export.Dim>, external_data=False)",
    }
    for exporter in ("torchscript", "dynamo"):
        path = OUT / f"{spec.name}_{exporter}.onnx"
        try:
            if exporter == "torchscript":
                export_torchscript(spec, module, path)
            else:
                export_dynamo(spec, module, path)
            _assert_inline(path)
            run_ort(path, spec, module, spec.points)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:400]}"
            print(f"FAILED {path.name}: {msg}", flush=True)
            failures.append(f"{path.name}: {msg}")
            failed[exporter] = msg
            for p in (path, path.with_suffix(".json")):
                if p.exists():
                    p.unlink()
            continue
        results[exporter] = (path, describe(path))
    for exporter, (path, info) in results.items():
        parts = [spec.notes, spec.ts_notes if exporter == "torchscript" else spec.dynamo_notes]
        if exporter == "dynamo":
            parts.append(DYNAMO_COMMON_NOTE)
        for other, msg in failed.items():
            parts.append(f"The {other} exporter failed on this model ({msg}); there is no {spec.name}_{other}.onnx.")
        notes = " ".join(x for x in parts if x)
        write_manifest(path, info, spec, f"{source}, torch {versions['torch']} {how[exporter]}", points, notes,
                       extra={"torch_params": torch_param_count(module)})
        print(f"   {path.name}: {path.stat().st_size} bytes, inputs {info['inputs']}", flush=True)
    return {"module": module, "source": source, "points": points, "results": results}


def ort_optimize(name: str, spec: Spec, model_type: str, base: dict[str, Any], failures: list[str]) -> None:
    print(f"== {name}", flush=True)
    from onnxruntime.transformers.optimizer import optimize_model

    if "torchscript" not in base["results"]:
        failures.append(f"{name}: no TorchScript export of {spec.name} to optimize")
        return
    src_path, _ = base["results"]["torchscript"]
    heads, hidden = ORT_HEADS[model_type]
    path = OUT / f"{name}.onnx"
    with contextlib.redirect_stdout(sys.stderr):
        optimized = optimize_model(str(src_path), model_type=model_type, num_heads=heads, hidden_size=hidden)
        optimized.save_model_to_file(str(path), use_external_data_format=False)
    _assert_inline(path)
    run_ort(path, spec, base["module"], spec.points)
    info = describe(path)
    ms_ops = sorted(k.split(":", 1)[1] for k in info["op_types"] if k.startswith("com.microsoft:"))
    if not ms_ops:
        raise AssertionError(f"{name}: no com.microsoft op after optimization")
    versions = _versions()
    source = (f"onnxruntime {versions['onnxruntime']} onnxruntime.transformers.optimizer.optimize_model("
              f"'{src_path.name}', model_type='{model_type}', num_heads={heads}, hidden_size={hidden}) "
              f"(default opt_level and fusion options, CPU); {src_path.name} is {base['source']}")
    notes = (f"Fused com.microsoft ops: {', '.join(ms_ops)}. {ORT_NOTES[model_type]} The points (dims and "
             f"MACs) are those of {src_path.name}: the same weights and computation, counted on the torch "
             f"module; onnxruntime's outputs match torch's at every point. {spec.notes}")
    write_manifest(path, info, spec, source, base["points"], notes,
                   extra={"optimized_from": src_path.name, "com_microsoft_ops": ms_ops,
                          "torch_params": torch_param_count(base["module"])})
    print(f"   {path.name}: {path.stat().st_size} bytes, com.microsoft ops {ms_ops}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="spec names (default: all): " +
                        ", ".join(s.name for s in SPECS))
    args = parser.parse_args(argv)
    # torchvision's schemas must be defined before transformers looks for torchvision.
    _import_torchvision()
    import torch

    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = set(args.models)
    unknown = wanted - {s.name for s in SPECS} - {"gpt2", "bert"}
    if unknown:
        parser.error(f"unknown model(s): {sorted(unknown)}")
    failures: list[str] = []
    done = {}
    for spec in SPECS:
        if wanted and spec.name not in wanted:
            continue
        done[spec.name] = generate(spec, failures)
    for name, spec, model_type in ORT_OPTIMIZED:
        if spec.name in done:
            try:
                ort_optimize(name, spec, model_type, done[spec.name], failures)
            except Exception as exc:
                failures.append(f"{name}: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:400]}")
    if failures:
        print("\nFailures:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
