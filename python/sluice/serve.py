"""sluice.serve: how a Python worker answers the tasks a broker sends, as a
C worker does (docs/CACHING.md, "What a worker does with each task"): the
key, a lookup, the lock on a miss, the compute, the entry stored and the
lock released. Runs in a worker's child process, one task after another;
every answer is a packed Result."""

import functools
import json
import logging
import os
import re
import time
import traceback

from . import caches, entries, keys, values
from .entries import MISS
from .metrics import Stats
from . import sluice_pb2 as pb

LOCK_MS = 5000           # a lock's life (docs/CACHING.md)
ERROR_MAX_BYTES = 16384  # a failure's text, traceback included: its tail
R = pb.Result
log = logging.getLogger("sluice")



# yielded by Server.answer_batch before anything that may take a while (a
# compute not known to be cheap, a store's round trip): the answers so far
# should go now
SEND_NOW = object()


class Interrupted(BaseException):
    """Raised inside a task that runs in the worker's own process
    (--processes 0, sluice.inline) when its timeout passes or it is
    cancelled: a BaseException, so that the task's `except Exception`
    does not swallow it."""

    def __init__(self, failure, text):
        super().__init__(text)
        self.failure, self.text = failure, text


class Job:
    """One task of a batch on its way to its Result."""

    def __init__(self, t):
        self.t = t
        self.r = R(task_id=t.task_id, attempt=t.attempt)
        self.task = self.args = self.key = self.cache = self.lock = None
        self.digest = None   # the input digest, once computed
        self.answer = None   # the packed Result, once known
        self.stored = MISS   # the value found, when looked up
        self.locked = False  # its lock was taken in the probe


