"""A report as a set of files: laid out, written atomically, and checked against a directory.

Layout of one report directory::

    README.md            the whole report in markdown (figures linked from plots/)
    report.{txt,json,tex,html}   the whole report in the other formats (HTML self-contained)
    tables/<key>.{txt,md,csv,json,tex,html}   each table in every format
    plots/<key>.{png,svg}                      each figure, when matplotlib is installed
    figures/<key>.svg    each figure archcost draws itself (no matplotlib needed)
    MANIFEST.txt         every generated file, and the matplotlib version that drew the figures

Figures (``plots/`` and ``report.html``, which embeds them) depend on the installed
matplotlib; ``--check`` compares them only when the installed version is the one
the manifest records (or neither has matplotlib figures), and says so when it is not.
``figures/`` depends on nothing installed: it is regenerated and compared like the tables.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from archcost.errors import UsageError
from archcost.fileio import append_text, write_atomic
from archcost.report import render
from archcost.report.table import Document

MANIFEST = "MANIFEST.txt"
#: Where the figures archcost draws itself go (``Figure.inline``); matplotlib's go in ``plots/``.
INLINE_FIGURE_DIR = "figures"
_FIGURE_PREFIX = "figures drawn with matplotlib "


def is_figure_file(name: str) -> bool:
    """Files whose bytes depend on the installed matplotlib."""
    return name.startswith("plots/") or name == "report.html"


def report_files(doc: Document, figures_by: str | None) -> dict[str, bytes]:
    """Every file of a report directory, by relative POSIX path."""
    files: dict[str, str | bytes] = {
        "README.md": render.document_markdown(doc, figure_dir="plots", inline_dir=INLINE_FIGURE_DIR),
        "report.txt": render.document_text(doc),
        "report.json": render.document_json(doc),
        "report.tex": render.document_latex(doc),
        "report.html": render.document_html(doc),
    }
    for table in doc.tables:
        for fmt, suffix in render.FORMATS.items():
            files[f"tables/{table.key}.{suffix}"] = render.render_table(table, fmt)
    for fig in doc.figures:
        for suffix, data in fig.data.items():
            files[f"{INLINE_FIGURE_DIR if fig.inline else 'plots'}/{fig.key}.{suffix}"] = data
    encoded = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in files.items()}
    drawn = any(k.startswith("plots/") for k in encoded)
    header = f"# archcost report; {_FIGURE_PREFIX}{figures_by}" if drawn and figures_by else (
        "# archcost report; figures not drawn")
    encoded[MANIFEST] = _manifest(header, encoded)
    return dict(sorted(encoded.items()))


def _manifest(header: str, files: Mapping[str, bytes]) -> bytes:
    lines = [header, *(f"{hashlib.sha256(files[k]).hexdigest()}  {k}" for k in sorted(files) if k != MANIFEST)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _keep_committed_figures(directory: Path, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """``files`` with the directory's existing figures (and report.html) kept as they are.

    A machine without matplotlib must not rewrite figures drawn elsewhere, nor the HTML page
    that embeds them: only the tables are regenerated, and the manifest still records the
    matplotlib version that drew the kept figures. When the manifest records that no
    matplotlib figure was drawn, there is nothing to keep and everything is regenerated.
    """
    manifest = directory / MANIFEST
    if manifest_figures_by(directory) is None:
        return dict(files)
    kept = {n: (directory / n).read_bytes() for n in manifest_files(directory)
            if is_figure_file(n) and (directory / n).is_file()}
    if not kept:
        return dict(files)
    header = manifest.read_text(encoding="utf-8").splitlines()[0]
    merged = {k: v for k, v in files.items() if not is_figure_file(k) and k != MANIFEST}
    merged.update(kept)
    merged[MANIFEST] = _manifest(header, merged)
    return dict(sorted(merged.items()))


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UsageError(f"refusing to write {name!r} outside the output directory")
    return path


def _check_inside(root: Path, folder: Path) -> None:
    """Refuse ``folder`` unless it is ``root`` or under it, through no symlink that leads out.

    ``root`` itself may be a symlink: that is the folder the user named.
    """
    base = Path(os.path.abspath(root))
    probe = Path(os.path.abspath(folder))
    if probe != base and base not in probe.parents:
        raise UsageError(f"refusing to write into {folder}: it is outside {root}")
    while probe != base and not os.path.lexists(probe):
        probe = probe.parent  # what does not exist yet is created as plain folders
    if probe == base:
        return
    real, real_root = probe.resolve(), base.resolve()
    if real != real_root and real_root not in real.parents:
        raise UsageError(f"refusing to write into {folder}: it leads to {real}, outside {root}")


def write_output(path: Path, text: str, *, append: bool = False) -> None:
    """Write a command's output file whole (:func:`~archcost.fileio.write_atomic`), or append to it.

    ``append`` is for files other programs also write to (a CI job summary): the text is added
    at the end. A file-system error is a :class:`UsageError` naming the file.
    """
    try:
        if append:
            append_text(path, text)
        else:
            write_atomic(path, text.encode("utf-8"))
    except OSError as err:
        raise UsageError(f"cannot write: {err.strerror or err}", where=str(path)) from None
    except (UnicodeError, ValueError):  # a NUL, or a character the file system's encoding lacks
        raise UsageError("cannot write: not a name the file system can hold", where=repr(str(path))) from None


def write_files(directory: Path, files: Mapping[str, bytes], *, keep_figures: bool = False,
                root: Path | None = None) -> list[str]:
    """Write ``files`` under ``directory`` atomically (temp file + rename); return what changed.

    Files a previous run listed in its manifest but this run no longer produces are removed;
    nothing else in ``directory`` is touched. With ``keep_figures`` (figures were not drawn this
    time), committed plots are left in place. Nothing is written outside ``root`` (default:
    ``directory``), not even through a symlink.
    """
    root = directory if root is None else root
    try:
        _check_inside(root, directory)
        directory.mkdir(parents=True, exist_ok=True)
        if keep_figures:
            files = _keep_committed_figures(directory, files)
        stale = {n for n in set(manifest_files(directory)) - set(files)
                 if not (keep_figures and is_figure_file(n))}
        changed = []
        for name, data in files.items():
            target = directory / _safe_relative(name)
            _check_inside(root, target.parent)
            if target.is_file() and target.read_bytes() == data:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)
            changed.append(name)
        for name in sorted(stale):
            stale_path = directory / _safe_relative(name)
            _check_inside(root, stale_path.parent)
            stale_path.unlink(missing_ok=True)
            changed.append(name)
    except OSError as err:
        raise UsageError(f"cannot write the report: {err.strerror or err}", where=str(directory)) from None
    return changed


def manifest_files(directory: Path) -> list[str]:
    """Files the manifest in ``directory`` lists (empty when there is none)."""
    path = directory / MANIFEST
    if not path.is_file():
        return []
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            names.append(line.split("  ", 1)[1])
    return names


def manifest_figures_by(directory: Path) -> str | None:
    """The matplotlib version the committed figures were drawn with, if any."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    first = path.read_text(encoding="utf-8").splitlines()[:1]
    if first and _FIGURE_PREFIX in first[0]:
        return first[0].split(_FIGURE_PREFIX, 1)[1].strip()
    return None


