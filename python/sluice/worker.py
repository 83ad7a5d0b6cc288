"""sluice.worker: a Python worker (docs/PYTHON.md, "Python workers"). It
speaks the worker side of docs/PROTOCOL.md to a broker: Ready with its
tasks, heartbeats listing what it holds, TaskBatch in, ResultBatch out,
CancelTasks, Disconnect. Tasks run in --processes child processes (the
GIL), or with --processes 0 in this process (sluice.inline), a batch at
a time, each answered as it ends (sluice.serve); a
child running a task past its timeout, or a cancelled one, is killed and
replaced, and the rest of its batch goes back to the queue. Children
come from a fork server started before any ZeroMQ socket exists, so no
child holds a copy of the broker connection; each imports the task
modules itself.

The main thread owns the broker connection and every child's pipe; it
polls them together, so nothing here takes a lock."""

import collections
import json
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import time

from . import curve
from . import sluice_pb2 as pb
from .client import PROTOCOL_VERSION
from .metrics import Metrics
from .metrics import serve as serve_http
from .serve import child_main
from .tasks import RemoteTask, Task

log = logging.getLogger("sluice")
R = pb.Result
BATCH_MAX = 64


class Child:
    """One child process and the batch it is on."""

    def __init__(self, ctx, modules, worker_id, cache_url):
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=child_main, daemon=True,
                                args=(theirs, modules, worker_id, cache_url))
        self.proc.start()
        theirs.close()
        self.batch = collections.deque()  # Task messages not yet answered
        self.started = 0.0                # when its first one started

    def stop(self, kill=False):
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class Worker:
    """Serves the tasks of the named modules to broker."""

    def __init__(self, broker, modules, worker_id=None, processes=1,
                 cache_url=None, heartbeat_ms=1000, grace_ms=25000,
                 key_file=None, broker_key_file=None, http=None):
        self.broker, self.modules = broker, list(modules)
        self.metrics, self.http = Metrics(), http
        self.heard = time.monotonic()
        self.key_file, self.broker_key_file = key_file, broker_key_file
        self.registry = registry_of(self.modules)
        self.id = worker_id or \
            f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.incarnation = secrets.token_hex(8)
        self.processes, self.cache_url = processes, cache_url
        self.heartbeat_s = heartbeat_ms / 1000
        self.grace_s = grace_ms / 1000
        self.sock = None
        self.queue = collections.deque()  # Task messages not yet in a child
        self.cancelled = set()
        self.draining = False
        self.next_beat = 0.0
        self._mp = multiprocessing.get_context("forkserver")
        self.children = [self._child() for _ in range(processes)]
        import zmq  # after the fork server is up
        self.zmq = zmq
        self.inline = None
        if processes == 0:  # the tasks run here (sluice.inline)
            from .inline import Inline
            self.inline = Inline(self)
        self.metrics.gauges = self.gauges
        self.ctx = zmq.Context.instance()
        probe = self.ctx.socket(zmq.DEALER)  # the keys, checked now
        try:
            curve.dial(probe, key_file, broker_key_file)
        finally:
            probe.close(0)

    def _child(self):
        return Child(self._mp, self.modules, self.id, self.cache_url)

    # ---- the broker connection --------------------------------------------

    def connect(self):
        """A new connection, and Ready on it: how a worker recovers from
        a stale connection or a taken-over id (a new routing id)."""
        if self.sock is not None:
            self.sock.close(0)
            self.metrics.add("sluice_worker_reconnects_total")
        self.sock = self.ctx.socket(self.zmq.DEALER)
        self.sock.setsockopt(self.zmq.LINGER, 1000)
        curve.dial(self.sock, self.key_file, self.broker_key_file)
        self.sock.connect(self.broker)
        ready = pb.Ready(worker_id=self.id, slots=max(1, self.processes),
                         hostname=socket.gethostname(), pid=os.getpid(),
                         incarnation=self.incarnation)
        for t in self.registry.values():
            ready.tasks.add(name=t.name, version=t.version)
        self.send(ready=ready)
        self.heard = time.monotonic()

    def send(self, **body):
        self.sock.send(pb.Envelope(version=PROTOCOL_VERSION, **body)
                       .SerializeToString())

    def held(self):
        ids = [t.task_id for t in self.queue]
        if self.inline:
            ids.extend(t.task_id for t in self.inline.batch)
        for c in self.children:
            ids.extend(t.task_id for t in c.batch)
        return ids

    def gauges(self):
        """The live figures of /metrics (read from the HTTP thread: only
        lengths, which need no lock)."""
        batches = [len(c.batch) for c in list(self.children)]
        if self.inline:
            batches.append(len(self.inline.batch))
        return {"sluice_worker_slots": max(1, self.processes),
                "sluice_worker_slots_busy": sum(1 for n in batches if n),
                "sluice_worker_tasks_in_flight": len(self.queue) +
                sum(batches),
                "sluice_worker_connected": int(self.sock is not None),
                "sluice_worker_draining": int(self.draining)}

    def heartbeat(self):
        self.send(heartbeat=pb.Heartbeat(held_task_ids=self.held(),
                                         draining=self.draining))

    def on_broker(self, data):
        env = pb.Envelope.FromString(data)
        self.heard = time.monotonic()
        body = env.WhichOneof("body")
        if body == "tasks":
            self.queue.extend(env.tasks.tasks)
        elif body == "cancel_tasks":
            self.cancel(set(env.cancel_tasks.task_ids))
        elif body == "error":
            log.warning("broker: %s", env.error.reason)
            if env.error.code == pb.Error.UNKNOWN_PEER:
                self.connect()

    # ---- tasks ------------------------------------------------------------------

    def answer(self, results):
        if results:
            self.send(results=pb.ResultBatch(results=results))

    def counted(self, r, t, outcome="error"):
        """r, an answer made here (cancel, timeout, crash), counted."""
        if outcome:
            self.metrics.add("sluice_worker_tasks_total", task=t.name,
                             outcome=outcome)
        return r

    def cancel(self, ids):
        """Queued ones are answered CANCELLED at once; a running one's
        child is killed; one later in a child's batch is answered
        CANCELLED when its result comes."""
        out = []
        for t in [t for t in self.queue if t.task_id in ids]:
            self.queue.remove(t)
            out.append(self.counted(cancelled(t, "cancelled before it ran"),
                                    t))
        self.answer(out)
        for i, c in enumerate(self.children):
            if c.batch and c.batch[0].task_id in ids:
                self.restart(i, self.counted(cancelled(
                    c.batch[0], "cancelled while it ran"), c.batch[0]))
        self.cancelled |= ids & set(self.held())

    def restart(self, i, result):
        """Kills child i, answers its running task with result and puts
        the rest of its batch back at the queue's head."""
        c = self.children[i]
        c.stop(kill=True)
        c.batch.popleft()
        self.answer([result])
        self.queue.extendleft(reversed(c.batch))
        self.children[i] = self._child()

    def dispatch(self):
        if self.inline:
            return self.inline.run()
        idle = [c for c in self.children if not c.batch]
        for n, c in enumerate(idle):
            if not self.queue:
                return
            share = -(-len(self.queue) // (len(idle) - n))
            batch = [self.queue.popleft()
                     for _ in range(min(share, BATCH_MAX))]
            c.batch.extend(batch)
            c.started = time.monotonic()
            c.conn.send([t.SerializeToString() for t in batch])

    def on_child(self, i):
        c = self.children[i]
        try:
            data = c.conn.recv_bytes()
        except (EOFError, OSError):
            c.proc.join(1)
            if c.batch:
                self.restart(i, self.counted(crashed(
                    c.batch[0], c.proc.exitcode), c.batch[0], "crash"))
            else:
                c.stop(kill=True)
                self.children[i] = self._child()
            return
        # a run of packed Results, in the batch's order: forwarded as one
        # ResultBatch without decoding them (a repeated field's items are
        # concatenated)
        stats, *results = unpack_runs(data)
        self.metrics.merge(json.loads(stats))
        if not results:  # only counts: what the batch's last store did
            return
        out = bytearray()
        for r in results:
            t = c.batch.popleft()
            if t.task_id in self.cancelled:
                self.cancelled.discard(t.task_id)
                r = self.counted(cancelled(t, "cancelled while it ran"),
                                 t, None).SerializeToString()
            out += result_item(r)
        c.started = time.monotonic()
        self.sock.send(result_batch(out))

    def check_timeouts(self):
        now = time.monotonic()
        for i, c in enumerate(self.children):
            t = c.batch[0] if c.batch else None
            if t and t.timeout_ms and now - c.started > t.timeout_ms / 1000:
                r = R(task_id=t.task_id, attempt=t.attempt, status=R.ERROR,
                      failure=R.TIMEOUT,
                      error=f"timed out after {t.timeout_ms} ms (its "
                      "process was killed)")
                self.restart(i, self.counted(r, t, "timeout"))

    def poller(self):
        """The broker socket and the children's pipes, polled together;
        made again when either changes."""
        now = (self.sock, tuple(c.conn.fileno() for c in self.children))
        if getattr(self, "_polled", None) != now:
            self._poller = self.zmq.Poller()
            self._poller.register(self.sock, self.zmq.POLLIN)
            for fd in now[1]:
                self._poller.register(fd, self.zmq.POLLIN)
            self._polled = now
        return self._poller

    def read_broker(self):
        while True:
            try:
                data = self.sock.recv(self.zmq.NOBLOCK)
            except self.zmq.Again:
                return
            self.on_broker(data)

    def readiness(self):
        """(ready, why not), for /readyz: not while draining, nor once the
        broker has been silent for 3 heartbeats."""
        if self.draining:
            return False, "draining"
        silent = time.monotonic() - self.heard
        if silent > 3 * self.heartbeat_s:
            return False, (f"the broker has been silent for "
                           f"{int(silent * 1000)} ms")
        return True, ""

    # ---- the loop -----------------------------------------------------------

    def run(self):
        """Serves until SIGTERM or SIGINT; then drains: takes no more
        tasks, finishes those in hand within the grace period, says
        goodbye."""
        stop = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(1))
        port = serve_http(self.http, self.metrics, self.readiness) \
            if self.http else None
        self.connect()
        log.info("worker %s: %d tasks, %d processes, broker %s%s", self.id,
                 len(self.registry), self.processes, self.broker,
                 f", http port {port}" if port else "")
        self.next_beat = time.monotonic() + self.heartbeat_s
        deadline = None
        while True:
            if stop and not self.draining:
                self.draining = True
                deadline = time.monotonic() + self.grace_s
                log.info("worker %s: draining (%d tasks in hand)", self.id,
                         len(self.held()))
                self.heartbeat()
            if self.draining and (not self.held() or
                                  time.monotonic() > deadline):
                break
            self.dispatch()
            wait = max(0.0, self.next_beat - time.monotonic())
            if any(c.batch and c.batch[0].timeout_ms for c in self.children):
                wait = min(wait, 0.05)  # timeouts are checked this often
            events = dict(self.poller().poll(int(wait * 1000) + 1))
            if self.sock in events:
                self.read_broker()
            for i, c in enumerate(self.children):
                if c.conn.fileno() in events:
                    self.on_child(i)
            self.check_timeouts()
            now = time.monotonic()
            if now >= self.next_beat:
                self.next_beat = now + self.heartbeat_s
                if now - self.heard > 3 * self.heartbeat_s:
                    log.warning("worker %s: the broker is silent: a new "
                                "connection", self.id)
                    self.connect()
                else:
                    self.heartbeat()
        self.send(disconnect=pb.Disconnect(reason="stopping"))
        if self.inline:
            self.inline.stop()
        for c in self.children:
            c.stop()
        self.sock.close()
        log.info("worker %s: stopped", self.id)


