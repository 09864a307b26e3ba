"""Stand-in for `python -m symphony_<svc> migrate|serve` while testing the supervisor.

    fake_service.py <component> <migrate|serve>

`FAKE_MARKERS` (a directory) records what ran; `FAKE_BEHAVIOUR` = "<component>:<how>" makes one
component misbehave: `fail-migrate`, `crash` (exits during start-up), `never-ready` (health
answers NOT_SERVING).
"""

from __future__ import annotations

import http.server
import os
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

component, action = sys.argv[1], sys.argv[2]
markers = Path(os.environ["FAKE_MARKERS"])
behaviour = dict(
    item.split(":", 1) for item in os.environ.get("FAKE_BEHAVIOUR", "").split(",") if item
).get(component, "")


def mark(what: str) -> None:
    (markers / f"{component}.{what}").write_text(str(os.getpid()))


if action == "migrate":
    assert os.environ["DATABASE_URL"].startswith("postgresql://")
    if behaviour == "fail-migrate":
        print(f"{component}: migration exploded", flush=True)
        sys.exit(3)
    mark("migrated")
    sys.exit(0)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print(f"{component}: starting", flush=True)
if behaviour == "crash":
    print(f"{component}: cannot bind, giving up", flush=True)
    sys.exit(7)

mark("serving")
if component == "gateway":

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(os.environ["SYMPHONY_AUTH_ADDRESS"].encode())

        def log_message(self, *args: object) -> None:
            pass

    port = int(os.environ["SYMPHONY_GATEWAY_PORT"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()
else:
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    port = int(os.environ[f"SYMPHONY_{component.upper()}_GRPC_PORT"])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    status = (
        health_pb2.HealthCheckResponse.NOT_SERVING
        if behaviour == "never-ready"
        else health_pb2.HealthCheckResponse.SERVING
    )
    servicer.set("", status)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    stop.wait()
    server.stop(grace=1).wait()
mark("stopped")
print(f"{component}: stopped", flush=True)