class Server:
    """Answers batches of tasks with the tasks of a registry ({name:
    Task}); cache_url: the worker's --cache, or None (then each task's
    cache_url, else the embedded cache). As a C executor does, a batch
    costs a few round trips to each cache, not a few per task: one that
    looks every key up (and, for a small batch or after misses, takes the
    locks too), one that locks the misses otherwise, and one that stores
    the entries and releases the locks; every answer goes before its
    store."""

    PROBE_MAX = 8         # batches this small lock in their lookup
    STORE_LAG_S = 0.001   # answered entries wait at most this long

    def __init__(self, registry, worker_id, cache_url=None, guard=None):
        self.registry, self.worker_id = registry, worker_id
        # arms a timeout (and a cancel) around each compute: arm(task),
        # disarm(); None in a child, which is killed instead
        self.guard = guard
        self.cache_url = cache_url
        self._caches = {}
        self._mostly_missed = True
        self._cost_us = {}  # task name -> moving average compute time
        self.stats = Stats()  # since taken

    def count(self, name, n=1, **labels):
        self.stats.count(name, n, **labels)

    def take_stats(self):
        """What was counted since the last call (metrics.Stats.take)."""
        return self.stats.take()

    def trip(self, op, t0, ok=True):
        """A round trip to a cache that started at t0 (monotonic)."""
        self.stats.observe("sluice_cache_request_duration_seconds",
                           time.monotonic() - t0, op=op)
        self.stats.cache_up = 1 if ok else 0

    def cache_for(self, task_msg):
        url = self.cache_url or task_msg.cache_url or ""
        if url not in self._caches:
            self._caches[url] = caches.from_url(url) if url \
                else caches.LmdbCache()
        return self._caches[url]

    def answer(self, data):
        """The packed Result for one packed Task."""
        return [r for r in self.answer_batch([data])
                if r is not SEND_NOW][0]

    def _rejected(self, reason):
        self.count("sluice_cache_entries_rejected_total", reason=reason)

    def _count_answer(self, j):
        if j.r.duration_us:
            self.stats.observe("sluice_worker_task_duration_seconds",
                               j.r.duration_us / 1e6)
        outcome = "timeout" if j.r.failure == R.TIMEOUT else \
            "error" if j.r.status == R.ERROR else \
            "cached" if j.r.cache == R.HIT else "ok"
        self.count("sluice_worker_tasks_total", task=j.t.name,
                   outcome=outcome)

    def _is_cheap(self, task):
        """Measured at under 1 ms a call (its last 8, about): answers of
        such tasks gather and go together, and they take no lock."""
        return task is not None and self._cost_us.get(task.name, 1e9) < 1000

    def _took(self, task, us):
        old = self._cost_us.get(task.name)
        self._cost_us[task.name] = us if old is None else (old * 7 + us) / 8

    def answer_batch(self, datas):
        """The packed Results of packed Tasks, in their order, each
        yielded as soon as it is known."""
        return self.answer_tasks([pb.Task.FromString(d) for d in datas])

    def answer_tasks(self, tasks):
        """answer_batch for Task messages."""
        jobs = [self._prepare(t) for t in tasks]
        pending = Stores(self)
        self._look_up(jobs, pending)
        for j in jobs:
            if j.answer is None:
                if not self._is_cheap(j.task):
                    yield SEND_NOW
                self._settle(j, pending)
            self._count_answer(j)
            yield j.answer
            if pending.is_due(self.STORE_LAG_S):
                yield SEND_NOW
                pending.flush()
        if pending.by_cache:
            yield SEND_NOW
            pending.flush()

    # ---- before the batch's lookup -----------------------------------------

    def _prepare(self, t):
        j = Job(t)
        r = j.r
        task = self.registry.get(t.name)
        if task is None or (t.version and t.version != task.version):
            j.answer = fail(r, f"this worker has no task {t.name}"
                            f"{'@%d' % t.version if t.version else ''}")
            return j
        j.task, r.version = task, task.version
        try:
            j.args = values.from_wire(t.args)
        except ValueError as err:
            j.answer = fail(r, f"bad args: {err}")
            return j
        if not isinstance(j.args, list):
            j.answer = fail(r, "args must be a list")
            return j
        if t.cache == pb.FlowNode.NONE:
            r.cache = R.SKIPPED
            return j
        try:
            ns = t.cache_namespace or keys.DEFAULT_NAMESPACE
            if t.cache == pb.FlowNode.KEY:
                j.key = keys.explicit_key(ns, t.cache_key)
            else:
                j.digest = task.input_digest(j.args)
                j.key = keys.inputs_key(ns, task.name, j.digest)
        except ValueError as err:
            j.answer = fail(r, str(err))
            return j
        r.cache_key = j.key
        r.cache = R.REFRESHED if t.refresh else R.MISS
        try:
            j.cache = self.cache_for(t)
        except (caches.CacheError, ValueError) as err:
            r.cache, r.cache_error = R.CACHE_ERROR, str(err)
            return j
        # a task measured cheap takes no lock, as in a C worker
        # (docs/CACHING.md, "A cheap task takes no lock")
        if not self._is_cheap(task):
            j.lock = Lock(j.cache, j.key, t.task_id, t.attempt,
                          self.worker_id)
        return j

    def _look_up(self, jobs, pending):
        """Per cache, one round trip: lookups, with the locks for a small
        batch or after mostly misses; a second one locks the misses
        otherwise. A hit is answered here, and a lock it took is released
        with the batch's stores."""
        by_cache = {}
        for j in jobs:
            if j.answer is None and j.cache is not None and not j.t.refresh:
                by_cache.setdefault(id(j.cache), []).append(j)
        hits = looked = 0
        for group in by_cache.values():
            cache = group[0].cache
            lock_now = len(group) <= self.PROBE_MAX or self._mostly_missed
            t0 = time.monotonic()
            try:
                replies = cache.probe([j.key for j in group],
                                      [j.lock.token if lock_now and j.lock
                                       else None for j in group], LOCK_MS)
                self.trip("get", t0)
                for j, (data, locked) in zip(group, replies):
                    if j.lock:
                        j.lock.held = locked
                    j.stored = entries.value_of(j.key, data, self._rejected)
                    self.count("sluice_cache_requests_total", op="get",
                               result="miss" if j.stored is MISS else "hit")
                    if lock_now and j.lock and cache.has_locks:
                        self.count("sluice_cache_requests_total", op="lock",
                                   result="taken" if locked else "busy")
                    if j.stored is not MISS:
                        hits += 1
                        self._answer_hit(j)
                        pending.give_up(j.lock)
                misses = [j for j in group if j.answer is None and j.lock]
                if not lock_now and misses:
                    t0 = time.monotonic()
                    taken = cache.lock_many([j.lock.key for j in misses],
                                            [j.lock.token for j in misses],
                                            LOCK_MS)
                    self.trip("lock", t0)
                    for j, held in zip(misses, taken):
                        j.lock.held = held
                        if cache.has_locks:
                            self.count("sluice_cache_requests_total",
                                       op="lock",
                                       result="taken" if held else "busy")
            except caches.CacheError as err:
                self.trip("get", t0, ok=False)
                self.count("sluice_cache_requests_total", len(group),
                           op="get", result="error")
                for j in group:
                    if j.answer is None:
                        j.r.cache, j.r.cache_error = R.CACHE_ERROR, str(err)
                        j.cache = j.lock = None
            looked += len(group)
        if looked:
            self._mostly_missed = hits * 2 < looked

    def _answer_hit(self, j):
        j.r.cache = R.HIT
        j.r.value.CopyFrom(values.to_wire(j.stored))
        j.answer = j.r.SerializeToString()

    # ---- the rest, one job at a time ---------------------------------------

    def _settle(self, j, pending):
        """Computes j (after waiting for another worker's entry, if that
        one holds the lock), answers it and queues its store."""
        if j.lock is not None and not j.lock.held and not j.t.refresh \
                and j.cache.has_locks:
            try:
                if j.lock.take():  # waited: the holder's entry may be there
                    found = lookup(j.cache, j.key)
                    if found is not MISS:
                        j.stored = found
                        return self._answer_hit(j)
            except caches.CacheError as err:
                self.stats.cache_up = 0
                j.r.cache, j.r.cache_error = R.CACHE_ERROR, str(err)
                j.cache, j.lock = None, None
        r, task, t0 = j.r, j.task, time.monotonic()
        guard = self.guard
        try:
            if guard:
                guard.arm(j.t)
            value = task.run_bound(j.args)
            if guard:
                guard.disarm()
        except Interrupted as why:
            r.duration_us = int((time.monotonic() - t0) * 1e6)
            pending.give_up(j.lock)
            j.answer = fail(r, why.text, why.failure)
            return
        except Exception as err:
            if guard:
                guard.disarm()
            r.duration_us = int((time.monotonic() - t0) * 1e6)
            pending.give_up(j.lock)
            text = f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
            j.answer = fail(r, text, R.TASK_ERROR)
            return
        r.duration_us = int((time.monotonic() - t0) * 1e6)
        self._took(task, r.duration_us)
        try:
            r.value.CopyFrom(values.to_wire(value, f"task {task.name}: "
                                            "result"))
        except ValueError as err:
            pending.give_up(j.lock)
            j.answer = fail(r, str(err))
            return
        data = None
        if j.cache is not None:
            ttl = None if j.t.ttl_ms < 0 else j.t.ttl_ms
            data = functools.partial(
                entries.encode, j.key, task.name, task.version, j.args,
                value, r.duration_us, self.worker_id, ttl,
                input_digest=j.digest or task.input_digest(j.args),
                value_wire=r.value)
            if r.value.ByteSize() > entries.VALUE_MAX_BYTES // 2:
                try:  # it may be too large: the answer says so
                    data = data()
                except entries.TooLarge:
                    r.cache = R.TOO_LARGE
                    pending.give_up(j.lock)
                    data = None
            # else packed at the store, after the answer has gone
        j.answer = r.SerializeToString()
        if data is not None:
            pending.add(j.cache, (j.key, data, ttl), j.lock)


