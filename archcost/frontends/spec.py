"""YAML spec → :class:`~archcost.graph.Graph`.

A spec is validated field by field and lowered, layer by layer, to the same
operator registry ONNX models use. Expressions are evaluated by
:mod:`archcost.expr` over exact numbers (fast path) or SymPy symbols
(symbolic path). The language is documented in ``docs/spec_language.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx

from archcost.errors import ArchcostError, ExpressionError, LimitError, SpecError, UsageError
from archcost.expr import evaluate_text
from archcost.frontends.spec_layers import COMMON_FIELDS, LAYER_KINDS, LayerContext, Lowering
from archcost.frontends.yaml_loader import LocatedDict, LocatedList, load_yaml
from archcost.graph import Graph, Scope, Tensor, TensorKind
from archcost.numeric import Scalar, is_concrete, normalize

#: Largest ``repeat`` accepted for one layer or block.
MAX_REPEAT = 1000
#: Deepest chain of blocks using blocks.
MAX_BLOCK_DEPTH = 16
#: Most operator nodes a spec may expand to. Nested ``repeat`` and blocks multiply, so a
#: few lines could otherwise ask for millions of nodes; the largest zoo spec has under 500.
MAX_SPEC_NODES = 100_000

_TOP_KEYS = ("name", "description", "params", "inputs", "blocks", "layers", "outputs", "published")
_PARAM_KEYS = ("default", "doc", "multiple_of")
_BLOCK_KEYS = ("args", "layers", "output", "doc")


@dataclass(frozen=True)
class ParamDecl:
    """A spec parameter with its default."""

    name: str
    default: Scalar
    doc: str = ""
    multiple_of: int | None = None


@dataclass(frozen=True)
class Spec:
    """A loaded, top-level-validated spec (layers are validated while lowering)."""

    display: str
    name: str
    description: str
    params: Mapping[str, ParamDecl]
    raw: LocatedDict
    published: Mapping[str, Any] = field(default_factory=dict)


def load_spec(path: Path, display: str | None = None) -> Spec:
    """Load and validate the top level of the spec at ``path``."""
    display = display or str(path)
    raw = load_yaml(path, display)
    if not isinstance(raw, LocatedDict):
        raise SpecError("a spec must be a YAML mapping with 'name' and 'layers'", where=display)
    _check_keys(raw, _TOP_KEYS, display, "the spec")
    for required in ("name", "layers", "inputs"):
        if required not in raw:
            raise SpecError(f"missing required key {required!r}", where=f"{display}:{raw.line}")
    name = raw["name"]
    if not isinstance(name, str) or not name:
        raise SpecError("'name' must be a non-empty string", where=f"{display}:{raw.line_of('name')}")
    params = _params(raw.get("params") or LocatedDict(), display)
    try:
        published = _plain(raw.get("published") or {})
    except OverflowError:
        raise SpecError("'published' holds a number too large for a float",
                        where=f"{display}:{raw.line_of('published')}") from None
    return Spec(display, name, str(raw.get("description", "")), params, raw, published)


def build_graph(
    spec: Spec,
    overrides: Mapping[str, Scalar] | None = None,
    *,
    symbols: Sequence[str] = (),
    continuous: bool = False,
) -> tuple[Graph, dict[str, Any]]:
    """Lower ``spec`` to a graph; return it with the parameter values used."""
    overrides = dict(overrides or {})
    for key in (*overrides, *symbols):
        if key not in spec.params:
            known = ", ".join(spec.params) or "none"
            raise UsageError(f"spec {spec.name!r} has no parameter {key!r}; its parameters: {known}")
    env: dict[str, Scalar] = {}
    bindings: dict[str, Any] = {}
    for name, decl in spec.params.items():
        if name in symbols:
            env[name] = _symbol_for(decl, continuous)
        else:
            env[name] = overrides.get(name, decl.default)
            bindings[name] = env[name]
    lowering = Lowering(spec.name, spec.display, continuous)
    _declare_inputs(spec, lowering, env)
    scope = _Scope(prefix="", names={n: n for n in lowering.builder.inputs})
    scope.last = lowering.builder.inputs[0] if lowering.builder.inputs else None
    layers = spec.raw["layers"]
    if not isinstance(layers, LocatedList) or not layers:
        raise SpecError("'layers' must be a non-empty list",
                        where=f"{spec.display}:{spec.raw.line_of('layers')}")
    blocks = spec.raw.get("blocks") or LocatedDict()
    if not isinstance(blocks, LocatedDict):
        raise SpecError("'blocks' must be a mapping of block names to definitions",
                        where=f"{spec.display}:{spec.raw.line_of('blocks')}")
    _Lowerer(spec, lowering, blocks).lower_layers(layers, scope, env, depth=0, context="")
    outputs = spec.raw.get("outputs")
    if outputs is None:
        lowering.builder.outputs.append(scope.last or "")
    else:
        if not isinstance(outputs, LocatedList):
            raise SpecError("'outputs' must be a list of tensor names",
                            where=f"{spec.display}:{spec.raw.line_of('outputs')}")
        for i, out in enumerate(outputs):
            if not isinstance(out, str) or out not in scope.names:
                raise SpecError(f"output {out!r} is not a layer or input name",
                                where=f"{spec.display}:{outputs.line_of(i)}")
            lowering.builder.outputs.append(scope.names[out])
    return lowering.builder.build(), bindings


def _symbol_for(decl: ParamDecl, continuous: bool) -> Scalar:
    from archcost.symbols import multiple_symbol, param_symbol

    if continuous and decl.multiple_of:
        # A multiple of the network's total stride: every strided size then divides
        # exactly, which is the paper's continuous D_F = ρ·D_F0 algebra.
        return decl.multiple_of * multiple_symbol(decl.name)
    return param_symbol(decl.name)


def _check_keys(mapping: LocatedDict, allowed: Sequence[str], display: str, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SpecError(
                f"unknown key {key!r} in {what}; allowed: {', '.join(allowed)}",
                where=f"{display}:{mapping.line_of(key)}",
            )


def _number(
    value: Any, where: str, what: str, env: Mapping[str, Scalar] | None = None, continuous: bool = False
) -> Scalar:
    """A YAML scalar as an exact number: literals as they are, strings through the grammar."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, Fraction)):
        return normalize(value)
    if isinstance(value, str):
        try:
            return evaluate_text(value, env or {}, continuous=continuous)
        except ExpressionError as err:
            raise SpecError(f"{what}: {err.message}", where=where) from None
    raise SpecError(f"{what} must be a number or an expression, got {value!r}", where=where)


