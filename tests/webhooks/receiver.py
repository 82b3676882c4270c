"""A real HTTP receiver for webhooks, on 127.0.0.1 in a thread."""

import contextlib
import http.server
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    """Answers POSTs as told (status, delay, body), in order; then 200. Records every request."""

    url: str = ""
    requests: list = field(default_factory=list)
    script: deque = field(default_factory=deque)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def respond(self, *answers: tuple[int, float, bytes]) -> None:
        self.script.extend(answers)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"the receiver got {len(self.requests)} requests, expected {count}")
            return list(self.requests)


@contextlib.contextmanager
def serving_receiver():
    """A receiver on 127.0.0.1 for the duration of the block."""
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.arrived:
                state.requests.append(Received(self.path, dict(self.headers), body))
                state.arrived.notify_all()
            status, delay, answer = state.script.popleft() if state.script else (200, 0, b"thanks")
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the sender gave up (timeout)
                pass

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
