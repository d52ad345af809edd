"""A kit of hostile loopback servers: HTTP servers that misbehave in the ways a deadline or a loop bound must
survive, and a fake Redis (RESP) server that does the same to the idempotency store.

Each server is a real TCP listener on 127.0.0.1 (one thread per connection), so the clients under test go
through their real sockets, urllib and redis-py: a deadline is proven from the outside, by the wall clock.

HTTP behaviours (:data:`HTTP_BEHAVIOURS`):

- ``trickle_body``: 200 with a Content-Length of 100 kB, then one byte every 100 ms;
- ``trickle_headers``: the status line and headers themselves, one byte every 100 ms;
- ``silent``: accepts the connection, reads the request, never answers;
- ``never_ending``: a chunked 200 whose chunks never stop (a JSON list that never closes);
- ``oversized``: a Content-Length of 10 GB, sent as fast as the socket takes it;
- ``garbage``: bytes that are not HTTP;
- ``redirecting``: 302 to another host (whose path would receive the credentials);
- ``dying``: 200 with a Content-Length of 1000, ten bytes, then the connection is closed;
Paging behaviours (:data:`PAGING_BEHAVIOURS`), valid answers that would make a naive listing loop:

- ``offset_ignoring``: a full valid page of items, the same whatever ``offset`` asks;
- ``endless_pages``: a full page of new items for every offset, forever;
- ``limit_ignoring``: 200,000 items whatever ``limit`` asks.

RESP behaviours (:data:`RESP_BEHAVIOURS`): ``trickle``, ``silent``, ``garbage``, ``dying``, ``never_ending``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

TRICKLE_INTERVAL = 0.1

Behaviour = Callable[[socket.socket, bytes, threading.Event], None]


def _read_request(conn: socket.socket) -> bytes:
    """The request head and its Content-Length body (best effort: a hostile server does not care)."""
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def _trickle(conn: socket.socket, data: bytes, stop: threading.Event) -> None:
    for i in range(len(data)):
        if stop.wait(TRICKLE_INTERVAL):
            return
        conn.sendall(data[i : i + 1])


def trickle_body(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    _trickle(conn, b"[" + b" " * 99_998 + b"]", stop)


def trickle_headers(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"x" * 50) for i in range(50))
    _trickle(conn, head + b"Content-Length: 2\r\n\r\n[]", stop)


def silent(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    stop.wait(60)


def never_ending(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    item = b'{"name":"app","namespace":"demo"},' * 2000
    chunk = b"%x\r\n%s\r\n" % (len(item) + 1, b"[" + item)
    conn.sendall(chunk)
    chunk = b"%x\r\n%s\r\n" % (len(item), item)
    while not stop.is_set():
        conn.sendall(chunk)


def oversized(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n[")
    block = b" " * 65536
    while not stop.is_set():
        conn.sendall(block)


def garbage(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"\x00\xff\xfeNOT HTTP AT ALL\r\n\x1b[31m\r\n\r\n" * 10)


def redirecting(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/steal-credentials\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )


def dying(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{}, {}, "
    )


def offset_ignoring(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """Always the first page (as many items as ``limit`` asks), whatever ``offset`` asks; no Content-Range."""
    items = [
        {
            "name": f"app{i}",
            "namespace": "demo",
            "id": i,
            "status": "failed",
            "createdAt": "2099-01-01T00:00:00Z",
        }
        for i in range(_query_int(request, "limit", 50))
    ]
    body = json.dumps(items).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (len(body), body)
    )


def _query_int(request: bytes, name: str, default: int) -> int:
    """``offset``/``limit`` from the request line: a plain query parameter or SWR's ``filter=...::N``."""
    from urllib.parse import parse_qs, unquote, urlsplit

    target = request.split(b" ", 2)[1].decode("latin-1")
    query = parse_qs(urlsplit(target).query)
    if name in query:
        return int(query[name][0])
    for part in unquote(query.get("filter", [""])[0]).split("|"):
        key, _, value = part.partition("::")
        if key == name:
            return int(value)
    return default


def endless_pages(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """A full page of new items for every offset, forever (honours offset and limit, never ends)."""
    offset, limit = _query_int(request, "offset", 0), _query_int(request, "limit", 50)
    items = [
        {
            "name": f"app{i}",
            "namespace": "demo",
            "id": i,
            "status": "success",
            "createdAt": "2099-01-01T00:00:00Z",
        }
        for i in range(offset, offset + limit)
    ]
    body = json.dumps(items).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (len(body), body)
    )


def limit_ignoring(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """200,000 items whatever the limit (about 9 MB of JSON)."""
    item = b'{"id":%d,"name":"app%d","namespace":"demo","status":"success"}'
    body = b"[" + b",".join(item % (i, i) for i in range(200_000)) + b"]"
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(body)
    )
    conn.sendall(body)


PAGING_BEHAVIOURS: dict[str, Behaviour] = {
    "offset_ignoring": offset_ignoring,
    "endless_pages": endless_pages,
    "limit_ignoring": limit_ignoring,
}


HTTP_BEHAVIOURS: dict[str, Behaviour] = {
    "trickle_body": trickle_body,
    "trickle_headers": trickle_headers,
    "silent": silent,
    "never_ending": never_ending,
    "oversized": oversized,
    "garbage": garbage,
    "redirecting": redirecting,
    "dying": dying,
}


# -- RESP (a fake Redis) ------------------------------------------------------------------------------------


def _read_resp_command(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    return conn.recv(65536)


def resp_trickle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    _trickle(conn, b"$1000\r\n" + b"x" * 1000 + b"\r\n", stop)


def resp_never_ending(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"*1000000000\r\n")
    while not stop.is_set():
        conn.sendall(b"+OK\r\n" * 1000)
        stop.wait(0.001)


def resp_garbage(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"\x00\xffthis is not RESP\r\n")


def resp_dying(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"$100\r\nabc")


RESP_BEHAVIOURS: dict[str, Behaviour] = {
    "trickle": resp_trickle,
    "silent": silent,
    "garbage": resp_garbage,
    "dying": resp_dying,
    "never_ending": resp_never_ending,
}


class HostileServer:
    """A loopback listener that answers every connection with ``behaviour`` (after reading one request)."""

    def __init__(self, behaviour: Behaviour, read: Callable[[socket.socket], bytes] = _read_request) -> None:
        self._behaviour = behaviour
        self._read = read
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while not self._stop.is_set():
                    request = self._read(conn)
                    if not request:
                        return
                    self.requests.append(request)
                    self._behaviour(conn, request, self._stop)
                    if self._read is _read_request:
                        return  # HTTP: one exchange per connection
            except OSError:
                return  # the client gave up: that is the point

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._accepter.join(2)
        for thread in self._threads:
            thread.join(2)


@contextmanager
def hostile_http(name: str) -> Iterator[HostileServer]:
    server = HostileServer({**HTTP_BEHAVIOURS, **PAGING_BEHAVIOURS}[name])
    try:
        yield server
    finally:
        server.close()


@contextmanager
def hostile_resp(name: str) -> Iterator[HostileServer]:
    server = HostileServer(RESP_BEHAVIOURS[name], read=_read_resp_command)
    try:
        yield server
    finally:
        server.close()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, what ``fn`` returned or raised)."""
    started = time.monotonic()
    try:
        outcome: object = fn()
    except BaseException as err:  # the outcome is inspected by the test
        outcome = err
    return time.monotonic() - started, outcome
