"""Protobuf wire-format encoding, for ONNX files ``onnx.helper`` cannot build.

The fuzzer and the tests nest subgraphs deeper than Python's protobuf will
serialize, and the benchmarks stream weight payloads of hundreds of MB without
holding them in memory; both write the encoding by hand with these two pieces.
"""

from __future__ import annotations


def varint(value: int) -> bytes:
    """``value`` (non-negative) as a protobuf base-128 varint."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): tag, length, payload."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload
