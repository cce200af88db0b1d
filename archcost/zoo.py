"""Built-in architectures: the YAML specs in ``specs/``, usable by name."""

from __future__ import annotations

from pathlib import Path

from archcost.errors import UsageError


def specs_dir() -> Path:
    """Where the zoo's specs are: inside the installed package, or the source checkout."""
    installed = Path(__file__).parent / "specs"
    if installed.is_dir():
        return installed
    return Path(__file__).parent.parent / "specs"


def zoo_names() -> list[str]:
    """Every built-in model name, sorted."""
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def resolve(name_or_path: str) -> tuple[Path, str]:
    """A path for a zoo name or a file path, and the name to show in messages."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml", ".onnx") or candidate.exists():
        if candidate.is_dir():
            raise UsageError(f"{name_or_path}: is a directory, not a model file")
        if not candidate.is_file():
            raise UsageError(f"{name_or_path}: no such file")
        return candidate, name_or_path
    spec = specs_dir() / f"{name_or_path}.yaml"
    if spec.is_file():
        return spec, f"specs/{spec.name}"
    raise UsageError(
        f"{name_or_path!r} is neither a file nor a built-in model; built-in: {', '.join(zoo_names())}"
    )
