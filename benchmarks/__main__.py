"""``python -m benchmarks``: archcost against onnx-tool, ``onnx.load`` and the interpreter, in one run.

Every figure is the median of ``--repeat`` fresh processes (start-up cases: of
``--repeat`` + 2). Model files are built once into ``--cache``; before every
measurement the model file is read once (``--page-cache warm``, the default) or
evicted from the page cache (``cold``), so every tool starts from the same state.
The targets are issue 7's, and issue 15's for whole processes (``--cases process``,
the process rows of ``scaling``, and ``gate``); a missed target is printed as ``MISSED``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.models import gate_model_paths, model_path
from benchmarks.tflite_model import tflite_path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("resnet50", "vgg16", "vit_b16", "mobilenet_v2")
#: (case, peer) → minimum speed-up over the peer; and plain ceilings, in seconds or MB.
SPEEDUP_TARGETS = {("vgg16", "onnx_tool"): 20.0, ("vgg16", "onnx.load"): 10.0, ("resnet50", "onnx_tool"): 10.0}
RSS_TARGET_MB = 150.0
#: Issue 17: a 100 MB TFLite model read in milliseconds, in little memory.
TFLITE_SECONDS = 0.05
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
#: Issue 15: whole processes, as a user of the CLI runs them, on real-structured graphs.
PROCESS_MODELS = ("densenet121", "unet", "bert_base", "resnet50")
#: A whole ``archcost analyze --format json`` process must beat a whole onnx-tool process on every
#: model, and take under PROCESS_SECONDS on a model of fewer than PROCESS_SMALL_NODES nodes.
PROCESS_SECONDS, PROCESS_SMALL_NODES = 0.3, 1_000
#: The 100k-node graph as a whole ``analyze --format json`` process (memory analysis included).
PROCESS_SCALING_TIMEOUT = 300.0
GATE_MODELS, GATE_JOBS = 100, 2
#: The issue asks that ``gate --jobs 2`` show a speed-up over ``--jobs 1``, and names no figure.
GATE_SPEEDUP = 1.0
#: The peers as whole processes, each a user's one-liner: onnx-tool as its README profiles a
#: model (load, shape inference, profile), and ``onnx.load`` alone as a floor (it prints the node count).
ONNX_TOOL_PROCESS = ("import sys, onnx_tool; m = onnx_tool.Model(sys.argv[1]); m.graph.shape_infer(); "
                     "m.graph.profile()")
ONNX_LOAD_PROCESS = "import sys, onnx; print(len(onnx.load(sys.argv[1]).graph.node))"


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
    if argument.endswith((".onnx", ".tflite")):
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


def archcost_command() -> list[str]:
    """archcost as a user starts it: the console script installed beside this interpreter, else
    ``python -m archcost``. Either way it imports this checkout (``PYTHONPATH``, see :func:`_env`)."""
    script = Path(sys.executable).with_name("archcost")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "archcost"]


def run_process(command: Sequence[str], files: Sequence[Path], timeout: float) -> dict[str, Any]:
    """One whole process, timed from its start to its exit (start-up, imports, work, output).

    Every file in ``files`` is first put in the :data:`PAGE_CACHE` state. Standard output goes
    to a file, as a user's ``> out.json`` would, and is returned as ``stdout``; a non-zero exit
    or a timeout is returned as ``error``.
    """
    for path in files:
        prepare_file(path)
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        try:
            done = subprocess.run(list(command), cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.PIPE,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"did not finish within {timeout:.0f} s"}
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit {done.returncode}: {tail[0][:200]}"}
        out.seek(0)
        return {"seconds": elapsed, "stdout": out.read()}


def timed_processes(commands: dict[str, Sequence[str]], files: Sequence[Path], repeat: int,
                    timeout: float) -> dict[str, dict[str, Any]]:
    """The median of ``repeat`` runs of each whole process (see :func:`run_process`), by name.

    The commands take turns, one run of each per round, so a drift in the machine's speed
    (other work on it) falls on every command alike. Each result keeps its first run's
    ``stdout``; a command's first failure ends its measurement and is its result.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    results: dict[str, dict[str, Any]] = {name: {} for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            if "error" in results[name]:
                continue
            run = run_process(command, files, timeout)
            if "error" in run:
                results[name] = run
                continue
            times[name].append(run["seconds"])
            results[name].setdefault("stdout", run["stdout"])
    for name, result in results.items():
        if "error" not in result:
            result["seconds"] = statistics.median(times[name])
    return results


