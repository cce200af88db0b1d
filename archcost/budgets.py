"""Reading budget files and baselines, and gating models (the I/O half of :mod:`archcost.gate`).

A budget file holds budgets for a whole zoo, as YAML or as the
``[tool.archcost.budgets]`` table of a ``pyproject.toml``. Both have the same
shape::

    defaults:                   # applied to every model, overridden per model
      max-unknown-ops: 0
    models:
      mobilenet_v1:             # a zoo name, or a spec / ONNX path relative to the file
        max-macs: 600M
        max-params: 4.5M
        max-weights-bytes: 18MB
        max-peak-activation: 8MiB
        baseline: baselines/mobilenet_v1.json
        max-increase: 5%
      mobilenet_v1-0.5:         # any label; `model` and `set` say what to analyze
        model: mobilenet_v1
        set: {alpha: 0.5}
        max-macs: 150M
    zoo: true                   # optional: gate every spec in specs/ (defaults where no entry)

In TOML the same reads ``[tool.archcost.budgets.defaults]`` and
``[tool.archcost.budgets.models.mobilenet_v1]``; write suffixed values as
strings (``max-macs = "600M"``).

:func:`plan` turns the models named, the budget file and the flags into one
:class:`ModelBudget` per model; :func:`gate_model` analyzes one and checks it. Each
model is independent of every other, so ``archcost gate --jobs N`` runs
:func:`gate_model` in a process pool.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archcost.errors import UsageError, about
from archcost.fileio import load_json, load_toml, read_text_capped
from archcost.gate import (
    TOP_LAYERS,
    Baseline,
    Budgets,
    GateResult,
    baseline_from_dict,
    budgets_from_mapping,
    evaluate,
)

#: Largest budget file or baseline accepted.
MAX_FILE_BYTES = 16 << 20
_ENTRY_KEYS = ("model", "set", "baseline")


@dataclass(frozen=True)
class ModelBudget:
    """The budgets for one entry of a budget file."""

    label: str
    #: What to analyze: a zoo name or a path (already resolved against the file's folder).
    model: str
    budgets: Budgets
    params: Mapping[str, Any] = field(default_factory=dict)
    baseline: Path | None = None
    where: str | None = None


@dataclass(frozen=True)
class BudgetFile:
    """A parsed budget file."""

    path: Path
    defaults: Budgets
    models: tuple[ModelBudget, ...]
    #: Gate every spec of the zoo when no model is named.
    zoo: bool = False

    def entry(self, name: str) -> ModelBudget | None:
        """The entry labelled ``name``, else the first entry whose model is ``name``."""
        for m in self.models:
            if m.label == name:
                return m
        for m in self.models:
            if m.model == name:
                return m
        return None


def _read_text(path: Path, what: str) -> str:
    return read_text_capped(path, MAX_FILE_BYTES, what=what)


def _load_toml(path: Path) -> Any:
    import importlib

    # tomllib is in the standard library from 3.11; on 3.10 use tomli if it is installed.
    name = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    try:
        toml: Any = importlib.import_module(name)
    except ImportError:
        raise UsageError("reading pyproject.toml on Python 3.10 needs the tomli package "
                         "(pip install tomli), or use a YAML budget file", where=str(path)) from None
    text = _read_text(path, "budget file")
    return load_toml(text, str(path), toml.loads, toml.TOMLDecodeError)


def pyproject_budgets(path: Path) -> Mapping[str, Any] | None:
    """The ``[tool.archcost.budgets]`` table of a pyproject.toml, or ``None`` without one."""
    data = _load_toml(path)
    table = data.get("tool", {}).get("archcost", {}).get("budgets")
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise UsageError("[tool.archcost.budgets] must be a table", where=str(path))
    return table


def load_budget_file(path: Path) -> BudgetFile:
    """Parse a YAML budget file or a pyproject.toml with ``[tool.archcost.budgets]``."""
    display = str(path)
    if path.suffix.lower() == ".toml":
        table = pyproject_budgets(path)
        if table is None:
            raise UsageError("no [tool.archcost.budgets] table", where=display)
        return _parse(table, path, lambda _m, _k: display)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError("a budget file is a .yaml/.yml file or a pyproject.toml", where=display)
    from archcost.frontends.yaml_loader import load_yaml

    if not path.exists():
        raise UsageError("no such budget file", where=display)
    data = load_yaml(path, display, what="budget file")

    def where(mapping: Any, key: str) -> str:
        line_of = getattr(mapping, "line_of", None)
        return f"{display}:{line_of(key)}" if line_of is not None else display

    return _parse(data, path, where)


def _parse(data: Any, path: Path, where: Any) -> BudgetFile:
    display = str(path)
    if not isinstance(data, Mapping):
        raise UsageError("a budget file is a mapping with `defaults` and `models`", where=display)
    for key in data:
        if key not in ("defaults", "models", "zoo"):
            raise UsageError(f"unknown key {key!r}; a budget file has: defaults, models, zoo",
                             where=where(data, key))
    defaults_raw = data.get("defaults", {})
    if not isinstance(defaults_raw, Mapping):
        raise UsageError("`defaults` must be a mapping of budgets", where=where(data, "defaults"))
    defaults = budgets_from_mapping(defaults_raw, line_of=lambda k: where(defaults_raw, k))
    zoo = data.get("zoo", False)
    if not isinstance(zoo, bool):
        raise UsageError(f"`zoo` must be true or false, got {zoo!r}", where=where(data, "zoo"))
    models_raw = data.get("models", {})
    if not isinstance(models_raw, Mapping):
        raise UsageError("`models` must map model names to budgets", where=where(data, "models"))
    models = []
    for label, entry in models_raw.items():
        at = where(models_raw, label)
        if not isinstance(entry, Mapping):
            raise UsageError(f"model {label!r}: expected a mapping of budgets", where=at)
        budget_keys = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
        budgets = budgets_from_mapping(budget_keys, line_of=lambda k, e=entry: where(e, k))
        model = entry.get("model", label)
        if not isinstance(model, str):
            raise UsageError(f"model {label!r}: `model` must be a string", where=where(entry, "model"))
        params = entry.get("set", {})
        if not isinstance(params, Mapping):
            raise UsageError(f"model {label!r}: `set` must map parameter names to values",
                             where=where(entry, "set"))
        baseline = entry.get("baseline")
        if baseline is not None and not isinstance(baseline, str):
            raise UsageError(f"model {label!r}: `baseline` must be a path", where=where(entry, "baseline"))
        models.append(ModelBudget(
            label=str(label),
            model=_resolve_model(model, path.parent),
            budgets=defaults.merged(budgets),
            params=dict(params),
            baseline=path.parent / baseline if baseline is not None else None,
            where=at,
        ))
    return BudgetFile(path, defaults, tuple(models), zoo)


def _resolve_model(model: str, folder: Path) -> str:
    """A path in a budget file is relative to the file; a zoo name stays a name."""
    if "/" in model or "\\" in model or Path(model).suffix.lower() in (".yaml", ".yml", ".onnx"):
        return str(folder / model)
    return model


def discover(folder: Path) -> Path | None:
    """``folder/pyproject.toml`` when it has a ``[tool.archcost.budgets]`` table."""
    candidate = folder / "pyproject.toml"
    if candidate.is_file() and pyproject_budgets(candidate) is not None:
        return candidate
    return None


def load_baseline(path: Path, *, peak_order: str = "default") -> Baseline:
    """A baseline from a file written by ``archcost analyze --format json``."""
    if not path.exists():
        raise UsageError("no such baseline file; make one with `archcost analyze MODEL --format json`",
                         where=str(path))
    data = load_json(_read_text(path, "baseline"), str(path))
    return baseline_from_dict(data, where=str(path), peak_order=peak_order)


def find_budget_file(config: Path | None, folder: Path) -> BudgetFile | None:
    """The budget file ``config`` names, else ``folder/pyproject.toml`` when it has budgets, else ``None``."""
    if config is not None:
        return load_budget_file(config)
    found = discover(folder)
    return load_budget_file(found) if found is not None else None


def plan(
    models: Sequence[str],
    cli: Budgets,
    *,
    config: BudgetFile | None = None,
    sets: Mapping[str, Any] | None = None,
    zoo: bool = False,
    baseline: Path | None = None,
    binds_inputs: bool = False,
) -> list[ModelBudget]:
    """What to gate: one :class:`ModelBudget` per model, with the flags' budgets ``cli`` winning.

    ``models`` named on the command line take their budget-file entry (or its defaults) and
    ``sets``; with no model, every entry of ``config`` is gated, and with ``zoo`` (or
    ``zoo: true`` in the file) every spec of the zoo too. ``binds_inputs`` says ``--input`` or
    ``--value`` was given: those bind named models only.
    """
    sets = dict(sets or {})
    defaults = config.defaults if config is not None else Budgets()
    targets: list[ModelBudget] = []
    if models and zoo:
        raise UsageError("--zoo gates every spec in the zoo; do not name MODELs as well")
    if models:
        for name in models:
            entry = config.entry(name) if config is not None else None
            if entry is None:
                targets.append(ModelBudget(name, name, defaults.merged(cli), sets, baseline))
            else:
                targets.append(ModelBudget(entry.label, entry.model, entry.budgets.merged(cli),
                                           {**entry.params, **sets}, baseline or entry.baseline, entry.where))
    else:
        if sets or binds_inputs:
            raise UsageError("--set and --input apply to the MODELs named on the command line; name one, "
                             "or put `set:` in the budget file")
        if config is not None:
            targets = [ModelBudget(e.label, e.model, e.budgets.merged(cli), e.params, e.baseline, e.where)
                       for e in config.models]
        if zoo or (config is not None and config.zoo):
            from archcost.zoo import zoo_names

            covered = {t.label for t in targets} | {t.model for t in targets}
            targets += [ModelBudget(n, n, defaults.merged(cli)) for n in zoo_names() if n not in covered]
        if not targets:
            raise UsageError("nothing to gate: name a MODEL, or give a budget file with --config "
                             "(or [tool.archcost.budgets] in ./pyproject.toml)")
        if baseline is not None:
            raise UsageError("--baseline compares one model: name it on the command line")
    for t in targets:
        if t.budgets.empty:
            raise UsageError(f"{t.label}: no budget to check; give --max-macs, --max-params, ... or "
                             "an entry (or defaults) in the budget file")
    return targets


def gate_model(
    target: ModelBudget,
    *,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    input_values: Mapping[str, Any] | None = None,
    top: int = TOP_LAYERS,
) -> GateResult:
    """Analyze ``target.model`` and check it against its budgets (and its baseline, if any)."""
    from archcost.cost.memory import activation_memory
    from archcost.cost.pipeline import analyze_model

    # A model a budget file names: its errors say which entry of which file.
    with about(target.where) if target.where else contextlib.nullcontext():
        report = analyze_model(target.model, params=dict(target.params), input_shapes=input_shapes,
                               input_values=input_values)
    baseline = None
    if target.baseline is not None:
        baseline = load_baseline(target.baseline, peak_order=target.budgets.peak_order)
    return evaluate(report, target.budgets, memory=activation_memory(report), baseline=baseline,
                    label=target.label, top=top)
