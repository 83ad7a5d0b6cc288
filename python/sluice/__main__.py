"""python3 -m sluice worker --broker tcp://HOST:5556 --tasks MODULE ...:
a Python worker serving the @task functions of MODULE; python3 -m sluice
run FLOW.yaml: a flow file run on a broker (docs/PYTHON.md)."""

import argparse
import os
import sys


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m sluice")
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="serve Python tasks to a broker")
    w.add_argument("--broker", default=os.environ.get("SLUICE_WORKERS",
                                                      "tcp://127.0.0.1:5556"),
                   help="the broker's worker socket")
    w.add_argument("--tasks", action="append", required=True,
                   metavar="MODULE", help="a module whose @task functions "
                   "to serve (may repeat)")
    w.add_argument("--id", help="the worker's name (default host-pid-random)")
    w.add_argument("--processes", type=int, default=1,
                   help="child processes running tasks (default 1); 0: "
                   "in this process, the shortest round trip")
    w.add_argument("--cache", default=os.environ.get("SLUICE_CACHE_URL"),
                   help="the cache every task uses (default: each flow's, "
                   "else the embedded cache)")
    w.add_argument("--key", help="this worker's key file (sluice keygen; "
                   "default $SLUICE_KEY): CURVE")
    w.add_argument("--broker-key", help="the broker's public key (.pub; "
                   "default $SLUICE_BROKER_KEY)")
    w.add_argument("--http", default=os.environ.get("SLUICE_HTTP"),
                   metavar="[HOST:]PORT", help="serve /metrics, /healthz "
                   "and /readyz there (default $SLUICE_HTTP)")
    w.add_argument("--heartbeat-ms", type=int, default=1000)
    w.add_argument("--grace-ms", type=int, default=25000,
                   help="on SIGTERM, time to finish the tasks in hand")
    from . import cli_run
    cli_run.add_parser(sub)
    a = p.parse_args(argv)
    if a.command == "run":
        sys.exit(cli_run.main(a))
    if a.processes < 0:
        p.error(f"--processes {a.processes}: 0 (tasks in this process) or more")
    if a.http is not None:
        port = a.http.rpartition(":")[2]
        if not port.isdigit() or int(port) > 65535:
            p.error(f"--http '{a.http}': want [HOST:]PORT")
    if a.heartbeat_ms < 10:
        p.error(f"--heartbeat-ms {a.heartbeat_ms}: at least 10")
    sys.path.insert(0, os.getcwd())
    from .worker import Worker
    try:
        worker = Worker(a.broker, a.tasks, a.id, a.processes, a.cache,
                        a.heartbeat_ms, a.grace_ms, a.key, a.broker_key,
                        a.http)
    except ImportError as err:
        p.error(f"--tasks: {err}")
    except ValueError as err:
        p.error(str(err))
    try:
        worker.run()
    except OSError as err:  # the HTTP address
        p.error(f"HTTP address '{a.http}': {err.strerror}")


if __name__ == "__main__":
    main()
