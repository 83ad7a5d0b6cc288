"""tests/python: the Python package against real processes: a
redis-server on a free port, the C client and workers from the build
($SLUICE_BIN), the package from build/python ($PYTHONPATH, set by
ctest)."""

import os
import socket
import subprocess
import sys
import time

import pytest

BIN = os.environ.get("SLUICE_BIN", os.path.join(os.path.dirname(__file__),
                                                "../../build"))
SRC = os.environ.get("SLUICE_SRC", os.path.join(os.path.dirname(__file__),
                                                "../.."))
PLUGIN = os.path.join(BIN, "examples/plugin/libexample_tasks.so")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self, tmp, port=None, password=None):
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(tmp)] +
            (["--requirepass", password] if password else []),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        self.client = redis.Redis(port=self.port, password=password)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


@pytest.fixture
def redis_server(tmp_path):
    r = Redis(tmp_path)
    yield r
    r.stop()


class Cluster:
    """A real sluice-broker and C sluice-workers (with the example plugin)
    on free ports, their cache the given Redis."""

    def __init__(self, tmp, redis, workers=1):
        self.tmp, self.procs = tmp, []
        front, back = free_port(), free_port()
        self.broker = f"tcp://127.0.0.1:{front}"
        self.workers_ep = f"tcp://127.0.0.1:{back}"
        self.redis = redis
        env = dict(os.environ, SLUICE_STATE_DIR=str(tmp / "state"))
        self._start([os.path.join(BIN, "broker/sluice-broker"), "--clients",
                     self.broker, "--workers", self.workers_ep, "--journal",
                     "none"], "broker", env)
        for i in range(workers):
            self.start_worker(f"w{i + 1}")
        if workers:
            self.wait_workers(workers)

    def _start(self, cmd, name, env=None):
        log = open(self.tmp / f"{name}.log", "ab")
        p = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
        log.close()
        self.procs.append(p)
        return p

    def start_worker(self, wid, *args, plugin=True):
        """A C worker, with the example plugin's tasks unless plugin is
        False (then the built-ins only)."""
        return self._start([os.path.join(BIN, "worker/sluice-worker"),
                            "--broker", self.workers_ep, "--id", wid,
                            "--cache", self.redis.url,
                            *(["--tasks", PLUGIN] if plugin else []),
                            *args], wid)

    def wait_workers(self, n):
        import json
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = sluice("status", "--broker", self.broker, "--json",
                       "--timeout", "1000")
            if r.returncode == 0 and len(json.loads(r.stdout)["workers"]) >= n:
                return
            time.sleep(0.05)
        raise RuntimeError(f"fewer than {n} workers registered")

    def stop(self):
        for p in self.procs:  # their shutdown is not what is tested here
            p.kill()
        for p in self.procs:
            p.wait()


@pytest.fixture
def cluster(tmp_path, redis_server):
    c = Cluster(tmp_path, redis_server)
    yield c
    c.stop()


def run_python(script_or_code, env=None, cwd=None, code=False):
    """Runs a Python program in a new process, as a user would; returns
    the CompletedProcess (text)."""
    cmd = [sys.executable] + (["-c", script_or_code] if code
                              else [script_or_code])
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, env=e, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def sluice(*args, env=None):
    """Runs the C client (`sluice ...`); returns the CompletedProcess."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([os.path.join(BIN, "client/sluice"), *args],
                          env=e, capture_output=True, text=True, timeout=120)


__all__ = ["BIN", "SRC", "PLUGIN", "Cluster", "Redis", "free_port",
           "run_python", "sluice"]