def _params(raw: Any, display: str) -> dict[str, ParamDecl]:
    if not isinstance(raw, LocatedDict):
        raise SpecError("'params' must be a mapping of names to defaults", where=display)
    params: dict[str, ParamDecl] = {}
    for name, value in raw.items():
        where = f"{display}:{raw.line_of(name)}"
        if not name.isidentifier() or name.startswith("__"):
            raise SpecError(f"parameter name {name!r} is not a valid identifier", where=where)
        if isinstance(value, LocatedDict):
            _check_keys(value, _PARAM_KEYS, display, f"parameter {name!r}")
            if "default" not in value:
                raise SpecError(f"parameter {name!r} needs a 'default'", where=where)
            multiple = value.get("multiple_of")
            if multiple is not None and (not isinstance(multiple, int) or isinstance(multiple, bool)
                                         or multiple < 1):
                raise SpecError(f"parameter {name!r}: multiple_of must be a positive integer",
                                where=f"{display}:{value.line_of('multiple_of')}")
            params[name] = ParamDecl(name, _number(value["default"], where, f"parameter {name!r}"),
                                     str(value.get("doc", "")), multiple)
        else:
            params[name] = ParamDecl(name, _number(value, where, f"parameter {name!r}"))
    return params


def _declare_inputs(spec: Spec, lowering: Lowering, env: Mapping[str, Scalar]) -> None:
    raw = spec.raw["inputs"]
    where = f"{spec.display}:{spec.raw.line_of('inputs')}"
    if not isinstance(raw, LocatedDict) or not raw:
        raise SpecError("'inputs' must map input names to {shape: [...]}", where=where)
    for name, decl in raw.items():
        where = f"{spec.display}:{raw.line_of(name)}"
        if not isinstance(decl, LocatedDict) or not isinstance(decl.get("shape"), LocatedList):
            raise SpecError(f"input {name!r} needs a 'shape' list", where=where)
        _check_keys(decl, ("shape", "dtype"), spec.display, f"input {name!r}")
        ctx = LayerContext(lowering, name, decl, [], env, where)
        shape = tuple(ctx.dims("shape"))
        dtype = decl.get("dtype", "float32")
        if not isinstance(dtype, str):
            raise SpecError(f"input {name!r}: dtype must be a string", where=where)
        lowering.add_tensor(Tensor(name, shape, TensorKind.INPUT, dtype), where)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Fraction):
        return float(value) if value.denominator != 1 else value.numerator
    return value


