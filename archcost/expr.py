"""The spec language's expression grammar: parsed and evaluated here, never by Python.

Specs write channel counts and sizes as expressions (``int(512*alpha)``,
``make_divisible(16*alpha, 8)``). User text is never handed to ``eval``,
``sympify`` or ``parse_expr`` (each of those runs Python); this module
tokenizes, parses into a small tree, and evaluates over exact numbers:

* on the fast path values are ``int`` or :class:`~fractions.Fraction`
  (``0.75`` is exactly ``3/4``), and no SymPy object is created;
* on the symbolic path some names are bound to SymPy symbols, and rounding
  rules become ``floor`` (or disappear in the *continuous* form).

Grammar (lowest precedence first)::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := sum (('=='|'!='|'<'|'<='|'>'|'>=') sum)?
    sum     := term (('+'|'-') term)*
    term    := unary (('*'|'/'|'//'|'%') unary)*
    unary   := ('-'|'+') unary | power
    power   := atom ('**' unary)?
    atom    := NUMBER | NAME | NAME '(' args ')' | '(' expr ')'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.errors import ExpressionError, UsageError
from archcost.numeric import (
    Scalar,
    ceil_value,
    decide,
    floor_value,
    is_concrete,
    normalize,
    trunc_value,
)

#: Longest expression accepted, in characters.
MAX_EXPRESSION_LENGTH = 256
#: Deepest nesting accepted (parentheses, unary minus chains, calls).
MAX_EXPRESSION_DEPTH = 32
#: Largest exponent accepted by ``**`` and in number literals like ``1e5``.
MAX_EXPONENT = 32
#: Most digits accepted in one number literal.
MAX_LITERAL_DIGITS = 32
#: Largest value an expression may reach: |numerator| and denominator below 2**256
#: (about 1.2e77, far beyond any size), so ``(10**32)**32**...`` fails fast instead of
#: computing a number with billions of digits.
MAX_VALUE_BITS = 256

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|//|==|!=|<=|>=|[-+*/%<>(),])"
    r")",
    re.ASCII,  # digits are 0-9: "١" (Arabic-Indic one) is not a number
)
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Num:
    value: int | Fraction


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "+" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # arithmetic, comparison, "and" or "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Name | Unary | Binary | Call


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    stripped_end = len(text.rstrip())
    while pos < stripped_end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExpressionError(
                f"unexpected character {_spelled(text[column])} at column {column + 1} in {text!r}"
            )
        kind = match.lastgroup
        assert kind is not None  # one of the three groups always matched
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"expression {self.text!r} ends too early")
        if value is not None and token[1] != value:
            raise ExpressionError(
                f"expected {value!r} at column {token[2] + 1} in {self.text!r}, got {token[1]!r}"
            )
        self.pos += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[0] in ("op", "name") and token[1] in values

    def enter(self) -> None:
        # Bounded explicitly so a hostile nesting never reaches Python's recursion limit.
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionError(
                f"expression {self.text[:40]!r}... nests deeper than {MAX_EXPRESSION_DEPTH} levels"
            )

    def parse(self) -> Node:
        node = self.expr()
        token = self.peek()
        if token is not None:
            raise ExpressionError(
                f"unexpected {token[1]!r} at column {token[2] + 1} in {self.text!r}"
            )
        return node

    def expr(self) -> Node:
        self.enter()
        node = self.or_()
        self.depth -= 1
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            self.take()
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            self.take()
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            self.enter()
            node: Node = Unary("not", self.not_())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Node:
        node = self.sum()
        if self.at(*_COMPARISONS):
            op = self.take()[1]
            node = Binary(op, node, self.sum())
            if self.at(*_COMPARISONS):
                raise ExpressionError(f"chained comparisons are not supported in {self.text!r}")
        return node

    def sum(self) -> Node:
        node = self.term()
        while self.at("+", "-"):
            op = self.take()[1]
            node = Binary(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*", "/", "//", "%"):
            op = self.take()[1]
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            op = self.take()[1]
            self.enter()
            node: Node = Unary(op, self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Node:
        node = self.atom()
        if self.at("**"):
            self.take()
            self.enter()
            node = Binary("**", node, self.unary())
            self.depth -= 1
        return node

    def atom(self) -> Node:
        kind, value, column = self.take()
        if kind == "number":
            return Num(_parse_number(value, self.text))
        if kind == "name":
            if value in ("and", "or", "not"):
                raise ExpressionError(f"unexpected {value!r} at column {column + 1} in {self.text!r}")
            if value.startswith("__"):
                raise ExpressionError(f"name {value!r} is not allowed in expressions")
            if self.at("("):
                return self.call(value)
            return Name(value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        raise ExpressionError(f"unexpected {value!r} at column {column + 1} in {self.text!r}")

    def call(self, func: str) -> Node:
        if func not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {func!r} in {self.text!r}; known: {', '.join(sorted(FUNCTIONS))}"
            )
        self.take("(")
        self.enter()
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.take()
                args.append(self.expr())
        self.take(")")
        self.depth -= 1
        low, high = FUNCTIONS[func][1]
        if not low <= len(args) <= high:
            raise ExpressionError(f"{func}() takes {low} to {high} arguments, got {len(args)}")
        return Call(func, tuple(args))


def _spelled(char: str) -> str:
    """``char`` quoted, with its code point when it is not ASCII ('١' U+0661 is not the digit 1)."""
    return repr(char) if char.isascii() else f"{char!r} (U+{ord(char):04X})"


def _parse_number(literal: str, text: str) -> int | Fraction:
    mantissa, _, exponent = literal.lower().partition("e")
    if len(mantissa) > MAX_LITERAL_DIGITS or (exponent and abs(int(exponent)) > MAX_EXPONENT):
        raise ExpressionError(f"number {literal!r} in {text!r} is too large")
    value = Fraction(literal)
    return value.numerator if value.denominator == 1 else value


def parse(text: str) -> Node:
    """Parse ``text`` into an expression tree, refusing anything outside the grammar."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    if not text.strip():
        raise ExpressionError("empty expression")
    return _Parser(text).parse()


