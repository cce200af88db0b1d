"""Files in and out: the one :func:`write_atomic` every output goes through, the one
:func:`read_capped` every file argument is read with, and bounded JSON/TOML parsing.

A file argument must be a regular file no larger than its cap: a FIFO, a device (``/dev/zero``),
a socket or a folder is refused by what it is, before anything is read from it. A document
read from such a file is scanned once, without recursion, for its nesting depth and the length
of its numbers before the parser sees it, so neither a 5,000-deep array nor a 5,000-digit
integer ever reaches a recursive parser or Python's int conversion.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archcost.errors import ArchcostError, LimitError, UsageError

#: Nesting depth of a JSON or TOML document (arrays and tables/objects).
MAX_DOCUMENT_DEPTH = 64
#: Digits in one number of a JSON or TOML document (2**64 has 20).
MAX_NUMBER_DIGITS = 40


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: ``"a FIFO (named pipe)"``, ``"a folder"``..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a temporary file in the same folder, then rename it over ``path``.

    ``path`` is either its old self or complete: an interrupted or failed write (a full
    disk, a failed rename, Ctrl-C) removes the temporary file and leaves ``path`` as it was.
    ``path`` must be a regular file or not exist: a device, a FIFO, a socket or a folder there
    (also behind a symlink, such as ``/dev/stdout``) is refused with :class:`UsageError`, never
    written through nor replaced. The file gets the mode a plain ``open`` would give it
    (0666 less the umask: 0644 under the usual 022), not ``mkstemp``'s 0600. ``OSError``
    from the file system reaches the caller.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        pass
    else:
        if not stat.S_ISREG(mode):
            raise UsageError(f"refusing to write: it is {file_kind(mode)}, not a regular file; name a file",
                             where=str(path))
    fd, tmp = tempfile.mkstemp(prefix=".archcost-", dir=path.parent if str(path.parent) else ".")
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            handle = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to the regular file ``path`` (created with the umask's mode if absent);
    a FIFO, device or folder there is refused without blocking on it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0),
                 0o666)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"refusing to write: it is {file_kind(mode)}, not a regular file; name a file",
                             where=str(path))
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def read_capped(path: Path, limit: int, *, what: str, display: str | None = None,
                error: type[ArchcostError] = UsageError) -> bytes:
    """The bytes of the regular file ``path``, refused before any read when it is larger than
    ``limit`` or not a regular file (a FIFO, a device such as ``/dev/zero``, a folder).

    Errors are one line naming ``display`` (default: ``path``) and ``what`` the file is
    ("baseline", "profile"): ``LimitError`` for the size, ``error`` for the rest.
    """
    where = display or str(path)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"the {what} is {file_kind(mode)}, not a regular file; name a file", where=where)
        # O_NONBLOCK: a FIFO swapped in after the check must not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"no such {what}" if what.endswith("file") else f"no such {what} file", where=where) from None
    except OSError as err:
        raise error(f"cannot read the {what}: {err.strerror or err}", where=where) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise error(f"the {what} is {file_kind(info.st_mode)}, not a regular file; name a file", where=where)
        if info.st_size > limit:
            raise LimitError(f"the {what} is {info.st_size:,} bytes; the limit is {limit:,}", where=where)
        try:
            data = handle.read(limit + 1)
        except OSError as err:
            raise error(f"cannot read the {what}: {err.strerror or err}", where=where) from None
    if len(data) > limit:  # grew after the check
        raise LimitError(f"the {what} is over {limit:,} bytes, the limit", where=where)
    return data


def read_text_capped(path: Path, limit: int, *, what: str, display: str | None = None,
                     error: type[ArchcostError] = UsageError) -> str:
    """:func:`read_capped`, decoded as UTF-8 (anything else is ``error``, naming the file)."""
    data = read_capped(path, limit, what=what, display=display, error=error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise error(f"the {what} is not UTF-8 text (byte {err.start:,})",
                    where=f"{display or path}:{line}") from None


#: A TOML string (basic, literal, and their multi-line forms) or a comment.
_TOML_SKIPPED = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*',
                           re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_LONG_DIGITS = re.compile(rf"[0-9][0-9_]{{{MAX_NUMBER_DIGITS},}}")
#: ASCII characters that cannot change a JSON document's nesting: dropped before it is measured.
_NOT_STRUCTURE = {code: None for code in range(128) if chr(code) not in '[]{}"'}
_BARE_STRING = re.compile(r'"[^"]*"')


def _lines_only(match: re.Match[str]) -> str:
    return "\n" * match.group().count("\n")


def _too_deep(brackets: str) -> bool:
    """Whether ``brackets`` (nothing but ``[]{}``) nests deeper than :data:`MAX_DOCUMENT_DEPTH`."""
    # Each pass drops the innermost pairs (in C): after k passes, a chain n deep is n - k deep.
    passes = 0
    while brackets and passes < 8:
        reduced = _INNERMOST.sub("", brackets)
        if reduced == brackets:
            break
        brackets, passes = reduced, passes + 1
    depth = 0
    for c in brackets:
        depth += 1 if c in "[{" else -1
        if depth + passes > MAX_DOCUMENT_DEPTH:
            return True
    return False


def json_too_deep(text: str) -> bool:
    """Whether the JSON ``text`` nests deeper than :data:`MAX_DOCUMENT_DEPTH`, strings ignored.

    Escaped backslashes and quotes go first, then every ASCII character but brackets and quotes
    (``str.translate``), then the strings that are left: what remains is the document's brackets,
    a small fraction of it, measured in :func:`_too_deep`. A 128 MiB profile takes under a second.
    """
    skeleton = text.replace("\\\\", "").replace('\\"', "").translate(_NOT_STRUCTURE)
    return _too_deep(_NOT_BRACKET.sub("", _BARE_STRING.sub("", skeleton)))


def check_toml(text: str, where: str) -> None:
    """Refuse a TOML document nested deeper than :data:`MAX_DOCUMENT_DEPTH` or holding a number
    longer than :data:`MAX_NUMBER_DIGITS`, before ``tomllib`` (which recurses) sees it.

    Strings and comments are blanked first, keeping their line breaks, so the line of a long
    number is named."""
    bare = _TOML_SKIPPED.sub(_lines_only, text)
    long = _LONG_DIGITS.search(bare)
    if long is not None:
        line = bare.count("\n", 0, long.start()) + 1
        raise LimitError(f"a number of more than {MAX_NUMBER_DIGITS} digits; numbers here are counts and sizes",
                         where=f"{where}:{line}")
    if _too_deep(_NOT_BRACKET.sub("", bare)):
        raise LimitError(f"the document nests deeper than {MAX_DOCUMENT_DEPTH} levels", where=where)


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_DIGITS + 2:  # a sign, a point
        raise _LongNumber()
    return text


class _LongNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(text: str, where: str, *, error: type[ArchcostError] = UsageError,
              problem: str = "malformed JSON") -> Any:
    """Parse ``text`` as strict JSON: nesting over :data:`MAX_DOCUMENT_DEPTH` is refused before
    parsing (:func:`json_too_deep`), a number longer than :data:`MAX_NUMBER_DIGITS` while parsing,
    and ``NaN`` and ``Infinity`` too. Errors are one line: ``where:LINE: malformed JSON: ...``.
    """
    if json_too_deep(text):
        raise LimitError(f"the document nests deeper than {MAX_DOCUMENT_DEPTH} levels", where=where)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=lambda t: int(_number(t)),
                          parse_float=lambda t: float(_number(t)))
    except json.JSONDecodeError as err:
        raise error(f"{problem}: {err.msg}", where=f"{where}:{err.lineno}") from None
    except _LongNumber:
        raise LimitError(f"a number of more than {MAX_NUMBER_DIGITS} digits; numbers here are counts and sizes",
                         where=where) from None
    except (ValueError, RecursionError) as err:
        raise error(f"{problem}: {err}", where=where) from None


def load_toml(text: str, where: str, loads: Callable[[str], Any], decode_error: type[Exception]) -> Any:
    """Parse ``text`` with ``loads`` (tomllib's) after :func:`check_toml`."""
    check_toml(text, where)
    try:
        return loads(text)
    except decode_error as err:
        raise UsageError(f"malformed TOML: {err}", where=where) from None
    except (ValueError, RecursionError) as err:
        raise UsageError(f"malformed TOML: {err}", where=where) from None
