"""A GitHub that trickles its answer: the status line and headers at once, then the body one byte of
leading whitespace every ``interval`` seconds (valid JSON in the end), which never trips a per-read
timeout. Used to show that an attempt is bounded by wall-clock time (issue 7, finding 9)."""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time
from collections.abc import Iterator


class _TrickleHandler(socketserver.BaseRequestHandler):
    payload: bytes = b"{}"
    drip = 20
    interval = 0.4
    connections: list[float]

    def handle(self) -> None:
        self.connections.append(time.monotonic())
        self.request.recv(65536)
        body = b" " * self.drip + self.payload
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        try:
            self.request.sendall(head)
            for _ in range(self.drip):
                self.request.sendall(b" ")
                time.sleep(self.interval)
            self.request.sendall(self.payload)
        except OSError:  # the client gave up, as it should
            pass


@contextlib.contextmanager
def trickling_server(payload: bytes, *, drip: int = 20, interval: float = 0.4) -> Iterator[tuple[str, list]]:
    """A trickling HTTP server on localhost: yields its base URL and the list of connection times."""
    connections: list[float] = []
    handler = type(
        "Trickle",
        (_TrickleHandler,),
        {"payload": payload, "drip": drip, "interval": interval, "connections": connections},
    )
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", connections
    finally:
        server.shutdown()
        server.server_close()
