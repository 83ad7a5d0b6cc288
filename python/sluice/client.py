"""sluice.client: a client of the broker's client socket
(docs/PROTOCOL.md, "Client exchanges"): a ZeroMQ DEALER, one Envelope per
frame. It submits a flow, follows the run's events, and returns its
RunResult."""

import logging
import time

from . import curve
from . import sluice_pb2 as pb

PROTOCOL_VERSION = 1
ACCEPT_TIMEOUT_S = 10.0  # no Accepted by then: the broker is not there
WATCH_AGAIN_S = 3.0      # silence after which a follower says Watch again
log = logging.getLogger("sluice")


class BrokerError(Exception):
    """The broker did not answer, or refused what was sent (reason)."""


class Client:
    """A DEALER to broker; with $SLUICE_KEY and $SLUICE_BROKER_KEY (or
    key_file and broker_key_file) a CURVE client (docs/SECURITY.md)."""

    def __init__(self, broker, key_file=None, broker_key_file=None):
        import zmq  # Debian's python3-zmq
        self._zmq = zmq
        self.broker = broker
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        try:
            self.is_curve = curve.dial(self._sock, key_file, broker_key_file)
        except ValueError as err:
            self._sock.close(0)
            raise BrokerError(str(err)) from None
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

    def submit(self, flow, events=True, worker_wait_ms=0, params=()):
        """Submits flow (a Flow message) with params (Param messages
        overriding its own); returns the run id."""
        self.send(submit=pb.Submit(flow=flow, events=events,
                                   worker_wait_ms=worker_wait_ms,
                                   params=params))
        deadline = time.monotonic() + ACCEPT_TIMEOUT_S
        while True:
            env = self.receive(max(0.0, deadline - time.monotonic()))
            if env is None:
                raise BrokerError(
                    f"{self.broker}: no answer in {ACCEPT_TIMEOUT_S:g} s "
                    "(is a broker running there" +
                    (", and does it allow this client's key?)"
                     if self.is_curve else "?)"))
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


def run(broker, flow, on_event=None, key_file=None, broker_key_file=None,
        **submit):
    """Submits flow on a connection of its own, follows it to its end and
    returns the RunResult (submit: Client.submit's options)."""
    client = Client(broker, key_file, broker_key_file)
    try:
        run_id = client.submit(flow, **submit)
        log.info("flow %s: run %s on %s", flow.name, run_id, broker)
        return client.follow(run_id, on_event)
    finally:
        client.close()