class Stores:
    """Entries answered and not yet stored, and locks to release, per
    cache: written in one round trip each. A store that fails is only
    logged: its answer has gone (docs/CACHING.md)."""

    def __init__(self, server):
        self.server = server
        self.by_cache = {}
        self.since = None

    def _of(self, cache):
        if self.since is None:
            self.since = time.monotonic()
        return self.by_cache.setdefault(id(cache), (cache, [], [], []))

    def add(self, cache, item, lock):
        _, items, done, _ = self._of(cache)
        items.append(item)
        if lock is not None and lock.held:
            lock.held = False
            done.append(lock.key)

    def give_up(self, lock):
        if lock is not None and lock.held:
            lock.held = False
            self._of(lock.cache)[3].append((lock.key, lock.token))

    def is_due(self, lag_s):
        return self.since is not None and \
            time.monotonic() - self.since >= lag_s

    def flush(self):
        for cache, items, done, given_up in self.by_cache.values():
            items = [item for item in map(packed, items) if item]
            t0 = time.monotonic()
            try:
                cache.store(items, done, given_up)
                self.server.trip("set", t0)
                result = "ok"
            except caches.CacheError as err:
                self.server.trip("set", t0, ok=False)
                log.warning("%d entries not stored, after their answers "
                            "went: %s", len(items), err)
                result = "error"
            if items:
                self.server.count("sluice_cache_requests_total", len(items),
                                  op="set", result=result)
        self.by_cache, self.since = {}, None


def packed(item):
    """A store's (key, data, ttl), its data packed now if it was left for
    later (a callable); None if it is too large after all (its answer
    said MISS: only an entry of many arguments gets here)."""
    key, data, ttl = item
    if not callable(data):
        return item
    try:
        return key, data(), ttl
    except entries.TooLarge as err:
        log.warning("%s", err)
        return None


