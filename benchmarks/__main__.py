"""``python -m benchmarks``: archcost against onnx-tool, ``onnx.load`` and the interpreter, in one run.

Every figure is the median of ``--repeat`` fresh processes (start-up cases: of
``--repeat`` + 2). Model files are built once into ``--cache``; before every
measurement the model file is read once (``--page-cache warm``, the default) or
evicted from the page cache (``cold``), so every tool starts from the same state.
The targets are issue 7's; a missed target is printed as ``MISSED``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.models import model_path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("resnet50", "vgg16", "vit_b16", "mobilenet_v2")
#: (case, peer) → minimum speed-up over the peer; and plain ceilings, in seconds or MB.
SPEEDUP_TARGETS = {("vgg16", "onnx_tool"): 20.0, ("vgg16", "onnx.load"): 10.0, ("resnet50", "onnx_tool"): 10.0}
RSS_TARGET_MB = 150.0
SCALING_SECONDS, SCALING_RATIO = 5.0, 1.5
HELP_SECONDS, ANALYZE_SECONDS, SWEEP_SECONDS = 0.2, 0.5, 0.5
#: Issue 14: every corpus model analyzed with its dynamic dims free, in process.
CORPUS_SECONDS = 0.5
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
SWEEP_SIDE = 100
PER_POINT_SAMPLE = 20
PYCACHE = ROOT / "benchmarks" / ".cache" / "pycache"
#: onnx-tool on the 100k-node graph runs for minutes; it is cut off here and reported as such.
PEER_SCALING_TIMEOUT = 120.0


@dataclass
class Row:
    case: str
    ours: str
    peer: str
    theirs: str
    ratio: str
    target: str
    verdict: str


def _env() -> dict[str, str]:
    """The environment of every measured process: this checkout's archcost, with bytecode.

    Bytecode goes to ``benchmarks/.cache/pycache`` (``PYTHONPYCACHEPREFIX``), not into the
    source tree, and is written on the first run, as ``pip install`` writes it for a user;
    with ``PYTHONDONTWRITEBYTECODE`` set every process would compile every module again.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(PYCACHE))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


#: The page-cache state every model measurement starts from: ``warm`` (the file read
#: once just before) or ``cold`` (evicted just before). Set by ``--page-cache``.
PAGE_CACHE = "warm"


def prepare_file(path: Path) -> None:
    """Put ``path`` in the state :data:`PAGE_CACHE` names, so every tool starts from the same one.

    Without this a tool's time depends on what ran before it: on these machines the
    page cache does not keep a 300 MB model between runs, and an uncached read is
    several times slower than a cached one, for archcost and its peers alike.
    """
    if PAGE_CACHE == "cold":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        return
    with open(path, "rb") as file:
        while file.read(16 << 20):
            pass


