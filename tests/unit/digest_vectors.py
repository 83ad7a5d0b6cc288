#!/usr/bin/env python3
"""tests/unit/digest_vectors.py: an independent reference for the canonical
encoding (common/digest.c) written from its documented grammar, used to
derive the golden vectors pinned in test_digest.c. Run it to print them;
CI does not need it (the vectors are pinned in C)."""
import hashlib
import math
import struct


def canon(v):
    if v is None:
        return b"N"
    if v is True:
        return b"T"
    if v is False:
        return b"F"
    if isinstance(v, int):
        return b"I" + struct.pack(">q", v)
    if isinstance(v, float):
        if v == 0.0:
            v = 0.0
        if math.isnan(v):
            return b"D" + bytes.fromhex("7ff8000000000000")
        return b"D" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return b"S" + struct.pack(">Q", len(b)) + b
    if isinstance(v, bytes):
        return b"B" + struct.pack(">Q", len(v)) + v
    if isinstance(v, list):
        return b"L" + struct.pack(">Q", len(v)) + b"".join(canon(x) for x in v)
    if isinstance(v, dict):
        out = b"M" + struct.pack(">Q", len(v))
        for k in sorted(v, key=lambda k: k.encode()):
            out += canon(k) + canon(v[k])
        return out
    raise TypeError(v)


def digest(v):
    return hashlib.blake2b(canon(v), digest_size=32).hexdigest()


def task_digest(task, version, args):
    data = b"sluice-task-v1" + b"L" + struct.pack(">Q", 3) + canon(task) + \
        canon(version) + canon(args)
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def task_files_digest(task, version, args, files):
    """A task that reads files (inputs, a program's own file): the list of
    [name, content digest] pairs is encoded after the call."""
    data = b"sluice-task-v1" + b"L" + struct.pack(">Q", 3) + canon(task) + \
        canon(version) + canon(args)
    if files:
        data += canon(files)
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def file_digest(content):
    return hashlib.blake2b(content, digest_size=32).digest()


def key_digest(key):
    """What a cache entry stored under key carries (CacheEntry.key_digest)."""
    return hashlib.blake2b(b"sluice-key-v1" + key.encode(),
                           digest_size=32).hexdigest()


VECTORS = [
    ("null", None),
    ("true", True),
    ("false", False),
    ("int 0", 0),
    ("int -1", -1),
    ("int max", 2**63 - 1),
    ("int min", -2**63),
    ("double 1.5", 1.5),
    ("double -0.0", -0.0),
    ("double nan", float("nan")),
    ("string", "hello"),
    ("bytes", b"\x00\x01\x02"),
    ("list", [1, "a", None]),
    ("nested map", {"b": 1, "a": [True, {"y": 2, "x": 1}]}),
]

if __name__ == "__main__":
    for name, v in VECTORS:
        print(f"{name:12} {digest(v)}")
    print(f"{'task':12} {task_digest('add_numbers', 1, [5, 10])}")
    words = file_digest(b"15000 words\n")
    print(f"{'file':12} {words.hex()}")
    print(f"{'exec files':12} " + task_files_digest(
        "exec", 1, [["wc", "-w", "a.txt"], [], {}, "json"],
        [["$program", file_digest(b"prog")], ["a.txt", words]]))
    print(f"{'task files':12} " + task_files_digest(
        "wordcount", 1, ["a.txt"], [["a.txt", words]]))
    for key in ["sluice:v1:default:add_numbers",
                "sluice:v1:default:add_numbers:" +
                task_digest("add_numbers", 1, [5, 10])]:
        print(f"{'key':12} {key_digest(key)}  {key}")
