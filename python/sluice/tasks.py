"""sluice.tasks: @task, and what a task call is.

A task is a Python function with a name, a version and cache settings.
Its cache key follows docs/CACHING.md: by default the digest of [name,
version, args], args being the call's arguments bound to the function's
parameters in their order (defaults filled in), so add(5, 10) and
add(a=5, b=10) share a key, and share it with a C task add@1 called with
[5, 10].
"""

import datetime
import functools
import hashlib
import inspect

from . import context, keys

DEFAULT_TTL_MS = 7 * 24 * 3600 * 1000  # docs/CACHING.md, "TTL"


class TaskCallContext:
    """What a cache_key_fn is given first (Prefect passes its run
    context): the task and the call's parameters by name."""

    def __init__(self, task, parameters):
        self.task = task
        self.parameters = parameters


class Task:
    """A function run as a sluice task. Call it inside a flow: with
    `with Flow(...)` it adds a node; inside an @flow function it runs
    (cached) and returns the result; .submit() returns a future and .map()
    a list of futures."""

    def __init__(self, fn, name=None, version=1, cache_key=None,
                 cache_key_fn=None, cache_expiration=None,
                 refresh_cache=False, cache=True, cache_include_source=False,
                 retries=0, retry_delay_seconds=0, timeout_seconds=None,
                 result=None):
        self.fn = fn
        self.name = name or fn.__name__
        keys.check_name("task name", self.name)
        if not isinstance(version, int) or isinstance(version, bool) or \
                not 1 <= version < 2**32:
            raise ValueError(f"task {self.name}: version {version!r} must be "
                             "an int from 1")
        self.version = version
        if cache_key is not None and cache_key_fn is not None:
            raise ValueError(f"task {self.name}: give cache_key or "
                             "cache_key_fn, not both")
        if cache_key is not None:
            keys.explicit_key(keys.DEFAULT_NAMESPACE, cache_key)  # checks it
        self.cache_key = cache_key
        self.cache_key_fn = cache_key_fn
        self.ttl_ms = ttl_ms_of(self.name, cache_expiration)
        self.refresh_cache = bool(refresh_cache)
        self.cache = bool(cache)
        self.source_digest = None
        if cache_include_source:
            try:
                src = inspect.getsource(fn)
            except (OSError, TypeError) as err:
                raise ValueError(f"task {self.name}: cache_include_source: "
                                 f"no source to read ({err})") from None
            self.source_digest = hashlib.blake2b(src.encode(),
                                                 digest_size=32).digest()
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"task {self.name}: retries {retries!r} must be "
                             "an int >= 0")
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        if timeout_seconds is not None and not timeout_seconds > 0:
            raise ValueError(f"task {self.name}: timeout_seconds "
                             f"{timeout_seconds!r} must be > 0")
        self.timeout_seconds = timeout_seconds
        self.result = result  # accepted for Prefect code: sluice stores
        # every cached result in the cache itself (docs/PYTHON.md)
        self._signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self):
        return f"<sluice task {self.name}@{self.version}>"

    # ---- calling ----------------------------------------------------------

    def __call__(self, *args, **kwargs):
        return context.current().call(self, args, kwargs)

    def submit(self, *args, **kwargs):
        return context.current().submit(self, args, kwargs)

    def map(self, *iterables, **kwargs):
        return context.current().map(self, iterables, kwargs)

    # ---- what the engine asks ---------------------------------------------

    def bind(self, args, kwargs):
        """The call's arguments as a list, in parameter order; TypeError
        naming the task if they do not fit its signature."""
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"task {self.name}: {err}") from None
        bound.apply_defaults()
        out = []
        for p in self._signature.parameters.values():
            v = bound.arguments[p.name]
            if p.kind == p.VAR_POSITIONAL:
                out.extend(v)  # spread, as a C task's list of arguments
            else:
                out.append(v)
        return out, dict(bound.arguments)

    def key(self, namespace, args, parameters):
        """The call's cache key, or None if it is not cached."""
        if not self.cache:
            return None
        if self.cache_key_fn is not None:
            k = self.cache_key_fn(TaskCallContext(self, parameters),
                                  parameters)
            return None if k is None else keys.explicit_key(namespace, k)
        if self.cache_key is not None:
            return keys.explicit_key(namespace, self.cache_key)
        return keys.inputs_key(namespace, self.name,
                               self.input_digest(args))

    def input_digest(self, args):
        files = [("$source", self.source_digest)] if self.source_digest \
            else None
        return keys.task_digest(self.name, self.version, args, files)

    def run(self, args, kwargs):
        return self.fn(*args, **kwargs)

    def run_bound(self, bound):
        """Calls the function with a list of arguments as bind() makes
        them (and as a task's args arrive from a broker): one per
        positional parameter, then *args spread, then one per keyword-only
        parameter, then **kwargs as one map."""
        params = self._signature.parameters.values()
        kinds = [p.kind for p in params]
        P = inspect.Parameter
        fixed = sum(k in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
                    for k in kinds)
        tail = sum(k == P.KEYWORD_ONLY for k in kinds) + \
            (P.VAR_KEYWORD in kinds)
        spread = len(bound) - fixed - tail
        if spread < 0 or (spread and P.VAR_POSITIONAL not in kinds):
            raise TypeError(f"task {self.name}: {len(bound)} arguments do "
                            f"not fit its parameters {self._signature}")
        args, kwargs, i = [], {}, 0
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                args.extend(bound[i:i + spread])
                i += spread
                continue
            v = bound[i]
            i += 1
            if p.kind == p.VAR_KEYWORD:
                kwargs.update(v)
            elif p.kind == p.KEYWORD_ONLY:
                kwargs[p.name] = v
            else:
                args.append(v)
        return self.fn(*args, **kwargs)