def child(tool: str, argument: str, timeout: float) -> dict[str, Any]:
    """One measurement in a fresh process (see benchmarks/child.py)."""
    if argument.endswith(".onnx"):
        prepare_file(Path(argument))
    try:
        out = subprocess.run([sys.executable, "-m", "benchmarks.child", tool, argument], cwd=ROOT, env=_env(),
                             capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {out.returncode}: {tail[0][:200]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure(tool: str, argument: str, repeat: int, timeout: float) -> dict[str, Any]:
    """The median of ``repeat`` runs (stops at the first error, which it returns)."""
    runs = []
    for _ in range(repeat):
        result = child(tool, argument, timeout)
        if "error" in result:
            return result
        runs.append(result)
    median = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):  # seconds (and a stage split); counts are the same every run
            median[key] = statistics.median(r[key] for r in runs)
    median["maxrss_mb"] = max(r["maxrss_mb"] for r in runs)
    return median


def wall(command: Sequence[str], repeat: int) -> float:
    """Median wall-clock seconds of a whole process, after one untimed run (which writes bytecode)."""
    subprocess.run(list(command), cwd=ROOT, env=_env(), capture_output=True, check=False)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(list(command), cwd=ROOT, env=_env(), capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def model_rows(case: str, path: Path, repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    ours = measure("archcost", str(path), repeat, timeout)
    if "error" in ours:
        notes.append(f"{case}: archcost failed: {ours['error']}")
        return [Row(case, "FAILED", "-", "-", "-", "-", "MISSED")]
    if ours.get("unknown"):
        notes.append(f"{case}: archcost found ops with no cost rule: {ours['unknown']}")
    rows = []
    for peer in ("onnx_tool", "onnx.load"):
        theirs = measure(peer, str(path), repeat, timeout)
        target = SPEEDUP_TARGETS.get((case, peer))
        label = "onnx-tool profile" if peer == "onnx_tool" else "onnx.load alone"
        if "error" in theirs:
            notes.append(f"{case}: {label} failed: {theirs['error']}")
            rows.append(Row(case, seconds(ours["seconds"]), label, "FAILED", "-",
                            f">= {target:.0f}x" if target else "-", "not measured" if target else "-"))
            continue
        ratio = theirs["seconds"] / ours["seconds"]
        rows.append(Row(case, seconds(ours["seconds"]), label, seconds(theirs["seconds"]), f"{ratio:.1f}x",
                        f">= {target:.0f}x" if target else "-",
                        verdict(ratio >= target) if target else "-"))
        if peer == "onnx_tool":
            notes.append(f"{case}: MACs archcost {ours['macs']:,} (paper convention: conv/Gemm/MatMul), "
                         f"onnx-tool {theirs['macs']:,} (its own convention, adds elementwise work)")
        if case == "vgg16":
            rows.append(Row(f"{case} peak RSS", f"{ours['maxrss_mb']:.0f} MB", label,
                            f"{theirs['maxrss_mb']:.0f} MB", f"{theirs['maxrss_mb'] / ours['maxrss_mb']:.1f}x",
                            f"< {RSS_TARGET_MB:.0f} MB" if peer == "onnx_tool" else "-",
                            verdict(ours["maxrss_mb"] < RSS_TARGET_MB) if peer == "onnx_tool" else "-"))
    return rows


def scaling_rows(cache: Path, repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    rows = []
    per_node = {}
    for case, nodes in (("synthetic_10k", 10_000), ("synthetic_100k", 100_000)):
        path = model_path(case, cache)
        ours = measure("archcost", str(path), repeat, timeout)
        if "error" in ours:
            notes.append(f"{case}: archcost failed: {ours['error']}")
            rows.append(Row(case, "FAILED", "-", "-", "-", "-", "MISSED"))
            continue
        per_node[nodes] = ours["seconds"] / nodes
        theirs = measure("onnx_tool", str(path), 1, min(timeout, PEER_SCALING_TIMEOUT))
        if "error" in theirs:
            notes.append(f"{case}: onnx-tool profile: {theirs['error']}")
            peer, ratio = "FAILED", "-"
        else:
            peer, ratio = seconds(theirs["seconds"]), f"{theirs['seconds'] / ours['seconds']:.1f}x"
        big = nodes == 100_000
        if big:
            split = measure("archcost-stages", str(path), repeat, timeout)
            if "error" not in split:
                notes.append(f"{case}, where archcost's time goes (median of {repeat} runs): "
                             f"protobuf structure {split['read']:.2f} s, Graph (NetworkX) {split['graph']:.2f} s, "
                             f"analysis walk {split['walk']:.2f} s")
        rows.append(Row(case, seconds(ours["seconds"]), "onnx-tool profile (1 run)", peer, ratio,
                        f"< {SCALING_SECONDS:.0f} s" if big else "-",
                        verdict(ours["seconds"] < SCALING_SECONDS) if big else "-"))
    if len(per_node) == 2:
        growth = per_node[100_000] / per_node[10_000]
        rows.append(Row("time per node, 100k / 10k", f"{per_node[100_000] * 1e6:.1f} us",
                        "10k-node graph", f"{per_node[10_000] * 1e6:.1f} us", f"{growth:.2f}",
                        f"<= {SCALING_RATIO}", verdict(growth <= SCALING_RATIO)))
    return rows


def startup_rows(repeat: int) -> list[Row]:
    python = sys.executable
    floor = wall([python, "-c", "pass"], repeat + 2)
    onnx_tool_import = wall([python, "-c", "import onnx_tool"], repeat + 2)
    help_ = wall([python, "-m", "archcost", "--help"], repeat + 2)
    version = wall([python, "-m", "archcost", "--version"], repeat + 2)
    analyze = wall([python, "-m", "archcost", "analyze", "mobilenet_v1"], repeat + 2)
    return [
        Row("archcost --help (process)", seconds(help_), "python -c pass", seconds(floor),
            f"{help_ / floor:.2f}x of floor", f"< {HELP_SECONDS} s", verdict(help_ < HELP_SECONDS)),
        Row("archcost --version (process)", seconds(version), "python -c pass", seconds(floor),
            f"{version / floor:.2f}x of floor", "-", "-"),
        Row("archcost analyze mobilenet_v1 (process)", seconds(analyze), "python -c 'import onnx_tool'",
            seconds(onnx_tool_import), f"{onnx_tool_import / analyze:.1f}x", f"< {ANALYZE_SECONDS} s",
            verdict(analyze < ANALYZE_SECONDS)),
    ]


def sweep_rows(repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    ours = measure("sweep", str(SWEEP_SIDE), repeat, timeout)
    sample = measure("per-point", str(PER_POINT_SAMPLE), 1, timeout)
    if "error" in ours:
        notes.append(f"sweep failed: {ours['error']}")
        return [Row(f"sweep {SWEEP_SIDE}x{SWEEP_SIDE} alpha x resolution", "FAILED", "-", "-", "-", "-", "MISSED")]
    points = SWEEP_SIDE * SWEEP_SIDE
    if "error" in sample:
        notes.append(f"per-point analysis failed: {sample['error']}")
        peer, ratio = "FAILED", "-"
    else:
        estimate = sample["seconds"] / PER_POINT_SAMPLE * points
        peer, ratio = seconds(estimate), f"{estimate / ours['seconds']:.0f}x"
        notes.append(f"sweep peer: one fast-path analysis per point, timed on {PER_POINT_SAMPLE} points and "
                     f"scaled to {points:,} (an estimate, not a full run)")
    process = wall([sys.executable, "-m", "archcost", "sweep", "mobilenet_v1", "--alpha", "0.05:5:0.05",
                    "--resolution", f"32:{32 * SWEEP_SIDE}:32", "--format", "csv"], repeat)
    floor = wall([sys.executable, "-c", "import sympy, networkx"], repeat)
    return [Row(f"sweep {SWEEP_SIDE}x{SWEEP_SIDE} alpha x resolution (mobilenet_v1)", seconds(ours["seconds"]),
                "analysis per point (est.)", peer, ratio, f"< {SWEEP_SECONDS} s",
                verdict(ours["seconds"] < SWEEP_SECONDS)),
            Row("archcost sweep, same grid (process, csv)", seconds(process), "python -c 'import sympy, networkx'",
                seconds(floor), f"{process / floor:.2f}x of imports", "-", "-")]


def corpus_rows(repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    """Each corpus model with every dynamic dim free (formulas), in process; beside it,
    onnxruntime's symbolic shape inference on the same model (shapes only)."""
    rows = []
    for manifest in sorted(CORPUS.glob("*.json")):
        case = manifest.stem
        ours = measure("archcost-symbolic", str(manifest), repeat, timeout)
        if "error" in ours:
            notes.append(f"{case}: archcost failed: {ours['error']}")
            rows.append(Row(case, "FAILED", "-", "-", "-", f"< {CORPUS_SECONDS} s", "MISSED"))
            continue
        theirs = measure("ort-symbolic", str(manifest), repeat, timeout)
        label = "ORT symbolic shape inference"
        ok = ours["seconds"] < CORPUS_SECONDS
        if "error" in theirs:
            notes.append(f"{case}: {label} failed: {theirs['error'][:160]}")
            rows.append(Row(case, seconds(ours["seconds"]), label, "FAILED", "-", f"< {CORPUS_SECONDS} s",
                            verdict(ok)))
            continue
        rows.append(Row(case, seconds(ours["seconds"]), label, seconds(theirs["seconds"]),
                        f"{theirs['seconds'] / ours['seconds']:.1f}x", f"< {CORPUS_SECONDS} s", verdict(ok)))
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for name in ("onnx", "onnx-tool", "networkx", "sympy"):
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} not installed")
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()} on {platform.system()}; "
            + ", ".join(versions))


def render(rows: list[Row]) -> str:
    header = Row("case", "archcost", "peer", "peer time", "ratio", "target", "verdict")
    table = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in table) for f in Row.__dataclass_fields__]
    lines = []
    for index, row in enumerate(table):
        cells = [getattr(row, f).ljust(w) for f, w in zip(Row.__dataclass_fields__, widths, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--cases", default="models,scaling,startup,sweep,corpus",
                        help="comma-separated groups: models, scaling, startup, sweep, corpus (default: all)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"model cases (default: {','.join(MODELS)})")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure; the median is shown")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache",
                        help="where the generated models are kept (default: benchmarks/.cache)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a measurement is abandoned")
    parser.add_argument("--page-cache", choices=("warm", "cold"), default="warm",
                        help="model files are read once (warm) or evicted from the page cache (cold) "
                             "before every measurement, for every tool alike (default: warm)")
    args = parser.parse_args(argv)
    global PAGE_CACHE
    PAGE_CACHE = args.page_cache
    groups = set(args.cases.split(","))
    try:
        import onnx_tool  # noqa: F401
    except ImportError:
        print("onnx-tool is not installed (pip install onnx-tool); its columns will say FAILED")
    print(f"machine: {machine()}")
    print(f"page cache: {PAGE_CACHE} (every model file is {'evicted' if PAGE_CACHE == 'cold' else 'read once'} "
          "before every measurement)")
    print("building models (cached after the first run) ...", flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    if "models" in groups:
        for case in args.models.split(","):
            path = model_path(case, args.cache)
            print(f"  {case}: {path.stat().st_size / 1e6:.1f} MB, measuring ...", flush=True)
            rows += model_rows(case, path, args.repeat, args.timeout, notes)
    if "scaling" in groups:
        print("  synthetic graphs, measuring ...", flush=True)
        rows += scaling_rows(args.cache, args.repeat, args.timeout, notes)
    if "startup" in groups:
        print("  start-up, measuring ...", flush=True)
        rows += startup_rows(args.repeat)
    if "sweep" in groups:
        print("  sweep, measuring ...", flush=True)
        rows += sweep_rows(args.repeat, args.timeout, notes)
    if "corpus" in groups:
        print("  corpus (dynamic dims free), measuring ...", flush=True)
        rows += corpus_rows(args.repeat, args.timeout, notes)
    print()
    print(render(rows))
    print()
    for note in notes:
        print(f"- {note}")
    missed = [r.case for r in rows if r.verdict == "MISSED"]
    print(f"\ntargets missed: {', '.join(missed)}" if missed else "\nevery target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
