"""The progress line: on standard error when it is a terminal, erased before the result; silent
when standard error is piped, so captured output and logs never hold it."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest

from archcost.cli.progress import Progress
from tests.conftest import REPO, run_cli


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_is_drawn_then_erased() -> None:
    stream = _Terminal()
    with Progress("archcost sweep", stream) as step:
        step("compiling")
    text = stream.getvalue()
    assert text.startswith("\r\x1b[Karchcost sweep: compiling (") and text.endswith("\r\x1b[K")


def test_nothing_is_written_off_a_terminal() -> None:
    stream = io.StringIO()  # isatty() is False
    with Progress("archcost sweep", stream) as step:
        step("compiling")
    assert stream.getvalue() == ""


def _stderr_on_a_terminal(*args: str) -> tuple[str, str]:
    """``archcost ARGS``'s stdout (a pipe) and stderr (a pty)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "archcost", *args], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=secondary, env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    stdout = process.communicate(timeout=300)[0]
    return stdout.decode("utf-8"), b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize(("args", "said"), [
    (("sweep", "mobilenet_v1", "--alpha", "0.5,1"), "archcost sweep: analyzing mobilenet_v1 with alpha left free"),
    (("gate", "mobilenet_v1", "mobilenet_v2", "--max-macs", "1G"), "archcost gate: 2 of 2 model(s) gated"),
    (("verify", "mobilenet_v1"), "archcost verify: running mobilenet_v1 with every intermediate tensor exposed"),
], ids=["sweep", "gate", "verify"])
def test_progress_on_a_terminal_and_silence_on_a_pipe(args: tuple[str, ...], said: str) -> None:
    stdout, stderr = _stderr_on_a_terminal(*args)
    assert said in stderr and stderr.endswith("\r\x1b[K")
    piped = run_cli(*args, timeout=300)
    assert piped.stderr == "" and piped.stdout == stdout
