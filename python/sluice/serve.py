"""sluice.serve: how a Python worker answers the tasks a broker sends, as a
C worker does (docs/CACHING.md, "What a worker does with each task"): the
key, a lookup, the lock on a miss, the compute, the entry stored and the
lock released. Runs in a worker's child process, one task after another;
every answer is a packed Result."""

import os
import time
import traceback

from . import caches, entries, keys, values
from . import sluice_pb2 as pb

LOCK_MS = 5000           # a lock's life (docs/CACHING.md)
ERROR_MAX_BYTES = 16384  # a failure's text, traceback included: its tail
R = pb.Result

# compare-and-delete of a lock: released only by the attempt holding it
_UNLOCK = ("if redis.call('get', KEYS[1]) == ARGV[1] then return "
           "redis.call('del', KEYS[1]) else return 0 end")


class Server:
    """Answers tasks with the tasks of a registry ({name: Task}); cache:
    the worker's --cache URL, or None (then each task's cache_url, else
    the embedded cache)."""

    def __init__(self, registry, worker_id, cache_url=None):
        self.registry, self.worker_id = registry, worker_id
        self.cache_url = cache_url
        self._caches = {}

    def cache_for(self, task_msg):
        url = self.cache_url or task_msg.cache_url or ""
        if url not in self._caches:
            self._caches[url] = caches.from_url(url) if url \
                else caches.LmdbCache()
        return self._caches[url]

    def answer(self, data):
        """The packed Result for a packed Task."""
        t = pb.Task.FromString(data)
        r = R(task_id=t.task_id, attempt=t.attempt)
        task = self.registry.get(t.name)
        if task is None or (t.version and t.version != task.version):
            return fail(r, f"this worker has no task {t.name}"
                        f"{'@%d' % t.version if t.version else ''}")
        r.version = task.version
        try:
            args = values.from_wire(t.args)
        except ValueError as err:
            return fail(r, f"bad args: {err}")
        if not isinstance(args, list):
            return fail(r, "args must be a list")
        if t.cache == pb.FlowNode.NONE:
            r.cache = R.SKIPPED
            return self._compute(r, task, args, None, None, t)
        try:
            ns = t.cache_namespace or keys.DEFAULT_NAMESPACE
            key = keys.explicit_key(ns, t.cache_key) \
                if t.cache == pb.FlowNode.KEY else \
                keys.inputs_key(ns, task.name, task.input_digest(args))
        except ValueError as err:
            return fail(r, str(err))
        r.cache_key = key
        try:
            cache = self.cache_for(t)
        except (caches.CacheError, ValueError) as err:
            r.cache, r.cache_error = R.CACHE_ERROR, str(err)
            return self._compute(r, task, args, None, None, t)
        lock = Lock(cache, key, f"{t.task_id:x}:{t.attempt}:"
                    f"{self.worker_id}")
        try:
            if not t.refresh:
                hit = lookup(cache, key)
                if hit is None and lock.take():
                    hit = lookup(cache, key)  # stored while we waited
                if hit is not None:
                    lock.release()
                    r.cache = R.HIT
                    r.value.CopyFrom(values.to_wire(hit))
                    return r.SerializeToString()
            r.cache = R.REFRESHED if t.refresh else R.MISS
        except caches.CacheError as err:
            r.cache, r.cache_error = R.CACHE_ERROR, str(err)
            cache = None
        return self._compute(r, task, args, cache, lock, t, key)

    def _compute(self, r, task, args, cache, lock, t, key=None):
        t0 = time.monotonic()
        try:
            value = task.run_bound(args)
        except Exception as err:
            r.duration_us = int((time.monotonic() - t0) * 1e6)
            if lock:
                lock.release()
            text = f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
            return fail(r, text, R.TASK_ERROR)
        r.duration_us = int((time.monotonic() - t0) * 1e6)
        try:
            r.value.CopyFrom(values.to_wire(value, f"task {task.name}: "
                                            "result"))
        except ValueError as err:
            if lock:
                lock.release()
            return fail(r, str(err))
        if cache is not None and key:
            ttl = None if t.ttl_ms < 0 else t.ttl_ms
            try:
                data = entries.encode(
                    key, task.name, task.version, args, value,
                    r.duration_us, self.worker_id, ttl,
                    input_digest=task.input_digest(args))
                cache.put_many([(key, data, ttl)])
                lock.release(stored=True)
            except entries.TooLarge:
                r.cache = R.TOO_LARGE
                lock.release()
            except caches.CacheError as err:
                r.cache, r.cache_error = R.CACHE_ERROR, str(err)
        return r.SerializeToString()


