"""A headless Chromium for page tests, driven over the DevTools protocol on a pipe: stdlib only.

``--remote-debugging-pipe`` makes Chromium read protocol messages from its fd 3 and write
replies and events to its fd 4, each message JSON ended by a NUL byte. :func:`visit` opens one
page in a fresh browser, records everything the page did that a self-contained report must
not do (console output, uncaught exceptions, error log entries, dialogs, any request but the
page's own URL), evaluates one expression in it, and always kills the browser. Every wait is
bounded by a deadline.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Chromium's flags: headless, as root (no sandbox), and no traffic of its own (updates, sync).
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--mute-audio", "--window-size=1400,1000",
)
#: URL schemes a page may load besides its own address: inline data and the blank page.
_ALLOWED_SCHEMES = ("data:", "about:")


def find_chromium() -> str | None:
    """The Chromium binary on ``PATH`` (Debian: ``chromium``, Ubuntu: ``chromium-browser``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    """The browser did not answer as the protocol says (a timeout, an error reply, a crash)."""


@dataclass
class Visit:
    """What one page visit found."""

    #: The evaluated expression's value (JSON-compatible).
    value: Any
    #: Everything the page did that it must not: one line each.
    problems: list[str] = field(default_factory=list)
    #: Every URL the page requested.
    requests: list[str] = field(default_factory=list)


class _Pipe:
    """The protocol connection: numbered commands out, replies and events in.

    A JavaScript dialog (``alert``) blocks its page until answered, so every dialog is
    dismissed as soon as it is seen; the event stays recorded.
    """

    def __init__(self, commands: int, replies: int) -> None:
        self.commands, self.replies = commands, replies
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self._open_dialogs: list[str] = []

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("timed out waiting for the browser")
            ready, _, _ = select.select([self.replies], [], [], left)
            if ready:
                chunk = os.read(self.replies, 1 << 16)
                if not chunk:
                    raise BrowserError("the browser closed its pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        data: dict[str, Any] = json.loads(message)
        if data.get("method") == "Page.javascriptDialogOpening":
            self._open_dialogs.append(data["sessionId"])
        if "method" in data:
            self.events.append(data)
        return data

    def _dismiss_dialogs(self, deadline: float) -> None:
        while self._open_dialogs:
            session = self._open_dialogs.pop()
            self.call("Page.handleJavaScriptDialog", {"accept": False}, session=session, deadline=deadline)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             deadline: float) -> dict[str, Any]:
        """Send one command and wait for its reply, keeping the events that arrive meanwhile."""
        self._next_id += 1
        number = self._next_id
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self.commands, data):]
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == number:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def wait_for(self, method: str, session: str, deadline: float) -> None:
        """Wait for event ``method`` from ``session`` (already received, or arriving)."""
        while not any(e["method"] == method and e.get("sessionId") == session for e in self.events):
            self._dismiss_dialogs(deadline)
            self._receive(deadline)
        self._dismiss_dialogs(deadline)

    def drain(self, seconds: float) -> None:
        """Keep the events that arrive in the next ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._dismiss_dialogs(deadline)
                self._receive(deadline)
        except BrowserError as err:
            if "timed out" not in str(err):
                raise


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (so that moving it to 3 or 4 clobbers nothing)."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


def _launch(binary: str, profile: str, log: Any) -> tuple[subprocess.Popen[bytes], _Pipe]:
    command_read, command_write = map(_high_fd, os.pipe())
    reply_read, reply_write = map(_high_fd, os.pipe())

    def onto_fds_3_and_4() -> None:  # runs in the child, between fork and exec
        os.dup2(command_read, 3)  # dup2's copies stay open across exec
        os.dup2(reply_write, 4)

    try:
        # close_fds=False: it would close 3 and 4 after the hook; the pipes' other fds are
        # close-on-exec, as Python makes every fd.
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
            preexec_fn=onto_fds_3_and_4, start_new_session=True)
    finally:
        os.close(command_read)
        os.close(reply_write)
    return proc, _Pipe(command_write, reply_read)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the browser's process group (its renderers too), and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _problems(events: list[dict[str, Any]], session: str, page_url: str) -> tuple[list[str], list[str]]:
    problems, requests = [], []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"uncaught exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            problems.append(f"log {entry['level']} ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        elif method == "Page.javascriptDialogOpening":
            problems.append(f"dialog {params.get('type')}: {params.get('message')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            requests.append(url)
            if url != page_url and not url.startswith(_ALLOWED_SCHEMES):
                problems.append(f"request: {url}")
        elif method == "Network.loadingFailed":
            problems.append(f"loading failed: {params.get('errorText')}")
        elif method == "Inspector.targetCrashed":
            problems.append("the page crashed")
    return problems, requests


#: A full-page screenshot is cut at this height (CSS pixels), so a long report stays a small file.
SCREENSHOT_MAX_HEIGHT = 6000


def _screenshot(pipe: _Pipe, session: str, path: Path, deadline: float) -> None:
    """The whole page (down to :data:`SCREENSHOT_MAX_HEIGHT`) as a PNG at ``path``."""
    import base64

    size = pipe.call("Page.getLayoutMetrics", session=session, deadline=deadline)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], SCREENSHOT_MAX_HEIGHT),
            "scale": 1}
    shot = pipe.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                     session=session, deadline=deadline)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def visit(binary: str, page: Path, expression: str, *, timeout: float = 30.0,
          screenshot: Path | None = None) -> Visit:
    """Open ``page`` in a fresh headless Chromium, wait for its load event, and evaluate
    ``expression`` (its value returned by value) once the page has been quiet briefly;
    ``screenshot``: also write the rendered page there as a PNG."""
    deadline = time.monotonic() + timeout
    page_url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="archcost-chromium-", ignore_cleanup_errors=True) as profile, \
            open(Path(profile) / "browser.log", "wb") as log:
        proc, pipe = _launch(binary, profile, log)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                deadline=deadline)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network", "Inspector"):
                pipe.call(f"{domain}.enable", session=session, deadline=deadline)
            navigated = pipe.call("Page.navigate", {"url": page_url}, session=session, deadline=deadline)
            if navigated.get("errorText"):
                raise BrowserError(f"navigating to {page_url}: {navigated['errorText']}")
            pipe.wait_for("Page.loadEventFired", session, deadline)
            pipe.drain(min(0.5, max(deadline - time.monotonic(), 0)))
            result = pipe.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                               session=session, deadline=deadline)
            if "exceptionDetails" in result:
                raise BrowserError(f"evaluating the check: {result['exceptionDetails']}")
            if screenshot is not None:
                _screenshot(pipe, session, screenshot, deadline)
            problems, requests = _problems(pipe.events, session, page_url)
            return Visit(result["result"].get("value"), problems, requests)
        finally:
            _stop(proc)
            os.close(pipe.commands)
            os.close(pipe.replies)
