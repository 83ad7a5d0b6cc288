"""The Python API, Prefect 3 style and Prefect 1 style, run embedded
(in this process) against a real Redis: keys from inputs, explicit keys,
key functions, TTLs, refresh, versions, the source in the key, retries,
timeouts, futures and .map(); bad input says what and where; the embedded
LMDB cache is the one C's `sluice run --local` reads."""

import datetime
import json
import os
import threading

import pytest

from conftest import PLUGIN, sluice
from sluice import Flow, LmdbCache, RedisCache, TaskFailed, flow, keys, task


@pytest.fixture
def cache(redis_server, monkeypatch):
    monkeypatch.delenv("SLUICE_CACHE_URL", raising=False)
    return RedisCache(port=redis_server.port)


class Counter:
    """Counts a task's real computations (not its cache hits)."""

    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.n += 1


def test_a_flow_runs_its_tasks_and_the_second_call_is_a_hit(cache):
    calls = Counter()

    @task
    def add(a, b):
        calls()
        return a + b

    @flow(cache=cache)
    def pipeline(x):
        return add(add(x, 1), 2)

    assert pipeline(1) == 4
    assert pipeline(1) == 4
    assert calls.n == 2  # add(1, 1) and add(2, 2), once each
    key = keys.inputs_key("default", "add",
                          keys.task_digest("add", 1, [1, 1]))
    assert cache.exists(key)
    # keyword arguments bind to the same key as positional ones
    assert pipeline.__wrapped__ and add.bind((1,), {"b": 1})[0] == [1, 1]


def test_submit_and_map_give_futures(cache):
    calls = Counter()

    @task
    def square(x):
        calls()
        return x * x

    @task
    def total(xs):
        return sum(xs)

    @flow(cache=cache)
    def squares(n):
        futures = square.map(list(range(n)))
        f = total.submit(futures)
        return f.result(), [x.result() for x in futures]

    assert squares(5) == (30, [0, 1, 4, 9, 16])
    assert calls.n == 5
    assert squares(6)[0] == 55
    assert calls.n == 6  # only square(5) was new


def test_cache_knobs(cache, redis_server):
    calls = Counter()

    @task(cache_key_fn=lambda ctx, p: f"by-name-{p['name']}",
          cache_expiration=datetime.timedelta(minutes=5))
    def greet(name, punctuation="!"):
        calls()
        return f"hello {name}{punctuation}"

    @task(cache_key="fixed", refresh_cache=True, cache_expiration="forever")
    def fresh():
        calls()
        return 1

    @flow(cache=cache)
    def f():
        return greet("a"), greet("a", "?"), fresh(), fresh()

    assert f() == ("hello a!", "hello a!", 1, 1)  # the key fn ignores "?"
    assert calls.n == 3
    r = redis_server.client
    ttl = r.pttl("sluice:v1:default:by-name-a")
    assert 290_000 < ttl <= 300_000
    assert r.pttl("sluice:v1:default:fixed") == -1  # forever


def test_version_and_source_change_the_key(cache):
    def body(x):
        return x

    v1 = task(body, name="t", version=1)
    v2 = task(body, name="t", version=2)
    src = task(body, name="t", version=1, cache_include_source=True)
    k = [t.key("default", [1], {"x": 1}) for t in (v1, v2, src)]
    assert len(set(k)) == 3
    assert k[0] == keys.inputs_key("default", "t",
                                   keys.task_digest("t", 1, [1]))


def test_retries_with_delay_then_success(cache):
    attempts = Counter()

    @task(retries=2, retry_delay_seconds=[0.01, 0.02], cache=False)
    def flaky():
        attempts()
        if attempts.n < 3:
            raise ConnectionError(f"try {attempts.n}")
        return "ok"

    @flow(cache=cache)
    def f():
        return flaky()

    assert f() == "ok" and attempts.n == 3


def test_a_failure_carries_the_traceback_and_is_not_cached(cache,
                                                            redis_server):
    @task
    def boom(x):
        raise ValueError(f"bad {x}")

    @flow(cache=cache)
    def f():
        return boom(3)

    with pytest.raises(TaskFailed) as err:
        f()
    assert "ValueError: bad 3" in str(err.value)
    assert 'raise ValueError(f"bad {x}")' in err.value.traceback
    assert redis_server.client.dbsize() == 0