def fail(r, error, failure=R.TASK_ERROR):
    data = error.encode()[-ERROR_MAX_BYTES:]
    r.status, r.failure = R.ERROR, failure
    r.error = data.decode(errors="ignore")
    r.ClearField("value")
    return r.SerializeToString()


def lookup(cache, key):
    """The value stored under key, or None: absent, or an entry that may
    not answer (a miss, as docs/CACHING.md says)."""
    data = cache.get_many([key])[0]
    if data is None:
        return None
    try:
        return entries.decode(key, data)[1]
    except entries.Rejected:
        return None


class Lock:
    """KEY:lock, taken with SET NX PX 5000 before a miss computes, so
    that workers of other brokers wait for this one's entry. A retry of
    the same task takes over its earlier attempt's lock (the token is
    TASK_ID_HEX:ATTEMPT:WORKER_ID). Only Redis locks: the embedded LMDB
    cache is one machine's, and a worker there computes without one."""

    POLL_FIRST_S, POLL_MAX_S = 0.010, 0.200

    def __init__(self, cache, key, token):
        self.cache, self.key, self.token = cache, key + ":lock", token
        self.held = False

    def take(self):
        """Takes the lock, or waits for its holder's entry (up to the
        lock's life, then computes anyway). Returns whether it waited."""
        r = getattr(self.cache, "_redis", None)
        if r is None:
            return False
        try:
            if r.set(self.key, self.token, nx=True, px=LOCK_MS):
                self.held = True
                return False
            if self._is_stale_attempt(r.get(self.key) or b""):
                r.set(self.key, self.token, px=LOCK_MS)
                self.held = True
                return False
            deadline = time.monotonic() + LOCK_MS / 1000
            delay = self.POLL_FIRST_S
            while time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, self.POLL_MAX_S)
                if r.exists(self.key[:-len(":lock")]):
                    return True
            return True
        except self.cache._errors as err:
            raise caches.CacheError(f"{self.cache.url}: {err}") from None

    def _is_stale_attempt(self, holder):
        """Whether the lock is an earlier attempt's of this same task (a
        worker that died holding it): then it is ours to take."""
        try:
            tid, attempt = holder.decode().split(":")[:2]
            mine, my_attempt = self.token.split(":")[:2]
            return int(tid, 16) == int(mine, 16) and \
                int(attempt) < int(my_attempt)
        except (UnicodeDecodeError, ValueError):
            return False

    def release(self, stored=False):
        """With its entry stored: DEL; else compare-and-delete."""
        r = getattr(self.cache, "_redis", None)
        if not self.held or r is None:
            return
        self.held = False
        try:
            if stored:
                r.delete(self.key)
            else:
                r.eval(_UNLOCK, 1, self.key, self.token)
        except self.cache._errors:
            pass  # it expires by itself within LOCK_MS


def child_main(conn, modules, worker_id, cache_url):
    """A worker's child process: imports the task modules, then takes
    batches of packed Tasks and sends one packed Result per task, in
    order, as each ends. It ends when the worker closes its pipe or goes
    away."""
    from .worker import registry_of
    server = Server(registry_of(modules), worker_id, cache_url)
    os.environ.pop("SLUICE_BROKER", None)
    try:
        while True:
            batch = conn.recv()
            if batch is None:
                return
            for data in batch:
                conn.send_bytes(server.answer(data))
    except (EOFError, OSError):
        return  # the worker is gone
