"""Module scopes from what exporters write: which module of the source model a node belongs to.

* **The dynamo exporter** (torch.onnx, ``dynamo=True``) records each node's module path in
  its ``metadata_props``: ``pkg.torch.onnx.name_scopes`` holds the full dotted names from
  the root (``['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']``) and
  ``pkg.torch.onnx.class_hierarchy`` the classes (``['torchvision.models.resnet.ResNet',
  ..., 'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']``). The first entry is the
  root model and the last the aten op: neither is a scope.
* **The TorchScript exporter, tf2onnx and paddle2onnx** name nodes by path:
  ``/layer1/layer1.0/conv1/Conv``. Every ``/``-separated segment but the last (the op) is a
  module; a segment's full name is the dotted path so far; its class is not known (``""``).
* A node with neither has no scope: the report says the graph records none rather than
  inventing one.

The dynamo metadata's last class is the framework op the node came from
(``aten.conv2d.default``, ``aten.scaled_dot_product_attention.default``): kept as the node's
*origin*, since the peers' counting rules (:mod:`archcost.cost.peers`) are stated in terms of
framework ops and modules, not ONNX ops.

Both metadata values are list literals. They are read by :func:`string_list`, a parser for
exactly that shape, never by evaluating the text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from archcost.graph import Scope

NAME_SCOPES = "pkg.torch.onnx.name_scopes"
CLASS_HIERARCHY = "pkg.torch.onnx.class_hierarchy"


Origin = tuple[Scope, str]


def node_scope(name: str, metadata: Iterable[Any], cache: dict[tuple[str, str], Origin]) -> Origin:
    """The scope and origin of a node named ``name`` with ``metadata_props`` entries ``metadata``.

    ``cache`` maps what a scope is read from (the two metadata strings, or a name's path
    part) to the scope: the nodes of one module share them, and so share one tuple.
    """
    names = classes = None
    for entry in metadata:
        if entry.key == NAME_SCOPES:
            names = entry.value
        elif entry.key == CLASS_HIERARCHY:
            classes = entry.value
    if names is not None:
        key = (names, classes or "")
        known = cache.get(key)
        if known is None:
            known = cache[key] = _from_metadata(names, classes or "")
        return known
    slash = name.rfind("/")
    if slash <= 0:
        return _NOWHERE
    key = ("/", name[:slash])
    known = cache.get(key)
    if known is None:
        known = cache[key] = (path_scope(name), "")
    return known


_NOWHERE: Origin = ((), "")


def _from_metadata(names_text: str, classes_text: str) -> Origin:
    names = string_list(names_text)
    classes = _class_list(classes_text)
    if names is None or len(names) < 2:
        return _NOWHERE
    modules = names[1:-1]  # the root model first, the aten op last
    kinds = classes[1:-1]
    origin = classes[-1] if len(classes) == len(names) else ""
    scope = tuple((n, kinds[i].rsplit(".", 1)[-1] if i < len(kinds) else "") for i, n in enumerate(modules) if n)
    return scope, origin


def path_scope(name: str) -> Scope:
    """``/layer1/layer1.0/conv1/Conv`` → ``(("layer1", ""), ("layer1.layer1.0", ""), ...)``.

    A segment that already repeats its parent's dotted path (TorchScript writes
    ``/layer1/layer1.0/``) is that path, not a longer one.
    """
    segments = [s for s in name.split("/")[:-1] if s]
    scope: list[tuple[str, str]] = []
    full = ""
    for segment in segments:
        full = segment if not full or segment.startswith(full + ".") else f"{full}.{segment}"
        scope.append((full, ""))
    return tuple(scope)


@functools.lru_cache(maxsize=1024)
def _class_list(text: str) -> list[str]:
    """:func:`string_list` of a class hierarchy: a model has a few hundred distinct ones, shared
    by the nodes of every module of one class path (the result is never modified)."""
    return string_list(text) or []


_ITEM = r"'(?:[^'\\]|\\.)*'" + "|" + r'"(?:[^"\\]|\\.)*"'  # one quoted string, escapes allowed
_ITEMS = re.compile(_ITEM, re.DOTALL)
_LIST = re.compile(rf"\[\s*(?:(?:{_ITEM})\s*(?:,\s*(?:{_ITEM})\s*)*,?\s*)?\]", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def string_list(text: str) -> list[str] | None:
    """A Python-style list of string literals, ``['a', "b\\'c"]``, parsed without evaluating it
    (a backslash keeps the character after it); ``None`` when the text is not exactly that."""
    text = text.strip()
    if not _LIST.fullmatch(text):
        return None
    items = [m[1:-1] for m in _ITEMS.findall(text)]
    return [_ESCAPE.sub(r"\1", item) if "\\" in item else item for item in items]
