"""sluice.values, sluice.keys, sluice.entries: the contract's encodings.
The golden digests are those docs/CACHING.md and the C unit tests pin;
the canonical encoding is also checked against tests/unit/digest_vectors.py
(written from the docs' grammar alone); the wire decoder refuses each
malformed Value docs/PROTOCOL.md lists, saying where."""

import math
import os
import sys

import pytest

from conftest import SRC
from sluice import entries, keys, values
from sluice import sluice_pb2 as pb

sys.path.insert(0, os.path.join(SRC, "tests/unit"))
import digest_vectors  # noqa: E402

T = pb.ValueNode


@pytest.mark.parametrize("name,v", digest_vectors.VECTORS)
def test_canonical_encoding_matches_the_reference(name, v):
    assert values.canonical(v) == digest_vectors.canon(v), name


def test_golden_keys_and_digests():
    d = keys.task_digest("add_numbers", 1, [5, 10])
    assert d.hex() == ("4f54fafdb0335ef832b4bcdb78a23e70c07f753ba76bb808"
                       "2670be9be8b6c3fa")
    assert keys.inputs_key("default", "add_numbers", d) == (
        "sluice:v1:default:add_numbers:4f54fafdb0335ef832b4bcdb78a23e70c07f"
        "753ba76bb8082670be9be8b6c3fa")
    words = keys.blake2b(b"15000 words\n")
    assert keys.task_digest("wordcount", 1, ["a.txt"],
                            [("a.txt", words)]).hex() == (
        "5d508ce3e30792888777c220aab27b31def2053bdbde4c3ee09b2cd497ecdc6d")
    assert keys.task_digest(
        "exec", 1, [["wc", "-w", "a.txt"], [], {}, "json"],
        [("$program", keys.blake2b(b"prog")), ("a.txt", words)]).hex() == (
        "42fc67245dd554177d38312891abafc97ca25770f8f2adc21b63af92f01bf96f")
    assert keys.key_digest("sluice:v1:default:add_numbers").hex() == (
        "74747aced079b8cdad311f7c35241b1d349ddcb8b34a3edf6ef46558e58d381e")


def test_one_and_one_point_zero_have_different_keys():
    assert keys.task_digest("t", 1, [1]) != keys.task_digest("t", 1, [1.0])
    assert keys.task_digest("t", 1, [0.0]) == keys.task_digest("t", 1, [-0.0])
    assert keys.task_digest("t", 1, ["a"]) != keys.task_digest("t", 1, [b"a"])
    assert keys.task_digest("t", 1, [{"a": 1, "b": 2}]) == \
        keys.task_digest("t", 1, [{"b": 2, "a": 1}])


def test_wire_values_round_trip_in_pre_order():
    v = [1, {"a": True}, None, 1.5, "s", b"\x00b", [], {}]
    msg = values.to_wire(v)
    assert [n.type for n in msg.nodes[:4]] == [T.LIST, T.INT, T.MAP, T.BOOL]
    assert msg.nodes[3].key == b"a"
    out = values.from_wire(pb.Value.FromString(msg.SerializeToString()))
    assert out == v
    assert math.isnan(values.from_wire(values.to_wire(float("nan"))))
    assert values.from_wire(pb.Value()) is None


def node(t, **kw):
    return pb.ValueNode(type=t, **kw)


@pytest.mark.parametrize("nodes,why", [
    ([node(7 + 1)], "unknown type"),
    ([node(T.LIST, count=2), node(T.INT)], "larger than the nodes left"),
    ([node(T.INT, count=1), node(T.INT)], "a scalar with count"),
    ([node(T.INT), node(T.INT)], "nodes after the value ends"),
    ([node(T.MAP, count=2), node(T.INT, key=b"a"), node(T.INT, key=b"a")],
     "appears twice"),
    ([node(T.MAP, count=1), node(T.INT, key=b"a\0b")], "NUL"),
    ([node(T.STRING, s=b"\xff")], "not UTF-8"),
    ([node(T.LIST, count=1)] * 65 + [node(T.INT)], "deeper than 64"),
])
def test_malformed_values_are_refused_saying_why(nodes, why):
    msg = pb.Value(nodes=nodes)
    with pytest.raises(ValueError, match=why):
        values.from_wire(msg)


@pytest.mark.parametrize("v,where", [
    (object(), "value: a object is not a sluice value"),
    ([1, {"k": {1, 2}}], "value[1]['k']: a set"),
    ({1: "x"}, "map key 1 is a int"),
    (2**63, "does not fit in 64 bits"),
])
def test_python_values_sluice_cannot_hold_are_named(v, where):
    with pytest.raises(ValueError, match=where.replace("[", r"\[")
                       .replace("]", r"\]")):
        values.check(v)


def test_entries_are_checked_before_they_answer():
    key = "sluice:v1:default:k"
    data = entries.encode(key, "t", 1, [1], {"r": [1, 2]}, 5, "p", 1000)
    e, v = entries.decode(key, data)
    assert v == {"r": [1, 2]} and e.task == "t" and e.version == 1
    assert e.expires_ms - e.created_ms == 1000
    with pytest.raises(entries.Rejected) as err:
        entries.decode("sluice:v1:default:other", data)
    assert err.value.reason == "other_key"
    with pytest.raises(entries.Rejected) as err:
        entries.decode(key, b"\xff\xff")
    assert err.value.reason == "corrupt"
    old = pb.CacheEntry.FromString(data)
    old.format = 1
    with pytest.raises(entries.Rejected, match="format 1"):
        entries.decode(key, old.SerializeToString())
    with pytest.raises(entries.Rejected) as err:
        entries.decode(key, b"x" * (entries.READ_MAX_BYTES + 1))
    assert err.value.reason == "too_large"
    with pytest.raises(entries.TooLarge):
        entries.encode(key, "t", 1, [], "x" * (1 << 20), 0, "p", None)
