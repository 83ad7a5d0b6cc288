"""The seed example (examples/python/seed.py), as written: a first run
computes 15 into Redis, a second in a new process is served from it, and
C's `sluice run` of examples/seed.yaml is served the same entry, and the
other way round: the keys and entries are the C workers' own."""

import json
import os

from conftest import PLUGIN, SRC, run_python, sluice

SEED = os.path.join(SRC, "examples/python/seed.py")
SEED_YAML = os.path.join(SRC, "examples/seed.yaml")
KEY = b"sluice:v1:default:add_numbers"


def c_run(url, calls):
    r = sluice("run", "--local", "--json", "--quiet", "--cache", url,
               "--tasks", PLUGIN, SEED_YAML,
               env={"SLUICE_EXAMPLE_CALLS": str(calls)})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["nodes"][0]


def test_seed_computes_then_is_served_from_redis(redis_server, tmp_path):
    env = {"SLUICE_CACHE_URL": redis_server.url}
    first = run_python(SEED, env)
    assert first.returncode == 0, first.stderr
    assert "add_numbers: 15, computed" in first.stderr
    assert "0 of 1 tasks from the cache" in first.stderr
    assert redis_server.client.exists(KEY)
    second = run_python(SEED, env)
    assert second.returncode == 0, second.stderr
    assert "add_numbers: 15, from the cache" in second.stderr
    assert "1 of 1 tasks from the cache" in second.stderr
    # C workers are served the entry Python wrote: not computed again
    calls = tmp_path / "calls"
    node = c_run(redis_server.url, calls)
    assert node["cached"] == 1
    assert node["value"] == 15
    assert not calls.exists()


def test_c_entry_serves_the_python_seed(redis_server, tmp_path):
    calls = tmp_path / "calls"
    node = c_run(redis_server.url, calls)
    assert node["cached"] == 0 and node["value"] == 15
    assert calls.read_text().split() == ["add_numbers"]
    run = run_python(SEED, {"SLUICE_CACHE_URL": redis_server.url})
    assert run.returncode == 0, run.stderr
    assert "add_numbers: 15, from the cache" in run.stderr


def test_entries_are_packed_as_c_packs_them(redis_server, tmp_path):
    """A C worker's entry, decoded and packed again by Python's protobuf,
    is the same bytes; so is Python's own entry."""
    from sluice import sluice_pb2 as pb
    c_run(redis_server.url, tmp_path / "calls")
    data = redis_server.client.get(KEY)
    e = pb.CacheEntry()
    e.ParseFromString(data)
    assert e.SerializeToString() == data
    assert e.format == 2 and e.task == "add_numbers" and e.version == 1
    redis_server.client.delete(KEY)
    run = run_python(SEED, {"SLUICE_CACHE_URL": redis_server.url})
    assert run.returncode == 0, run.stderr
    mine = pb.CacheEntry()
    mine.ParseFromString(redis_server.client.get(KEY))
    # the fields a C worker fills, and only those
    assert [f.name for f, _ in mine.ListFields()] == \
        [f.name for f, _ in e.ListFields()]
    assert mine.input_digest == e.input_digest
    assert list(mine.arg_digests) == list(e.arg_digests)
    assert mine.key_digest == e.key_digest
    assert mine.value == e.value
