"""sluice.engine: runs task calls in this process (the embedded mode), as
a C worker runs a task: the key, a lookup, the compute on a miss (with
retries and a timeout), the answer, then the store (docs/CACHING.md).

A cache failure never fails a task: the task computes and its state says
why the cache was not used.
"""

import concurrent.futures
import logging
import os
import socket
import threading
import time
import traceback

from . import caches, entries, keys, values

log = logging.getLogger("sluice")


class TaskFailed(Exception):
    """A task failed for good (after its retries). str() is the reason;
    .traceback the Python traceback of the last attempt, if it raised."""

    def __init__(self, message, tb=None):
        super().__init__(message)
        self.traceback = tb


class TaskState:
    """How one task call ended: result, and whether the cache served it
    (cached), the key, any cache error, and the attempts it took."""

    def __init__(self, task, key):
        self.task, self.key = task, key
        self.result = None
        self.cached = False
        self.error = None          # TaskFailed, or None
        self.cache_error = None    # why the cache was not used, or None
        self.attempts = 0
        self.duration_us = 0

    @property
    def name(self):
        return "Cached" if self.cached else \
            "Failed" if self.error else "Completed"

    def is_successful(self):
        return self.error is None

    def is_cached(self):
        return self.cached

    def __repr__(self):
        return f"<{self.name}: {self.task.name} = {self.result!r}>"


class Future:
    """A task call running on the runner's threads (.submit(), .map())."""

    def __init__(self, fut):
        self._fut = fut

    def state(self):
        return self._fut.result()

    def result(self, timeout=None, raise_on_failure=True):
        s = self._fut.result(timeout)
        if s.error and raise_on_failure:
            raise s.error
        return s.result

    def wait(self, timeout=None):
        concurrent.futures.wait([self._fut], timeout)


def resolve(v):
    """Arguments with futures (and lists, tuples, dicts of them) replaced
    by their results."""
    if isinstance(v, Future):
        return v.result()
    if isinstance(v, list):
        return [resolve(x) for x in v]
    if isinstance(v, tuple):
        return tuple(resolve(x) for x in v)
    if isinstance(v, dict):
        return {k: resolve(x) for k, x in v.items()}
    return v


