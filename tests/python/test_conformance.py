"""The Python implementation against tests/conformance/vectors.txt, the
cases C's tests/unit/test_conformance.c checks too: values both ways and
canonically, refused values, input digests, keys, key digests, entries
(read under their key, and packed to the same bytes), envelopes (parsed
and packed to the same bytes), lock tokens and the takeover rule, and
YAML read by the flow file's dialect."""

import os

import pytest

from conftest import SRC
from sluice import entries, keys, serve, values, yamlcore
from sluice import sluice_pb2 as pb


def cases(kind):
    path = os.path.join(SRC, "tests/conformance/vectors.txt")
    with open(path) as f:
        rows = [line.split() for line in f if not line.startswith("#")]
    out = [r[1:] for r in rows if r and r[0] == kind]
    assert out, f"no {kind} vectors"
    return out


def unhex(s):
    return b"" if s == "-" else bytes.fromhex(s)


@pytest.mark.parametrize("name,wire,canon,digest", cases("value"))
def test_value(name, wire, canon, digest):
    v = values.from_wire(pb.Value.FromString(unhex(wire)))
    assert values.to_wire(v).SerializeToString() == unhex(wire), name
    assert values.canonical(v) == unhex(canon), name
    assert keys.blake2b(unhex(canon)) == unhex(digest), name


@pytest.mark.parametrize("name,wire", cases("bad_value"))
def test_bad_value(name, wire):
    with pytest.raises(ValueError):
        values.from_wire(pb.Value.FromString(unhex(wire)))


@pytest.mark.parametrize("name,task,version,args,files,digest",
                         cases("task"))
def test_task_digest(name, task, version, args, files, digest):
    a = values.from_wire(pb.Value.FromString(unhex(args)))
    f = values.from_wire(pb.Value.FromString(unhex(files))) \
        if files != "-" else None
    assert keys.task_digest(task, int(version), a, f) == unhex(digest), name


@pytest.mark.parametrize("name,mode,ns,task,cache_key,digest,key",
                         cases("key"))
def test_key(name, mode, ns, task, cache_key, digest, key):
    if mode == "inputs":
        assert keys.inputs_key(ns, task, unhex(digest)) == key
    else:
        assert keys.explicit_key(ns, cache_key) == key


@pytest.mark.parametrize("key,digest", cases("key_digest"))
def test_key_digest(key, digest):
    assert keys.key_digest(key) == unhex(digest)


@pytest.mark.parametrize("name,key,entry,value", cases("entry"))
def test_entry(name, key, entry, value):
    e, v = entries.decode(key, unhex(entry))
    assert values.to_wire(v).SerializeToString() == unhex(value)
    assert e.SerializeToString() == unhex(entry)
    with pytest.raises(entries.Rejected):
        entries.decode(key + "x", unhex(entry))


@pytest.mark.parametrize("name,envelope", cases("envelope"))
def test_envelope(name, envelope):
    env = pb.Envelope.FromString(unhex(envelope))
    assert env.version == 1 and env.WhichOneof("body") is not None
    assert env.SerializeToString() == unhex(envelope)


@pytest.mark.parametrize("name,task_id,attempt,worker,token",
                         cases("lock_token"))
def test_lock_token(name, task_id, attempt, worker, token):
    assert serve.lock_token(int(task_id), int(attempt), worker) == token
    lock = serve.Lock(None, "k", int(task_id), int(attempt), worker)
    assert lock.token == token and lock.key == "k:lock"


@pytest.mark.parametrize("name,held,task_id,attempt,yes",
                         cases("lock_takeover"))
def test_lock_takeover(name, held, task_id, attempt, yes):
    assert serve.is_earlier_attempt(unhex(held), int(task_id),
                                    int(attempt)) == (yes == "yes"), name


@pytest.mark.parametrize("name,text,wire", cases("yaml"))
def test_yaml(name, text, wire):
    v = yamlcore.load(unhex(text).decode())
    assert values.to_wire(v).SerializeToString() == unhex(wire), name


@pytest.mark.parametrize("name,text", cases("bad_yaml"))
def test_bad_yaml(name, text):
    with pytest.raises(yamlcore.YamlError) as e:
        yamlcore.load(unhex(text).decode())
    # names where: "value 'TEXT':LINE:COLUMN: ..."
    assert str(e.value).startswith("value '"), str(e.value)