# --- evaluation -----------------------------------------------------------------------


def _make_divisible(v: Scalar, divisor: Scalar, min_value: Scalar | None = None) -> Scalar:
    """MobileNetV2/V3 channel rounding (Sandler et al. 2018, reference implementation).

    Round ``v`` to the nearest multiple of ``divisor``, at least ``min_value``
    (default ``divisor``), and never more than 10 % below ``v``.
    """
    low = divisor if min_value is None else min_value
    nearest = floor_value(v / divisor + Fraction(1, 2)) * divisor
    if is_concrete(v) and is_concrete(nearest) and is_concrete(low):
        rounded = max(low, nearest)
        return rounded + divisor if rounded < Fraction(9, 10) * v else rounded
    import sympy

    rounded = sympy.Max(low, nearest)
    return sympy.Piecewise(
        (rounded + divisor, sympy.StrictLessThan(rounded, sympy.Rational(9, 10) * v)),
        (rounded, True),
    )


def _round_half_up(x: Scalar) -> Scalar:
    return floor_value(x + Fraction(1, 2))


def _min(*args: Scalar) -> Scalar:
    if all(is_concrete(a) for a in args):
        return min(args)
    import sympy

    return sympy.Min(*args)


def _max(*args: Scalar) -> Scalar:
    if all(is_concrete(a) for a in args):
        return max(args)
    import sympy

    return sympy.Max(*args)


#: name -> (implementation, (min args, max args), is a rounding rule)
FUNCTIONS: dict[str, tuple[Callable[..., Scalar], tuple[int, int]]] = {
    "int": (trunc_value, (1, 1)),
    "floor": (floor_value, (1, 1)),
    "ceil": (ceil_value, (1, 1)),
    "round": (_round_half_up, (1, 1)),
    "make_divisible": (_make_divisible, (2, 3)),
    "min": (_min, (1, 8)),
    "max": (_max, (1, 8)),
}
#: Rounding rules, which the continuous form (the paper's α², ρ² algebra) drops.
ROUNDING_RULES = frozenset({"int", "floor", "ceil", "round", "make_divisible"})


def evaluate(node: Node, env: Mapping[str, Scalar], *, continuous: bool = False) -> Scalar:
    """Evaluate a parsed expression over ``env``.

    With ``continuous=True`` rounding rules return their argument unchanged,
    giving the paper's continuous form (cost ∝ α², ρ²).
    """
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        if node.id not in env:
            raise ExpressionError(
                f"unknown name {node.id!r}; defined here: {', '.join(sorted(env)) or 'nothing'}"
            )
        return env[node.id]
    return _bounded(_evaluate(node, env, continuous))


