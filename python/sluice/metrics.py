"""sluice.metrics: a Python worker's /metrics, /healthz and /readyz on
--http (docs/OPERATIONS.md): the C worker's names, for what a Python
worker does. Counters are added to by the worker's main thread only; the
HTTP server's thread renders a copy."""

import bisect
import http.server
import threading

# name -> (type, help), in the C worker's order (docs/OPERATIONS.md)
KINDS = {
    "sluice_worker_tasks_total": ("counter", "results sent"),
    "sluice_worker_task_duration_seconds": (
        "histogram", "compute time of tasks run here (not cache hits)"),
    "sluice_cache_requests_total": ("counter", "keys sent to the cache"),
    "sluice_cache_request_duration_seconds": (
        "histogram", "cache round trips (one per batch of keys), by op"),
    "sluice_cache_up": ("gauge", "1 if the last cache round trip worked"),
    "sluice_cache_entries_rejected_total": (
        "counter", "stored entries refused, treated as misses"),
    "sluice_worker_reconnects_total": (
        "counter", "new connections to the broker"),
    "sluice_worker_slots": ("gauge", "processes running tasks (1 with "
                            "--processes 0)"),
    "sluice_worker_slots_busy": ("gauge", "of which running a batch"),
    "sluice_worker_tasks_in_flight": (
        "gauge", "tasks in hand, waiting here or running"),
    "sluice_worker_connected": ("gauge", "1 once Ready is sent"),
    "sluice_worker_draining": ("gauge", "1 while stopping"),
}
# the C worker's histogram buckets (common/metrics.c), in seconds
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
           0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Stats:
    """What a Server counts between reports: counters, histograms and
    the cache's last state, in a form that travels as JSON (a child's
    report) and adds up (Metrics.merge)."""

    def __init__(self):
        self.counts = {}   # (name, labels) -> n
        self.hists = {}    # (name, labels) -> [per-bucket counts, sum, n]
        self.cache_up = None

    def count(self, name, n=1, **labels):
        key = (name, tuple(sorted(labels.items())))
        self.counts[key] = self.counts.get(key, 0) + n

    def observe(self, name, seconds, **labels):
        key = (name, tuple(sorted(labels.items())))
        h = self.hists.get(key)
        if h is None:
            h = self.hists[key] = [[0] * len(BUCKETS), 0.0, 0]
        i = bisect.bisect_left(BUCKETS, seconds)  # first le >= seconds
        if i < len(BUCKETS):
            h[0][i] += 1
        h[1] += seconds
        h[2] += 1

    def __bool__(self):
        """Whether anything was counted since the last report."""
        return bool(self.counts or self.hists or self.cache_up is not None)

    def take(self):
        """The report since the last one: {"c": [[name, {labels}, n]],
        "h": [[name, {labels}, buckets, sum, n]], "up": 0, 1 or None}."""
        out = {"c": [[k[0], dict(k[1]), n] for k, n in self.counts.items()],
               "h": [[k[0], dict(k[1]), *h] for k, h in self.hists.items()],
               "up": self.cache_up}
        self.counts, self.hists, self.cache_up = {}, {}, None
        return out


class Metrics:
    """A worker's figures; gauges() (set by the worker) gives the live
    ones at each render: {name: value}."""

    def __init__(self):
        self.stats = Stats()
        self.gauges = dict

    def add(self, name, n=1, **labels):
        self.stats.count(name, n, **labels)

    def merge(self, report):
        """Adds a Stats.take() report (a child's, or the worker's own)."""
        for name, labels, n in report["c"]:
            self.stats.count(name, n, **labels)
        for name, labels, buckets, total, n in report["h"]:
            key = (name, tuple(sorted(labels.items())))
            h = self.stats.hists.setdefault(
                key, [[0] * len(BUCKETS), 0.0, 0])
            h[0] = [a + b for a, b in zip(h[0], buckets)]
            h[1] += total
            h[2] += n
        if report["up"] is not None:
            self.stats.cache_up = report["up"]

    def render(self):
        counts = dict(self.stats.counts)
        hists = {k: (list(h[0]), h[1], h[2])
                 for k, h in list(self.stats.hists.items())}
        gauges = dict(self.gauges())
        up = self.stats.cache_up
        gauges["sluice_cache_up"] = 1 if up is None else up
        out = []
        for name, (kind, help_) in KINDS.items():
            out.append(f"# HELP {name} {help_}\n# TYPE {name} {kind}\n")
            if kind == "gauge":
                if name in gauges:
                    out.append(f"{name} {gauges[name]}\n")
                continue
            series = hists if kind == "histogram" else counts
            for (n, labels), v in sorted(series.items()):
                if n != name:
                    continue
                text = ",".join(f'{k}="{val}"' for k, val in labels)
                if kind == "counter":
                    out.append(f"{name}{{{text}}} {v}\n" if text
                               else f"{name} {v}\n")
                    continue
                buckets, total, count = v
                sep = "," if text else ""
                running = 0
                for le, c in zip(BUCKETS, buckets):
                    running += c
                    out.append(f'{name}_bucket{{{text}{sep}le="{le:g}"}} '
                               f"{running}\n")
                out.append(f'{name}_bucket{{{text}{sep}le="+Inf"}} '
                           f"{count}\n")
                tail = f"{{{text}}}" if text else ""
                out.append(f"{name}_sum{tail} {total:.9g}\n")
                out.append(f"{name}_count{tail} {count}\n")
        return "".join(out)


def serve(address, metrics, readiness):
    """Serves the three pages on address ("[HOST:]PORT") from a thread of
    its own; readiness() says (is_ready, why). Returns the port bound.
    OSError if the address cannot be bound."""
    host, _, port = address.rpartition(":")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/metrics":
                self._answer(200, metrics.render(),
                             "text/plain; version=0.0.4")
            elif self.path == "/healthz":
                self._answer(200, "ok\n")
            elif self.path == "/readyz":
                ready, why = readiness()
                self._answer(200 if ready else 503,
                             "ready\n" if ready else f"{why}\n")
            else:
                self._answer(404, "not found\n")

        do_HEAD = do_GET

        def _answer(self, code, body, kind="text/plain"):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((host or "", int(port)),
                                             Handler)
    threading.Thread(target=server.serve_forever, daemon=True,
                     name="sluice-http").start()
    return server.server_address[1]
