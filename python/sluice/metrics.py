"""sluice.metrics: a Python worker's /metrics, /healthz and /readyz on
--http (docs/OPERATIONS.md): the C worker's names, for what a Python
worker does. Counters are added to by the worker's main thread only; the
HTTP server's thread renders a copy."""

import http.server
import threading

# name -> (type, help)
KINDS = {
    "sluice_worker_tasks_total": ("counter", "results sent"),
    "sluice_cache_requests_total": ("counter", "keys sent to the cache"),
    "sluice_cache_entries_rejected_total": (
        "counter", "stored entries refused, treated as misses"),
    "sluice_worker_reconnects_total": (
        "counter", "new connections to the broker"),
}


class Metrics:
    def __init__(self):
        self.counts = {}  # (name, ((label, value), ...)) -> number

    def add(self, name, n=1, **labels):
        key = (name, tuple(sorted(labels.items())))
        self.counts[key] = self.counts.get(key, 0) + n

    def merge(self, pairs):
        """Adds [[name, {labels}, n], ...] (what a child reports)."""
        for name, labels, n in pairs:
            self.add(name, n, **labels)

    def render(self):
        counts = dict(self.counts)
        out = []
        for name, (kind, help_) in KINDS.items():
            out.append(f"# HELP {name} {help_}\n# TYPE {name} {kind}\n")
            for (n, labels), v in sorted(counts.items()):
                if n != name:
                    continue
                text = ",".join(f'{k}="{val}"' for k, val in labels)
                out.append(f"{name}{{{text}}} {v}\n" if text
                           else f"{name} {v}\n")
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
