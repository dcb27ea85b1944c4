"""The HTTP plumbing shared by the fakes: a threaded server on a free loopback port."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Serve ``handler`` on 127.0.0.1 (a free port) in a daemon thread; shutdown is polled every 50 ms."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


def url(server: ThreadingHTTPServer | None) -> str:
    assert server is not None, "the fake is not started"
    return f"http://127.0.0.1:{server.server_address[1]}"
