"""Python workers (python3 -m sluice worker) against a real broker and
Redis, beside C workers: they serve their module's tasks with the cache
(a hit is not computed again, and C sees the entries), mix with C tasks
in one flow, send a failure's traceback, drain on SIGTERM, are replaced
when killed mid-task, stop a cancelled or timed-out task."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import Cluster, sluice
from sluice import Flow, program_task, remote_task, task

HERE = os.path.dirname(__file__)


class PyCluster(Cluster):
    def start_py_worker(self, wid, *args, processes=2, calls=None):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [HERE, os.environ.get("PYTHONPATH", "")]))
        if calls:
            env["PYTASKS_CALLS"] = str(calls)
        log = open(self.tmp / f"{wid}.log", "ab")
        p = subprocess.Popen(
            [sys.executable, "-m", "sluice", "worker", "--broker",
             self.workers_ep, "--id", wid, "--tasks", "pytasks",
             "--processes", str(processes), "--cache", self.redis.url,
             *args], stdout=log, stderr=log, env=env)
        log.close()
        self.procs.append(p)
        return p

    def log(self, wid):
        return (self.tmp / f"{wid}.log").read_text()


@pytest.fixture
def pc(tmp_path, redis_server):
    c = PyCluster(tmp_path, redis_server, workers=0)
    yield c
    c.stop()


def calls_of(path):
    return path.read_text().split("\n")[:-1] if path.exists() else []


# the tasks of pytasks.py, as a flow names them
add_numbers = task(name="add_numbers")(lambda a, b: None)
shout = task(name="shout", version=2)(lambda text, *, mark="!": None)
nap = task(name="nap", cache=False)(lambda seconds: None)
boom = task(name="boom")(lambda x: None)


def test_python_worker_serves_with_the_cache_and_mixes_with_c(pc, tmp_path):
    calls = tmp_path / "calls"
    pc.start_py_worker("py1", calls=calls)
    pc.start_worker("c1", plugin=False)  # add, but not add_numbers
    pc.wait_workers(2)
    c_add = remote_task("add")
    with Flow("mixed", broker=pc.broker) as fl:
        x = add_numbers(5, 10)           # Python worker
        y = c_add(x, 1)                  # C built-in
        s = shout("hi", mark="?")        # keyword-only, version 2
    st = fl.run()
    assert st.is_successful(), [str(v.error) for v in st.result.values()]
    assert (st.result[x].result, st.result[y].result,
            st.result[s].result) == (15, 16, "HI?")
    assert sorted(c.split()[0] for c in calls_of(calls)) == [
        "add_numbers", "shout"]
    again = fl.run()
    assert all(v.cached for v in again.result.values())
    assert len(calls_of(calls)) == 2
    # a C run of the same call is served the Python worker's entry
    flow = tmp_path / "f.yaml"
    flow.write_text("flow: c\ntasks:\n  a:\n    run: add_numbers\n"
                    "    args: [5, 10]\n")
    r = sluice("run", "--broker", pc.broker, "--json", "--quiet", str(flow))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["nodes"][0]["cached"] == 1


def test_a_program_task_mixes_with_python_and_c_tasks(pc, tmp_path):
    pc.start_py_worker("py1")
    pc.start_worker("c1", "--exec", "/bin/sh", "--exec", "tr",
                    plugin=False)
    pc.wait_workers(2)
    double = program_task(sh="echo $(( $1 * 2 ))")   # args as $1 ...
    upper = program_task(["tr", "a-z", "A-Z"], stdout="text")  # ... stdin
    with Flow("programs", broker=pc.broker) as fl:
        x = add_numbers(5, 10)                 # Python worker
        y = double(x)                          # a program, on c1
        z = remote_task("add")(y, 1)           # a C built-in
        s = upper(shout("hi"))                 # stdin is the args' JSON
    st = fl.run()
    assert st.is_successful(), [str(v.error) for v in st.result.values()]
    assert (st.result[y].result, st.result[z].result) == (30, 31)
    assert st.result[s].result == '["HI!"]\n'
    again = fl.run()                           # programs are cached too
    assert again.result[y].cached and again.result[s].cached
    with pytest.raises(ValueError, match="not both"):
        program_task(["wc"], sh="wc")
    with pytest.raises(ValueError, match="stdout 'csv'"):
        program_task(["wc"], stdout="csv")


def test_a_failure_carries_the_python_traceback(pc):
    pc.start_py_worker("py1")
    pc.wait_workers(1)
    with Flow("f", broker=pc.broker) as fl:
        n = boom(3)
    err = str(fl.run().result[n].error)
    assert "ValueError: boom 3" in err
    assert 'raise ValueError(f"boom {x}")' in err


@pytest.mark.parametrize("processes,how", [
    (1, "its process was killed"),
    (0, "interrupted in the worker's process")])  # sluice.inline
def test_a_timeout_stops_the_task(pc, tmp_path, processes, how):
    calls = tmp_path / "calls"
    w = pc.start_py_worker("py1", processes=processes, calls=calls)
    pc.wait_workers(1)
    slow = task(name="nap", cache=False, timeout_seconds=0.3)(
        lambda seconds: None)
    with Flow("f", broker=pc.broker) as fl:
        n = slow(30)
        m = nap(0)
    t0 = time.monotonic()
    st = fl.run()
    assert time.monotonic() - t0 < 10
    assert f"timed out after 300 ms ({how})" in str(st.result[n].error)
    assert st.result[m].result == 0  # a new process, or the same, serves on
    pids = {line.split()[1] for line in calls_of(calls)}
    assert (pids == {str(w.pid)}) == (processes == 0), pids


def run_in_background(pc, code, tmp_path):
    script = tmp_path / "flow.py"
    script.write_text(code)
    env = dict(os.environ, SLUICE_BROKER=pc.broker, PYTHONPATH=os.pathsep
               .join([HERE, os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


FLOW_OF_NAPS = """
from sluice import Flow, task
nap = task(name="nap", cache=False)(lambda seconds: None)
with Flow("naps") as fl:
    n = nap({seconds})
