#!/usr/bin/env python3
"""tests/conformance/make_vectors.py: writes vectors.txt, the cases every
implementation of the contract must agree on (docs/PROTOCOL.md,
docs/CACHING.md). Run it (PYTHONPATH=build/python) only to add cases; the
C test (tests/unit/test_conformance.c) and the Python one
(tests/python/test_conformance.py) both check the file, so a vector that
one implementation would write differently fails there.

One case per line, fields separated by one space, bytes in hex:
  value NAME WIRE CANONICAL DIGEST      a Value; its canonical encoding
  bad_value NAME WIRE                   a Value every decoder refuses
  task NAME TASK VERSION ARGS FILES DIGEST   a call's input digest
                                        (FILES "-": none)
  key NAME MODE NAMESPACE TASK CACHE_KEY DIGEST KEY   a cache key
                                        (MODE inputs or key; "-": unused)
  key_digest KEY DIGEST                 what an entry under KEY carries
  entry NAME KEY ENTRY VALUE            an entry good under KEY, packed
                                        as a writer packs it
  envelope NAME ENVELOPE                an Envelope, packed
  lock_token NAME TASK_ID ATTEMPT WORKER TOKEN   a cache lock's value
  lock_takeover NAME HELD TASK_ID ATTEMPT yes|no   whether a retry
                                        (TASK_ID, ATTEMPT) takes over a
                                        lock holding HELD (docs/CACHING.md)
  yaml NAME TEXT WIRE                   YAML text (a flow file's dialect,
                                        docs/FLOWS.md) read as a Value
  bad_yaml NAME TEXT                    YAML text every reader refuses
  hist NAME SAMPLES WIRE                a latency histogram of SAMPLES
                                        (comma-separated) as a Value on
                                        the wire: how load shares send
                                        theirs (docs/LOAD.md)

The lock and YAML cases' answers are written here by hand from YAML 1.2.2's core
schema (10.3.2), not by either reader; most are the scalars a YAML 1.1
parser (PyYAML) reads otherwise.
"""

import math
import os
import sys

from sluice import keys, values
from sluice import sluice_pb2 as pb

T = pb.ValueNode

VALUES = [
    ("null", None), ("true", True), ("false", False), ("int_0", 0),
    ("int_-1", -1), ("int_max", 2**63 - 1), ("int_min", -2**63),
    ("double_1.5", 1.5), ("double_-0.0", -0.0), ("double_1e300", 1e300),
    ("string", "hello"), ("string_utf8", "h\u00e9llo \u2603"),
    ("string_empty", ""), ("bytes", b"\x00\x01\x02"), ("bytes_empty", b""),
    ("list", [1, "a", None]), ("list_empty", []), ("map_empty", {}),
    ("nested_map", {"b": 1, "a": [True, {"y": 2, "x": 1}]}),
    ("map_prefix_keys", {"ab": 1, "a": 2, "b": 3}),
    ("deep", [[[[[[[[1]]]]]]]]),
]

BAD = [
    ("unknown_type", [pb.ValueNode(type=8)]),
    ("count_past_end", [pb.ValueNode(type=T.LIST, count=2),
                        pb.ValueNode(type=T.INT)]),
    ("scalar_with_count", [pb.ValueNode(type=T.INT, count=1),
                           pb.ValueNode(type=T.INT)]),
    ("nodes_after_end", [pb.ValueNode(type=T.INT), pb.ValueNode(type=T.INT)]),
    ("duplicate_key", [pb.ValueNode(type=T.MAP, count=2),
                       pb.ValueNode(type=T.INT, key=b"a"),
                       pb.ValueNode(type=T.INT, key=b"a")]),
    ("nul_in_key", [pb.ValueNode(type=T.MAP, count=1),
                    pb.ValueNode(type=T.INT, key=b"a\0b")]),
    ("too_deep", [pb.ValueNode(type=T.LIST, count=1)] * 65 +
     [pb.ValueNode(type=T.INT)]),
]

LOCK_TOKENS = [
    ("basic", 255, 2, "w1", "ff:2:w1"),
    ("zero", 0, 1, "host-12-ab", "0:1:host-12-ab"),
    ("max", 2**64 - 1, 2**32 - 1, "w", "ffffffffffffffff:4294967295:w"),
]