class RemoteTask(Task):
    """A task that workers serve by name, a C built-in, plugin or program
    task, or a Python worker's: it runs only in a flow sent to a broker.
    version None: the highest a worker has."""

    def __init__(self, name, version=None, **options):
        def served_elsewhere(*args):
            raise TypeError(f"task {name} is served by workers only: run "
                            "the flow on a broker (broker= or "
                            "$SLUICE_BROKER)")
        served_elsewhere.__name__ = name
        super().__init__(served_elsewhere, name=name,
                         version=version or 1, **options)
        self.version = version or 0  # 0 on the wire: any version

    def bind(self, args, kwargs):
        if kwargs:
            raise TypeError(f"task {self.name}: unexpected keyword "
                            f"arguments ({', '.join(kwargs)}): a task "
                            "served by workers takes a list of arguments")
        return list(args), {f"arg{i}": v for i, v in enumerate(args)}


class ProgramTask(RemoteTask):
    """A program as a task (docs/TASKS.md, "Programs as tasks"): a call
    of exec@1, as a flow file's `cmd:` or `sh:` node makes it, run by a
    worker whose --exec rules allow the program. Its arguments reach the
    program as one line of JSON on standard input (and, for a shell
    line, as $1, $2 ...); its standard output is the result."""

    def __init__(self, cmd=None, sh=None, stdout="json", env=None,
                 **options):
        if (cmd is None) == (sh is None):
            raise ValueError("program_task: give cmd=[program, arg, ...] "
                             "or sh=\"a shell line\", not both")
        if cmd is not None and (not isinstance(cmd, (list, tuple)) or
                                not cmd or
                                not all(isinstance(a, str) for a in cmd)):
            raise ValueError(f"program_task: cmd {cmd!r}: want a non-empty "
                             "list of strings")
        if sh is not None and (not isinstance(sh, str) or not sh):
            raise ValueError("program_task: sh must be a shell line")
        if stdout not in ("json", "text", "bytes"):
            raise ValueError(f"program_task: stdout {stdout!r}: want json, "
                             "text or bytes")
        env = dict(env or {})
        for k, v in env.items():
            if not (isinstance(k, str) and isinstance(v, str)):
                raise ValueError(f"program_task: env {k!r}: names and "
                                 "values are strings")
        super().__init__("exec", 1, **options)
        self.cmd, self.sh, self.stdout, self.env = cmd, sh, stdout, env

    def bind(self, args, kwargs):
        input_, _ = super().bind(args, kwargs)
        argv = list(self.cmd) if self.cmd is not None else \
            ["/bin/sh", "-c", self.sh, "sh"] + input_
        return [argv, input_, dict(self.env), self.stdout], \
            {f"arg{i}": v for i, v in enumerate(args)}


def program_task(cmd=None, *, sh=None, stdout="json", env=None, **options):
    """A program as a task, to call in a flow sent to a broker:
    program_task(["wc", "-w"]) or program_task(sh="echo $(( $1 * 2 ))");
    stdout json (the default), text or bytes; env {NAME: value} added to
    the program's small default environment. The worker must allow the
    program (sluice-worker --exec)."""
    return ProgramTask(cmd, sh, stdout, env, **options)


def remote_task(name, version=None, **options):
    """A task workers serve (a C built-in such as add, mul or sum, a
    plugin's, a Python worker's), to call in a flow sent to a broker."""
    return RemoteTask(name, version, **options)


def ttl_ms_of(name, expiration):
    """cache_expiration as milliseconds: None the default (7 days), a
    timedelta or a number of seconds, "forever" none (returns None)."""
    if expiration is None:
        return DEFAULT_TTL_MS
    if expiration == "forever":
        return None
    if isinstance(expiration, datetime.timedelta):
        seconds = expiration.total_seconds()
    elif isinstance(expiration, (int, float)) and \
            not isinstance(expiration, bool):
        seconds = expiration
    else:
        raise ValueError(f"task {name}: cache_expiration {expiration!r}: "
                         "want a timedelta, seconds, or \"forever\"")
    ms = int(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"task {name}: cache_expiration {expiration!r} must "
                         "be positive (\"forever\" never expires)")
    return ms


def task(fn=None, **options):
    """@task or @task(name=, version=, cache_key=, cache_key_fn=,
    cache_expiration=, refresh_cache=, cache=, cache_include_source=,
    retries=, retry_delay_seconds=, timeout_seconds=, result=)."""
    if fn is None:
        return lambda f: Task(f, **options)
    return Task(fn, **options)
