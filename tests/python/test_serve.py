"""sluice.serve: how a Python worker answers one Task, against a real
Redis: miss then hit, refresh, cache none, an unknown task or bad args,
a result that is not a sluice value; and the lock: taken on a miss,
released with the entry, an earlier attempt's taken over, another's
waited for until its entry appears."""

import threading
import time

import pytest

from sluice import RedisCache, entries, keys, task, values
from sluice import sluice_pb2 as pb
from sluice.serve import SEND_NOW, Lock, Server

R = pb.Result


@task
def add(a, b):
    return a + b


@task
def odd():
    return {1, 2}


@task
def nothing(x):
    return None


@pytest.fixture
def server(redis_server):
    return Server({"add": add, "odd": odd, "nothing": nothing}, "py-w1",
                  redis_server.url)


def ask(server, name="add", args=(2, 3), **fields):
    t = pb.Task(task_id=7, attempt=1, name=name, ttl_ms=60000,
                args=values.to_wire(list(args)), **fields)
    return R.FromString(server.answer(t.SerializeToString()))


def test_a_miss_is_computed_and_stored_then_hit(server, redis_server):
    r = ask(server)
    assert (r.status, r.cache, values.from_wire(r.value)) == (R.OK, R.MISS,
                                                              5)
    key = keys.inputs_key("default", "add", keys.task_digest("add", 1,
                                                             [2, 3]))
    assert r.cache_key == key and r.version == 1
    e, v = entries.decode(key, redis_server.client.get(key))
    assert v == 5 and e.producer == "py-w1"
    assert not redis_server.client.exists(key + ":lock")
    hit = ask(server)
    assert hit.cache == R.HIT and values.from_wire(hit.value) == 5
    assert ask(server, refresh=True).cache == R.REFRESHED
    none = ask(server, cache=pb.FlowNode.NONE)
    assert none.cache == R.SKIPPED and not none.cache_key


def test_what_a_worker_cannot_answer_fails_saying_why(server):
    r = ask(server, name="nope")
    assert r.status == R.ERROR and "no task nope" in r.error
    r = ask(server, version=9)
    assert "no task add@9" in r.error
    t = pb.Task(task_id=1, attempt=1, name="add",
                args=pb.Value(nodes=[pb.ValueNode(type=pb.ValueNode.LIST,
                                                  count=3)]))
    r = R.FromString(server.answer(t.SerializeToString()))
    assert "bad args: value: node 0: count 3" in r.error
    r = ask(server, name="odd", args=())
    assert "task odd: result: a set is not a sluice value" in r.error
    r = ask(server, args=(1,))
    assert r.failure == R.TASK_ERROR and "TypeError" in r.error


def test_the_lock_of_an_earlier_attempt_is_taken_over(redis_server):
    cache = RedisCache(port=redis_server.port)
    r = redis_server.client
    r.set("k:lock", "7:1:dead-worker", px=5000)
    lock = Lock(cache, "k", 7, 2, "w2")
    assert lock.take() is False and lock.held
    assert r.get("k:lock") == b"7:2:w2"
    lock.release()  # no entry: compare-and-delete, its own token
    assert not r.exists("k:lock")


def test_another_tasks_lock_is_waited_for_until_its_entry(redis_server):
    cache = RedisCache(port=redis_server.port)
    r = redis_server.client
    r.set("k:lock", "8:1:other", px=5000)
    threading.Timer(0.1, lambda: r.set("k", b"entry")).start()
    lock = Lock(cache, "k", 7, 1, "w1")
    t0 = time.monotonic()
    assert lock.take() is True and not lock.held
    assert 0.05 < time.monotonic() - t0 < 2
    lock.release()  # not held: leaves the other's lock alone
    assert r.get("k:lock") == b"8:1:other"