def warm_bytecode(cache: Path) -> None:
    """Run every whole-process command once on a small model, untimed, so that each has its bytecode
    (in ``benchmarks/.cache/pycache``) before it is timed, as ``pip install`` leaves it for a user."""
    small = str(model_path("mobilenet_v2", cache))
    for command in ([*archcost_command(), "analyze", small, "--format", "json"],
                    [*archcost_command(), "gate", small, "--max-macs", "1T"],
                    [sys.executable, "-c", ONNX_TOOL_PROCESS, small],
                    [sys.executable, "-c", ONNX_LOAD_PROCESS, small]):
        subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, check=False)


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


SCALING_CASES = (("synthetic_10k", 10_000), ("synthetic_100k", 100_000))


def scaling_rows(cache: Path, repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    rows = []
    per_node = {}
    in_process: dict[str, float] = {}
    for case, nodes in SCALING_CASES:
        path = model_path(case, cache)
        ours = measure("archcost", str(path), repeat, timeout)
        if "error" in ours:
            notes.append(f"{case}: archcost failed: {ours['error']}")
            rows.append(Row(case, "FAILED", "-", "-", "-", "-", "MISSED"))
            continue
        per_node[nodes] = ours["seconds"] / nodes
        in_process[case] = ours["seconds"]
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
    return rows + scaling_process_rows(cache, repeat, timeout, in_process, notes)


def scaling_process_rows(cache: Path, repeat: int, timeout: float, in_process: dict[str, float],
                         notes: list[str]) -> list[Row]:
    """The synthetic graphs through the default CLI output, as a whole process: ``archcost analyze M
    --format json`` (per-layer rows and the memory analysis), beside the in-process analysis alone;
    and its time per node at 100k against 10k."""
    rows = []
    per_node = {}
    limit = min(timeout, PROCESS_SCALING_TIMEOUT)
    for case, nodes in SCALING_CASES:
        path = model_path(case, cache)
        label = f"{case}, analyze --format json (process)"
        command = [*archcost_command(), "analyze", str(path), "--format", "json"]
        ours = timed_processes({case: command}, [path], repeat, limit)[case]
        if "error" in ours:
            notes.append(f"{label}: {ours['error']}")
            rows.append(Row(label, "FAILED", "-", "-", "-", "-", "-"))
            continue
        per_node[nodes] = ours["seconds"] / nodes
        notes.append(f"{label}: {len(ours['stdout']) / 1e6:.1f} MB of JSON")
        analysis = in_process.get(case)
        rows.append(Row(label, seconds(ours["seconds"]), "analysis alone, in process",
                        seconds(analysis) if analysis else "-",
                        f"{ours['seconds'] / analysis:.1f}x of it" if analysis else "-", "-", "-"))
    label = "time per node, 100k / 10k (process, json)"
    if len(per_node) == 2:
        growth = per_node[100_000] / per_node[10_000]
        rows.append(Row(label, f"{per_node[100_000] * 1e6:.1f} us", "10k-node graph",
                        f"{per_node[10_000] * 1e6:.1f} us", f"{growth:.2f}", f"<= {SCALING_RATIO}",
                        verdict(growth <= SCALING_RATIO)))
    else:
        rows.append(Row(label, "FAILED", "10k-node graph", "-", "-", f"<= {SCALING_RATIO}", "MISSED"))
    return rows


def process_rows(case: str, path: Path, repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    """``archcost analyze M --format json`` as a whole process, as a user runs it, against a whole
    onnx-tool process (load, shape inference, profile) and ``python -c 'onnx.load'`` on the same file."""
    runs = timed_processes({"archcost": [*archcost_command(), "analyze", str(path), "--format", "json"],
                            "onnx-tool": [sys.executable, "-c", ONNX_TOOL_PROCESS, str(path)],
                            "onnx.load": [sys.executable, "-c", ONNX_LOAD_PROCESS, str(path)]},
                           [path], repeat, timeout)
    ours, theirs, floor = runs["archcost"], runs["onnx-tool"], runs["onnx.load"]
    nodes = None if "error" in floor else int(floor["stdout"])
    label = f"{case}, {nodes:,} nodes (process)" if nodes is not None else f"{case} (process)"
    small = nodes is not None and nodes < PROCESS_SMALL_NODES
    for peer, result in (("onnx.load process", floor), ("onnx-tool process", theirs)):
        if "error" in result:
            notes.append(f"{case}: {peer} failed: {result['error']}")
    if "error" in ours:
        notes.append(f"{case}: archcost analyze --format json failed: {ours['error']}")
        return [Row(label, "FAILED", "onnx-tool process", "-", "-", "> 1x", "MISSED")]
    report = json.loads(ours["stdout"])
    memory = report.get("memory") or {}
    notes.append(f"{case}: {path.stat().st_size / 1e6:.0f} MB, {nodes if nodes is not None else '?'} nodes; "
                 f"archcost {report['totals']['macs']:,} MACs, peak activation "
                 f"{memory.get('peak_activation_bytes', 0) / 2**20:.1f} MiB "
                 f"(best order: {memory.get('best_order_heuristic', '-')})")
    if "error" in theirs:
        rows = [Row(label, seconds(ours["seconds"]), "onnx-tool process", "FAILED", "-", "> 1x", "not measured")]
    else:
        speedup = theirs["seconds"] / ours["seconds"]
        rows = [Row(label, seconds(ours["seconds"]), "onnx-tool process", seconds(theirs["seconds"]),
                    f"{speedup:.2f}x", "> 1x", verdict(speedup > 1))]
    target = f"< {PROCESS_SECONDS} s" if small else "-"
    floor_time, of_floor = ("FAILED", "-") if "error" in floor else (
        seconds(floor["seconds"]), f"{ours['seconds'] / floor['seconds']:.2f}x of it")
    rows.append(Row(label, seconds(ours["seconds"]), "python -c 'onnx.load'", floor_time, of_floor, target,
                    verdict(ours["seconds"] < PROCESS_SECONDS) if small else "-"))
    return rows


def gate_rows(cache: Path, repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    """``archcost gate M1 … M100 --max-macs 1T`` as a whole process, with ``--jobs 2`` against
    ``--jobs 1``; only the serial run when this archcost's gate has no ``--jobs`` yet."""
    paths = gate_model_paths(cache, GATE_MODELS)
    command = [*archcost_command(), "gate", *map(str, paths), "--max-macs", "1T"]
    label = f"archcost gate, {len(paths)} models (process)"
    usage = subprocess.run([*archcost_command(), "gate", "--help"], cwd=ROOT, env=_env(), capture_output=True,
                           text=True, check=False).stdout
    target = f"> {GATE_SPEEDUP:g}x"
    if "--jobs" not in usage:
        serial = timed_processes({"serial": command}, paths, repeat, timeout)["serial"]
        notes.append("archcost gate has no --jobs yet (not in `archcost gate --help`): only the serial gate is "
                     "timed" + (f" ({serial['error']})" if "error" in serial else ""))
        ours = "FAILED" if "error" in serial else seconds(serial["seconds"])
        return [Row(label, ours, f"gate --jobs {GATE_JOBS}", "not available", "-", target, "not available")]
    runs = timed_processes({"serial": [*command, "--jobs", "1"], "parallel": [*command, "--jobs", str(GATE_JOBS)]},
                           paths, repeat, timeout)
    serial, parallel = runs["serial"], runs["parallel"]
    label = f"archcost gate, {len(paths)} models, --jobs {GATE_JOBS} (process)"
    for jobs, result in (("1", serial), (str(GATE_JOBS), parallel)):
        if "error" in result:
            notes.append(f"archcost gate --jobs {jobs}: {result['error']}")
    if "error" in serial or "error" in parallel:
        return [Row(label, "FAILED" if "error" in parallel else seconds(parallel["seconds"]), "--jobs 1",
                    "FAILED" if "error" in serial else seconds(serial["seconds"]), "-", target, "MISSED")]
    if serial["stdout"] != parallel["stdout"]:
        notes.append(f"archcost gate: the output of --jobs {GATE_JOBS} differs from that of --jobs 1")
    speedup = serial["seconds"] / parallel["seconds"]
    notes.append(f"archcost gate --jobs 1: {serial['seconds'] / len(paths) * 1e3:.0f} ms per model")
    return [Row(label, seconds(parallel["seconds"]), "--jobs 1", seconds(serial["seconds"]), f"{speedup:.2f}x",
                target, verdict(speedup > GATE_SPEEDUP))]


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


def tflite_rows(cache: Path, repeat: int, timeout: float, notes: list[str]) -> list[Row]:
    """The 100 MB TFLite model (benchmarks/tflite_model.py): archcost's analysis beside the
    ``tflite`` package visiting every tensor and operator, and LiteRT loading the model."""
    path = tflite_path(cache)
    case = f"TFLite, 11 convs ({path.stat().st_size / 1e6:.0f} MB)"
    ours = measure("archcost", str(path), repeat, timeout)
    if "error" in ours:
        notes.append(f"{case}: archcost failed: {ours['error']}")
        return [Row(case, "FAILED", "-", "-", "-", f"< {TFLITE_SECONDS} s", "MISSED")]
    notes.append(f"{case}: archcost {ours['macs']:,} MACs, {ours['params']:,} params")
    rows = []
    for first, (peer, label) in zip((True, False), (("tflite-package", "tflite package, every tensor"),
                                                     ("litert", "LiteRT load + allocate")), strict=True):
        theirs = measure(peer, str(path), repeat, timeout)
        target = f"< {TFLITE_SECONDS} s" if first else "-"
        ok = verdict(ours["seconds"] < TFLITE_SECONDS) if first else "-"
        if "error" in theirs:
            notes.append(f"{case}: {label} failed: {theirs['error']}")
            rows.append(Row(case, seconds(ours["seconds"]), label, "FAILED", "-", target, ok))
            continue
        rows.append(Row(case, seconds(ours["seconds"]), label, seconds(theirs["seconds"]),
                        f"{theirs['seconds'] / ours['seconds']:.1f}x", target, ok))
        rss_target = f"< {RSS_TARGET_MB:.0f} MB" if first else "-"
        rows.append(Row(f"{case} peak RSS", f"{ours['maxrss_mb']:.0f} MB", label, f"{theirs['maxrss_mb']:.0f} MB",
                        f"{theirs['maxrss_mb'] / ours['maxrss_mb']:.1f}x", rss_target,
                        verdict(ours["maxrss_mb"] < RSS_TARGET_MB) if first else "-"))
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
    parser.add_argument("--cases", default="models,scaling,startup,sweep,corpus,process,gate,tflite",
                        help="comma-separated groups: models, scaling, startup, sweep, corpus, process, gate, "
                             "tflite (default: all)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"model cases (default: {','.join(MODELS)})")
    parser.add_argument("--process-models", default=",".join(PROCESS_MODELS),
                        help=f"models of the process group (default: {','.join(PROCESS_MODELS)})")
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
    print(f"machine: {machine()}; load average at the start {os.getloadavg()[0]:.2f}")
    print(f"page cache: {PAGE_CACHE} (every model file is {'evicted' if PAGE_CACHE == 'cold' else 'read once'} "
          "before every measurement)")
    print("building models (cached after the first run) ...", flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    if groups & {"process", "scaling", "gate"}:
        notes.append(f"whole processes run `{' '.join(archcost_command())}`, median of {args.repeat} runs each, "
                     "after one untimed run per command that writes its bytecode")
        warm_bytecode(args.cache)
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
    if "process" in groups:
        for case in args.process_models.split(","):
            path = model_path(case, args.cache)
            print(f"  {case} as whole processes: {path.stat().st_size / 1e6:.1f} MB, measuring ...", flush=True)
            rows += process_rows(case, path, args.repeat, args.timeout, notes)
    if "gate" in groups:
        print(f"  archcost gate over {GATE_MODELS} models, measuring ...", flush=True)
        rows += gate_rows(args.cache, args.repeat, args.timeout, notes)
    if "tflite" in groups:
        print("  a 100 MB TFLite model, measuring ...", flush=True)
        rows += tflite_rows(args.cache, args.repeat, args.timeout, notes)
    print()
    print(render(rows))
    print()
    for note in notes:
        print(f"- {note}")
    missed = [f"{r.case} [{r.target}]" if r.target != "-" else r.case for r in rows if r.verdict == "MISSED"]
    print(f"\ntargets missed: {', '.join(missed)}" if missed else "\nevery target met")
    unavailable = [r.case for r in rows if r.verdict == "not available"]
    if unavailable:
        print(f"not available in this archcost: {', '.join(unavailable)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
