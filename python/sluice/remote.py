"""sluice.remote: flows run on a broker's workers. A `with Flow(...)`
flow goes as one Flow; an @flow function's task calls go one by one, each
a flow of one node (RemoteRunner). Each node becomes a FlowNode
(docs/PROTOCOL.md, "Flow"): its task by name and version, its arguments
a template in which other nodes are "$name", its cache settings from the
task's options. Any worker that serves the task by that name and version
runs it, a C worker or a Python one, and they share the cache."""

import logging
import re

from . import values
from . import sluice_pb2 as pb
from . import client
from .engine import Runner, TaskFailed, TaskState, resolve, short
from .tasks import DEFAULT_TTL_MS

log = logging.getLogger("sluice")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")


def node_names(nodes):
    """A node name per node: its task's, made a flow name, numbered from
    the second use on (add, add_2, ...)."""
    names, used = {}, set()
    for node in nodes:
        base = _NOT_NAME.sub("_", node.task.name)
        if base == "params":
            base = "params_"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        names[node] = name
    return names


def template(v, names):
    """v as an args template: nodes become "$name", strings that start
    with "$" are escaped ("$$")."""
    from .flows import Node
    if isinstance(v, Node):
        return "$" + names[v]
    if isinstance(v, str):
        return "$" + v if v.startswith("$") else v
    if isinstance(v, (list, tuple)):
        return [template(x, names) for x in v]
    if isinstance(v, dict):
        return {k: template(x, names) for k, x in v.items()}
    return v


def flow_message(flow, cache_url):
    """The Flow message for a `with Flow(...)` flow."""
    names = node_names(flow.nodes)
    # the broker takes no flow TTL of 0: the default is said, 7 days
    msg = pb.Flow(name=flow.name, cache_namespace=flow.namespace,
                  cache_url=cache_url or "", ttl_ms=DEFAULT_TTL_MS)
    for node in flow.nodes:
        t = node.task
        where = f"flow {flow.name}: task {t.name}"
        if t.cache_key_fn is not None:
            raise ValueError(f"{where}: cache_key_fn runs in this process; "
                             "on a broker give cache_key or key by inputs")
        if t.source_digest is not None:
            raise ValueError(f"{where}: cache_include_source is not sent to "
                             "workers yet; bump version instead")
        n = msg.nodes.add(name=names[node], task=t.name, version=t.version)
        args, kwargs = node.args, node.kwargs
        if node.mapped:
            placeholders = []
            for i, source in enumerate(args):
                var = f"_{names[node]}_{i}"
                n.map.add(name=var, source=values.to_wire(
                    template(source, names), f"{where}: .map() argument {i}"))
                placeholders.append("$" + var)
            # the placeholders are templates already: not escaped again
            bound, _ = t.bind(placeholders, template(kwargs, names))
        else:
            bound, _ = t.bind(template(args, names), template(kwargs, names))
        n.args.CopyFrom(values.to_wire(bound, f"{where}: arguments"))
        n.cache = (pb.FlowNode.NONE if not t.cache else
                   pb.FlowNode.KEY if t.cache_key is not None else
                   pb.FlowNode.INPUTS)
        if t.cache_key is not None:
            n.cache_key = t.cache_key
        n.ttl_ms = -1 if t.ttl_ms is None else t.ttl_ms
        n.refresh = t.refresh_cache
        n.retries = t.retries
        delay = t.retry_delay_seconds
        if isinstance(delay, (list, tuple)):
            if len(set(delay)) > 1:
                raise ValueError(f"{where}: a list of retry delays runs in "
                                 "this process only; give one number")
            delay = delay[0] if delay else 0
        n.retry_delay_ms = int((delay or 0) * 1000)
        if t.timeout_seconds is not None:
            n.timeout_ms = max(1, int(t.timeout_seconds * 1000))
    return msg, names


def run(flow, broker, cache_url):
    """Runs flow on broker; returns {node: TaskState}."""
    msg, names = flow_message(flow, cache_url)

    def on_event(e):
        if e.kind == pb.Event.WAITING:
            log.warning("%s: %s", e.node, e.error)
        elif e.kind == pb.Event.FAILED:
            log.warning("%s[%d]: failed: %s", e.node, e.index, e.error)
    result = client.run(broker, msg, on_event)
    by_name = {r.name: r for r in result.nodes}
    states = {}
    for node in flow.nodes:
        r = by_name[names[node]]
        s = TaskState(node.task, None)
        s.result = values.from_wire(r.value) if r.HasField("value") else None
        s.cached = r.tasks > 0 and r.cached == r.tasks
        s.duration_us = r.duration_us
        s.cache_error = r.cache_error or None
        if r.state != pb.NodeResult.DONE:
            why = r.error
            if not why and result.state == pb.RunResult.CANCELLED:
                why = "not run: the run was cancelled"
            s.error = TaskFailed(why)
        else:
            log.info("%s: %s, %s", node.task.name, short(s.result),
                     "from the cache" if s.cached else "computed")
        states[node] = s
    return states





class RemoteRunner(Runner):
    """Runs the task calls of an @flow function on a broker's workers, one
    flow of one node per call (its arguments' futures resolved first);
    .submit() and .map() run them on the runner's threads, each with a
    connection of its own."""

    def __init__(self, flow_name, broker, cache_url, namespace):
        super().__init__(None, namespace)
        self.flow_name, self.broker = flow_name, broker
        self.cache_url = cache_url

    def run(self, task, args, kwargs):
        from .flows import Flow, Node
        try:
            args, kwargs = resolve(list(args)), resolve(dict(kwargs))
        except TaskFailed as err:
            state = TaskState(task, None)
            state.error = TaskFailed(f"not run: an upstream task failed "
                                     f"({err})")
            return state
        flow = Flow(self.flow_name, namespace=self.namespace)
        node = Node(flow, task, args, kwargs)
        flow.nodes.append(node)
        try:
            return run(flow, self.broker, self.cache_url)[node]
        except (TypeError, ValueError) as err:
            state = TaskState(task, None)
            state.error = TaskFailed(str(err))
            return state


__all__ = ["run", "flow_message", "RemoteRunner"]