def _evaluate(node: Unary | Call | Binary, env: Mapping[str, Scalar], continuous: bool) -> Scalar:
    if isinstance(node, Unary):
        value = evaluate(node.operand, env, continuous=continuous)
        if node.op == "-":
            return -value
        if node.op == "+":
            return value
        return int(not _truth(value))
    if isinstance(node, Call):
        args = [evaluate(a, env, continuous=continuous) for a in node.args]
        if continuous and node.func in ROUNDING_RULES:
            return args[0]
        return normalize(FUNCTIONS[node.func][0](*args))
    return _binary(node, env, continuous)


def _bits(value: object) -> int:
    """The size of a concrete number in bits (the larger of numerator and denominator); 0 otherwise."""
    if isinstance(value, int):
        return value.bit_length()
    if isinstance(value, Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length())
    return 0


def _too_large() -> ExpressionError:
    return ExpressionError(f"a value exceeds 2**{MAX_VALUE_BITS}; no size or count in a spec is that large")


def _bounded(value: Scalar) -> Scalar:
    if _bits(value) > MAX_VALUE_BITS:
        raise _too_large()
    return value


def _truth(value: object) -> bool:
    truth = decide(value if not is_concrete(value) else value != 0)
    if truth is None:
        raise ExpressionError(f"condition {value} depends on free symbols; bind them with --set")
    return truth


def _binary(node: Binary, env: Mapping[str, Scalar], continuous: bool) -> Scalar:
    if node.op in ("and", "or"):
        left_true = _truth(evaluate(node.left, env, continuous=continuous))
        if left_true == (node.op == "or"):
            return int(left_true)
        return int(_truth(evaluate(node.right, env, continuous=continuous)))
    a = evaluate(node.left, env, continuous=continuous)
    b = evaluate(node.right, env, continuous=continuous)
    if node.op in _COMPARISONS:
        return int(_truth(_compare(node.op, a, b)))
    if node.op in ("/", "//", "%") and is_concrete(b) and b == 0:
        raise ExpressionError("division by zero")
    if node.op == "+":
        return normalize(a + b)
    if node.op == "-":
        return normalize(a - b)
    if node.op == "*":
        return normalize(a * b)
    if node.op == "/":
        if isinstance(a, int) and isinstance(b, int):
            return normalize(Fraction(a, b))
        return normalize(a / b)
    if node.op == "//":
        return normalize(a // b)
    if node.op == "%":
        return normalize(a % b)
    # "**": only small integer exponents, so a spec cannot ask for a 10**10**10 number.
    if not isinstance(b, int) or abs(b) > MAX_EXPONENT:
        raise ExpressionError(f"exponent must be an integer from -{MAX_EXPONENT} to {MAX_EXPONENT}")
    if (_bits(a) - 1) * abs(b) > MAX_VALUE_BITS:
        raise _too_large()  # before computing a number that may have billions of digits
    if b < 0 and is_concrete(a):
        if a == 0:
            raise ExpressionError("division by zero")
        return normalize(Fraction(a) ** b)
    return normalize(a**b)


def _compare(op: str, a: Scalar, b: Scalar) -> object:
    if is_concrete(a) and is_concrete(b):
        return {
            "==": a == b,
            "!=": a != b,
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
        }[op]
    import sympy

    if op in ("==", "!="):
        equal = sympy.simplify(a - b) == 0
        if not equal and decide(sympy.Eq(a, b)) is None:
            return sympy.Eq(a, b)
        return equal if op == "==" else not equal
    relation = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}[op]
    return relation(a, b)


def evaluate_text(
    text: str, env: Mapping[str, Scalar], *, continuous: bool = False
) -> Scalar:
    """Parse and evaluate in one step."""
    return evaluate(parse(text), env, continuous=continuous)


def parse_value(value: Any, name: str) -> Scalar:
    """A parameter value from Python or the command line, as an exact number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return normalize(Fraction(repr(value)))
    if isinstance(value, (int, Fraction)):
        return normalize(value)
    if isinstance(value, str):
        return evaluate_text(value, {})
    if hasattr(value, "free_symbols"):
        return value
    raise UsageError(f"parameter {name!r}: expected a number, got {value!r}")
