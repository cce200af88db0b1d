"""The archcost exception hierarchy.

Every error a user can cause is an :class:`ArchcostError`. The CLI prints
``str(err)`` as one line and exits with code 2; the message says where
(``file:line: key``) and what, with the offending value and how to fix it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

#: Characters never shown raw in a message or a terminal: C0 controls (tab included), DEL, C1
#: (0x9b starts a terminal escape too), line and paragraph separators, bidi marks, overrides and
#: isolates (a "Trojan source" name), and the byte-order mark.
HOSTILE_CODES = frozenset((*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
                           *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF))
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in HOSTILE_CODES}


class ArchcostError(Exception):
    """Base class: a problem with the user's input or request."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        # One line, whatever the input's names hold (a layer named "a\nb", a terminal escape).
        return text.translate(_CONTROL_ESCAPES)

    def located(self, where: str) -> ArchcostError:
        """Return this error with ``where`` filled in, if it had no location yet."""
        if self.where is None:
            self.where = where
        return self

    def in_file(self, display: str) -> ArchcostError:
        """Return this error naming the file ``display``: as its location, or before a location
        inside the file (``model.onnx: node 'conv'``), unless it names the file already."""
        where = self.where or ""
        # A zoo name's errors point into its spec: ``specs/mobilenet_v1.yaml:12`` names it.
        named = (where == display or where.startswith((f"{display}:", f"{display} ", f"{display}."))
                 or f"/{display}." in where or repr(display) in self.message
                 or self.message.startswith(f"{display}:") or f" {display}: " in self.message)
        if named:
            return self
        self.where = display if self.where is None else f"{display}: {self.where}"
        return self


@contextlib.contextmanager
def about(display: str) -> Iterator[None]:
    """Errors raised inside name the file ``display`` (:meth:`ArchcostError.in_file`)."""
    try:
        yield
    except ArchcostError as err:
        err.in_file(display)
        raise


class UsageError(ArchcostError):
    """A command-line or API argument is malformed."""


class SpecError(ArchcostError):
    """A YAML spec is malformed or fails schema validation."""


class ExpressionError(SpecError):
    """An expression in a spec cannot be parsed, is refused, or cannot be evaluated."""


class LimitError(ArchcostError):
    """An input exceeds a documented resource limit (size, depth, repeat count)."""


class GraphError(ArchcostError):
    """The graph is not a valid DAG of operators (cycle, missing tensor, duplicate name)."""


class ShapeError(ArchcostError):
    """An operator's inputs have shapes or attributes its shape rule rejects."""


class UnknownOpError(ArchcostError):
    """An operator type has no registry entry."""


class ModelFormatError(ArchcostError):
    """A model file cannot be read (truncated, not ONNX, external data refused)."""
