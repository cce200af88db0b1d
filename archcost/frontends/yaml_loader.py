"""Safe YAML loading that remembers line numbers, for errors that point at the spot.

* Built on ``yaml.SafeLoader``: no Python objects, no custom tags.
* Decimals load as exact :class:`~fractions.Fraction` (``0.75`` is 3/4).
* Mappings and lists remember the line of each key and item.
* Anchors and aliases are refused: the "billion laughs" expansion has that
  shape, and specs reuse structure through blocks instead.
* Duplicate keys are refused (PyYAML would silently keep the last one).
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from archcost.errors import LimitError, SpecError
from archcost.fileio import MAX_NUMBER_DIGITS, read_text_capped

#: A run of digits longer than :data:`MAX_NUMBER_DIGITS` in a plain scalar (underscores are
#: YAML 1.1 digit separators): refused before PyYAML converts it to an int.
_LONG_NUMBER = re.compile(rf"[0-9][0-9_]{{{MAX_NUMBER_DIGITS},}}")

#: Largest spec file accepted.
MAX_SPEC_BYTES = 1 << 20
#: Deepest nesting of YAML mappings and lists accepted.
MAX_YAML_DEPTH = 64


class LocatedDict(dict):  # type: ignore[type-arg]
    """A mapping that knows the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):  # type: ignore[type-arg]
    """A sequence that knows the line of itself and of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise SpecError(
                "YAML aliases (*name) are not supported; reuse structure with blocks",
                where=f"{self.name}:{event.start_mark.line + 1}",
            )
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None):
            raise SpecError(
                f"YAML anchors (&{event.anchor}) are not supported; reuse structure with blocks",
                where=f"{self.name}:{event.start_mark.line + 1}",
            )
        return super().compose_node(parent, index)

    def construct_yaml_float(self, node: Any) -> Any:
        text = str(self.construct_scalar(node)).replace("_", "").lower()
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            # .inf and .nan: no size or multiplier may be either.
            raise SpecError(
                f"number {text!r} is not finite", where=f"{self.name}:{node.start_mark.line + 1}"
            ) from None

    def construct_located_mapping(self, node: Any) -> Any:
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        yield result
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise SpecError(f"keys must be strings, got {key!r}", where=f"{self.name}:{line}")
            if key in result:
                raise SpecError(f"duplicate key {key!r}", where=f"{self.name}:{line}")
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line

    def construct_located_sequence(self, node: Any) -> Any:
        result = LocatedList()
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        yield result
        result.extend(self.construct_object(child, deep=True) for child in node.value)


_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_located_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_located_sequence)


def load_yaml(path: Path, display: str, *, what: str = "spec") -> Any:
    """Load ``path`` safely; errors name ``display`` (the path as the user wrote it)."""
    text = read_text_capped(path, MAX_SPEC_BYTES, what=what, display=display, error=SpecError)
    _check_depth(text, display)
    loader = _Loader(text)
    loader.name = display
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = err.problem or err.context or "malformed YAML"
        raise SpecError(f"malformed YAML: {problem}", where=f"{display}{line}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"malformed YAML: {_one_line(err)}", where=display) from None
    finally:
        loader.dispose()


def _check_depth(text: str, display: str) -> None:
    """Refuse deep nesting with an event scan (iterative), before PyYAML's recursive composer."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    mark = event.start_mark
                    line = f":{mark.line + 1}" if mark is not None else ""
                    raise LimitError(f"the YAML nests deeper than {MAX_YAML_DEPTH} levels",
                                     where=f"{display}{line}")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent) and event.style is None and _LONG_NUMBER.search(event.value):
                mark = event.start_mark
                line = f":{mark.line + 1}" if mark is not None else ""
                raise LimitError(f"a number of more than {MAX_NUMBER_DIGITS} digits; numbers in a spec are "
                                 "counts, sizes and factors", where=f"{display}{line}")
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SpecError(f"malformed YAML: {err.problem or err.context}", where=f"{display}{line}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"malformed YAML: {_one_line(err)}", where=display) from None


def _one_line(err: yaml.YAMLError) -> str:
    """A PyYAML error without a mark (a bad character, say) as one line: PyYAML's spans two."""
    if isinstance(err, yaml.reader.ReaderError):
        char = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        return f"unacceptable character {char} at offset {err.position}: {err.reason}"
    return " ".join(str(err).split())
