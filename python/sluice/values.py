"""sluice.values: Python values as sluice values.

A sluice value is null, a bool, a 64-bit int, a double, a UTF-8 string,
bytes, a list or a map with string keys (docs/PROTOCOL.md, "Values"). In
Python: None, bool, int, float, str, bytes, list (a tuple is sent as a
list) and dict with str keys. Anything else is refused with a
ValueError that says where in the value it is.

Two encodings, both in the contract:
- the wire's: a flat Value message, its nodes in pre-order;
- the canonical bytes the cache keys are digests of (docs/CACHING.md,
  "Canonical encoding").
"""

import math
import struct

from . import sluice_pb2 as pb

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 64
MAX_NODES = 1 << 20

_T = pb.ValueNode


def check(value, where="value"):
    """Raises ValueError naming the part of value that sluice cannot hold."""
    _walk(value, where, 0)


def _walk(v, where, depth):
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_DEPTH}")
    if v is None or isinstance(v, (bool, float, str, bytes)):
        return
    if isinstance(v, int):
        if not INT_MIN <= v <= INT_MAX:
            raise ValueError(f"{where}: {v} does not fit in 64 bits")
        return
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _walk(x, f"{where}[{i}]", depth + 1)
        return
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValueError(
                    f"{where}: map key {k!r} is a {type(k).__name__}, "
                    "not a str")
            if "\0" in k:
                raise ValueError(f"{where}: map key {k!r} holds a NUL")
            _walk(x, f"{where}[{k!r}]", depth + 1)
        return
    raise ValueError(
        f"{where}: a {type(v).__name__} is not a sluice value (None, bool, "
        "int, float, str, bytes, list or dict with str keys)")


# ---- canonical bytes (cache keys) -----------------------------------------

def canonical(v):
    """The canonical encoding of v: what cache keys are BLAKE2b digests of."""
    out = bytearray()
    _canon(v, out)
    return bytes(out)


def _canon(v, out):
    if v is None:
        out += b"N"
    elif v is True:
        out += b"T"
    elif v is False:
        out += b"F"
    elif isinstance(v, int):
        out += b"I" + struct.pack(">q", v)
    elif isinstance(v, float):
        if math.isnan(v):
            out += b"D" + bytes.fromhex("7ff8000000000000")
        else:
            out += b"D" + struct.pack(">d", 0.0 if v == 0.0 else v)
    elif isinstance(v, str):
        b = v.encode()
        out += b"S" + struct.pack(">Q", len(b)) + b
    elif isinstance(v, bytes):
        out += b"B" + struct.pack(">Q", len(v)) + v
    elif isinstance(v, (list, tuple)):
        out += b"L" + struct.pack(">Q", len(v))
        for x in v:
            _canon(x, out)
    elif isinstance(v, dict):
        out += b"M" + struct.pack(">Q", len(v))
        for k in sorted(v, key=lambda k: k.encode()):
            _canon(k, out)
            _canon(v[k], out)
    else:
        check(v)  # raises, saying where


# ---- the wire's Value message ---------------------------------------------

def to_wire(v, where="value"):
    """A Value message holding v (checked first)."""
    check(v, where)
    msg = pb.Value()
    _fill(msg.nodes, v, None)
    return msg


def _fill(nodes, v, key):
    n = nodes.add()
    if key is not None:
        n.key = key.encode()
    if v is None:
        n.type = _T.NULL
    elif isinstance(v, bool):
        n.type, n.b = _T.BOOL, v
    elif isinstance(v, int):
        n.type, n.i = _T.INT, v
    elif isinstance(v, float):
        # -0.0 goes as 0.0, as C sends it (proto3 leaves out a double that
        # equals 0); the two share a key anyway
        n.type, n.d = _T.DOUBLE, 0.0 if v == 0.0 else v
    elif isinstance(v, str):
        n.type, n.s = _T.STRING, v.encode()
    elif isinstance(v, bytes):
        n.type, n.s = _T.BYTES, v
    elif isinstance(v, dict):
        n.type, n.count = _T.MAP, len(v)
        for k, x in v.items():
            _fill(nodes, x, k)
    else:
        n.type, n.count = _T.LIST, len(v)
        for x in v:
            _fill(nodes, x, None)


def from_wire(msg):
    """The Python value of a Value message; ValueError if it is malformed
    (the checks of docs/PROTOCOL.md). An empty Value is None."""
    nodes = msg.nodes
    if not nodes:
        return None
    if len(nodes) > MAX_NODES:
        raise ValueError(f"value: more than {MAX_NODES} nodes")
    pos = 0

    def scalar(n):
        t = n.type
        if t == _T.NULL:
            return None
        if t == _T.BOOL:
            return n.b
        if t == _T.INT:
            return n.i
        if t == _T.DOUBLE:
            return n.d
        if t == _T.STRING:
            try:
                return n.s.decode()
            except UnicodeDecodeError:
                raise ValueError(f"value: node {pos}: a string that is not "
                                 "UTF-8") from None
        if t == _T.BYTES:
            return bytes(n.s)
        raise ValueError(f"value: node {pos}: unknown type {t}")

    # an explicit stack of open containers: [container, children left]
    root = None
    stack = []
    while pos < len(nodes):
        n = nodes[pos]
        if n.type in (_T.LIST, _T.MAP):
            if n.count > len(nodes) - pos - 1:
                raise ValueError(f"value: node {pos}: count {n.count} is "
                                 "larger than the nodes left")
            v = [] if n.type == _T.LIST else {}
        else:
            if n.count:
                raise ValueError(f"value: node {pos}: a scalar with count "
                                 f"{n.count}")
            v = scalar(n)
        if stack:
            parent = stack[-1]
            if isinstance(parent[0], dict):
                k = bytes(n.key)
                if b"\0" in k:
                    raise ValueError(f"value: node {pos}: map key holds NUL")
                try:
                    k = k.decode()
                except UnicodeDecodeError:
                    raise ValueError(f"value: node {pos}: map key is not "
                                     "UTF-8") from None
                if k in parent[0]:
                    raise ValueError(f"value: node {pos}: map key {k!r} "
                                     "appears twice")
                parent[0][k] = v
            else:
                parent[0].append(v)
            parent[1] -= 1
        else:
            root = v
        pos += 1
        if n.type in (_T.LIST, _T.MAP) and n.count:
            if len(stack) >= MAX_DEPTH:
                raise ValueError(f"value: nested deeper than {MAX_DEPTH}")
            stack.append([v, n.count])
        while stack and stack[-1][1] == 0:
            stack.pop()
        if not stack and pos < len(nodes):
            raise ValueError(f"value: node {pos}: nodes after the value ends")
    if stack:
        raise ValueError("value: ends inside a container")
    return root
