"""A Python worker that runs its tasks in its own process
(`--processes 0`, sluice.inline), against a real broker and Redis: it
serves with the cache beside C, a cancel interrupts the task and the same
process serves on, it keeps heartbeating through a task longer than the
broker's liveness. (test_worker.py times its task out and drains it on
SIGTERM, beside a worker with children.) And its guard on its own, with
no broker: a timeout and a cancel raised into the task, a task's `except
Exception` not swallowing them, a signal between tasks ignored."""

import json
import time

import pytest

from conftest import sluice
from sluice import Flow, remote_task, task, values
from sluice import sluice_pb2 as pb
from test_worker import (add_numbers, calls_of, nap, nap_on_a_worker, pc,
                         shout)

__all__ = ["pc"]  # the fixture, used by name


def pids_of(calls):
    return {line.split()[1] for line in calls_of(calls)}


def test_serves_in_its_own_process_with_the_cache(pc, tmp_path):
    calls = tmp_path / "calls"
    w = pc.start_py_worker("py1", processes=0, calls=calls)
    pc.start_worker("c1", plugin=False)
    pc.wait_workers(2)
    with Flow("mixed", broker=pc.broker) as fl:
        x = add_numbers(5, 10)
        y = remote_task("add")(x, 1)
        s = shout("hi", mark="?")
    st = fl.run()
    assert st.is_successful(), [str(v.error) for v in st.result.values()]
    assert (st.result[y].result, st.result[s].result) == (16, "HI?")
    assert pids_of(calls) == {str(w.pid)}  # no child process
    assert all(v.cached for v in fl.run().result.values())
    assert len(calls_of(calls)) == 2


def test_heartbeats_go_on_through_a_long_task(pc, tmp_path):
    # the broker's liveness is 3 heartbeats of 1 s: a silent worker
    # would be declared dead and its task run again
    calls = tmp_path / "calls"
    pc.start_py_worker("py1", processes=0, calls=calls)
    pc.wait_workers(1)
    flow = tmp_path / "nap.yaml"
    flow.write_text("flow: long\ntasks:\n  a: {run: nap, args: [4.5], "
                    "cache: none}\n")
    r = sluice("run", "--broker", pc.broker, "--json", "--quiet", str(flow))
    assert r.returncode == 0, r.stderr
    node = json.loads(r.stdout)["nodes"][0]
    assert (node["value"], node["deaths"]) == (4.5, 0), node
    assert len(calls_of(calls)) == 1


def test_cancel_interrupts_the_running_task(pc, tmp_path):
    w, p, calls = nap_on_a_worker(pc, tmp_path, 60, processes=0)
    runs = json.loads(sluice("status", "--broker", pc.broker,
                             "--json").stdout)["runs"]
    run_id = [r["run_id"] for r in runs if r["flow"] == "naps"][0]
    t0 = time.monotonic()
    assert sluice("cancel", "--broker", pc.broker, run_id).returncode == 0
    out, err = p.communicate(timeout=20)
    assert time.monotonic() - t0 < 5
    assert "RESULT None" in out and "cancelled" in out, out + err
    with Flow("after", broker=pc.broker) as fl:
        n = nap(0)
    assert fl.run().result[n].result == 0
    assert pids_of(calls) == {str(w.pid)}


# ---- the guard on its own: sluice.inline without a broker -------------

class NoBroker:
    """What Inline needs of a worker, for answering tasks directly."""

    def __init__(self, registry):
        self.registry, self.id, self.cache_url = registry, "py-unit", None


@pytest.fixture
def inline():
    import signal
    from sluice.inline import Inline
    saved = {s: signal.getsignal(s) for s in (signal.SIGALRM,
                                              signal.SIGUSR1)}
    slow = task(name="slow", cache=False)(lambda s: time.sleep(s) or s)
    stubborn = task(name="stubborn", cache=False)(stubborn_sleep)
    i = Inline(NoBroker({"slow": slow, "stubborn": stubborn}))
    yield i
    i.stop()
    for s, h in saved.items():
        signal.signal(s, h)


def stubborn_sleep(s):
    try:
        time.sleep(s)
    except Exception:   # Interrupted is not an Exception: not caught here
        return "swallowed"
    return s


def ask(inline, name, seconds, timeout_ms=0):
    t = pb.Task(task_id=9, attempt=1, name=name, cache=pb.FlowNode.NONE,
                timeout_ms=timeout_ms, args=values.to_wire([seconds]))
    return pb.Result.FromString(inline.server.answer(t.SerializeToString()))


def test_the_guard_times_out_and_cancels_in_this_process(inline):
    import signal
    import threading
    t0 = time.monotonic()
    r = ask(inline, "stubborn", 30, timeout_ms=200)
    assert 0.15 < time.monotonic() - t0 < 5
    assert (r.status, r.failure) == (pb.Result.ERROR, pb.Result.TIMEOUT)
    assert "timed out after 200 ms (interrupted" in r.error
    assert values.from_wire(ask(inline, "slow", 0).value) == 0  # serves on
    # a cancel: what the helper thread does on CancelTasks for the task
    def cancel():
        while inline.running is None:
            time.sleep(0.01)
        inline.interrupt = (pb.Result.CANCELLED, "cancelled while it ran")
        signal.pthread_kill(inline.main, signal.SIGUSR1)
    threading.Thread(target=cancel).start()
    r = ask(inline, "slow", 30)
    assert r.failure == pb.Result.CANCELLED and not inline.armed
    # a signal between tasks finds nothing armed: nothing is raised
    signal.pthread_kill(inline.main, signal.SIGUSR1)
    assert values.from_wire(ask(inline, "slow", 0.01).value) == 0.01