class Counting(RedisCache):
    """A RedisCache that counts its round trips."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.trips = []

    def probe(self, keys, tokens, lock_ms):
        self.trips.append("probe")
        self.tokens = tokens
        return super().probe(keys, tokens, lock_ms)

    def lock_many(self, *a):
        self.trips.append("lock")
        return super().lock_many(*a)

    def store(self, *a):
        self.trips.append("store")
        return super().store(*a)


def answers(server, batch):
    return [R.FromString(r) for r in server.answer_batch(batch)
            if r is not SEND_NOW]


def test_a_batch_costs_a_few_round_trips_not_a_few_per_task(redis_server):
    cache = Counting(port=redis_server.port)
    server = Server({"add": add}, "py-w1", None)
    server._caches[redis_server.url] = cache
    batch = [pb.Task(task_id=i + 1, attempt=1, name="add", ttl_ms=60000,
                     cache_url=redis_server.url,
                     args=values.to_wire([i, 1])).SerializeToString()
             for i in range(20)]
    out = answers(server, batch)
    assert [values.from_wire(r.value) for r in out] == \
        [i + 1 for i in range(20)]
    assert all(r.cache == R.MISS for r in out)
    assert cache.trips == ["probe", "store"]  # locks rode with the lookup
    assert all(cache.tokens)   # add was not measured yet: it locks
    assert not redis_server.client.keys("*:lock")
    cache.trips.clear()
    out = answers(server, batch)
    assert all(r.cache == R.HIT for r in out)
    # add is measured cheap now: no locks, so nothing to release
    assert cache.trips == ["probe"] and not any(cache.tokens)
    cache.trips.clear()
    slow = Server({"add": add}, "py-w2", None)
    slow._caches[redis_server.url] = cache
    slow._cost_us["add"] = 5000   # as if measured at 5 ms: it locks
    out = answers(slow, batch)
    assert all(r.cache == R.HIT for r in out) and all(cache.tokens)
    # after a batch of misses the lookup locked too: hits release them
    assert cache.trips == ["probe", "store"]
    assert not redis_server.client.keys("*:lock")


def test_a_null_result_is_served_from_the_cache_too(server):
    """None is a value like any other: its entry is a hit, not a miss."""
    assert ask(server, name="nothing", args=(1,)).cache == R.MISS
    hit = ask(server, name="nothing", args=(1,))
    assert hit.cache == R.HIT and values.from_wire(hit.value) is None



@task
def blob(n):
    return b"x" * n


def test_large_results_are_answered_and_stored_only_if_they_fit(redis_server):
    # an entry is packed after its answer goes, unless its value is over
    # half the cap: then before, so that the answer can say TOO_LARGE
    s = Server({"blob": blob}, "py-w1", redis_server.url)
    for n, stored in ((100, True), (700 << 10, True), (entries.VALUE_MAX_BYTES,
                                                       False)):
        r = ask(s, name="blob", args=(n,))
        assert r.status == R.OK and len(values.from_wire(r.value)) == n
        assert r.cache == (R.MISS if stored else R.TOO_LARGE), n
        data = redis_server.client.get(r.cache_key)
        assert (data is not None) == stored, n
        assert not redis_server.client.exists(r.cache_key + ":lock")
        if stored:  # the bytes a packing before the answer would give
            e, v = entries.decode(r.cache_key, data)
            assert data == entries.encode(
                r.cache_key, "blob", 1, [n], v, e.duration_us, "py-w1",
                60000, now_ms=e.created_ms)


def test_the_cache_state_and_round_trips_are_reported():
    from conftest import free_port
    s = Server({"add": add}, "py-w1", f"redis://127.0.0.1:{free_port()}/0")
    r = ask(s)
    assert r.status == R.OK and r.cache == R.CACHE_ERROR  # computed anyway
    report = s.take_stats()
    assert report["up"] == 0
    assert ["sluice_cache_requests_total", {"op": "get", "result": "error"},
            1] in report["c"]
    hists = {(h[0], tuple(h[1].items())): h for h in report["h"]}
    trip = hists[("sluice_cache_request_duration_seconds", (("op", "get"),))]
    assert trip[4] == 1 and sum(trip[2]) == 1   # one round trip, bucketed
    assert hists[("sluice_worker_task_duration_seconds", ())][4] == 1
    assert s.take_stats() == {"c": [], "h": [], "up": None}  # taken