TAKEOVERS = [
    ("earlier", b"ff:1:dead", 255, 2, "yes"),
    ("same_attempt", b"ff:2:other", 255, 2, "no"),
    ("later_attempt", b"ff:3:x", 255, 2, "no"),
    ("other_task", b"fe:1:dead", 255, 2, "no"),
    ("no_worker", b"ff:1:", 255, 2, "yes"),
    ("leading_zeros", b"00ff:01:d", 255, 2, "yes"),
    ("max", b"ffffffffffffffff:4294967294:w", 2**64 - 1, 2**32 - 1, "yes"),
    ("upper_hex", b"FF:1:dead", 255, 2, "no"),
    ("prefix_0x", b"0xff:1:d", 255, 2, "no"),
    ("no_third_part", b"ff:1", 255, 2, "no"),
    ("negative", b"ff:-1:d", 255, 2, "no"),
    ("plus", b"ff:+1:d", 255, 2, "no"),
    ("space", b" ff:1:d", 255, 2, "no"),
    ("empty", b"", 255, 2, "no"),
    ("not_a_token", b"not a token", 255, 2, "no"),
    ("id_over_64_bits", b"10000000000000000:1:d", 0, 2, "no"),
    ("attempt_over_32_bits", b"ff:4294967296:d", 255, 2, "no"),
]