st = fl.run()
print("RESULT", st.result[n].result, st.result[n].error)
"""


def nap_on_a_worker(pc, tmp_path, seconds, processes=2):
    """A Python worker py1, and a flow of one nap(seconds) run in the
    background until py1 has started it: (py1, the flow's process, the
    calls file)."""
    calls = tmp_path / "calls"
    w = pc.start_py_worker("py1", processes=processes, calls=calls)
    pc.wait_workers(1)
    p = run_in_background(pc, FLOW_OF_NAPS.format(seconds=seconds), tmp_path)
    deadline = time.monotonic() + 20
    while not calls_of(calls):
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.02)
    return w, p, calls


@pytest.mark.parametrize("processes", [2, 0])  # 0: sluice.inline
def test_sigterm_drains_the_task_in_hand(pc, tmp_path, processes):
    w, p, _ = nap_on_a_worker(pc, tmp_path, 1, processes)
    w.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert "RESULT 1 None" in out, err
    assert w.wait(timeout=30) == 0
    assert "draining" in pc.log("py1")


def test_a_worker_killed_mid_task_is_replaced_by_another(pc, tmp_path):
    calls = tmp_path / "calls"
    workers = {w: pc.start_py_worker(w, calls=calls) for w in ("py1", "py2")}
    pc.wait_workers(2)
    p = run_in_background(pc, FLOW_OF_NAPS.format(seconds=3), tmp_path)
    deadline = time.monotonic() + 20
    holder = None
    while holder is None:  # the worker the broker gave the nap to
        assert time.monotonic() < deadline, "the task never started"
        status = json.loads(sluice("status", "--broker", pc.broker,
                                   "--json").stdout)
        busy = [w["id"] for w in status["workers"] if w["in_flight"]]
        holder = busy[0] if busy and calls_of(calls) else None
    workers[holder].kill()
    out, err = p.communicate(timeout=60)
    assert "RESULT 3 None" in out, err
    assert len(calls_of(calls)) == 2  # it ran again, on the other


def test_cancel_stops_the_running_task(pc, tmp_path):
    _, p, _ = nap_on_a_worker(pc, tmp_path, 60)
    runs = json.loads(sluice("status", "--broker", pc.broker,
                             "--json").stdout)["runs"]
    run_id = [r["run_id"] for r in runs if r["flow"] == "naps"][0]
    r = sluice("cancel", "--broker", pc.broker, run_id)
    assert r.returncode == 0, r.stderr
    out, err = p.communicate(timeout=20)
    assert "RESULT None" in out and "cancelled" in out, out + err
    # the worker's process was replaced: it serves the next task at once
    with Flow("after", broker=pc.broker) as fl:
        n = nap(0)
    assert fl.run().result[n].result == 0


def test_a_module_without_tasks_is_refused():
    r = subprocess.run([sys.executable, "-m", "sluice", "worker", "--tasks",
                        "json"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "no tasks in json" in r.stderr
    r = subprocess.run([sys.executable, "-m", "sluice", "worker", "--tasks",
                        "no_such_module_here"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "no_such_module_here" in r.stderr



def test_metrics_health_and_readiness_on_http(pc, tmp_path):
    import shutil
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # one process: which child served what would not be known with two
    pc.start_py_worker("py1", "--http", f"127.0.0.1:{port}", processes=1)
    pc.wait_workers(1)
    with Flow("m", broker=pc.broker) as fl:
        add_numbers(1, 2)
    fl.run()
    fl.run()  # a hit
    with Flow("b", broker=pc.broker) as fl:
        boom(1)
    fl.run()

    def get(page):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    assert get("/healthz") == (200, "ok\n")
    assert get("/readyz") == (200, "ready\n")
    wanted = [
        'sluice_worker_tasks_total{outcome="ok",task="add_numbers"} 1',
        'sluice_worker_tasks_total{outcome="cached",task="add_numbers"}'
        ' 1',
        'sluice_worker_tasks_total{outcome="error",task="boom"} 1',
        'sluice_cache_requests_total{op="get",result="hit"} 1',
        'sluice_cache_requests_total{op="get",result="miss"} 2',
        'sluice_cache_requests_total{op="set",result="ok"} 1',
        # small batches lock in their lookup, until the task is
        # measured cheap: add_numbers the first time, and boom
        'sluice_cache_requests_total{op="lock",result="taken"} 2',
        # computed: add_numbers once, boom once
        'sluice_worker_task_duration_seconds_count 2',
        'sluice_worker_task_duration_seconds_bucket{le="+Inf"} 2',
        # one lookup per batch; a store for the one computed, and
        # one releasing the lock of boom, which failed
        'sluice_cache_request_duration_seconds_count{op="get"} 3',
        'sluice_cache_request_duration_seconds_count{op="set"} 2',
        'sluice_cache_up 1', 'sluice_worker_slots 1',
        'sluice_worker_connected 1', 'sluice_worker_draining 0',
        'sluice_worker_tasks_in_flight 0']
    # a batch's last store is counted once no batch follows in 0.1 s
    deadline = time.monotonic() + 10
    while True:
        status, text = get("/metrics")
        missing = set(wanted) - set(text.splitlines())
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200 and not missing, (missing, text)
    # a histogram's buckets count up to its count
    buckets = [int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sluice_worker_task_duration_seconds_"
                                  "bucket")]
    assert len(buckets) == 20 and buckets == sorted(buckets), buckets
    promtool = shutil.which("promtool")
    if promtool:  # CI has it (.ci/run installs prometheus)
        r = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_a_bad_http_address_is_refused():
    r = subprocess.run([sys.executable, "-m", "sluice", "worker", "--tasks",
                        "pytasks", "--http", "nine"], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=os.pathsep
                                           .join([HERE, os.environ.get(
                                               "PYTHONPATH", "")])))
    assert r.returncode == 2 and "--http 'nine': want [HOST:]PORT" in r.stderr
