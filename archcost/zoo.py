"""Built-in architectures: the YAML specs in ``specs/``, usable by name.

A zoo name is a name, never a path: only ``[A-Za-z0-9_.-]`` starting with a letter, a digit or
``_`` is looked up in the zoo, so ``../../somewhere/evil`` can never load a spec from outside
``specs/``. Anything else is a path, taken as the user wrote it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from archcost.errors import UsageError

#: What a zoo name may be (no path separator, no leading dot).
_ZOO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
#: Suffixes that make an argument a path even when no such file exists (case-insensitive).
_MODEL_SUFFIXES = (".yaml", ".yml", ".onnx")


def specs_dir() -> Path:
    """Where the zoo's specs are: inside the installed package, or the source checkout."""
    installed = Path(__file__).parent / "specs"
    if installed.is_dir():
        return installed
    return Path(__file__).parent.parent / "specs"


def zoo_names() -> list[str]:
    """Every built-in model name, sorted."""
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def is_zoo_name(text: str) -> bool:
    """Whether ``text`` has the form of a zoo name (not whether the zoo has it)."""
    return _ZOO_NAME.fullmatch(text) is not None


def resolve(name_or_path: str) -> tuple[Path, str]:
    """A path for a zoo name or a file path, and the name to show in messages.

    A path is returned as written, whatever is there (a folder, a FIFO): the loader says
    what it is. Only a missing path is refused here.
    """
    candidate = Path(name_or_path)
    is_path = (os.path.lexists(candidate) or not is_zoo_name(name_or_path)
               or candidate.suffix.lower() in _MODEL_SUFFIXES)
    if is_path:
        if not os.path.lexists(candidate):
            raise UsageError(f"{name_or_path}: no such file{_zoo_hint(candidate)}")
        return candidate, name_or_path
    spec = specs_dir() / f"{name_or_path}.yaml"
    if spec.is_file():
        return spec, f"specs/{spec.name}"
    raise UsageError(
        f"{name_or_path!r} is neither a file nor a built-in model; built-in: {', '.join(zoo_names())}"
    )


def _zoo_hint(candidate: Path) -> str:
    """For a missing path whose last part is a zoo name: a zoo name is given alone."""
    stem = candidate.stem if candidate.suffix.lower() in _MODEL_SUFFIXES else candidate.name
    if candidate.parent != Path(".") and (specs_dir() / f"{stem}.yaml").is_file():
        return f" (the built-in model is named {stem!r}, without a folder)"
    return ""