def test_a_timeout_fails_the_call(cache):
    stop = threading.Event()

    @task(timeout_seconds=0.05, cache=False)
    def slow():
        stop.wait(5)

    @flow(cache=cache)
    def f():
        return slow()

    with pytest.raises(TaskFailed, match="timed out after 0.05 s"):
        f()
    stop.set()


def test_a_failed_upstream_stops_its_dependents(cache):
    @task
    def boom():
        raise RuntimeError("no")

    @task
    def after(x):
        return x

    with Flow("f") as fl:
        after(boom())
    fl.set_task_cache(cache)
    state = fl.run()
    assert not state.is_successful()
    errors = [str(s.error) for s in state.result.values()]
    assert "RuntimeError: no" in errors[0]
    assert errors[1].startswith("not run: an upstream task failed")


def test_prefect1_flow_map_and_results(cache):
    @task
    def inc(x):
        return x + 1

    @task
    def total(xs):
        return sum(xs)

    with Flow("m") as fl:
        m = inc.map([1, 2, 3])
        t = total(m)
    fl.set_task_cache(cache)
    state = fl.run()
    assert state.is_successful()
    assert state.result[m].result == [2, 3, 4]
    assert state.result[t].result == 9
    again = fl.run()
    assert again.result[m].cached and again.result[t].cached


def one():
    return 1


@pytest.mark.parametrize("make,why", [
    (lambda: task(one, name="bad name"), "task name 'bad name'"),
    (lambda: task(lambda: 1), "task name '<lambda>'"),
    (lambda: task(one, version=0), "task one: version 0 must be an int"),
    (lambda: task(one, cache_key="k", cache_key_fn=str),
     "give cache_key or cache_key_fn, not both"),
    (lambda: task(one, cache_expiration=0), "must be positive"),
    (lambda: task(one, cache_expiration="1h"), "want a timedelta"),
    (lambda: task(one, retries=-1), "retries -1"),
    (lambda: task(one, timeout_seconds=0), "timeout_seconds 0"),
    (lambda: Flow(""), "flow name ''"),
    (lambda: Flow("f", namespace="a:b"), "cache namespace 'a:b'"),
])
def test_bad_options_say_what_is_wrong(make, why):
    with pytest.raises(ValueError, match=why):
        make()


def test_bad_arguments_fail_the_call_naming_them(cache):
    @task
    def t(a, b):
        return a

    @flow(cache=cache)
    def f(*args, **kwargs):
        return t(*args, **kwargs)

    with pytest.raises(TaskFailed, match="task t: argument b: a set"):
        f(1, {2})
    with pytest.raises(TaskFailed, match="task t: missing a required "
                       "argument: 'b'"):
        f(1)
    with pytest.raises(TaskFailed, match="does not fit in 64 bits"):
        f(1, 2**64)


def test_a_cache_that_is_down_does_not_fail_the_task(monkeypatch):
    monkeypatch.delenv("SLUICE_CACHE_URL", raising=False)
    down = RedisCache(port=1, timeout=0.5)

    @task
    def t(x):
        return x * 2

    with Flow("f") as fl:
        n = t(4)
    fl.set_task_cache(down)
    state = fl.run()
    assert state.result[n].result == 8
    assert "redis://localhost:1/0" in state.result[n].cache_error


def test_the_embedded_cache_is_the_one_c_reads(tmp_path, monkeypatch):
    """Python writes the seed's entry into the embedded LMDB cache; C's
    `sluice run --local` on the same folder is served it."""
    monkeypatch.delenv("SLUICE_CACHE_URL", raising=False)
    monkeypatch.setenv("SLUICE_CACHE_DIR", str(tmp_path / "cache"))

    @task(cache_key="add_numbers")
    def add_numbers(a, b):
        return a + b

    with Flow("Add Numbers Flow") as fl:
        add_numbers(5, 10)
    assert fl.run().is_successful()  # no cache set: the embedded one
    assert LmdbCache().get_many(["sluice:v1:default:add_numbers"])[0]
    calls = tmp_path / "calls"
    r = sluice("run", "--local", "--json", "--quiet", "--tasks", PLUGIN,
               os.path.join(os.environ.get("SLUICE_SRC", "."),
                            "examples/seed.yaml"),
               env={"SLUICE_EXAMPLE_CALLS": str(calls)})
    assert r.returncode == 0, r.stderr
    node = json.loads(r.stdout)["nodes"][0]
    assert node["cached"] == 1 and node["value"] == 15
    assert not calls.exists()
