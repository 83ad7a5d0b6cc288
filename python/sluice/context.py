"""sluice.context: what a task call means where it is made. Inside
`with Flow(...)` it adds a node to the flow; inside a running @flow, or
outside any flow, it runs. One stack per thread; the bottom is a runner
on the default cache, made when first needed."""

import threading

_local = threading.local()
_default = None
_default_lock = threading.Lock()


def _stack():
    s = getattr(_local, "stack", None)
    if s is None:
        s = _local.stack = []
    return s


def push(ctx):
    _stack().append(ctx)


def pop(ctx):
    s = _stack()
    assert s and s[-1] is ctx, "sluice: flow contexts closed out of order"
    s.pop()


def current():
    s = _stack()
    if s:
        return s[-1]
    global _default
    with _default_lock:
        if _default is None:
            from .engine import Runner
            _default = Runner.default()
        return _default
