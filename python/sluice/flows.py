"""sluice.flows: flows in both of Prefect's styles.

Prefect 1: tasks called inside `with Flow(name) as flow:` add nodes;
flow.set_task_cache(cache) and flow.run() run them, in this process.

Prefect 3: @flow on a function; calling it runs it, and tasks called
inside run at once (cached), .submit() gives a future, .map() a list.
"""

import functools
import logging
import os

from . import context, keys
from .engine import Future, Runner, TaskFailed

log = logging.getLogger("sluice")


class Node:
    """A task call in a `with Flow(...)` block; its arguments may be other
    nodes (their results). Mapped: one call per element of its lists."""

    def __init__(self, flow, task, args, kwargs, mapped=False):
        self.flow, self.task = flow, task
        self.args, self.kwargs, self.mapped = list(args), dict(kwargs), mapped

    def __repr__(self):
        return f"<node {self.task.name}{' (mapped)' if self.mapped else ''}>"


class FlowState:
    """How a flow run ended: .result maps each node to its TaskState (a
    mapped node's result is the list of its elements' results, and its
    .map_states their states)."""

    def __init__(self, flow, results):
        self.flow, self.result = flow, results

    def is_successful(self):
        return all(s.is_successful() for s in self.result.values())

    def is_failed(self):
        return not self.is_successful()

    def __repr__(self):
        return (f"<flow {self.flow.name}: "
                f"{'Success' if self.is_successful() else 'Failed'}>")


class MappedState:
    def __init__(self, task, states):
        self.task, self.map_states = task, states
        self.result = [s.result for s in states]
        self.cached = bool(states) and all(s.cached for s in states)
        failed = [s for s in states if s.error]
        self.error = failed[0].error if failed else None

    def is_successful(self):
        return self.error is None


class Flow:
    """Flow(name, cache=None, namespace="default", broker=None), Prefect 1
    style. With a broker (or $SLUICE_BROKER), run() sends the flow there
    and the broker's workers run its tasks; else they run here."""

    def __init__(self, name, cache=None, namespace=keys.DEFAULT_NAMESPACE,
                 broker=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"flow name {name!r}: must be a non-empty str")
        keys.check_name("cache namespace", namespace)
        self.name, self.namespace = name, namespace
        self.nodes = []
        self._cache = cache
        self.broker = broker

    def __enter__(self):
        context.push(self)
        return self

    def __exit__(self, *exc):
        context.pop(self)
        return False

    # ---- task calls inside the block (sluice.context) ---------------------

    def call(self, task, args, kwargs):
        node = Node(self, task, args, kwargs)
        self.nodes.append(node)
        return node

    submit = call

    def map(self, task, iterables, kwargs):
        node = Node(self, task, iterables, kwargs, mapped=True)
        self.nodes.append(node)
        return node

    # ---- running ------------------------------------------------------------

    def set_task_cache(self, cache):
        """The cache every task of this flow uses: a RedisCache or an
        LmdbCache ($SLUICE_CACHE_URL, if set, wins; None: the embedded
        cache)."""
        self._cache = cache

    def run(self):
        """Runs the flow, on the broker if there is one, else in this
        process; returns its FlowState."""
        broker = self.broker or os.environ.get("SLUICE_BROKER")
        if broker:
            from . import remote
            url = getattr(self._cache, "url", "")
            results = remote.run(self, broker,
                                 url if url.startswith("redis://") else "")
            return self._finish(results)
        runner = Runner.on(self._cache, self.namespace)
        futures = {}

        def arg(v):
            if isinstance(v, Node):
                return futures[v]
            if isinstance(v, (list, tuple)):
                return type(v)(arg(x) for x in v)
            if isinstance(v, dict):
                return {k: arg(x) for k, x in v.items()}
            return v
        try:
            for node in self.nodes:
                args, kwargs = arg(node.args), arg(node.kwargs)
                if node.mapped:
                    futures[node] = _MappedFuture(
                        runner.map(node.task, args, kwargs))
                else:
                    futures[node] = runner.submit(node.task, args, kwargs)
            results = {}
            for node in self.nodes:
                f = futures[node]
                results[node] = f.state()
        finally:
            runner.close()
        return self._finish(results)

    def _finish(self, results):
        state = FlowState(self, results)
        log.info("flow %s: %s (%d of %d tasks from the cache)", self.name,
                 "Success" if state.is_successful() else "Failed",
                 sum(1 for s in results.values() if s.cached), len(results))
        return state


class _MappedFuture(Future):
    """The futures of a mapped node's elements, as one future of a list."""

    def __init__(self, futures):
        self._futures = futures

    def state(self):
        states = [f.state() for f in self._futures]
        return MappedState(states[0].task if states else None, states)

    def result(self, timeout=None, raise_on_failure=True):
        s = self.state()
        if s.error and raise_on_failure:
            raise s.error
        return s.result


def flow(fn=None, *, name=None, cache=None,
         namespace=keys.DEFAULT_NAMESPACE, broker=None):
    """@flow or @flow(name=, cache=, namespace=, broker=), Prefect 3 style:
    calling the function runs it. Its task calls run here, cached in cache
    (default: as $SLUICE_CACHE_URL says, else the embedded cache), or with
    a broker (or $SLUICE_BROKER) on its workers, one call at a time."""
    if fn is None:
        return lambda f: flow(f, name=name, cache=cache, namespace=namespace,
                              broker=broker)
    keys.check_name("cache namespace", namespace)
    flow_name = name or fn.__name__

    @functools.wraps(fn)
    def run(*args, **kwargs):
        where = broker or os.environ.get("SLUICE_BROKER")
        if where:
            from .remote import RemoteRunner
            url = getattr(cache, "url", "")
            runner = RemoteRunner(flow_name, where, url if
                                  url.startswith("redis://") else "",
                                  namespace)
        else:
            runner = Runner.on(cache, namespace)
        context.push(runner)
        try:
            return fn(*args, **kwargs)
        finally:
            context.pop(runner)
            runner.close()
    run.name = flow_name
    return run


__all__ = ["Flow", "FlowState", "flow", "TaskFailed"]