YAML = [
    ("null_tilde", "~", None), ("null", "null", None),
    ("null_title", "Null", None), ("null_upper", "NULL", None),
    ("empty", "", None), ("empty_in_map", "k:\n", {"k": None}),
    ("true", "true", True), ("true_title", "True", True),
    ("true_upper", "TRUE", True), ("false_upper", "FALSE", False),
    ("yes", "yes", "yes"), ("no", "no", "no"), ("on", "on", "on"),
    ("off", "off", "off"), ("y", "y", "y"),
    ("int", "42", 42), ("int_signed", "+5", 5), ("int_negative", "-17", -17),
    ("int_leading_zero", "017", 17), ("octal", "0o17", 15),
    ("hex", "0x10", 16), ("hex_mixed", "0xfF", 255),
    ("int_max", "9223372036854775807", 2**63 - 1),
    ("hex_upper_x", "0X10", "0X10"), ("octal_bad_digit", "0o8", "0o8"),
    ("hex_signed", "-0x10", "-0x10"), ("binary", "0b101", "0b101"),
    ("underscores", "1_000", "1_000"), ("sexagesimal", "12:30", "12:30"),
    ("float", "1.5", 1.5), ("exponent", "1e3", 1000.0),
    ("exponent_signed", "-1.5E+3", -1500.0), ("point_first", ".5", 0.5),
    ("point_last", "1.", 1.0), ("exponent_small", "+.5e-3", 0.0005),
    ("exponent_bare", "1e", "1e"), ("point", ".", "."),
    ("two_points", "1.2.3", "1.2.3"),
    ("inf", ".inf", math.inf), ("inf_neg", "-.Inf", -math.inf),
    ("inf_pos", "+.INF", math.inf), ("nan", ".NaN", math.nan),
    ("inf_word", "inf", "inf"), ("nan_word", "nan", "nan"),
    ("infinity", "Infinity", "Infinity"),
    ("date", "2024-01-01", "2024-01-01"),
    ("timestamp", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
    ("quoted_int", "'10'", "10"), ("quoted_true", '"true"', "true"),
    ("tag_str", "!!str 10", "10"), ("tag_str_bool", "!!str true", "true"),
    ("tag_nonspecific", "! 10", "10"), ("tag_int_quoted", "!!int '10'", 10),
    ("tag_float_int", "!!float 1", 1.0), ("tag_bool", "!!bool TRUE", True),
    ("tag_null_empty", "!!null ''", None),
    ("tag_seq_map", "!!map {a: !!seq [1]}", {"a": [1]}),
    ("tags_in_list", "[!!str 017, 017]", ["017", 17]),
    ("merge_key_is_a_string", "{<<: {a: 1}, b: 2}", {"<<": {"a": 1}, "b": 2}),
    ("keys_are_their_text", "{1: a, true: b, ~: c}",
     {"1": "a", "true": "b", "~": "c"}),
    ("alias", "[&a x, *a, &b [1, 2], *b]", ["x", "x", [1, 2], [1, 2]]),
    ("json", '{"a": [1, 2.5, "x", true, null]}',
     {"a": [1, 2.5, "x", True, None]}),
]

BAD_YAML = [
    ("tag_timestamp", "!!timestamp 2024-01-01"),
    ("tag_binary", "!!binary aGk="), ("tag_local", "!point 1"),
    ("tag_int_not_int", "!!int abc"), ("tag_int_float", "!!int 1.5"),
    ("tag_bool_yes", "!!bool yes"), ("tag_null_text", "!!null x"),
    ("tag_float_text", "!!float abc"), ("tag_set", "!!set {a: null}"),
    ("tag_omap", "!!omap [a: 1]"), ("tag_on_key", "{!!timestamp 1: a}"),
    ("int_over", "9223372036854775808"),
    ("hex_over", "0x8000000000000000"),
    ("duplicate_key", "{a: 1, a: 2}"),
    ("duplicate_key_by_text", "{1: a, '1': b}"),
    ("list_key", "{[1]: a}"), ("syntax", "[1,"),
    ("undefined_alias", "[*a]"),
]

TASKS = [
    ("add_numbers", "add_numbers", 1, [5, 10], None),
    ("no_args", "now", 3, [], None),
    ("nested_args", "merge", 2, [{"b": [1, 2.5]}, "x", None], None),
    ("with_files", "wordcount", 1, ["a.txt"],
     [["a.txt", keys.blake2b(b"15000 words\n")]]),
    ("program", "exec", 1, [["wc", "-w", "a.txt"], [], {}, "json"],
     [["$program", keys.blake2b(b"prog")],
      ["a.txt", keys.blake2b(b"15000 words\n")]]),
]


# Histograms: exact below 256; above, 128 buckets per power of two
# (docs/LOAD.md, "The histogram on the wire"). Written here from that
# text, not from common/hist.c.
HISTS = [
    ("empty", []),
    ("exact", [0, 1, 1, 255]),
    ("log_linear", [256, 257, 258, 259, 1000, 1003, 1004, 65535, 65536,
                    10 ** 6, 10 ** 9, 2 ** 62 + 12345]),
]


def bucket_low(v):
    if v < 256:
        return v
    shift = v.bit_length() - 1 - 7
    return (v >> shift) << shift


def hist_value(samples):
    lows = {}
    for v in samples:
        lows[bucket_low(v)] = lows.get(bucket_low(v), 0) + 1
    buckets = []
    for low in sorted(lows):
        buckets += [low, lows[low]]
    return {"count": len(samples), "min": min(samples, default=0),
            "max": max(samples, default=0), "sum": float(sum(samples)),
            "buckets": buckets}


def hx(b):
    return b.hex() if b else "-"


def envelopes():
    flow = pb.Flow(name="f", cache_namespace="default", ttl_ms=3600000)
    node = flow.nodes.add(name="add", task="add_numbers", version=1,
                          cache=pb.FlowNode.KEY, cache_key="add_numbers")
    node.args.CopyFrom(values.to_wire([5, "$params.x"]))
    flow.params.add(name="x", value=values.to_wire(10))
    task = pb.Task(task_id=255, attempt=2, lease_ms=3000, name="add",
                   version=1, args=values.to_wire([1, 2]),
                   cache=pb.FlowNode.INPUTS, cache_namespace="default",
                   ttl_ms=-1)
    result = pb.Result(task_id=255, attempt=2, value=values.to_wire(3),
                       cache=pb.Result.MISS, duration_us=12,
                       cache_key="sluice:v1:default:k", version=1)
    failed = pb.Result(task_id=256, attempt=1, status=pb.Result.ERROR,
                       error="ValueError: no", failure=pb.Result.TASK_ERROR)
    progress = values.to_wire({"sent": 3, "answered": 2})
    event = pb.Event(run_id="r1", node="share-0", kind=pb.Event.PROGRESS,
                     worker_id="w1", total=2, value=progress)
    return [
        ("progress", pb.Envelope(version=1, progress=pb.Progress(
            task_id=255, attempt=2, value=progress))),
        ("events_progress", pb.Envelope(version=1, events=pb.EventBatch(
            events=[event]))),
        ("submit", pb.Envelope(version=1, submit=pb.Submit(
            flow=flow, events=True, worker_wait_ms=5000))),
        ("ready", pb.Envelope(version=1, ready=pb.Ready(
            worker_id="w1", tasks=[pb.TaskRef(name="add", version=1)],
            slots=2, hostname="h", pid=42, incarnation="0123456789abcdef"))),
        ("heartbeat", pb.Envelope(version=1, heartbeat=pb.Heartbeat(
            held_task_ids=[255, 256], draining=True))),
        ("task_batch", pb.Envelope(version=1, tasks=pb.TaskBatch(
            tasks=[task], lanes=True))),
        ("result_batch", pb.Envelope(version=1, results=pb.ResultBatch(
            results=[result, failed], incarnation="0123456789abcdef"))),
        ("cancel_tasks", pb.Envelope(version=1, cancel_tasks=pb.CancelTasks(
            task_ids=[255]))),
        ("disconnect", pb.Envelope(version=1, disconnect=pb.Disconnect(
            reason="stopping"))),
        ("error", pb.Envelope(version=1, error=pb.Error(
            reason="unknown worker: send READY first",
            code=pb.Error.UNKNOWN_PEER))),
    ]


def main(out):
    print("# tests/conformance/vectors.txt: written by make_vectors.py; "
          "see there.", file=out)
    for name, v in VALUES:
        wire = values.to_wire(v).SerializeToString()
        canon = values.canonical(v)
        print("value", name, hx(wire), hx(canon), hx(keys.blake2b(canon)),
              file=out)
    for name, nodes in BAD:
        print("bad_value", name, hx(pb.Value(nodes=nodes)
                                    .SerializeToString()), file=out)
    for name, task, version, args, files in TASKS:
        print("task", name, task, version,
              hx(values.to_wire(args).SerializeToString()),
              hx(values.to_wire(files).SerializeToString()) if files
              else "-",
              hx(keys.task_digest(task, version, args, files)), file=out)
    d = keys.task_digest("add_numbers", 1, [5, 10])
    for name, mode, ns, task, ck, digest, key in [
            ("inputs", "inputs", "default", "add_numbers", None, d,
             keys.inputs_key("default", "add_numbers", d)),
            ("explicit", "key", "default", None, "add_numbers", None,
             keys.explicit_key("default", "add_numbers")),
            ("namespace", "key", "team.a", None, "report:2026",
             None, keys.explicit_key("team.a", "report:2026"))]:
        print("key", name, mode, ns, task or "-", ck or "-", hx(digest),
              key, file=out)
    for key in ["sluice:v1:default:add_numbers",
                keys.inputs_key("default", "add_numbers", d)]:
        print("key_digest", key, hx(keys.key_digest(key)), file=out)
    entry = pb.CacheEntry(
        format=2, value=values.to_wire(15), task="add_numbers", version=1,
        input_digest=d, arg_digests=keys.arg_digests([5, 10]),
        created_ms=1796524443527, expires_ms=1796528043527, duration_us=2,
        producer="w1", key_digest=keys.key_digest(
            "sluice:v1:default:add_numbers"))
    print("entry", "seed", "sluice:v1:default:add_numbers",
          hx(entry.SerializeToString()),
          hx(values.to_wire(15).SerializeToString()), file=out)
    forever = pb.CacheEntry(
        format=2, value=values.to_wire({"rows": [1, 2]}), task="t",
        version=3, input_digest=keys.task_digest("t", 3, []),
        created_ms=1, expires_ms=0, duration_us=0, producer="p",
        key_digest=keys.key_digest("sluice:v1:ns:t:x"))
    print("entry", "forever_no_args", "sluice:v1:ns:t:x",
          hx(forever.SerializeToString()),
          hx(values.to_wire({"rows": [1, 2]}).SerializeToString()),
          file=out)
    for name, env in envelopes():
        print("envelope", name, hx(env.SerializeToString()), file=out)
    for name, samples in HISTS:
        print("hist", name, ",".join(str(s) for s in samples) or "-",
              hx(values.to_wire(hist_value(samples)).SerializeToString()),
              file=out)
    for name, task_id, attempt, worker, token in LOCK_TOKENS:
        print("lock_token", name, task_id, attempt, worker, token, file=out)
    for name, held, task_id, attempt, yes in TAKEOVERS:
        print("lock_takeover", name, hx(held), task_id, attempt, yes,
              file=out)
    for name, text, v in YAML:
        print("yaml", name, hx(text.encode()) if text else "-",
              hx(values.to_wire(v).SerializeToString()), file=out)
    for name, text in BAD_YAML:
        print("bad_yaml", name, hx(text.encode()), file=out)


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "vectors.txt")
    with open(path, "w") as f:
        main(f)
    print(f"wrote {path}", file=sys.stderr)
