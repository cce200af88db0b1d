"""The README's wrong-file table, from real runs: each kind of file archcost does not read,
made in a temporary folder and given to ``archcost analyze``; the table shows the message.

    python -m tools.wrong_files            # prints the markdown table

``tests/test_hostile.py`` runs the same cases and checks each message names the file, says what it
is, and is one line with exit code 2.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _torch_zip(path: Path) -> None:
    # torch.save's format: a zip whose members sit under one folder, data.pkl first.
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"weight": [1.0]}, protocol=2))
        archive.writestr("archive/version", "3\n")


def _pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"weight": [1.0]}, protocol=2))


def _safetensors(path: Path) -> None:
    header = json.dumps({"weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))


def _hdf5(path: Path) -> None:
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(504))


def _keras(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")


def _folder(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _capital_onnx(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "archcost", "export", "mobilenet_v1", "-o", str(path)],
                   cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), check=True, capture_output=True)


#: (what the file is, its name, how to make it); ``/dev/zero`` is given as it is.
CASES: list[tuple[str, str, Callable[[Path], None] | None]] = [
    ("PyTorch checkpoint (torch.save zip)", "model.pt", _torch_zip),
    ("PyTorch checkpoint (legacy pickle)", "weights.pth", _pickle),
    ("safetensors weights", "model.safetensors", _safetensors),
    ("Keras HDF5 model", "model.h5", _hdf5),
    ("Keras 3 model", "model.keras", _keras),
    ("a directory", "models", _folder),
    ("a FIFO (named pipe)", "pipe", _fifo),
    ("a device", "/dev/zero", None),
    ("ONNX with a capital suffix", "Model.ONNX", _capital_onnx),
]


def run(folder: Path) -> list[tuple[str, str, int, str]]:
    """Each case made in ``folder`` and analyzed: (what, name, exit code, first stderr line or
    the first stdout line)."""
    rows = []
    for what, name, make in CASES:
        if make is not None:
            make(folder / name)
        proc = subprocess.run([sys.executable, "-m", "archcost", "analyze", name], cwd=folder,
                              env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True,
                              timeout=120, check=False)
        text = proc.stderr if proc.returncode else proc.stdout
        rows.append((what, name, proc.returncode, (text.splitlines() or [""])[0]))
    return rows


def table(rows: list[tuple[str, str, int, str]]) -> str:
    lines = ["| file | `archcost analyze FILE` says | exit |", "|---|---|---|"]
    for what, name, code, message in rows:
        shown = message.replace("|", "\\|")
        lines.append(f"| {what}: `{name}` | {shown} | {code} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="archcost-wrong-files-") as folder:
        sys.stdout.write(table(run(Path(folder))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
