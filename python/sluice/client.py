"""sluice.client: a client of the broker's client socket
(docs/PROTOCOL.md, "Client exchanges"): a ZeroMQ DEALER, one Envelope per
frame. It submits a flow, follows the run's events, and returns its
RunResult."""

import os
import time

from . import sluice_pb2 as pb

PROTOCOL_VERSION = 1
ACCEPT_TIMEOUT_S = 10.0  # no Accepted by then: the broker is not there
WATCH_AGAIN_S = 3.0      # silence after which a follower says Watch again


class BrokerError(Exception):
    """The broker did not answer, or refused what was sent (reason)."""


class Client:
    def __init__(self, broker):
        import zmq  # Debian's python3-zmq
        self._zmq = zmq
        self.broker = broker
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        key, broker_key = (os.environ.get("SLUICE_KEY"),
                           os.environ.get("SLUICE_BROKER_KEY"))
        if key or broker_key:
            raise BrokerError("CURVE keys ($SLUICE_KEY, $SLUICE_BROKER_KEY) "
                              "are not supported by the Python client yet")
        self._sock.connect(broker)

    def close(self):
        self._sock.close(0)

    def send(self, **body):
        env = pb.Envelope(version=PROTOCOL_VERSION, **body)
        self._sock.send(env.SerializeToString())

    def receive(self, timeout_s):
        """The next Envelope, or None after timeout_s."""
        if not self._sock.poll(int(timeout_s * 1000)):
            return None
        env = pb.Envelope()
        env.ParseFromString(self._sock.recv())
        return env

    def submit(self, flow, events=True, worker_wait_ms=0):
        """Submits flow (a Flow message); returns the run id."""
        self.send(submit=pb.Submit(flow=flow, events=events,
                                   worker_wait_ms=worker_wait_ms))
        deadline = time.monotonic() + ACCEPT_TIMEOUT_S
        while True:
            env = self.receive(max(0.0, deadline - time.monotonic()))
            if env is None:
                raise BrokerError(f"{self.broker}: no answer in "
                                  f"{ACCEPT_TIMEOUT_S:g} s (is a broker "
                                  "running there?)")
            body = env.WhichOneof("body")
            if body == "accepted":
                return env.accepted.run_id
            if body == "rejected":
                raise BrokerError(f"{self.broker}: flow rejected: "
                                  f"{env.rejected.reason}")
            if body == "error":
                raise BrokerError(f"{self.broker}: {env.error.reason}")
            # news of an earlier run on this socket: not this answer

    def follow(self, run_id, on_event=None):
        """Events of run_id (each to on_event) until its RunResult, which
        it returns. After 3 s of silence it says Watch again, so that a
        restarted broker that resumed the run learns where to send it."""
        while True:
            env = self.receive(WATCH_AGAIN_S)
            if env is None:
                self.send(watch=pb.Watch(run_id=run_id))
                continue
            body = env.WhichOneof("body")
            if body == "events" and on_event:
                for e in env.events.events:
                    if e.run_id == run_id:
                        on_event(e)
            elif body == "run_result" and env.run_result.run_id == run_id:
                return env.run_result
            elif body == "error" and "no such run" in env.error.reason:
                raise BrokerError(f"{self.broker}: run {run_id}: "
                                  f"{env.error.reason}")