def cancelled(t, why):
    return R(task_id=t.task_id, attempt=t.attempt, status=R.ERROR,
             failure=R.CANCELLED, error=why)


def crashed(t, code):
    return R(task_id=t.task_id, attempt=t.attempt, status=R.ERROR,
             failure=R.CRASH,
             error=f"its process died (exit code {code})")


def registry_of(modules):
    """The tasks of the named modules: every Task at their top level."""
    import importlib
    reg = {}
    for name in modules:
        mod = importlib.import_module(name)
        for v in vars(mod).values():
            if isinstance(v, Task) and not isinstance(v, RemoteTask):
                if v.name in reg and reg[v.name] is not v:
                    raise ValueError(f"task {v.name} is defined twice "
                                     f"({name})")
                reg[v.name] = v
    if not reg:
        raise ValueError(f"no tasks in {', '.join(modules)}: a task is a "
                         "function decorated with @task")
    return reg


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def result_item(r):
    """A packed Result as an item of ResultBatch.results (field 1)."""
    return b"\x0a" + varint(len(r)) + r


def result_batch(items):
    """Envelope{version: 1, results (field 13): ResultBatch} around the
    concatenated result_items: answers forwarded without decoding them (a
    repeated field's items concatenate)."""
    return b"\x08" + varint(PROTOCOL_VERSION) + b"\x6a" + \
        varint(len(items)) + bytes(items)


def pack_runs(items):
    """Byte strings as one: each as a 4-byte length and its bytes (what a
    child sends up its pipe)."""
    return b"".join(len(x).to_bytes(4, "little") + x for x in items)


def unpack_runs(data):
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "little")
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out
