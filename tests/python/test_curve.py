"""CURVE keys in the Python client and worker (docs/SECURITY.md): with a
broker that has a key and allow-lists, a Python worker and client with
`sluice keygen` keys run a flow; a client key not on the list, or none,
gets no answer and is told why that may be; a key file that is wrong,
or one key without the other, is refused before anything is sent."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, Cluster, sluice
from sluice import Flow, task
from sluice.client import BrokerError, Client

HERE = os.path.dirname(__file__)
add_numbers = task(name="add_numbers")(lambda a, b: None)


@pytest.fixture
def keys(tmp_path):
    d = tmp_path / "keys"
    r = sluice("keygen", *(str(d / n) for n in ("broker", "alice", "mallory",
                                                "worker")))
    assert r.returncode == 0, r.stderr
    for who, name in (("clients", "alice"), ("workers", "worker")):
        (tmp_path / "allow" / who).mkdir(parents=True)
        shutil.copy(d / f"{name}.pub", tmp_path / "allow" / who)
    return d


class CurveCluster(Cluster):
    def __init__(self, tmp, redis, keys):
        self.tmp, self.procs, self.redis = tmp, [], redis
        from conftest import free_port
        self.broker = f"tcp://127.0.0.1:{free_port()}"
        self.workers_ep = f"tcp://127.0.0.1:{free_port()}"
        self._start([os.path.join(BIN, "broker/sluice-broker"), "--clients",
                     self.broker, "--workers", self.workers_ep, "--journal",
                     "none", "--key", str(keys / "broker.key"),
                     "--allow-clients", str(tmp / "allow/clients"),
                     "--allow-workers", str(tmp / "allow/workers")],
                    "broker", dict(os.environ,
                                   SLUICE_STATE_DIR=str(tmp / "state")))


def test_a_flow_runs_with_keys_and_not_without(tmp_path, redis_server, keys,
                                               monkeypatch):
    c = CurveCluster(tmp_path, redis_server, keys)
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [HERE, os.environ.get("PYTHONPATH", "")]))
        log = open(tmp_path / "py1.log", "ab")
        c.procs.append(subprocess.Popen(
            [sys.executable, "-m", "sluice", "worker", "--broker",
             c.workers_ep, "--id", "py1", "--tasks", "pytasks", "--cache",
             redis_server.url, "--key", str(keys / "worker.key"),
             "--broker-key", str(keys / "broker.pub")],
            stdout=log, stderr=log, env=env))
        monkeypatch.setenv("SLUICE_KEY", str(keys / "alice.key"))
        monkeypatch.setenv("SLUICE_BROKER_KEY", str(keys / "broker.pub"))
        with Flow("f", broker=c.broker) as fl:
            n = add_numbers(2, 3)
        state = fl.run()
        assert state.result[n].result == 5, str(state.result[n].error)
        monkeypatch.setattr("sluice.client.ACCEPT_TIMEOUT_S", 0.5)
        monkeypatch.setenv("SLUICE_KEY", str(keys / "mallory.key"))
        with pytest.raises(BrokerError, match="does it allow this client's "
                           "key"):
            fl.run()
        monkeypatch.delenv("SLUICE_KEY")
        monkeypatch.delenv("SLUICE_BROKER_KEY")
        with pytest.raises(BrokerError, match=r"no answer in 0.5 s \(is a "
                           r"broker running there\?\)"):
            fl.run()
    finally:
        c.stop()


@pytest.mark.parametrize("key,broker_key,why", [
    ("alice.key", None, "CURVE needs both keys: a key file .* is given but "
     "not the broker's public key"),
    (None, "broker.pub", "CURVE needs both keys: the broker's public key .* "
     "is given but not a key file"),
    ("alice.pub", "broker.pub", "alice.pub: has no secret key"),
    ("nope.key", "broker.pub", "nope.key: No such file"),
    ("../allow", "broker.pub", "Is a directory"),
])
def test_wrong_keys_are_refused_before_sending(keys, monkeypatch, key,
                                               broker_key, why):
    monkeypatch.delenv("SLUICE_KEY", raising=False)
    monkeypatch.delenv("SLUICE_BROKER_KEY", raising=False)
    with pytest.raises(BrokerError, match=why):
        Client("tcp://127.0.0.1:1", key and str(keys / key),
               broker_key and str(keys / broker_key))


def test_a_worker_with_one_key_exits_saying_so(keys):
    r = subprocess.run([sys.executable, "-m", "sluice", "worker", "--tasks",
                        "pytasks", "--key", str(keys / "worker.key")],
                       capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                           [HERE, os.environ.get("PYTHONPATH", "")])))
    assert r.returncode == 2
    assert "CURVE needs both keys" in r.stderr
