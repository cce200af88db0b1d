"""Running a model: the backend, the onnxruntime session and the random inputs, shared by
``verify`` and ``profile``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from archcost.dtypes import is_floating, numpy_name
from archcost.errors import LimitError, UsageError
from archcost.graph import Graph

#: How to install onnxruntime: the plain package, or the extra (from an index or a checkout).
RUNTIME_INSTALL = ("pip install onnxruntime (or the extra: pip install 'archcost[runtime]', "
                   "from a checkout '.[runtime]')")
#: ``--backend`` choices: ``auto`` is onnxruntime when installed, else ``onnx.reference``.
BACKENDS = ("auto", "onnxruntime", "reference")
#: ``--optimization`` choices → onnxruntime ``GraphOptimizationLevel`` member names.
OPTIMIZATION_LEVELS: Mapping[str, str] = {
    "all": "ORT_ENABLE_ALL",
    "extended": "ORT_ENABLE_EXTENDED",
    "basic": "ORT_ENABLE_BASIC",
    "none": "ORT_DISABLE_ALL",
}
#: The execution provider every session uses.
PROVIDER = "CPUExecutionProvider"
#: Wall-clock limit of one run of a model in onnxruntime (``verify``, and each ``profile`` run):
#: onnxruntime is told to stop (``RunOptions.terminate``) when it is reached.
MAX_RUN_SECONDS = 120
#: Largest ``--threads``.
MAX_THREADS = 256


def choose_backend(backend: str) -> str:
    """``onnxruntime`` or ``onnx.reference``: what ``backend`` (one of :data:`BACKENDS`) runs on here."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "reference":
        return "onnx.reference"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if backend == "onnxruntime":
            raise UsageError("onnxruntime is not installed; use --backend reference") from None
        return "onnx.reference"
    return "onnxruntime"


def onnxruntime_module(needed_by: str) -> Any:
    """The ``onnxruntime`` module; a :class:`UsageError` that says how to install it when absent."""
    try:
        import onnxruntime
    except ImportError:
        raise UsageError(f"{needed_by} needs onnxruntime: {RUNTIME_INSTALL}") from None
    return onnxruntime


def onnxruntime_session(model: bytes, *, optimization: str = "none", threads: int = 0,
                        profile_prefix: Path | None = None) -> Any:
    """An onnxruntime CPU session for ``model``, running one node at a time, quietly.

    ``optimization`` is a key of :data:`OPTIMIZATION_LEVELS` (``none``: every node of the graph
    as written runs, so every tensor can be observed); ``threads`` the intra-op threads (0:
    onnxruntime's choice); ``profile_prefix`` turns profiling on. onnxruntime's own errors
    (it raises its own types for a graph it cannot load) reach the caller.
    """
    ort = onnxruntime_module("running a model in onnxruntime")
    if not 0 <= threads <= MAX_THREADS:
        raise UsageError(f"--threads must be from 0 (onnxruntime's default) to {MAX_THREADS}, got {threads}")
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[optimization])
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = str(profile_prefix)
    return ort.InferenceSession(model, options, providers=[PROVIDER])


def run_bounded(session: Any, names: list[str] | None, feeds: Mapping[str, Any], *, where: str,
                seconds: float | None = None) -> Any:
    """``session.run(names, feeds)``, stopped after ``seconds`` of wall clock (a Loop whose trip
    count is 2**63-1 never ends on its own): a :class:`LimitError` naming ``where``."""
    import threading

    ort = onnxruntime_module("running a model in onnxruntime")
    seconds = MAX_RUN_SECONDS if seconds is None else seconds
    options = ort.RunOptions()
    options.log_severity_level = 4  # the stop is reported here, as one line; not onnxruntime's log
    timer = threading.Timer(seconds, lambda: setattr(options, "terminate", True))
    timer.daemon = True
    timer.start()
    try:
        return session.run(names, dict(feeds), options)
    except Exception:
        if options.terminate:
            raise LimitError(f"one run of the model took longer than {seconds:g} s, the limit; onnxruntime "
                             "stopped it (a loop with a huge trip count?)", where=where) from None
        raise
    finally:
        timer.cancel()


class _OutOfTime(BaseException):
    """Raised by the alarm inside the reference evaluator: a BaseException, so that no
    ``except Exception`` in the evaluator's own code swallows it."""


@contextlib.contextmanager
def reference_deadline(where: str, seconds: float | None = None) -> Iterator[None]:
    """Stop the pure-Python ``onnx.reference`` run after ``seconds`` (default
    :data:`MAX_RUN_SECONDS`) with a :class:`LimitError` naming ``where``.

    Uses ``SIGALRM``, so it applies in the main thread of a POSIX process and only when no other
    alarm is pending (it never replaces one); elsewhere the run is bounded by the static
    trip-count check alone.
    """
    import signal
    import threading

    seconds = MAX_RUN_SECONDS if seconds is None else seconds
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    running = [True]

    def expire(signum: int, frame: Any) -> None:
        if running[0]:  # not once the run is over and the timer is being cancelled
            raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _OutOfTime:
        raise LimitError(f"one run of the model took longer than {seconds:g} s, the limit; the reference "
                         "evaluator was stopped (a loop with a huge trip count?)", where=where) from None
    finally:
        running[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def random_inputs(graph: Graph, seed: int) -> dict[str, Any]:
    """A seeded random value for each graph input: N(0, 1) for floats, zeros for integers (valid
    indices); an input whose contents were given (``--value``) gets them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    feeds: dict[str, Any] = {}
    for name in graph.inputs:
        tensor = graph.tensors[name]
        shape = tuple(int(d) for d in tensor.shape)
        dtype = numpy_name(tensor.dtype)
        if dtype is None:
            raise UsageError(f"cannot make a random input of dtype {tensor.dtype} for {name!r}")
        floating = is_floating(tensor.dtype)
        if tensor.value is not None:
            feeds[name] = np.array([float(v) if floating else int(v) for v in tensor.value],
                                   dtype=np.dtype(dtype)).reshape(shape)
        elif floating:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[name] = np.zeros(shape, dtype=np.dtype(dtype))
    return feeds