@dataclass
class _Scope:
    """Names visible to the layers of one layer list (the top level, or one block call)."""

    prefix: str
    names: dict[str, str]
    last: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    #: The modules these layers sit in (block calls and repeat groups), outermost first.
    modules: Scope = ()


class _Lowerer:
    def __init__(self, spec: Spec, lowering: Lowering, blocks: LocatedDict) -> None:
        self.spec = spec
        self.lowering = lowering
        self.blocks = blocks
        self.display = spec.display

    def where(self, line: int) -> str:
        return f"{self.display}:{line}"

    def lower_layers(
        self, layers: LocatedList, scope: _Scope, env: dict[str, Scalar], depth: int, context: str
    ) -> None:
        names = self._names(layers, scope)
        for index in self._order(layers, names, scope):
            self._lower_layer(layers[index], layers.line_of(index), names[index], scope, env, depth, context)

    def _names(self, layers: LocatedList, scope: _Scope) -> list[str]:
        """Each layer's base name, explicit or ``<kind>_<n>``, checked for clashes."""
        names: list[str] = []
        seen: dict[str, int] = {}
        for i, layer in enumerate(layers):
            line = layers.line_of(i)
            if not isinstance(layer, LocatedDict):
                raise SpecError(f"each layer must be a mapping with 'op' or 'use', got {layer!r}",
                                where=self.where(line))
            if ("op" in layer) == ("use" in layer):
                raise SpecError("a layer needs exactly one of 'op' (a layer kind) or 'use' (a block)",
                                where=self.where(line))
            kind = layer.get("op", layer.get("use"))
            if not isinstance(kind, str):
                raise SpecError(f"'op'/'use' must be a name, got {kind!r}", where=self.where(line))
            name = layer.get("name")
            if name is None:
                scope.counters[kind] = scope.counters.get(kind, 0) + 1
                name = f"{kind}_{scope.counters[kind]}"
            elif not isinstance(name, str) or not name or "." in name or name == "input":
                raise SpecError(f"layer name {name!r} must be a non-empty string without '.', "
                                "and not 'input'", where=self.where(layer.line_of("name")))
            if name in seen or name in scope.names:
                raise SpecError(f"layer name {name!r} is used twice", where=self.where(line))
            seen[name] = i
            names.append(name)
        return names

    def _order(self, layers: LocatedList, names: list[str], scope: _Scope) -> list[int]:
        """Layers in an order that respects explicit ``inputs``; a cycle is an error."""
        index = {name: i for i, name in enumerate(names)}
        deps: list[set[int]] = []
        for i, layer in enumerate(layers):
            refs = layer.get("inputs")
            wanted: set[int] = set()
            if refs is None:
                if i > 0:
                    wanted.add(i - 1)
            elif isinstance(refs, list):
                for ref in refs:
                    base = ref.rsplit("_", 1)[0] if isinstance(ref, str) and ref not in index else ref
                    if isinstance(ref, str) and ref in index:
                        wanted.add(index[ref])
                    elif isinstance(base, str) and base in index:
                        wanted.add(index[base])
            wanted.discard(i) if refs is None else None
            deps.append(wanted)
        dag = nx.DiGraph()
        dag.add_nodes_from(range(len(layers)))
        dag.add_edges_from((j, i) for i, d in enumerate(deps) for j in d)
        # Of the layers ready at each step, the earliest written goes first: the written order
        # wherever explicit inputs allow it.
        order: list[int] = []
        try:
            order.extend(nx.lexicographical_topological_sort(dag))
        except nx.NetworkXUnfeasible:
            done = set(order)
            stuck = [i for i in range(len(layers)) if i not in done]
            cycle = " -> ".join(f"{names[i]} (line {layers.line_of(i)})" for i in stuck)
            raise SpecError(f"layers read each other in a cycle: {cycle}",
                            where=self.where(layers.line_of(stuck[0]))) from None
        return order

    def _lower_layer(
        self,
        layer: LocatedDict,
        line: int,
        base: str,
        scope: _Scope,
        env: dict[str, Scalar],
        depth: int,
        context: str,
    ) -> None:
        where = self.where(line)
        label = f"layer {scope.prefix + base!r}{context}"
        if "when" in layer:
            condition = self._evaluate(layer["when"], env, self.where(layer.line_of("when")), label, "when")
            if not is_concrete(condition):
                raise SpecError(f"{label}: 'when' depends on free symbols; bind them with --set",
                                where=where)
            if not condition:
                return
        repeat = self._repeat(layer, env, label)
        inputs = self._inputs(layer, scope, label)
        output = inputs[0] if inputs else ""
        kind = str(layer.get("op", layer.get("use")))
        # A repeated layer is a module of its copies, as an nn.Sequential of them would be.
        modules = (*scope.modules, (scope.prefix + base, f"{kind}×{repeat}")) if repeat > 1 else scope.modules
        for r in range(repeat):
            if len(self.lowering.builder.nodes) > MAX_SPEC_NODES:
                raise LimitError(f"{label}: the spec expands to more than {MAX_SPEC_NODES:,} operator "
                                 "nodes (nested repeat and blocks multiply)", where=where)
            name = base if repeat == 1 else f"{base}_{r + 1}"
            full = scope.prefix + name
            module = (*modules, (full, kind))
            if "op" in layer:
                output = self._lower_kind(layer, full, inputs, env, where, context, module)
            else:
                output = self._lower_block(layer, full, inputs, env, where, depth, context, module)
            scope.names[name] = output
            inputs = [output]
        scope.names[base] = output
        scope.last = output

    def _evaluate(self, value: Any, env: Mapping[str, Scalar], where: str, label: str, key: str) -> Scalar:
        return _number(value, where, f"{label}: {key}", env, self.lowering.continuous)

    def _repeat(self, layer: LocatedDict, env: Mapping[str, Scalar], label: str) -> int:
        if "repeat" not in layer:
            return 1
        where = self.where(layer.line_of("repeat"))
        count = self._evaluate(layer["repeat"], env, where, label, "repeat")
        if not isinstance(count, int) or count < 1:
            raise SpecError(f"{label}: repeat must be a positive integer, got {count}", where=where)
        if count > MAX_REPEAT:
            raise LimitError(f"{label}: repeat {count:,} exceeds the limit of {MAX_REPEAT:,}",
                             where=where)
        return count

    def _inputs(self, layer: LocatedDict, scope: _Scope, label: str) -> list[str]:
        refs = layer.get("inputs")
        if refs is None:
            if scope.last is None:
                raise SpecError(f"{label}: no input: name one with 'inputs'", where=self.where(layer.line))
            return [scope.last]
        where = self.where(layer.line_of("inputs"))
        if not isinstance(refs, LocatedList) or not refs:
            raise SpecError(f"{label}: inputs must be a non-empty list of tensor names", where=where)
        resolved = []
        for i, ref in enumerate(refs):
            if not isinstance(ref, str) or ref not in scope.names:
                known = ", ".join(sorted(scope.names)) or "nothing yet"
                raise SpecError(f"{label}: inputs: unknown tensor {ref!r}; defined here: {known}",
                                where=self.where(refs.line_of(i)))
            resolved.append(scope.names[ref])
        return resolved

    def _lower_kind(
        self, layer: LocatedDict, full: str, inputs: list[str], env: dict[str, Scalar], where: str,
        context: str, module: Scope,
    ) -> str:
        kind_name = layer["op"]
        kind = LAYER_KINDS.get(kind_name)
        if kind is None:
            raise SpecError(
                f"layer {full!r}{context}: unknown layer kind {kind_name!r}; "
                f"known kinds: {', '.join(sorted(LAYER_KINDS))}",
                where=self.where(layer.line_of("op")),
            )
        allowed = (*COMMON_FIELDS, *kind.fields)
        for key in layer:
            if key not in allowed:
                raise SpecError(
                    f"layer {full!r}{context}: unknown field {key!r} for {kind_name}; "
                    f"allowed: {', '.join(allowed)}",
                    where=self.where(layer.line_of(key)),
                )
        ctx = LayerContext(self.lowering, full, layer, inputs, env, where, context, module)
        try:
            return kind.lower(ctx)
        except SpecError:
            raise
        except ArchcostError as err:
            # A shape rule rejected the node: say which spec line made it.
            raise SpecError(f"layer {full!r}{context}: {err.message}", where=where) from None

    def _lower_block(
        self, layer: LocatedDict, full: str, inputs: list[str], env: dict[str, Scalar], where: str,
        depth: int, context: str, module: Scope,
    ) -> str:
        block_name = layer["use"]
        block = self.blocks.get(block_name)
        if not isinstance(block, LocatedDict):
            known = ", ".join(self.blocks) or "none are defined"
            raise SpecError(f"layer {full!r}: unknown block {block_name!r}; blocks: {known}",
                            where=self.where(layer.line_of("use")))
        if depth + 1 > MAX_BLOCK_DEPTH:
            raise LimitError(f"blocks nest deeper than {MAX_BLOCK_DEPTH} (does block "
                             f"{block_name!r} use itself?)", where=where)
        _check_keys(block, _BLOCK_KEYS, self.display, f"block {block_name!r}")
        declared = block.get("args") or LocatedDict()
        if not isinstance(declared, LocatedDict):
            raise SpecError(f"block {block_name!r}: 'args' must be a mapping of names to defaults",
                            where=self.where(block.line_of("args")))
        block_env = dict(env)
        label = f"layer {full!r}"
        for key in layer:
            if key not in COMMON_FIELDS and key != "use" and key not in declared:
                raise SpecError(
                    f"{label}: block {block_name!r} has no argument {key!r}; "
                    f"its arguments: {', '.join(declared) or 'none'}",
                    where=self.where(layer.line_of(key)),
                )
        for arg, default in declared.items():
            if arg in layer:
                block_env[arg] = self._evaluate(layer[arg], env, self.where(layer.line_of(arg)), label, arg)
            elif default is None:
                raise SpecError(f"{label}: block {block_name!r} needs argument {arg!r}", where=where)
            else:
                block_env[arg] = self._evaluate(default, env, self.where(declared.line_of(arg)),
                                                f"block {block_name!r}", arg)
        source = inputs[0]
        shape = self.lowering.shape(source)
        if not shape:
            raise SpecError(f"{label}: block {block_name!r} needs an input with a channel axis, "
                            "got a scalar", where=where)
        block_env["in_channels"] = shape[1] if len(shape) == 4 else shape[-1]
        if len(shape) == 4:
            block_env["in_height"], block_env["in_width"] = shape[2], shape[3]
        body = block.get("layers")
        if not isinstance(body, LocatedList) or not body:
            raise SpecError(f"block {block_name!r} needs a non-empty 'layers' list",
                            where=self.where(block.line))
        scope = _Scope(prefix=f"{full}.", names={"input": source}, last=source, modules=module)
        for i, extra in enumerate(inputs[1:], start=1):
            scope.names[f"input{i}"] = extra
        inner = f" (in block {block_name!r} used at line {layer.line})"
        self.lower_layers(body, scope, block_env, depth + 1, inner)
        output = block.get("output")
        if output is None:
            return scope.last or source
        if not isinstance(output, str) or output not in scope.names:
            raise SpecError(f"block {block_name!r}: output {output!r} is not one of its layers",
                            where=self.where(block.line_of("output")))
        return scope.names[output]
