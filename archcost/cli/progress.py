"""A progress line on standard error for the commands that can run for seconds (sweep, verify,
profile, gate over many models): what is being done and for how long, rewritten in place.

Only when standard error is a terminal: piped or redirected, nothing is written, so logs and
captured output stay clean. The line is erased when the work ends, before the result is printed.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import IO, Any

#: How often the elapsed time is redrawn, in seconds.
TICK = 0.5


class Progress:
    """``with Progress("archcost sweep") as step: step("compiling")`` shows
    ``archcost sweep: compiling (3.5 s)`` on a terminal's standard error, and nothing elsewhere."""

    def __init__(self, prefix: str, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._text = ""
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, text: str) -> None:
        """Say what is being done now."""
        self._text = text
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        line = f"{self.prefix}: {self._text} ({time.monotonic() - self._start:.1f} s)"
        if len(line) >= width:
            line = line[:max(width - 2, 0)] + "…"
        with self._lock:
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            self._draw()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick, name="archcost-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.enabled:
            with self._lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