def fail(r, error, failure=R.TASK_ERROR):
    data = error.encode()[-ERROR_MAX_BYTES:]
    r.status, r.failure = R.ERROR, failure
    r.error = data.decode(errors="ignore")
    r.ClearField("value")
    return r.SerializeToString()


def lookup(cache, key):
    """The value stored under key, or MISS: absent, or an entry that may
    not answer (docs/CACHING.md)."""
    return entries.value_of(key, cache.get_many([key])[0])


def lock_token(task_id, attempt, worker_id):
    """A lock's value: TASK_ID:ATTEMPT:WORKER_ID, the task id in
    lower-case hex, the attempt in decimal (docs/CACHING.md)."""
    return f"{task_id:x}:{attempt}:{worker_id}"


_EARLIER = re.compile(rb"([0-9a-f]+):([0-9]+):")


def is_earlier_attempt(held, task_id, attempt):
    """Whether held (a lock's bytes) is an earlier attempt's of this task,
    whose lock a retry takes over: it starts HEX:DECIMAL: (at most 64 and
    32 bits), HEX is task_id and DECIMAL is below attempt. C's
    sl_lock_token_is_earlier; tests/conformance/vectors.txt pins both."""
    m = _EARLIER.match(held)
    if not m:
        return False
    tid, n = int(m.group(1), 16), int(m.group(2))
    return tid < 1 << 64 and n < 1 << 32 and tid == task_id and n < attempt


class Lock:
    """KEY:lock, taken with SET NX PX 5000 before a miss computes, so
    that workers of other brokers wait for this one's entry. A retry of
    the same task takes over its earlier attempt's lock (the token is
    TASK_ID_HEX:ATTEMPT:WORKER_ID). Only Redis locks: the embedded LMDB
    cache is one machine's, and a worker there computes without one."""

    POLL_FIRST_S, POLL_MAX_S = 0.010, 0.200

    def __init__(self, cache, key, task_id, attempt, worker_id):
        self.cache, self.key = cache, key + ":lock"
        self.task_id, self.attempt = task_id, attempt
        self.token = lock_token(task_id, attempt, worker_id)
        self.held = False

    def take(self):
        """Takes the lock, or waits for its holder's entry (up to the
        lock's life, then computes anyway). Returns whether it waited.
        CacheError if the cache fails."""
        c = self.cache
        if not c.has_locks:
            return False
        if c.lock(self.key, self.token, LOCK_MS) or \
                (is_earlier_attempt(c.holder(self.key), self.task_id,
                                    self.attempt) and
                 c.lock(self.key, self.token, LOCK_MS, overwrite=True)):
            self.held = True
            return False
        deadline = time.monotonic() + LOCK_MS / 1000
        delay = self.POLL_FIRST_S
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, self.POLL_MAX_S)
            if c.exists(self.key[:-len(":lock")]):
                break
        return True

    def release(self):
        """Compare-and-delete, if held (a lock whose entry is stored goes
        with the store: Stores)."""
        if not self.held:
            return
        self.held = False
        try:
            self.cache.store([], [], [(self.key, self.token)])
        except caches.CacheError:
            pass  # it expires by itself within LOCK_MS


def child_main(conn, modules, worker_id, cache_url):
    """A worker's child process: imports the task modules, then takes
    batches of packed Tasks and sends their packed Results, in order, in
    runs (sluice.worker.pack_runs); a run's first item is the child's
    metric counts since the last run, as JSON (a run may hold only that,
    when no batch follows within 0.1 s). It ends when the worker
    closes its pipe or goes away."""
    from .worker import registry_of
    server = Server(registry_of(modules), worker_id, cache_url)
    os.environ.pop("SLUICE_BROKER", None)
    from .worker import pack_runs
    try:
        while True:
            batch = conn.recv()
            if batch is None:
                return
            ready = []
            for result in server.answer_batch(batch):
                if result is SEND_NOW:
                    if ready:  # what is known goes before a long compute
                        conn.send_bytes(pack_runs(
                            [json.dumps(server.take_stats()).encode()] +
                            ready))
                        ready = []
                    continue
                ready.append(result)
            # what the batch's last store counted rides with the next
            # batch's answers, or goes alone once 0.1 s pass without one
            if ready or (server.stats and not conn.poll(0.1)):
                conn.send_bytes(pack_runs(
                    [json.dumps(server.take_stats()).encode()] + ready))
    except (EOFError, OSError):
        return  # the worker is gone
