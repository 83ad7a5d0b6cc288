"""A Python worker that runs its tasks in its own process
(`--processes 0`, sluice.inline), against a real broker and Redis: it
serves with the cache beside C, a cancel interrupts the task and the same
process serves on, it keeps heartbeating through a task longer than the
broker's liveness. (test_worker.py times its task out and drains it on
SIGTERM, beside a worker with children.)"""

import json
import time

from conftest import sluice
from sluice import Flow, remote_task
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
