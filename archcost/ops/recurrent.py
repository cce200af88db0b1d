"""Recurrent layers: RNN, GRU, LSTM, counted over every time step, direction and gate.

Notation: T sequence length, B batch, I input size, H hidden size, D = 2 for
``bidirectional`` and 1 otherwise, G gates (RNN 1, GRU 3, LSTM 4). The ONNX
weights are W ``[D, G·H, I]``, R ``[D, G·H, H]``, B ``[D, 2·G·H]`` (input and
recurrent biases), P ``[D, 3·H]`` (LSTM peepholes).

Per time step, per direction, per sequence, every gate unit does one dot
product with the input (I MACs) and one with the previous hidden state (H):

* mac = T · D · B · G · H · (I + H); LSTM: 4·H·(I + H) per step per direction;
* bias_add = T · D · B · 2 · G · H when B is given (both ONNX bias vectors);
* elementwise_op = T · D · B · H · e, where e counts the gate arithmetic per
  hidden unit: G adds of the input and recurrent products, plus
  RNN 0; GRU 5 (r ⊙ (R·h), then (1 − z) ⊙ h̃ + z ⊙ h: 1 + 4); LSTM 4
  (f ⊙ c + i ⊙ g, o ⊙ tanh(c)) and 6 more with peepholes (3 multiplies, 3 adds);
* activation_op = T · D · B · H · a with the activation counts of
  :mod:`archcost.ops.activation` (Sigmoid 3, Tanh 1, Relu 1; others 1): RNN
  tanh = 1, GRU 2 sigmoids + tanh = 7, LSTM 3 sigmoids + 2 tanh = 11 by default.

``sequence_lens`` may stop sequences early; the count is for the full T (an
upper bound, as every static tool counts it). T stays symbolic when it is.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import Count, same
from archcost.ops.registry import OpResult, OpView, register

_ACTIVATION_OPS = {"sigmoid": 3, "tanh": 1, "relu": 1, "hardsigmoid": 3, "affine": 2,
                   "leakyrelu": 2, "thresholdedrelu": 1, "scaledtanh": 3, "elu": 4, "softsign": 3,
                   "softplus": 3}
_DEFAULT_ACTIVATIONS = {"RNN": ("Tanh",), "GRU": ("Sigmoid", "Tanh"), "LSTM": ("Sigmoid", "Tanh", "Tanh")}
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
#: Functions each gate set applies per hidden unit, as positions in the activations list:
#: RNN f(…); GRU f(z), f(r), g(h̃); LSTM f(i), f(f), f(o), g(c̃), h(c).
_USES = {"RNN": (0,), "GRU": (0, 0, 1), "LSTM": (0, 0, 0, 1, 2)}


def _activation_ops(view: OpView, directions: int) -> int:
    names = view.attr("activations")
    per_direction = len(_DEFAULT_ACTIVATIONS[view.op_type])
    if not names:
        names = list(_DEFAULT_ACTIVATIONS[view.op_type]) * directions
    if len(names) != per_direction * directions:
        raise view.fail(f"activations {list(names)} need {per_direction * directions} entries")
    total = 0
    for d in range(directions):
        chosen = names[d * per_direction:(d + 1) * per_direction]
        for slot in _USES[view.op_type]:
            name = chosen[slot]
            name = name.decode() if isinstance(name, bytes) else str(name)
            total += _ACTIVATION_OPS.get(name.lower(), 1)
    return total


def _recurrent(view: OpView) -> OpResult:
    op = view.op_type
    gates = _GATES[op]
    x, w, r = view.input(0), view.input(1), view.input(2)
    if len(x.shape) != 3 or len(w.shape) != 3 or len(r.shape) != 3:
        raise view.fail(f"X {list(x.shape)}, W {list(w.shape)} and R {list(r.shape)} must be rank 3")
    layout = view.attr("layout", 0)
    seq, batch, inputs = (x.shape[1], x.shape[0], x.shape[2]) if layout else x.shape
    direction = view.attr("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in ("forward", "reverse", "bidirectional"):
        raise view.fail(f"direction must be forward, reverse or bidirectional, got {direction!r}")
    dirs = 2 if direction == "bidirectional" else 1
    hidden: Count = view.attr("hidden_size") or r.shape[2]
    for name, shape, expect in (("W", w.shape, (dirs, gates * hidden, inputs)),
                                ("R", r.shape, (dirs, gates * hidden, hidden))):
        if len(shape) != len(expect) or any(same(a, b) is False for a, b in zip(shape, expect, strict=True)):
            raise view.fail(f"{name} is {list(shape)}, expected {[str(e) for e in expect]} "
                            f"for {direction} {op} with I={inputs}, H={hidden}")
        for a, b in zip(shape, expect, strict=True):
            view.equal(a, b, f"{name}'s dims match {direction} {op} with I={inputs}, H={hidden}")
    steps = seq * dirs * batch
    terms: dict[str, Count] = {"mac": steps * gates * hidden * (inputs + hidden)}
    if view.optional(3) is not None:
        terms["bias_add"] = steps * 2 * gates * hidden
    gate_ops = gates + {"RNN": 0, "GRU": 5, "LSTM": 4}[op]
    if op == "LSTM" and view.optional(7) is not None:
        gate_ops += 6
    terms["elementwise_op"] = steps * hidden * gate_ops
    terms["activation_op"] = seq * batch * hidden * _activation_ops(view, dirs)
    if layout:
        y: tuple[Count, ...] = (batch, seq, dirs, hidden)
        state: tuple[Count, ...] = (batch, dirs, hidden)
    else:
        y, state = (seq, dirs, batch, hidden), (dirs, batch, hidden)
    outputs = (y, state, state) if op == "LSTM" else (y, state)
    return OpResult(outputs=outputs, terms=terms, category=Category.FULLY_CONNECTED)


_ROLES = ("x", "weight", "weight", "bias", "const", "const")


@register("RNN", roles=_ROLES, defaults={"direction": "forward", "layout": 0})
def rnn(view: OpView) -> OpResult:
    """RNN: mac = T · D · B · H · (I + H); see the module docstring for the other terms."""
    return _recurrent(view)


@register("GRU", roles=_ROLES, defaults={"direction": "forward", "layout": 0, "linear_before_reset": 0})
def gru(view: OpView) -> OpResult:
    """GRU: mac = T · D · B · 3H · (I + H) (``linear_before_reset`` moves r ⊙ but not the
    count); see the module docstring for the other terms.
    """
    return _recurrent(view)


@register("LSTM", roles=(*_ROLES, "const", "weight"),
          defaults={"direction": "forward", "layout": 0, "input_forget": 0})
def lstm(view: OpView) -> OpResult:
    """LSTM: mac = T · D · B · 4H · (I + H), i.e. 4·H·(I + H) per step, direction and
    sequence; see the module docstring for the other terms.
    """
    return _recurrent(view)