@dataclass(frozen=True)
class CheckResult:
    """What ``--check`` found."""

    differences: tuple[str, ...]
    #: Why figures were not compared ("" when they were).
    figures_skipped: str


def check_files(directory: Path, files: Mapping[str, bytes], installed: str | None) -> CheckResult:
    """Compare freshly generated ``files`` with ``directory``."""
    committed_by = manifest_figures_by(directory)
    # Both None: neither side holds matplotlib's bytes, so report.html is compared too.
    compare_figures = committed_by == installed
    skipped = ""
    if not compare_figures:
        skipped = (f"figures and report.html not compared: the committed ones were drawn with "
                   f"matplotlib {committed_by or '(none)'}, installed: {installed or 'none'}"
                   + (f" (pip install matplotlib=={committed_by} compares them too)" if committed_by else ""))
    differences = []
    expected = {k: v for k, v in files.items()
                if k != MANIFEST and (compare_figures or not is_figure_file(k))}
    for name, data in expected.items():
        target = directory / _safe_relative(name)
        if not target.is_file():
            differences.append(f"missing: {name}")
        elif target.read_bytes() != data:
            differences.append(f"differs: {name}")
    for name in manifest_files(directory):
        if name not in files and (compare_figures or not is_figure_file(name)):
            differences.append(f"no longer generated: {name}")
    return CheckResult(tuple(differences), skipped)
