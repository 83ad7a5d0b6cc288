"""sluice.inline: a Python worker that runs its tasks in its own process
(`--processes 0`, docs/PYTHON.md "Python workers"), for the shortest
round trip: no pipe and no second process to wake, as a C worker without
--isolate runs its tasks in its own threads.

- The main thread owns the broker socket and computes. It holds the
  socket's lock at all times except while a task computes.
- A task's timeout is a SIGALRM timer. Its handler raises
  serve.Interrupted inside the task. A cancel is SIGUSR1 with the same
  effect. So Python code is stopped where it stands, and code stuck
  inside C that never returns to Python is not: then the worker stays
  busy until it returns (`--processes N` kills a child instead).
- While a task computes for more than BUSY_S, a second thread takes the
  lock. It sends the heartbeats the main loop cannot, and reads what the
  broker sends. A CancelTasks naming the running task interrupts it; the
  rest waits in an inbox for the main thread. Short tasks never meet
  that thread."""

import collections
import signal
import threading
import time

from . import sluice_pb2 as pb
from .serve import SEND_NOW, Interrupted, Server
from .worker import BATCH_MAX, cancelled, result_batch, result_item

R = pb.Result
BUSY_S = 0.05  # a compute this long lets the helper thread speak
TICK_S = 0.05  # how often the helper thread looks


class Inline:
    """The tasks of worker (a sluice.worker.Worker) served in its own
    process: run() answers what is queued."""

    def __init__(self, worker):
        self.w = worker
        self.server = Server(worker.registry, worker.id, worker.cache_url,
                             guard=self)
        self.batch = collections.deque()  # Tasks in hand, not yet answered
        self.running = None               # the Task computing now
        self.since = 0.0                  # when it started
        self.armed = False                # whether a signal may interrupt
        self.interrupt = None             # (failure, why) a cancel raises
        self.inbox = collections.deque()  # what the helper thread read
        self.lock = threading.Lock()      # the socket's
        self.lock.acquire()               # the main thread's, but while
        self.stopped = False              # a task computes
        self.main = threading.main_thread().ident
        signal.signal(signal.SIGALRM, self._raise)
        signal.signal(signal.SIGUSR1, self._raise)
        self.helper = threading.Thread(target=self._help, daemon=True,
                                       name="sluice-inline")
        self.helper.start()

    # ---- the guard around each compute (serve.Server calls it) -----------

    def arm(self, t):
        self.running, self.since = t, time.monotonic()
        self.interrupt = None  # None: the timeout
        self.armed = True
        if t.timeout_ms:
            signal.setitimer(signal.ITIMER_REAL, t.timeout_ms / 1000)

    def disarm(self):
        self.armed = False
        if self.running is not None and self.running.timeout_ms:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.running = None

    def _raise(self, signum, frame):
        if self.armed:
            t, why = self.running, self.interrupt
            self.disarm()
            raise Interrupted(*why) if why else Interrupted(
                R.TIMEOUT, f"timed out after {t.timeout_ms} ms "
                "(interrupted in the worker's process)")

    # ---- answering --------------------------------------------------------

    def run(self):
        """Answers every queued task, a batch at a time, each answer sent
        in runs as the child mode sends them."""
        w = self.w
        while w.queue:
            for _ in range(min(len(w.queue), BATCH_MAX)):
                self.batch.append(w.queue.popleft())
            answers = self.server.answer_tasks(list(self.batch))
            out = bytearray()
            while True:
                self.lock.release()
                try:
                    r = next(answers, None)
                finally:
                    self.lock.acquire()
                if r is not None and r is not SEND_NOW:
                    t = self.batch.popleft()
                    if t.task_id in w.cancelled:
                        w.cancelled.discard(t.task_id)
                        r = cancelled(t, "cancelled while it ran") \
                            .SerializeToString()
                    out += result_item(r)
                while self.inbox:   # what came while a task computed
                    w.on_broker(self.inbox.popleft())
                if r is None:
                    break
                if r is SEND_NOW and out:
                    w.sock.send(result_batch(out))
                    out = bytearray()
            if out:
                w.sock.send(result_batch(out))
            w.metrics.merge(self.server.take_stats())

    # ---- the helper thread -------------------------------------------------

    def _help(self):
        while not self.stopped:
            time.sleep(TICK_S)
            t = self.running
            if t is None or time.monotonic() - self.since < BUSY_S or \
                    not self.lock.acquire(blocking=False):
                continue
            try:
                if self.running is t:   # still computing: speak for it
                    self._speak(t)
            finally:
                self.lock.release()

    def _speak(self, t):
        w, zmq = self.w, self.w.zmq
        now = time.monotonic()
        if now >= w.next_beat:
            w.next_beat = now + w.heartbeat_s
            w.heartbeat()
        while True:
            try:
                data = w.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            w.heard = time.monotonic()
            env = pb.Envelope.FromString(data)
            if env.WhichOneof("body") == "cancel_tasks" and \
                    t.task_id in env.cancel_tasks.task_ids and self.armed:
                self.interrupt = (R.CANCELLED, "cancelled while it ran")
                signal.pthread_kill(self.main, signal.SIGUSR1)
            self.inbox.append(data)

    def stop(self):
        self.stopped = True


__all__ = ["Inline"]
