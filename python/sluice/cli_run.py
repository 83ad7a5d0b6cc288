"""python3 -m sluice run FLOW.yaml: a flow file read in Python
(flowfile) and run on a broker, as C's `sluice run` runs it, with the
same exit codes and the same --json shape (docs/PYTHON.md, "Flow
files")."""

import json
import math
import os
import sys

from . import flowfile, values
from . import sluice_pb2 as pb
from . import client
from .client import BrokerError

DEFAULT_BROKER = "tcp://127.0.0.1:5555"
EXIT_OK, EXIT_FAILED, EXIT_BAD_FLOW, EXIT_CONNECT, EXIT_CANCELLED = \
    0, 1, 2, 3, 4


def run_file(path, broker=None, params=(), key_file=None,
             broker_key_file=None, on_event=None, worker_wait_ms=0):
    """Runs the flow file at path on broker (default $SLUICE_BROKER, else
    tcp://127.0.0.1:5555) with params ("NAME=VALUE" strings, VALUE read
    as YAML) overriding its own; returns the RunResult message.
    FlowFileError for a bad file, BrokerError for no broker or a flow it
    rejects."""
    msg = flowfile.load(path)
    overrides = [flowfile.param(p) for p in params]
    return client.run(broker or os.environ.get("SLUICE_BROKER",
                                               DEFAULT_BROKER),
                      msg, on_event, key_file, broker_key_file,
                      params=overrides, worker_wait_ms=worker_wait_ms)


def jsonable(v):
    """A value as C's sl_value_to_json writes it: bytes as {"$bytes":
    HEX}, non-finite doubles as "NaN", "Infinity", "-Infinity"."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else \
            "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    return v


def result_doc(r):
    """A RunResult as `sluice run --json` prints it."""
    nodes = []
    for n in r.nodes:
        value = values.from_wire(n.value) if n.HasField("value") else None
        nodes.append({
            "name": n.name,
            "state": pb.NodeResult.State.Name(n.state).lower(),
            "value": jsonable(value), "error": n.error, "tasks": n.tasks,
            "cached": n.cached, "failed": n.failed,
            "duration_us": n.duration_us, "cache_errors": n.cache_errors,
            "cache_error": n.cache_error, "errors": n.errors,
            "timeouts": n.timeouts, "deaths": n.deaths})
    finished = r.finished_ms
    return {"run_id": r.run_id, "flow": r.flow,
            "state": pb.RunResult.State.Name(r.state).lower(),
            "submitted_ms": r.submitted_ms, "finished_ms": finished,
            "duration_ms": finished - r.submitted_ms if finished else 0,
            "nodes": nodes}


def print_table(r, out):
    for n in r.nodes:
        if n.state == pb.NodeResult.DONE:
            v = values.from_wire(n.value) if n.HasField("value") else None
            how = f"{n.cached} of {n.tasks} from the cache" if n.cached \
                else "computed"
            print(f"{n.name}: {json.dumps(jsonable(v))} ({how})", file=out)
        else:
            state = pb.NodeResult.State.Name(n.state).lower()
            print(f"{n.name}: {state}{': ' + n.error if n.error else ''}",
                  file=out)


def main(a):
    """The `run` command with its parsed arguments; returns the exit
    code."""
    try:
        r = run_file(a.flow, a.broker, a.param or (), a.key, a.broker_key,
                     worker_wait_ms=int(a.wait_for_worker * 1000))
    except flowfile.FlowFileError as err:
        print(f"sluice run: {err}", file=sys.stderr)
        return EXIT_BAD_FLOW
    except BrokerError as err:
        print(f"sluice run: {err}", file=sys.stderr)
        return EXIT_BAD_FLOW if "rejected" in str(err) else EXIT_CONNECT
    if a.json:
        print(json.dumps(result_doc(r), separators=(",", ":")))
    else:
        print_table(r, sys.stdout)
    if r.state == pb.RunResult.CANCELLED:
        return EXIT_CANCELLED
    return EXIT_OK if r.state == pb.RunResult.DONE else EXIT_FAILED


def add_parser(sub):
    r = sub.add_parser("run", help="run a flow file on a broker")
    r.add_argument("flow", metavar="FLOW.yaml")
    r.add_argument("--broker", help="the broker's client socket (default "
                   f"$SLUICE_BROKER, else {DEFAULT_BROKER})")
    r.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="set a parameter (VALUE read as YAML; repeatable)")
    r.add_argument("--json", action="store_true",
                   help="print the result as JSON")
    r.add_argument("--wait-for-worker", type=float, default=0,
                   metavar="SECONDS", help="fail a task no connected worker "
                   "serves after this long (default: wait)")
    r.add_argument("--key", help="this client's key file (default "
                   "$SLUICE_KEY): CURVE")
    r.add_argument("--broker-key", help="the broker's public key (default "
                   "$SLUICE_BROKER_KEY)")
    return r