class Runner:
    """Runs task calls against one cache (None: nothing cached)."""

    def __init__(self, cache, namespace=keys.DEFAULT_NAMESPACE, workers=None):
        self.cache = cache
        self.namespace = namespace
        self.producer = f"python:{socket.gethostname()}:{os.getpid()}"
        self._pool = None
        self._workers = workers or min(32, (os.cpu_count() or 1) + 4)
        self._lock = threading.Lock()

    @classmethod
    def on(cls, cache, namespace=keys.DEFAULT_NAMESPACE):
        """A runner on $SLUICE_CACHE_URL (a URL) if set, as a C worker's
        --cache wins over the flow's cache.url; else on cache; else on
        the embedded LMDB cache that C workers on this machine share."""
        url = os.environ.get("SLUICE_CACHE_URL")
        if url:
            cache = caches.from_url(url)
        return cls(cache if cache is not None else caches.LmdbCache(),
                   namespace)

    @classmethod
    def default(cls):
        return cls.on(None)

    # ---- the context protocol (sluice.context) ---------------------------

    def call(self, task, args, kwargs):
        s = self.run(task, args, kwargs)
        if s.error:
            raise s.error
        return s.result

    def submit(self, task, args, kwargs):
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self._workers, thread_name_prefix="sluice-task")
        return Future(self._pool.submit(self.run, task, args, kwargs))

    def map(self, task, iterables, kwargs):
        iterables = [resolve(x) for x in iterables]
        for i, it in enumerate(iterables):
            if not isinstance(it, (list, tuple)):
                raise TypeError(f"task {task.name}: .map() argument {i} is a "
                                f"{type(it).__name__}, not a list")
        if len({len(it) for it in iterables}) > 1:
            raise ValueError(f"task {task.name}: .map() lists differ in "
                             f"length ({[len(it) for it in iterables]})")
        return [self.submit(task, list(call), kwargs)
                for call in zip(*iterables)]

    def close(self):
        if self._pool:
            self._pool.shutdown(wait=True)

    # ---- one call -----------------------------------------------------------

    def run(self, task, args, kwargs):
        """Runs one call of task; never raises for the task's own failure
        (the state holds it)."""
        state = TaskState(task, None)
        try:
            args, kwargs = resolve(list(args)), resolve(dict(kwargs))
        except TaskFailed as err:
            state.error = TaskFailed(f"not run: an upstream task failed "
                                     f"({err})")
            return state
        try:
            bound, parameters = task.bind(args, kwargs)
            key = None
            if self.cache and task.cache:
                for name, v in parameters.items():
                    values.check(v, f"task {task.name}: argument {name}")
                key = task.key(self.namespace, bound, parameters)
        except (TypeError, ValueError) as err:
            state.error = TaskFailed(str(err))
            return state
        state.key = key
        if key and not task.refresh_cache and self._lookup(state, key):
            log.info("%s: %s, from the cache (%s)", task.name,
                     short(state.result), key)
            return state
        self._compute(state, args, kwargs)
        if state.error:
            log.warning("%s: failed: %s", task.name, state.error)
        else:
            log.info("%s: %s, computed in %.1f ms", task.name,
                     short(state.result), state.duration_us / 1000)
            if key:
                self._store(state, key, bound)
        return state

    def _lookup(self, state, key):
        try:
            found = entries.value_of(key, self.cache.get_many([key])[0])
        except caches.CacheError as err:
            state.cache_error = str(err)
            return False
        if found is entries.MISS:
            return False
        state.result, state.cached = found, True
        return True

    def _compute(self, state, args, kwargs):
        task = state.task
        while True:
            state.attempts += 1
            t0 = time.monotonic()
            try:
                state.result = self._attempt(task, args, kwargs)
                state.error = None
            except Exception as err:  # the task's own failure
                tb = traceback.format_exc()
                state.error = err if isinstance(err, TaskFailed) else \
                    TaskFailed(f"{type(err).__name__}: {err}", tb)
            state.duration_us = int((time.monotonic() - t0) * 1e6)
            if not state.error or state.attempts > task.retries:
                return
            delay = retry_delay(task, state.attempts)
            log.info("%s: attempt %d failed (%s); retrying in %.3g s",
                     task.name, state.attempts, state.error, delay)
            time.sleep(delay)

    def _attempt(self, task, args, kwargs):
        if task.timeout_seconds is None:
            return task.run(args, kwargs)
        # A Python thread cannot be killed: the call is abandoned, and
        # keeps its thread until it returns (docs/PYTHON.md).
        done = concurrent.futures.Future()

        def body():
            try:
                done.set_result(task.run(args, kwargs))
            except BaseException as err:
                done.set_exception(err)
        threading.Thread(target=body, daemon=True,
                         name=f"sluice-{task.name}").start()
        try:
            return done.result(task.timeout_seconds)
        except concurrent.futures.TimeoutError:
            raise TaskFailed(f"timed out after {task.timeout_seconds} s") \
                from None

    def _store(self, state, key, bound):
        task = state.task
        try:
            data = entries.encode(
                key, task.name, task.version, bound, state.result,
                state.duration_us, self.producer, task.ttl_ms,
                input_digest=task.input_digest(bound))
            self.cache.put_many([(key, data, task.ttl_ms)])
        except ValueError as err:  # not a sluice value, or too large
            state.cache_error = str(err)
            log.warning("%s: result not stored: %s", task.name, err)
        except caches.CacheError as err:
            state.cache_error = str(err)
            log.warning("%s: result not stored: %s", task.name, err)


def retry_delay(task, attempt):
    """retry_delay_seconds: a number, or a list (one per retry, the last
    repeating), as Prefect takes it."""
    d = task.retry_delay_seconds
    if isinstance(d, (list, tuple)):
        return d[min(attempt - 1, len(d) - 1)] if d else 0
    return d or 0


def short(v, limit=60):
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."
