"""Python flows sent to a real broker whose C workers run their tasks:
the seed example as written, with $SLUICE_BROKER, computes on a worker
and then is served from Redis; nodes that depend on nodes, maps, and C
built-ins called by name mix in one flow; a flow the broker refuses and
a broker that is not there say so."""

import os

import pytest

from conftest import SRC, run_python
from sluice import Flow, TaskFailed, remote_task, task
from sluice.client import BrokerError, Client

SEED = os.path.join(SRC, "examples/python/seed.py")


def test_seed_runs_on_the_cluster_then_from_the_cache(cluster, tmp_path):
    env = {"SLUICE_BROKER": cluster.broker}
    first = run_python(SEED, env)
    assert first.returncode == 0, first.stderr
    assert "add_numbers: 15, computed" in first.stderr
    second = run_python(SEED, env)
    assert second.returncode == 0, second.stderr
    assert "add_numbers: 15, from the cache" in second.stderr
    # and the embedded mode, on the same Redis, is served the same entry
    third = run_python(SEED, {"SLUICE_CACHE_URL": cluster.redis.url})
    assert "add_numbers: 15, from the cache" in third.stderr


def test_python_flow_of_c_tasks_with_a_map(cluster):
    # add_numbers comes from the example plugin; add, mul and sum are
    # built-ins of every C worker
    add = remote_task("add")
    mul = remote_task("mul", version=1)
    total = remote_task("sum")

    @task(name="add_numbers")
    def add_numbers(a, b):
        raise AssertionError("runs on a worker, not here")

    with Flow("mixed", broker=cluster.broker) as fl:
        x = add_numbers(5, 10)
        doubled = mul.map([1, 2, 3], [2, 2, 2])
        s = total(doubled)
        y = add(x, s)
    state = fl.run()
    assert state.is_successful(), [str(v.error) for v in
                                   state.result.values()]
    assert state.result[x].result == 15
    assert state.result[doubled].result == [2, 4, 6]
    assert state.result[s].result == 12
    assert state.result[y].result == 27


def test_a_failing_c_task_fails_its_node(cluster):
    add = remote_task("add")
    with Flow("bad", broker=cluster.broker) as fl:
        n = add("a", 1)
        after = add(n, 1)
    state = fl.run()
    assert not state.is_successful()
    assert "add" in str(state.result[n].error)
    assert "upstream node 'add' failed" in str(state.result[after].error)


def test_a_refused_flow_names_the_reason(cluster):
    keyed = remote_task("add", cache_key="one")
    with Flow("refused", broker=cluster.broker) as fl:
        keyed.map([1, 2], [3, 4])
    with pytest.raises(BrokerError, match="flow rejected: .*mapped: a "
                       "cache_key would give every element"):
        fl.run()


def test_keyword_arguments_to_a_worker_task_are_refused(cluster):
    add = remote_task("add")
    with Flow("kw", broker=cluster.broker) as fl:
        add(1, b=2)
    with pytest.raises(TypeError, match="task add: unexpected keyword "
                       "arguments \\(b\\)"):
        fl.run()


def test_options_a_broker_cannot_take_are_refused_before_sending(cluster):
    @task(cache_key_fn=lambda ctx, p: "k")
    def keyed(x):
        return x

    with Flow("f", broker=cluster.broker) as fl:
        keyed(1)
    with pytest.raises(ValueError, match="cache_key_fn runs in this process"):
        fl.run()


def test_no_broker_there_says_so(monkeypatch):
    monkeypatch.setattr("sluice.client.ACCEPT_TIMEOUT_S", 0.3)
    add = remote_task("add")
    with Flow("f", broker="tcp://127.0.0.1:1") as fl:
        add(1, 2)
    with pytest.raises(BrokerError, match="no answer in 0.3 s"):
        fl.run()


def test_a_remote_task_does_not_run_here(monkeypatch, tmp_path):
    monkeypatch.delenv("SLUICE_BROKER", raising=False)
    monkeypatch.setenv("SLUICE_CACHE_DIR", str(tmp_path))
    add = remote_task("add")
    with Flow("f") as fl:
        n = add(1, 2)
    state = fl.run()
    assert "served by workers only" in str(state.result[n].error)


def test_a_flow_function_runs_its_calls_on_the_cluster(cluster):
    from sluice import flow

    mul, total = remote_task("mul"), remote_task("sum")

    @task(name="add_numbers")
    def add_numbers(a, b):
        raise AssertionError("runs on a worker, not here")

    @flow(broker=cluster.broker)
    def pipeline(n):
        x = add_numbers(5, 10)
        doubled = mul.map(list(range(n)), [2] * n)
        return x, total.submit(doubled).result()

    assert pipeline(4) == (15, 12)

    @flow(broker=cluster.broker)
    def failing():
        return remote_task("add")("a", 1)

    with pytest.raises(TaskFailed, match="add"):
        failing()


def test_status_names_a_workers_tasks_as_ready_did(cluster):
    """TaskRef.name in a StatusReply is a task's name, its version apart,
    as in Ready (it was "add@1")."""
    from sluice import sluice_pb2 as pb
    c = Client(cluster.broker)
    try:
        c.send(status_request=pb.StatusRequest())
        env = c.receive(10)
    finally:
        c.close()
    assert env is not None and env.WhichOneof("body") == "status"
    refs = {(t.name, t.version) for t in env.status.workers[0].tasks}
    assert ("add", 1) in refs and ("add_numbers", 1) in refs
    assert not [n for n, _ in refs if "@" in n]
